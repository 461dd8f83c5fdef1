package org.apsara.pangu.hadoop;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.chunkserver.server.ChunkServer;
import org.apsara.pangu.chunkserver.server.ChunkServerConfig;
import org.apsara.pangu.chunkserver.store.VolumeConfig;
import org.apsara.pangu.client.PanguClient;
import org.apsara.pangu.client.PanguClientConfig;
import org.apsara.pangu.master.server.MasterServer;
import org.apsara.pangu.master.server.MasterServerConfig;
import org.apsara.security.token.TokenKey;
import org.apsara.security.token.TokenKeyFile;

/**
 * A Pangu cluster in this JVM for tests: one master member and a few chunkservers on loopback,
 * over a temporary directory, sharing a token key file. {@link #shared()} is one cluster for
 * every contract suite of the test run, closed when the JVM exits.
 */
final class PanguTestCluster implements AutoCloseable {
  /** Chunkservers of the shared cluster: one per replica of the default replication. */
  static final int SHARED_CHUNKSERVERS = 3;
  /** Short, so that a test waits little for chunkservers to register or to be declared dead. */
  static final Duration HEARTBEAT_INTERVAL = Duration.ofMillis(200);
  static final Duration DEAD_INTERVAL = Duration.ofSeconds(3);
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  private static PanguTestCluster shared;

  final Path directory;
  private final Path keyFile;
  private final MasterServer master;
  private final List<ChunkServer> chunkServers = new ArrayList<>();
  private final PanguClient client;

  /** The cluster the contract suites share, started on first use. */
  static synchronized PanguTestCluster shared() {
    if (shared == null) {
      try {
        shared = new PanguTestCluster(SHARED_CHUNKSERVERS);
      } catch (IOException e) {
        throw new UncheckedIOException("the shared test cluster did not start", e);
      }
      PanguTestCluster cluster = shared;
      Runtime.getRuntime().addShutdownHook(new Thread(cluster::close, "pangu-test-cluster-stop"));
    }
    return shared;
  }

  PanguTestCluster(int chunkServerCount) throws IOException {
    directory = Files.createTempDirectory("pangu-test-cluster");
    keyFile = directory.resolve("token.keys");
    TokenKeyFile.write(keyFile, List.of(TokenKey.generate("test-key", new SecureRandom())));
    HostPort raft = HostPort.of("127.0.0.1", freePort());
    HostPort clientAddress = HostPort.of("127.0.0.1", freePort());
    master = MasterServer.start(MasterServerConfig.builder()
        .memberId("m1")
        .peer("m1", raft, clientAddress)
        .dataDir(directory.resolve("master"))
        .tokenKeyFile(keyFile)
        .heartbeatInterval(HEARTBEAT_INTERVAL)
        .deadInterval(DEAD_INTERVAL)
        .build());
    await().atMost(START_TIMEOUT).until(master::isLeader);
    for (int i = 0; i < chunkServerCount; i++) {
      startChunkServer("cs-" + i);
    }
    client = PanguClient.connect(PanguClientConfig.builder(List.of(master.clientAddress()))
        .operationTimeout(Duration.ofSeconds(30)).build());
    awaitLiveChunkServers(chunkServerCount);
  }

  ChunkServer startChunkServer(String name) throws IOException {
    ChunkServer server = ChunkServer.start(ChunkServerConfig.builder()
        .volume(new VolumeConfig(directory.resolve(name), VolumeConfig.CAPACITY_WHOLE_FILE_SYSTEM,
            0))
        .host("127.0.0.1")
        .port(0)
        .metricsPort(-1)
        .tokenKeyFile(keyFile)
        .masterAddresses(List.of(master.clientAddress()))
        .build());
    chunkServers.add(server);
    return server;
  }

  /** Waits until the master counts {@code count} live chunkservers. */
  void awaitLiveChunkServers(int count) {
    await().atMost(START_TIMEOUT).until(() -> client.clusterReport(0).getChunkserversList()
        .stream().filter(report -> report.getAlive()).count() == count);
  }

  List<ChunkServer> chunkServers() {
    return chunkServers;
  }

  /** {@code pangu://host:port} of the master. */
  URI uri() {
    return URI.create(PanguFileSystem.SCHEME + "://" + master.clientAddress().format());
  }

  HostPort masterAddress() {
    return master.clientAddress();
  }

  /** A client of this cluster owned by the cluster (closed with it). */
  PanguClient client() {
    return client;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  @Override
  public void close() {
    client.close();
    for (ChunkServer server : chunkServers) {
      server.close();
    }
    master.close();
    try (Stream<Path> files = Files.walk(directory)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // A temporary directory left behind is harmless.
    }
  }
}
