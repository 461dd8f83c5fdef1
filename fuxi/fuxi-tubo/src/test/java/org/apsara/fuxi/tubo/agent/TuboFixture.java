package org.apsara.fuxi.tubo.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apsara.common.net.HostPort;
import org.apsara.fuxi.api.v1.MachineGrant;
import org.apsara.fuxi.api.v1.Resources;
import org.apsara.fuxi.api.v1.StartWorkerRequest;
import org.apsara.fuxi.api.v1.StartWorkerResponse;
import org.apsara.fuxi.api.v1.TuboGrpc;
import org.apsara.fuxi.api.v1.WorkerClass;
import org.apsara.fuxi.tubo.MachineResources;
import org.apsara.fuxi.tubo.TuboConfig;
import org.apsara.fuxi.tubo.WorkerSupervisor;
import org.apsara.fuxi.tubo.cgroup.CgroupMode;
import org.apsara.fuxi.tubo.cgroup.CgroupMounts;
import org.apsara.fuxi.tubo.cgroup.HostPaths;
import org.apsara.security.token.CapabilityTokenIssuer;
import org.apsara.security.token.TokenKey;
import org.apsara.security.token.TokenKeyFile;

/**
 * A Tubo on loopback reporting to a {@link FakeFuxiMaster}, with the token keys the fake master
 * would sign application tokens with, and a client to the Tubo service. Workers run in cgroup v1
 * groups of their own where this process is root and the hierarchies are writable, unenforced
 * otherwise, so the tests run as any user. {@link #close} has the master revoke every grant,
 * waits until Tubo killed every worker, stops everything and removes the test's cgroups.
 */
final class TuboFixture implements AutoCloseable {
  /** How long a condition is awaited before a test fails. */
  static final Duration WAIT = Duration.ofSeconds(30);
  static final Resources SHAPE =
      Resources.newBuilder().setCpuMillis(100).setMemoryMib(64).build();

  final Path dir;
  final FakeFuxiMaster master;
  final TokenKey key;
  final CapabilityTokenIssuer issuer;
  final String cgroupParent = "apsara-tubo-agent-test-" + UUID.randomUUID().toString()
      .substring(0, 8);
  final CgroupMode cgroupMode = writableCgroupV1() ? CgroupMode.V1 : CgroupMode.NONE;
  TuboServer tubo;
  private ManagedChannel channel;
  TuboGrpc.TuboBlockingStub client;

  TuboFixture(Path dir) throws IOException {
    this.dir = dir;
    this.master = new FakeFuxiMaster();
    this.key = TokenKey.generate("k1", new SecureRandom());
    TokenKeyFile.write(dir.resolve("token.keys"), List.of(key));
    this.issuer = new CapabilityTokenIssuer(key, Clock.systemUTC());
  }

  TuboServerConfig.Builder config(List<HostPort> masters) {
    return TuboServerConfig.builder()
        .machineId("m1")
        .rack("/r1")
        .masterAddresses(masters)
        .port(0)
        .dataDir(dir.resolve("tubo"))
        .cgroupMode(cgroupMode)
        .cgroupParent(cgroupParent)
        .cpuMillicores(8000)
        .memoryMib(8192)
        .tokenKeyFile(dir.resolve("token.keys"));
  }

  /** Starts (or restarts) the Tubo reporting to the fake master. */
  TuboServer start() throws IOException {
    return start(config(List.of(master.address())).build());
  }

  TuboServer start(TuboServerConfig config) throws IOException {
    closeClient();
    tubo = TuboServer.start(config);
    channel = NettyChannelBuilder.forAddress(tubo.address().host(), tubo.address().port())
        .usePlaintext().build();
    client = TuboGrpc.newBlockingStub(channel);
    return tubo;
  }

  /** A valid application token of {@code applicationId}. */
  String token(String applicationId) {
    return issuer.issue(applicationId, ApplicationTokenGate.resource(applicationId),
        Set.of(ApplicationTokenGate.OPERATION), Duration.ofMinutes(10));
  }

