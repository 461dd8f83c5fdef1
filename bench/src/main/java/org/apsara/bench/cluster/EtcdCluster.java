package org.apsara.bench.cluster;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.StringJoiner;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apsara.common.net.FreePorts;

/**
 * A real etcd cluster of {@code size} members, each an {@code etcd} OS process listening on free
 * 127.0.0.1 ports with its own data directory under a fresh temporary directory.
 *
 * <p>etcd runs with its defaults apart from addresses and logging, so its write-ahead log is
 * fsynced before a write is acknowledged. {@link #start} returns once every member has served a
 * linearizable Range request. Not thread-safe; {@link #close()} kills every member and deletes the
 * directory.
 */
public final class EtcdCluster extends LocalCluster {
  /** The display name used in messages and reports. */
  public static final String SYSTEM = "etcd";

  /** Longest wait for {@code etcd --version}. */
  public static final Duration VERSION_TIMEOUT = Duration.ofSeconds(10);


  private EtcdCluster(
      Path directory, List<MemberProcess> members, List<InetSocketAddress> clientAddresses) {
    super(SYSTEM, directory, members, clientAddresses);
  }

  /** The {@code etcd} executable on the {@code PATH}, if any. */
  public static Optional<Path> findBinaryOnPath() {
    String path = System.getenv("PATH");
    if (path == null) {
      return Optional.empty();
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path candidate = Path.of(dir, "etcd");
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /** The first line of {@code etcd --version}, e.g. {@code "etcd Version: 3.4.23"}. */
  public static String version(Path binary) {
    try {
      Process process =
          new ProcessBuilder(binary.toString(), "--version").redirectErrorStream(true).start();
      process.getOutputStream().close();
      if (!process.waitFor(VERSION_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        return "etcd (version unknown: `etcd --version` did not finish)";
      }
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      return output.lines().findFirst().orElse("etcd (version unknown)").trim();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + binary + " --version", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "etcd (version unknown: interrupted)";
    }
  }

  /**
   * Starts {@code size} members and waits until each serves a Range request.
   *
   * @param binary the {@code etcd} executable
   * @param parentDirectory where the cluster's temporary directory is created
   * @param startupTimeout how long all members together may take to come up
   * @throws ClusterStartException naming the member and its log if one does not come up; any
   *     member already started is stopped and the directory deleted
   */
  public static EtcdCluster start(
      Path binary, int size, Path parentDirectory, Duration startupTimeout) {
    if (size < 1) {
      throw new IllegalArgumentException("cluster size " + size + " < 1");
    }
    if (!Files.isExecutable(binary)) {
      throw new ClusterStartException(SYSTEM, "no executable etcd at " + binary, null, null);
    }
    Path directory = TempDirectories.create(parentDirectory, "apsara-bench-etcd-");
    int[] ports = FreePorts.freePorts(2 * size);
    String host = FreePorts.LOOPBACK.getHostAddress();
    StringJoiner initialCluster = new StringJoiner(",");
    for (int i = 0; i < size; i++) {
      initialCluster.add(memberName(i) + "=http://" + host + ":" + ports[2 * i + 1]);
    }
    // A fresh token per cluster keeps members of two benchmark clusters from ever joining.
    String token = "apsara-bench-" + UUID.randomUUID();
    List<MemberProcess> members = new ArrayList<>();
    List<InetSocketAddress> clientAddresses = new ArrayList<>();
    try {
      for (int i = 0; i < size; i++) {
        String clientUrl = "http://" + host + ":" + ports[2 * i];
        String peerUrl = "http://" + host + ":" + ports[2 * i + 1];
        Path memberDirectory = Files.createDirectories(directory.resolve(memberName(i)));
        List<String> command =
            List.of(
                binary.toString(),
                "--name", memberName(i),
                "--data-dir", memberDirectory.resolve("data").toString(),
                "--listen-client-urls", clientUrl,
                "--advertise-client-urls", clientUrl,
                "--listen-peer-urls", peerUrl,
                "--initial-advertise-peer-urls", peerUrl,
                "--initial-cluster", initialCluster.toString(),
                "--initial-cluster-state", "new",
                "--initial-cluster-token", token,
                "--logger", "zap",
                "--log-outputs", "stderr");
        members.add(
            MemberProcess.start(
                SYSTEM + " member " + memberName(i),
                command,
                memberDirectory,
                memberDirectory.resolve("member.log")));
        clientAddresses.add(new InetSocketAddress(host, ports[2 * i]));
      }
      try (RangeProbe probe = new RangeProbe(clientAddresses)) {
        StartupWait.untilAllAnswer(SYSTEM, members, startupTimeout, "a Range request", probe);
      }
      return new EtcdCluster(directory, members, clientAddresses);
    } catch (IOException | RuntimeException e) {
      throw StartupWait.abandon(SYSTEM, members, directory, e);
    }
  }

  static String memberName(int index) {
    return "m" + (index + 1);
  }
}
