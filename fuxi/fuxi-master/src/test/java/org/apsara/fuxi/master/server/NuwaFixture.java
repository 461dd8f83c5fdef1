package org.apsara.fuxi.master.server;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;
import org.apsara.common.net.HostPort;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.server.NuwaConfig;
import org.apsara.nuwa.server.NuwaServer;
import org.apsara.testkit.Ports;

/** A real one-member Nuwa in the test JVM, shared by the test classes, stopped at JVM exit. */
final class NuwaFixture {
  static final Duration CLIENT_REQUEST_TIMEOUT = Duration.ofSeconds(10);

  private static NuwaFixture shared;

  private final NuwaServer server;

  private NuwaFixture(NuwaServer server) {
    this.server = server;
  }

  static synchronized NuwaFixture shared() throws IOException {
    if (shared == null) {
      Path dir = Files.createTempDirectory("fuxi-test-nuwa");
      NuwaServer server = NuwaServer.start(NuwaConfig.builder()
          .memberId("n1")
          .peer("n1", HostPort.of("127.0.0.1", Ports.freePort()))
          .dataDir(dir.resolve("n1"))
          .clientPort(Ports.freePort())
          .electionTimeoutMin(Duration.ofMillis(300))
          .build());
      await().atMost(Duration.ofSeconds(30))
          .until(() -> server.stateMachine().isLeaderReady() && server.raft().isLeader());
      NuwaFixture fixture = new NuwaFixture(server);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        server.close();
        deleteRecursively(dir);
      }, "stop-shared-nuwa"));
      shared = fixture;
    }
    return shared;
  }

  private static void deleteRecursively(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      // A temporary directory left behind is harmless.
    }
  }

  String endpoint() {
    return server.clientEndpoint();
  }

  NuwaClient newClient() {
    return NuwaClient.builder().endpoints(endpoint()).requestTimeout(CLIENT_REQUEST_TIMEOUT)
        .build();
  }
}
