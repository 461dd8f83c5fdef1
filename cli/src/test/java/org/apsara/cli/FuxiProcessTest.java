package org.apsara.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apsara.common.net.HostPort;
import org.apsara.fuxi.api.v1.ApplicationStatus;
import org.apsara.fuxi.api.v1.FuxiMasterGrpc;
import org.apsara.fuxi.api.v1.ListNodesRequest;
import org.apsara.fuxi.api.v1.NodeStatus;
import org.apsara.fuxi.client.FuxiClient;
import org.apsara.fuxi.client.FuxiClientConfig;
import org.apsara.fuxi.tubo.agent.TuboServerConfig;
import org.apsara.nuwa.server.NuwaConfig;
import org.apsara.nuwa.server.NuwaServer;
import org.apsara.security.sign.AccessKeyCredentials;
import org.apsara.tenant.api.CredentialsFile;
import org.apsara.testkit.ChildProcess;
import org.apsara.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuxi as separate OS processes, each started with {@code apsara run fuxi-master} or {@code apsara
 * run tubo} as a user starts one, around a Nuwa in this JVM; applications submitted with {@code
 * apsara fuxi submit}, whose workers are real processes: the primary master killed with SIGKILL
 * while an application runs (the standby takes over, the workers keep running, the application
 * finishes), a Tubo killed (its machine is declared dead), and a memory hog killed by its cgroup
 * and reported as such.
 */
class FuxiProcessTest {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration APP_TIMEOUT = Duration.ofSeconds(90);
  private static final int TUBOS = 2;

  @TempDir Path dir;

  private NuwaServer nuwa;
  private final List<Integer> masterPorts = Ports.freePorts(2);
  private final List<Integer> tuboPorts = Ports.freePorts(TUBOS);
  private final ChildProcess[] masters = new ChildProcess[2];
  private final ChildProcess[] tubos = new ChildProcess[TUBOS];
  /** Cgroups of its own, so that the test never touches those of a Tubo running on the host. */
  private final String cgroupPrefix = "apsara-test-" + ProcessHandle.current().pid();

  @BeforeEach
  void startNuwa() throws Exception {
    // The masters run with --no-auth and ignore signatures; a credentials file of the test's own
    // keeps the command line from reading the user's.
    CredentialsFile.write(credentialsFile(), new CredentialsFile.Profile(
        CredentialsFile.DEFAULT_PROFILE, new AccessKeyCredentials("LTAItest0000000000000000",
            "test-secret-0000000000000000000"), Optional.empty()));
    nuwa = NuwaServer.start(NuwaConfig.builder()
        .memberId("n1")
        .peer("n1", HostPort.of("127.0.0.1", Ports.freePort()))
        .dataDir(dir.resolve("nuwa"))
        .clientPort(Ports.freePort())
        .electionTimeoutMin(Duration.ofMillis(300))
        .build());
    await().atMost(START_TIMEOUT)
        .until(() -> nuwa.stateMachine().isLeaderReady() && nuwa.raft().isLeader());
  }

  @AfterEach
  void stopAll() throws IOException {
    for (ChildProcess tubo : tubos) {
      if (tubo != null) {
        // SIGTERM: Tubo leaves workers running by design; the test's are short and end alone.
        tubo.close();
      }
    }
    for (ChildProcess master : masters) {
      if (master != null) {
        master.close();
      }
    }
    nuwa.close();
    removeTestCgroups();
  }

  /**
   * Removes the Tubos' cgroups once their workers are gone (a Tubo leaves them on purpose, for
   * the next start to adopt): empty groups only, deepest first, in every hierarchy.
   */
  private void removeTestCgroups() throws IOException {
    Path root = Path.of("/sys/fs/cgroup");
    if (!Files.isDirectory(root)) {
      return;
    }
    List<Path> groups = new ArrayList<>();
    try (Stream<Path> hierarchies = Files.list(root)) {
      for (Path hierarchy : hierarchies.toList()) {
        try (Stream<Path> tops = Files.list(hierarchy)) {
          for (Path top : tops.filter(p -> p.getFileName().toString().startsWith(cgroupPrefix))
              .toList()) {
            try (Stream<Path> tree = Files.walk(top)) {
              tree.filter(Files::isDirectory).forEach(groups::add);
            }
          }
        } catch (IOException | UncheckedIOException notAHierarchy) {
          // a file, or a hierarchy this process cannot read
        }
      }
    }
    // A Tubo stopped while it was killing a worker group leaves the group frozen (it thaws it
    // once the kill is sent), and a frozen process never exits: thaw every group, then kill
    // what is left in them, so that the groups empty.
    for (Path group : groups) {
      writeIfPresent(group.resolve("freezer.state"), "THAWED");
    }
    for (Path group : groups) {
      for (String pid : readIfPresent(group.resolve("cgroup.procs")).split("\\s+")) {
        if (!pid.isEmpty()) {
          ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
        }
      }
    }
    await().atMost(START_TIMEOUT).until(() -> {
      boolean all = true;
      for (int i = groups.size() - 1; i >= 0; i--) {
        try {
          Files.deleteIfExists(groups.get(i));
        } catch (IOException busy) {
          all = false; // a worker is still ending in it
        }
      }
      return all;
    });
  }

