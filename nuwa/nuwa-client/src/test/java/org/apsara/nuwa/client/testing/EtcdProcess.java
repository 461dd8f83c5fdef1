package org.apsara.nuwa.client.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A real etcd member run as a child process on loopback ports, for tests. Each member has its own
 * data directory, so it can be killed ({@code SIGKILL}) and restarted on the same data. Only a test
 * helper: it never targets anything but 127.0.0.1.
 */
public final class EtcdProcess implements AutoCloseable {
  /** How long a member may take to report itself healthy after starting. */
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private static final Duration HEALTH_POLL_INTERVAL = Duration.ofMillis(50);

  /**
   * Periodic watch progress notifications, so that tests can see them without waiting etcd's
   * default ten minutes.
   */
  public static final Duration PROGRESS_NOTIFY_INTERVAL = Duration.ofMillis(500);

  private final String name;
  private final Path dataDir;
  private final Path logFile;
  private final int clientPort;
  private final int peerPort;
  private final String initialCluster;
  private final String clusterToken;
  private final List<String> extraFlags;
  private Process process;

  private EtcdProcess(
      String name,
      Path workDir,
      int clientPort,
      int peerPort,
      String initialCluster,
      String token,
      List<String> extraFlags) {
    this.name = name;
    this.dataDir = workDir.resolve(name + ".etcd");
    this.logFile = workDir.resolve(name + ".log");
    this.clientPort = clientPort;
    this.peerPort = peerPort;
    this.initialCluster = initialCluster;
    this.clusterToken = token;
    this.extraFlags = List.copyOf(extraFlags);
  }

  /** The etcd binary on the PATH, if there is one. */
  public static Optional<Path> binary() {
    return CommandLine.find("etcd");
  }

  /**
   * Starts a single-member cluster in a fresh temporary directory and waits until it is healthy.
   */
  public static EtcdProcess startSingle() {
    return startSingle(List.of());
  }

  /**
   * Starts a single-member cluster with {@code extraFlags} added to etcd's command line (for
   * example {@code --auth-token=...}) and waits until it is healthy.
   */
  public static EtcdProcess startSingle(List<String> extraFlags) {
    return startCluster(1, extraFlags).get(0);
  }

  /** Starts a cluster of {@code size} members and waits until all are healthy. */
  public static List<EtcdProcess> startCluster(int size) {
    return startCluster(size, List.of());
  }

  /** Starts a cluster of {@code size} members with {@code extraFlags} on every member. */
  public static List<EtcdProcess> startCluster(int size, List<String> extraFlags) {
    Path workDir;
    try {
      workDir = Files.createTempDirectory("nuwa-client-etcd-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<int[]> ports = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      ports.add(new int[] {freePort(), freePort()});
    }
    String initialCluster =
        java.util.stream.IntStream.range(0, size)
            .mapToObj(i -> "m" + i + "=http://127.0.0.1:" + ports.get(i)[1])
            .collect(Collectors.joining(","));
    String token = "t-" + UUID.randomUUID();
    List<EtcdProcess> members = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      members.add(
          new EtcdProcess(
              "m" + i,
              workDir,
              ports.get(i)[0],
              ports.get(i)[1],
              initialCluster,
              token,
              extraFlags));
    }
    try {
      for (EtcdProcess member : members) {
        member.launch();
      }
      for (EtcdProcess member : members) {
        member.awaitHealthy();
      }
    } catch (RuntimeException e) {
      members.forEach(EtcdProcess::close);
      throw e;
    }
    return members;
  }

  /** {@code 127.0.0.1:port} of the client listener. */
  public String endpoint() {
    return "127.0.0.1:" + clientPort;
  }

  public boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** Kills the member with SIGKILL, as a crash would, and waits until it is gone. */
  public void kill() {
    if (process != null) {
      process.destroyForcibly();
      try {
        process.waitFor();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      process = null;
    }
  }

  /** Starts the member again on the same ports and data, and waits until it is healthy. */
  public void restart() {
    if (isRunning()) {
      throw new IllegalStateException(name + " is still running");
    }
    launch();
    awaitHealthy();
  }

  /** Starts the member again without waiting, for restarting several members of a cluster. */
  public void restartAsync() {
    launch();
  }

  /** Kills the member and deletes its data and log; the last member out removes their directory. */
  @Override
  public void close() {
    kill();
    deleteRecursively(dataDir);
    try {
      Files.deleteIfExists(logFile);
      Files.deleteIfExists(dataDir.getParent());
    } catch (java.nio.file.DirectoryNotEmptyException othersStillThere) {
      // Another member of the cluster has not closed yet; it removes the directory.
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void launch() {
    Path etcd = binary().orElseThrow(() -> new IllegalStateException("etcd is not installed"));
    List<String> command = new ArrayList<>();
    command.addAll(
        List.of(
            etcd.toString(),
            "--name=" + name,
            "--data-dir=" + dataDir,
            "--listen-client-urls=http://127.0.0.1:" + clientPort,
            "--advertise-client-urls=http://127.0.0.1:" + clientPort,
            "--listen-peer-urls=http://127.0.0.1:" + peerPort,
            "--initial-advertise-peer-urls=http://127.0.0.1:" + peerPort,
            "--initial-cluster=" + initialCluster,
            "--initial-cluster-token=" + clusterToken,
            "--initial-cluster-state=new",
            "--heartbeat-interval=50",
            "--election-timeout=500",
            "--experimental-watch-progress-notify-interval="
                + PROGRESS_NOTIFY_INTERVAL.toMillis()
                + "ms",
            "--logger=zap",
            "--log-level=warn"));
    command.addAll(extraFlags);
    try {
      process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start etcd", e);
    }
  }

  /** Waits until the member answers {@code /health} with a leader. */
  public void awaitHealthy() {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://" + endpoint() + "/health"))
            .timeout(Duration.ofSeconds(2))
            .build();
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (process == null || !process.isAlive()) {
        throw new IllegalStateException(name + " exited at start; log: " + tail());
      }
      try {
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 200 && response.body().contains("\"true\"")) {
          return;
        }
      } catch (IOException e) {
        // Not listening yet.
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
      try {
        Thread.sleep(HEALTH_POLL_INTERVAL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }
    throw new IllegalStateException(
        name + " not healthy after " + START_TIMEOUT + "; log: " + tail());
  }

  private String tail() {
    try {
      List<String> lines = Files.readAllLines(logFile);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "(no log)";
    }
  }

  /** Outside the ephemeral range, so that a restarted member finds its ports free again. */
  private static int freePort() {
    return org.apsara.testkit.Ports.freePort();
  }

  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // Best effort: it is a temporary directory.
    }
  }
}
