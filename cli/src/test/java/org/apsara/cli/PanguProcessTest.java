package org.apsara.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.api.v1.ChunkServerLocation;
import org.apsara.pangu.api.v1.ChunkServerReport;
import org.apsara.pangu.api.v1.GetChunkLocationsRequest;
import org.apsara.pangu.api.v1.GetClusterReportResponse;
import org.apsara.pangu.api.v1.LocatedChunk;
import org.apsara.pangu.api.v1.PanguMasterGrpc;
import org.apsara.pangu.client.CreateOptions;
import org.apsara.pangu.client.PanguClient;
import org.apsara.pangu.client.PanguClientConfig;
import org.apsara.pangu.client.PanguOutputStream;
import org.apsara.testkit.ChildProcess;
import org.apsara.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pangu as separate OS processes, each started with {@code apsara run pangu-master} or {@code
 * apsara run pangu-chunkserver} exactly as a user starts one: a chunkserver killed with SIGKILL in
 * the middle of a write does not fail the writer, every byte reads back, and the chunks return to
 * three replicas; the master killed and restarted finds everything again; and {@code apsara fs}
 * works against it.
 */
class PanguProcessTest {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration REPAIR_TIMEOUT = Duration.ofSeconds(60);
  /** Small chunks, so that one file spans several and a kill lands inside one. */
  private static final long CHUNK_BYTES = 4L << 20;
  private static final int CHUNKSERVERS = 4;

  @TempDir Path dir;

  private final int masterPort = Ports.freePort();
  private final int raftPort = Ports.freePort();
  private final List<Integer> chunkPorts = Ports.freePorts(CHUNKSERVERS);
  private ChildProcess master;
  private final ChildProcess[] chunkservers = new ChildProcess[CHUNKSERVERS];

  @AfterEach
  void stopAll() {
    for (ChildProcess chunkserver : chunkservers) {
      if (chunkserver != null) {
        chunkserver.close();
      }
    }
    if (master != null) {
      master.close();
    }
  }