  private static void writeIfPresent(Path file, String value) {
    try {
      if (Files.exists(file)) {
        Files.writeString(file, value);
      }
    } catch (IOException gone) {
      // the group went away meanwhile
    }
  }

  private static String readIfPresent(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file).trim() : "";
    } catch (IOException gone) {
      return "";
    }
  }

  @Test
  void theStandbyTakesOverFromAKilledPrimaryAndTheApplicationCarriesOn() throws Exception {
    startMaster(0);
    startMaster(1);
    for (int i = 0; i < TUBOS; i++) {
      startTubo(i);
    }
    try (FuxiClient client = client()) {
      awaitAlive(client, TUBOS);
      Path starts = dir.resolve("starts.txt");
      // Each instance notes its start, then runs well past the failover.
      String id = submit("--instances", "2", "--cpu", "250", "--memory", "64",
          "--", "sh", "-c", "echo $TUBO_WORKER_ID >> " + starts + "; sleep 12");
      await().atMost(APP_TIMEOUT).until(() -> lines(starts) == 2);

      int primary = primaryIndex();
      masters[primary].kill();
      ApplicationStatus end = awaitEnd(client, id);
      assertThat(end.getState()).as(end.getDiagnostics())
          .isEqualTo(ApplicationStatus.State.SUCCEEDED);
      // The workers were neither restarted nor run twice, and the AM kept its first attempt.
      assertThat(lines(starts)).as("instances started: %s", Files.readString(starts))
          .isEqualTo(2);
      assertThat(end.getAmAttempt()).isEqualTo(1);
      assertThat(primaryIndex()).isEqualTo(1 - primary);
      // The built-in AM logs as every Apsara process does (readable lines on standard error),
      // not by whatever logback finds on the class path (every library's DEBUG events, or here
      // the tests' configuration, which writes to standard output).
      String amLog = amStderr(id + ".am-1");
      assertThat(amLog).contains("INFO").contains("Finishing: SUCCEEDED");
      assertThat(amLog.lines()).noneMatch(line -> line.contains(" DEBUG "));
    }
  }

  @Test
  void aKilledTuboIsDeclaredDeadAndAMemoryHogIsKilledForMemory() throws Exception {
    startMaster(0);
    for (int i = 0; i < TUBOS; i++) {
      startTubo(i);
    }
    try (FuxiClient client = client()) {
      awaitAlive(client, TUBOS);
      tubos[1].kill();
      await().atMost(START_TIMEOUT).untilAsserted(() -> assertThat(client.nodes())
          .filteredOn(n -> n.getMachineId().equals("t2")).singleElement()
          .extracting(NodeStatus::getState).isEqualTo(NodeStatus.State.DEAD));
      startTubo(1);
      awaitAlive(client, TUBOS);

      assumeTrue(client.nodes().stream().noneMatch(n -> n.getEnforcement().contains("unenforced")),
          "cgroups are not writable here: a memory hog would not be stopped");
      // tail of an endless line keeps it all in memory, far above 64 MiB.
      CliRun.Result hog = CliRun.apsara("fuxi", "submit", "--masters", masterList(),
          "--credentials", credentialsFile().toString(),
          "--instances", "1", "--cpu", "250", "--memory", "64", "--max-failures-per-instance",
          "1", "--wait", "--", "tail", "/dev/zero");
      assertThat(hog.exitCode()).as(hog.out() + hog.err()).isEqualTo(1);
      assertThat(hog.out()).contains("state        failed").contains("above its memory limit");
    }
  }

  /** The standard error of an application master, in the sandbox of whichever Tubo ran it. */
  private String amStderr(String sandbox) throws IOException {
    for (int i = 0; i < TUBOS; i++) {
      Path stderr = tuboDataDir(i).resolve(TuboServerConfig.SANDBOXES_DIR).resolve(sandbox)
          .resolve("stderr");
      if (Files.exists(stderr)) {
        return Files.readString(stderr);
      }
    }
    throw new AssertionError("no Tubo has a sandbox " + sandbox);
  }

  private void startMaster(int i) {
    masters[i] = ChildProcess.builder(Apsara.class)
        .name("fuxi-master-" + (i + 1))
        .jvmArgs("-Xmx256m", "-XX:+UseSerialGC")
        .args("run", "fuxi-master", "--id", "f" + (i + 1),
            "--nuwa-endpoints", nuwa.clientEndpoint(),
            "--port", Integer.toString(masterPorts.get(i)),
            "--masters", masterList(),
            "--data", dir.resolve("f" + (i + 1)).toString(),
            "--token-key-file", dir.resolve("token.keys").toString(), "--no-auth",
            "--set", "heartbeat.interval=PT0.3S", "--set", "dead.interval=PT3S",
            "--set", "rebuild.window=PT2S", "--set", "election.ttl=PT2S")
        .logFile(dir.resolve("f" + (i + 1) + ".out"))
        .start();
    masters[i].awaitLogLine(Pattern.compile("fuxi master member f" + (i + 1) + " serving on"),
        START_TIMEOUT);
  }

  private void startTubo(int i) throws Exception {
    // The token key file is written by the first master's start.
    await().atMost(START_TIMEOUT).until(() -> Files.exists(dir.resolve("token.keys")));
    tubos[i] = ChildProcess.builder(Apsara.class)
        .name("tubo-" + (i + 1))
        .jvmArgs("-Xmx128m", "-XX:+UseSerialGC")
        .args("run", "tubo", "--machine-id", "t" + (i + 1),
            "--data", tuboDataDir(i).toString(),
            "--port", Integer.toString(tuboPorts.get(i)),
            "--masters", masterList(),
            "--token-key-file", dir.resolve("token.keys").toString(),
            "--cpu", "1000", "--memory", "1024",
            "--set", "cgroup.parent=" + cgroupPrefix + "-t" + (i + 1))
        .logFile(dir.resolve("t" + (i + 1) + ".out"))
        .start();
    tubos[i].awaitLogLine(Pattern.compile("tubo t" + (i + 1) + " serving on"), START_TIMEOUT);
  }

  /** The data directory of Tubo {@code i}: its sandboxes are in there. */
  private Path tuboDataDir(int i) {
    return dir.resolve("t" + (i + 1));
  }

  private Path credentialsFile() {
    return dir.resolve("credentials");
  }

  private String masterList() {
    List<String> addresses = new ArrayList<>();
    for (int port : masterPorts) {
      addresses.add("127.0.0.1:" + port);
    }
    return String.join(",", addresses);
  }

  private FuxiClient client() {
    return FuxiClient.connect(FuxiClientConfig.builder(
        masterPorts.stream().map(p -> HostPort.of("127.0.0.1", p)).toList()).build());
  }

  private String submit(String... args) {
    List<String> full = new ArrayList<>(List.of("fuxi", "submit", "--masters", masterList(),
        "--credentials", credentialsFile().toString(),
        "--am-cpu", "250", "--am-memory", "384"));
    full.addAll(List.of(args));
    CliRun.Result submitted = CliRun.apsara(full.toArray(String[]::new));
    assertThat(submitted.exitCode()).as(submitted.err()).isZero();
    return submitted.out().strip();
  }

  private static void awaitAlive(FuxiClient client, int count) {
    await().atMost(START_TIMEOUT).untilAsserted(() -> assertThat(client.nodes())
        .filteredOn(n -> n.getState() == NodeStatus.State.ALIVE).hasSize(count));
  }

  private static ApplicationStatus awaitEnd(FuxiClient client, String id) {
    return await().atMost(APP_TIMEOUT).until(() -> client.get(id),
        s -> FuxiCommand.finished(s.getState()));
  }

  /** The member serving as primary now (a standby refuses ListNodes). */
  private int primaryIndex() {
    return await().atMost(START_TIMEOUT).until(() -> {
      for (int i = 0; i < masters.length; i++) {
        if (masters[i] != null && masters[i].isAlive() && answers(masterPorts.get(i))) {
          return i;
        }
      }
      return -1;
    }, i -> i >= 0);
  }

  private static boolean answers(int port) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
        .build();
    try {
      FuxiMasterGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
          .listNodes(ListNodesRequest.getDefaultInstance());
      return true;
    } catch (StatusRuntimeException e) {
      return false;
    } finally {
      channel.shutdownNow();
    }
  }

  private static long lines(Path file) throws Exception {
    return Files.exists(file) ? Files.readAllLines(file).size() : 0;
  }
}
