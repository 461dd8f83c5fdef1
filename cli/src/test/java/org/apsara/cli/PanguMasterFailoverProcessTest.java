package org.apsara.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.api.v1.ChunkServerReport;
import org.apsara.pangu.api.v1.GetClusterReportRequest;
import org.apsara.pangu.api.v1.PanguMasterGrpc;
import org.apsara.pangu.client.CreateOptions;
import org.apsara.pangu.client.PanguClient;
import org.apsara.pangu.client.PanguClientConfig;
import org.apsara.pangu.client.PanguErrorCode;
import org.apsara.pangu.client.PanguException;
import org.apsara.pangu.client.PanguOutputStream;
import org.apsara.testkit.ChildProcess;
import org.apsara.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three Pangu master members and three chunkservers as separate OS processes: the leader killed
 * with SIGKILL while a client writes files does not stop the client, which follows the new
 * leader, and every file whose close returned reads back whole. Meanwhile threads of the same
 * client create, close, stat and delete small files, so that their calls travel together
 * through the failover: every file whose close returned exists, closed, unless its delete
 * returned, and then it is gone. No master, the killed one included, leaves RocksDB's native
 * library in its temporary directory.
 */
class PanguMasterFailoverProcessTest {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
  private static final int MASTERS = 3;
  private static final int CHUNKSERVERS = 3;
  private static final int FILE_BYTES = 64 * 1024;
  private static final int SMALL_FILE_THREADS = 8;

  @TempDir Path dir;

  private final List<Integer> clientPorts = Ports.freePorts(MASTERS);
  private final List<Integer> raftPorts = Ports.freePorts(MASTERS);
  private final List<Integer> chunkPorts = Ports.freePorts(CHUNKSERVERS);
  private final List<ChildProcess> processes = new ArrayList<>();

  @AfterEach
  void stopAll() {
    processes.forEach(ChildProcess::close);
  }

