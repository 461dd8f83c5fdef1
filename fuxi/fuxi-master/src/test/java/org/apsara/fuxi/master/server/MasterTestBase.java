package org.apsara.fuxi.master.server;

import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apsara.fuxi.api.AppMasterEnvironment;
import org.apsara.fuxi.api.v1.FuxiMasterGrpc;
import org.apsara.fuxi.api.v1.LaunchAppMaster;
import org.apsara.fuxi.api.v1.Resources;
import org.apsara.fuxi.api.v1.SubmitApplicationRequest;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.security.token.TokenKey;
import org.apsara.security.token.TokenKeyFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real FuxiMaster members on loopback against the shared one-member Nuwa, with fake Tubos and AMs
 * that speak the proto. Each test starts from empty Fuxi hard state.
 */
abstract class MasterTestBase {
  static final Duration WAIT = Duration.ofSeconds(20);
  static final long HEARTBEAT_MILLIS = 100;

  @TempDir Path dir;
  Path keyFile;
  NuwaFixture nuwa;
  final List<FuxiMasterServer> masters = new ArrayList<>();
  final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeEach
  void setUpCluster() throws IOException {
    nuwa = NuwaFixture.shared();
    wipeHardState();
    keyFile = dir.resolve("token.keys");
    TokenKeyFile.write(keyFile, List.of(TokenKey.generate("k1", new SecureRandom())));
  }

  @AfterEach
  void tearDownCluster() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
    for (FuxiMasterServer m : masters) {
      m.close();
    }
    wipeHardState();
  }

  private void wipeHardState() {
    try (NuwaClient client = nuwa.newClient()) {
      client.kv().deletePrefix(HardStateStore.ROOT);
    }
  }

  FuxiMasterConfig.Builder config(String memberId) {
    return FuxiMasterConfig.builder().memberId(memberId).port(0)
        .nuwaEndpoints(List.of(nuwa.endpoint())).tokenKeyFile(keyFile)
        .heartbeatInterval(Duration.ofMillis(HEARTBEAT_MILLIS))
        .deadInterval(Duration.ofSeconds(1)).rebuildWindow(Duration.ofMillis(1500))
        .electionTtl(Duration.ofSeconds(2)).tickInterval(Duration.ofMillis(20));
  }

  FuxiMasterServer startMaster(String memberId) throws IOException {
    FuxiMasterServer m = FuxiMasterServer.start(config(memberId).build());
    masters.add(m);
    return m;
  }

  /** One serving primary. */
  FuxiMasterServer startPrimary() throws IOException {
    FuxiMasterServer m = startMaster("m1");
    await().atMost(WAIT).until(m::isServing);
    return m;
  }

  FuxiMasterGrpc.FuxiMasterBlockingStub client(FuxiMasterServer m) {
    ManagedChannel channel =
        NettyChannelBuilder.forTarget(m.address().toString()).usePlaintext().build();
    closeables.add(channel::shutdownNow);
    return FuxiMasterGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  FakeTubo tubo(String machineId, long cpuMillis, long memoryMib, FuxiMasterServer... ms) {
    List<String> addresses = new ArrayList<>();
    for (FuxiMasterServer m : ms) {
      addresses.add(m.address().toString());
    }
    FakeTubo t = new FakeTubo(machineId, cpuMillis, memoryMib, addresses, HEARTBEAT_MILLIS);
    closeables.add(t);
    return t;
  }

  FakeAm am(FuxiMasterServer m) {
    FakeAm am = new FakeAm(m.address().toString());
    closeables.add(am);
    return am;
  }

  static SubmitApplicationRequest.Builder submit(String requestId) {
    return SubmitApplicationRequest.newBuilder().setRequestId(requestId).setName("job")
        .addAmCommand("/bin/am").setAmResources(resources(500, 256));
  }

  static Resources resources(long cpuMillis, long memoryMib) {
    return Resources.newBuilder().setCpuMillis(cpuMillis).setMemoryMib(memoryMib).build();
  }

  /** Waits for the launch of {@code workerId} of {@code appId} on one of the Tubos. */
  static LaunchAppMaster awaitLaunch(String appId, String workerId, FakeTubo... tubos) {
    return await().atMost(WAIT).until(() -> {
      for (FakeTubo t : tubos) {
        for (LaunchAppMaster l : t.launches) {
          if (l.getApplicationId().equals(appId) && l.getWorkerId().equals(workerId)) {
            return l;
          }
        }
      }
      return null;
    }, l -> l != null);
  }

  static String token(LaunchAppMaster launch) {
    return launch.getEnvironmentOrThrow(AppMasterEnvironment.APPLICATION_TOKEN);
  }

  static Path tempFile(Path dir, String name, String content) throws IOException {
    return Files.writeString(dir.resolve(name), content);
  }
}