  /** A token of {@code applicationId} that expired an hour ago. */
  String expiredToken(String applicationId) {
    CapabilityTokenIssuer past = new CapabilityTokenIssuer(key,
        Clock.fixed(Instant.now().minus(Duration.ofHours(2)), ZoneOffset.UTC));
    return past.issue(applicationId, ApplicationTokenGate.resource(applicationId),
        Set.of(ApplicationTokenGate.OPERATION), Duration.ofMinutes(10));
  }

  static MachineGrant grant(String applicationId, String role, int count) {
    return MachineGrant.newBuilder()
        .setApplicationId(applicationId)
        .setRole(role)
        .setCount(count)
        .setShape(SHAPE)
        .setWorkerClass(WorkerClass.BATCH)
        .build();
  }

  StartWorkerResponse startWorker(String applicationId, String role, String workerId,
      String... command) {
    return client.startWorker(StartWorkerRequest.newBuilder()
        .setApplicationId(applicationId)
        .setApplicationToken(token(applicationId))
        .setRole(role)
        .setWorkerId(workerId)
        .addAllCommand(List.of(command))
        .putAllEnvironment(Map.of("GREETING", "hello"))
        .build());
  }

  /** Starts a worker that runs until killed. */
  StartWorkerResponse startSleeper(String applicationId, String role, String workerId) {
    return startWorker(applicationId, role, workerId, "sleep", "300");
  }

  /** Waits until Tubo has heartbeated {@code more} times after now. */
  void awaitHeartbeats(int more) {
    int target = master.count() + more;
    await().atMost(WAIT).until(() -> master.count() >= target);
  }

  /** Application worker ids running on the Tubo now. */
  List<String> running() {
    return tubo.runningWorkers().stream().map(w -> w.spec().applicationWorkerId()).toList();
  }

  /** Whether this process may make cgroup v1 groups: root, cpu, cpuacct and memory mounted. */
  static boolean writableCgroupV1() {
    if (!"root".equals(System.getProperty("user.name"))) {
      return false;
    }
    try {
      CgroupMounts mounts = CgroupMounts.read(HostPaths.SYSTEM.mountinfo());
      return List.of("cpu", "cpuacct", "memory").stream()
          .allMatch(c -> mounts.v1(c).map(m -> Files.isWritable(m.mountPoint())).orElse(false));
    } catch (IOException e) {
      return false;
    }
  }

  /** Removes the test's cgroups, through a supervisor on the same parent (it has no workers). */
  private void removeCgroups() throws IOException {
    TuboConfig config = TuboConfig.defaults(dir.resolve("tubo").resolve("sandboxes"),
            new MachineResources(8000, 8192))
        .withCgroupMode(cgroupMode)
        .withCgroupParent(cgroupParent);
    try (WorkerSupervisor supervisor = WorkerSupervisor.start(config, exit -> { })) {
      assertThat(supervisor.running()).isEmpty();
      assertThat(supervisor.removeTuboCgroups()).as("no worker cgroup left").isTrue();
    }
  }

  private void closeClient() {
    if (channel != null) {
      channel.shutdownNow();
      channel = null;
    }
  }

  @Override
  public void close() throws IOException {
    try {
      if (tubo != null) {
        // The master revokes everything: the Tubo kills its workers, which must not outlive us.
        master.standby(null);
        master.answer(a -> a.clearGrants().clearLaunchAppMasters().setRebuilding(false)
            .setHeartbeatIntervalMillis(FakeFuxiMaster.TEST_INTERVAL_MILLIS));
        tubo.beatNow();
        await().atMost(WAIT).until(() -> tubo.runningWorkers().isEmpty());
        tubo.close();
        removeCgroups();
      }
    } finally {
      closeClient();
      master.close();
    }
  }
}