  @Test
  void clientsCarryOnAfterTheLeaderIsKilled() throws Exception {
    ChildProcess[] masters = new ChildProcess[MASTERS];
    for (int i = 0; i < MASTERS; i++) {
      masters[i] = startMaster(i);
    }
    for (int i = 0; i < CHUNKSERVERS; i++) {
      startChunkServer(i);
    }
    List<HostPort> addresses = new ArrayList<>();
    clientPorts.forEach(port -> addresses.add(HostPort.of("127.0.0.1", port)));
    try (PanguClient client = PanguClient.connect(PanguClientConfig.builder(addresses).build())) {
      await().atMost(START_TIMEOUT).untilAsserted(() -> assertThat(client.clusterReport(0)
          .getChunkserversList().stream().filter(ChunkServerReport::getAlive))
          .hasSize(CHUNKSERVERS));

      List<String> written = new CopyOnWriteArrayList<>();
      List<String> kept = new CopyOnWriteArrayList<>();
      List<String> deleted = new CopyOnWriteArrayList<>();
      AtomicBoolean stop = new AtomicBoolean();
      ExecutorService writer = Executors.newFixedThreadPool(1 + SMALL_FILE_THREADS);
      try {
        // Threads whose creates, closes, stats and deletes meet and travel together.
        List<Future<?>> smallFiles = new ArrayList<>();
        for (int t = 0; t < SMALL_FILE_THREADS; t++) {
          int thread = t;
          smallFiles.add(writer.submit(() -> {
            for (int i = 0; !stop.get(); i++) {
              String path = "/small/t" + thread + "-" + i;
              client.create(path, CreateOptions.DEFAULTS.withCreateParent(true)).close();
              assertThat(client.getStatus(path).getOpen()).as(path).isFalse();
              if (i % 2 == 0) {
                assertThat(client.delete(path, false)).as(path).isTrue();
                deleted.add(path);
              } else {
                kept.add(path);
              }
            }
            return null;
          }));
        }
        Future<?> writes = writer.submit(() -> {
          for (int i = 0; !stop.get(); i++) {
            String path = "/failover/f" + i;
            try (PanguOutputStream out = client.create(path, CreateOptions.DEFAULTS)) {
              out.write(content(i));
            }
            written.add(path);
          }
          return null;
        });
        await().atMost(START_TIMEOUT).until(() -> written.size() >= 20);
        int leader = leader();
        masters[leader].kill();
        int before = written.size();
        // The writer goes on through the election, against the new leader.
        await().atMost(START_TIMEOUT).until(() -> written.size() >= before + 20
            || writes.isDone());
        int keptBefore = kept.size();
        await().atMost(START_TIMEOUT).until(() -> kept.size() >= keptBefore + 20
            || smallFiles.stream().anyMatch(Future::isDone));
        stop.set(true);
        writes.get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS); // rethrows a failed write
        for (Future<?> small : smallFiles) {
          small.get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        }
        assertThat(leader()).isNotEqualTo(leader);
      } finally {
        stop.set(true);
        writer.shutdownNow();
      }
      for (String path : kept) {
        assertThat(client.getStatus(path).getOpen()).as(path).isFalse();
      }
      for (String path : deleted) {
        assertThatThrownBy(() -> client.getStatus(path)).as(path)
            .isInstanceOfSatisfying(PanguException.class,
                e -> assertThat(e.code()).isEqualTo(PanguErrorCode.NOT_FOUND));
      }
      for (String path : written) {
        int i = Integer.parseInt(path.substring(path.lastIndexOf('f') + 1));
        try (InputStream in = client.open(path)) {
          assertThat(in.readAllBytes()).as(path).isEqualTo(content(i));
        }
      }
      // RocksDB's native library is loaded from a copy deleted at once, so that a master
      // killed, like the old leader, leaves none of its 15 MB behind.
      for (int i = 0; i < MASTERS; i++) {
        try (Stream<Path> left = Files.list(masterTemp(i))) {
          assertThat(left.map(p -> p.getFileName().toString()))
              .as("temporary files of master m" + i).noneMatch(n -> n.contains("rocksdb"));
        }
      }
    }
  }

  private static byte[] content(int file) {
    byte[] bytes = new byte[FILE_BYTES];
    new Random(file).nextBytes(bytes);
    return bytes;
  }

  /** The index of the member that answers as leader, waiting until one does. */
  private int leader() {
    return await().atMost(START_TIMEOUT).until(() -> {
      for (int i = 0; i < MASTERS; i++) {
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", clientPorts.get(i))
            .usePlaintext().build();
        try {
          PanguMasterGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.SECONDS)
              .getClusterReport(GetClusterReportRequest.getDefaultInstance());
          return i;
        } catch (StatusRuntimeException notLeaderOrDown) {
          // try the next member
        } finally {
          channel.shutdownNow();
        }
      }
      return -1;
    }, index -> index >= 0);
  }

  private String peers() {
    List<String> peers = new ArrayList<>();
    for (int i = 0; i < MASTERS; i++) {
      peers.add("m" + i + "=127.0.0.1:" + raftPorts.get(i) + ":" + clientPorts.get(i));
    }
    return String.join(",", peers);
  }

  /** A master's temporary directory, of its own so that what it leaves there can be seen. */
  private Path masterTemp(int i) {
    return dir.resolve("tmp-m" + i);
  }

  private ChildProcess startMaster(int i) throws IOException {
    Files.createDirectories(masterTemp(i));
    ChildProcess master = ChildProcess.builder(Apsara.class)
        .name("pangu-master-m" + i)
        .jvmArgs("-Xmx256m", "-XX:+UseSerialGC", "-Djava.io.tmpdir=" + masterTemp(i))
        .args("run", "pangu-master", "--id", "m" + i, "--no-auth", "--peers", peers(),
            "--data", dir.resolve("m" + i).toString(),
            "--token-key-file", dir.resolve("token.keys").toString(),
            "--set", "heartbeat.interval=PT0.5S", "--set", "dead.interval=PT3S",
            "--set", "election.timeout=PT0.5S")
        .logFile(dir.resolve("m" + i + ".out"))
        .start();
    processes.add(master);
    master.awaitLogLine(Pattern.compile("pangu master member m" + i + " serving on"),
        START_TIMEOUT);
    return master;
  }

  private void startChunkServer(int i) {
    List<String> masters = new ArrayList<>();
    clientPorts.forEach(port -> masters.add("127.0.0.1:" + port));
    ChildProcess chunkserver = ChildProcess.builder(Apsara.class)
        .name("pangu-cs" + i)
        .jvmArgs("-Xmx256m", "-XX:+UseSerialGC")
        .args("run", "pangu-chunkserver",
            "--data", dir.resolve("cs" + i).toString(),
            "--port", Integer.toString(chunkPorts.get(i)),
            "--masters", String.join(",", masters),
            "--token-key-file", dir.resolve("token.keys").toString(),
            "--set", "volume.1.reserve=64M")
        .logFile(dir.resolve("cs" + i + ".out"))
        .start();
    processes.add(chunkserver);
    chunkserver.awaitLogLine(Pattern.compile("pangu chunkserver serving on"), START_TIMEOUT);
  }
}