  @Test
  void writesSurviveAChunkServerKilledMidWriteAndTheMasterRestarting() throws Exception {
    startMaster();
    for (int i = 0; i < CHUNKSERVERS; i++) {
      startChunkServer(i);
    }
    byte[] data = new byte[(int) (5 * CHUNK_BYTES + 12345)];
    new Random(7).nextBytes(data);
    try (PanguClient client = client()) {
      awaitLive(client, CHUNKSERVERS);
      try (PanguOutputStream out = client.create("/data/big",
          CreateOptions.DEFAULTS.withChunkSizeBytes(CHUNK_BYTES))) {
        int half = data.length / 2;
        out.write(data, 0, half);
        out.hsync();
        // Kill -9 a chunkserver that holds a replica of the chunk being written.
        int victim = chunkserverHoldingLastChunk(client, "/data/big");
        chunkservers[victim].kill();
        out.write(data, half, data.length - half);
      }
      // The dead chunkserver's replicas are copied back to three on the others.
      await().atMost(REPAIR_TIMEOUT).untilAsserted(() -> {
        GetClusterReportResponse report = client.clusterReport(0);
        assertThat(report.getChunkserversList().stream().filter(ChunkServerReport::getAlive))
            .hasSize(CHUNKSERVERS - 1);
        assertThat(report.getUnderReplicatedChunks()).isZero();
        assertThat(report.getMissingChunks()).isZero();
      });
      assertThat(readAll(client, "/data/big")).isEqualTo(data);
    }

    master.kill();
    startMaster();
    try (PanguClient client = client()) {
      awaitLive(client, CHUNKSERVERS - 1);
      assertThat(readAll(client, "/data/big")).isEqualTo(data);
    }

    // The command line, in this JVM, against the same processes.
    Path local = dir.resolve("local.bin");
    Files.write(local, Arrays.copyOf(data, 100_000));
    String masters = "--masters=127.0.0.1:" + masterPort;
    assertThat(fs("put", local.toString(), "/cli/copy.bin", masters).exitCode()).isZero();
    assertThat(fs("ls", "/cli", masters).out()).contains("/cli/copy.bin").contains("100000");
    Path back = dir.resolve("back.bin");
    assertThat(fs("get", "/cli/copy.bin", back.toString(), masters).exitCode()).isZero();
    assertThat(Files.readAllBytes(back)).isEqualTo(Arrays.copyOf(data, 100_000));
    // An existing local file is replaced only when asked, as put treats a Pangu file.
    Files.write(back, new byte[] {1});
    CliRun.Result again = fs("get", "/cli/copy.bin", back.toString(), masters);
    assertThat(again.exitCode()).isEqualTo(1);
    assertThat(again.err()).contains(back + " already exists (-f replaces it)");
    assertThat(Files.readAllBytes(back)).containsExactly(1);
    assertThat(fs("get", "-f", "/cli/copy.bin", back.toString(), masters).exitCode()).isZero();
    assertThat(Files.readAllBytes(back)).isEqualTo(Arrays.copyOf(data, 100_000));
    CliRun.Result noLocal = fs("put", dir.resolve("nothing.bin").toString(), "/cli/x", masters);
    assertThat(noLocal.err()).contains("nothing.bin: no such file or directory");
    assertThat(fs("du", "/", masters).out()).contains("2 files");
    CliRun.Result fsck = fs("fsck", masters);
    assertThat(fsck.exitCode()).isZero();
    assertThat(fsck.out()).contains("missing chunks           0").contains("HEALTHY");
    // Decommissioning one of the three live chunkservers: its chunks have nowhere to go, so it
    // stays DECOMMISSIONING until cancelled.
    String leaving;
    String leavingAddress;
    try (PanguClient client = client()) {
      ChunkServerLocation location = client.clusterReport(0).getChunkserversList().stream()
          .filter(ChunkServerReport::getAlive).findFirst().orElseThrow().getLocation();
      leaving = location.getId();
      leavingAddress = location.getAddress();
    }
    CliRun.Result decommission = fs("decommission", leaving, masters);
    assertThat(decommission.exitCode()).as(decommission.err()).isZero();
    assertThat(decommission.out()).contains(leaving, "DECOMMISSIONING");
    await().atMost(REPAIR_TIMEOUT).untilAsserted(() -> assertThat(fs("fsck", masters).out())
        .containsPattern(leaving + " .*DECOMMISSIONING \\([1-9][0-9]* chunks to move\\)"));
    assertThat(fs("decommission", "--cancel", leaving, masters).out())
        .contains(leaving, "is in service");
    assertThat(fs("fsck", masters).out()).doesNotContain("DECOMMISSION");
    CliRun.Result missing = fs("cat", "/cli/nothing", masters);
    assertThat(missing.exitCode()).isEqualTo(1);
    assertThat(missing.err()).contains("/cli/nothing");
    assertThat(fs("rm", "-r", "/cli", masters).exitCode()).isZero();
    assertThat(fs("ls", "/", masters).out()).doesNotContain("/cli");

    // A disk that failed while its chunkserver was down: restarted with a second volume, the
    // chunkserver serves from that one, and fsck names the failed one.
    int broken = chunkPorts.indexOf(Integer.parseInt(leavingAddress.split(":")[1]));
    chunkservers[broken].kill();
    Path volume = dir.resolve("cs" + broken);
    Files.move(volume.resolve("chunks"), volume.resolve("chunks.gone"));
    Files.writeString(volume.resolve("chunks"), "not a directory");
    startChunkServer(broken, "--set", "volume.2.dir=" + dir.resolve("cs" + broken + "-2"),
        "--set", "volume.2.reserve=64M");
    await().atMost(REPAIR_TIMEOUT).untilAsserted(() -> assertThat(fs("fsck", masters).out())
        .containsPattern(leaving + " .* alive, .*\n    volume " + Pattern.quote(volume.toString())
            + " FAILED: when the store opened: .*is not a directory"));
  }

  private void startMaster() {
    master = ChildProcess.builder(Apsara.class)
        .name("pangu-master")
        .jvmArgs("-Xmx256m", "-XX:+UseSerialGC")
        .args("run", "pangu-master", "--id", "m1", "--no-auth",
            "--peers", "m1=127.0.0.1:" + raftPort + ":" + masterPort,
            "--data", dir.resolve("master").toString(),
            "--token-key-file", dir.resolve("token.keys").toString(),
            "--set", "heartbeat.interval=PT0.5S", "--set", "dead.interval=PT3S",
            "--set", "repair.interval=PT0.2S", "--set", "election.timeout=PT0.3S")
        .logFile(dir.resolve("master.out"))
        .start();
    master.awaitLogLine(Pattern.compile("pangu master member m1 serving on"), START_TIMEOUT);
  }

  private void startChunkServer(int i, String... moreArgs) {
    List<String> args = new ArrayList<>(List.of("run", "pangu-chunkserver",
        "--data", dir.resolve("cs" + i).toString(),
        "--port", Integer.toString(chunkPorts.get(i)),
        "--masters", "127.0.0.1:" + masterPort,
        "--token-key-file", dir.resolve("token.keys").toString(),
        // The test machine's disk may be nearly full; the default reserve is 1 GiB.
        "--set", "volume.1.reserve=64M"));
    args.addAll(List.of(moreArgs));
    chunkservers[i] = ChildProcess.builder(Apsara.class)
        .name("pangu-cs" + i)
        .jvmArgs("-Xmx256m", "-XX:+UseSerialGC")
        .args(args)
        .logFile(dir.resolve("cs" + i + ".out"))
        .start();
    chunkservers[i].awaitLogLine(Pattern.compile("pangu chunkserver serving on"), START_TIMEOUT);
  }

  private PanguClient client() {
    return PanguClient.connect(PanguClientConfig.builder(
        List.of(HostPort.of("127.0.0.1", masterPort))).build());
  }

  private static void awaitLive(PanguClient client, int count) {
    await().atMost(START_TIMEOUT).untilAsserted(() -> assertThat(client.clusterReport(0)
        .getChunkserversList().stream().filter(ChunkServerReport::getAlive)).hasSize(count));
  }

  /** One of the chunkservers the file's last chunk (open, being written) was placed on. */
  private int chunkserverHoldingLastChunk(PanguClient client, String path) throws IOException {
    int last = client.getStatus(path).getChunkCount() - 1;
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", masterPort)
        .usePlaintext().build();
    try {
      LocatedChunk chunk = PanguMasterGrpc.newBlockingStub(channel)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .getChunkLocations(GetChunkLocationsRequest.newBuilder().setPath(path)
              .setFromIndex(last).setLimit(1).build())
          .getChunks(0);
      assertThat(chunk.getCommitted()).as("the last chunk is still being written").isFalse();
      String address = chunk.getLocations(0).getAddress();
      for (int i = 0; i < CHUNKSERVERS; i++) {
        if (address.equals("127.0.0.1:" + chunkPorts.get(i))) {
          return i;
        }
      }
      throw new AssertionError("no chunkserver of this test at " + address);
    } finally {
      channel.shutdownNow();
    }
  }

  private static byte[] readAll(PanguClient client, String path) throws IOException {
    try (InputStream in = client.open(path)) {
      return in.readAllBytes();
    }
  }

  /** Runs {@code apsara fs ARGS} in this JVM, capturing what it prints. */
  private static CliRun.Result fs(String... args) {
    String[] full = new String[args.length + 1];
    full[0] = "fs";
    System.arraycopy(args, 0, full, 1, args.length);
    return CliRun.apsara(full);
  }
}
