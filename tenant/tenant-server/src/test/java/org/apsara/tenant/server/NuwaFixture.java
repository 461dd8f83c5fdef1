package org.apsara.tenant.server;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.common.net.HostPort;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.server.NuwaConfig;
import org.apsara.nuwa.server.NuwaServer;
import org.apsara.testkit.Ports;

/**
 * A real one-member Nuwa in this JVM. {@link #shared()} is one for every test class that only
 * needs names of its own ({@link #uniqueName}); {@link #start} gives a class a store of its own,
 * for tests of what happens once per cluster (the bootstrap).
 */
public final class NuwaFixture implements AutoCloseable {
  /**
   * Request timeout of test clients: short enough that a broken test fails quickly, long enough
   * for a machine shared with other work.
   */
  public static final Duration CLIENT_REQUEST_TIMEOUT = Duration.ofSeconds(10);
  private static final AtomicInteger NAMES = new AtomicInteger();

  private static NuwaFixture shared;

  private final NuwaServer server;

  private NuwaFixture(NuwaServer server) {
    this.server = server;
  }

  /** The shared member, started on first use in a directory of its own, stopped at JVM exit. */
  public static synchronized NuwaFixture shared() throws IOException {
    if (shared == null) {
      Path dir = java.nio.file.Files.createTempDirectory("tenant-test-nuwa");
      NuwaFixture fixture = start(dir);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        fixture.close();
        deleteRecursively(dir);
      }, "stop-shared-nuwa"));
      shared = fixture;
    }
    return shared;
  }

  private static void deleteRecursively(Path dir) {
    try (java.util.stream.Stream<Path> paths = java.nio.file.Files.walk(dir)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      // A temporary directory left behind is harmless.
    }
  }

  public static NuwaFixture start(Path dir) throws IOException {
    NuwaServer server = NuwaServer.start(NuwaConfig.builder()
        .memberId("n1")
        .peer("n1", HostPort.of("127.0.0.1", Ports.freePort()))
        .dataDir(dir.resolve("n1"))
        .clientPort(Ports.freePort())
        .electionTimeoutMin(Duration.ofMillis(300))
        .build());
    await().atMost(Duration.ofSeconds(30))
        .until(() -> server.stateMachine().isLeaderReady() && server.raft().isLeader());
    return new NuwaFixture(server);
  }

  public String endpoint() {
    return server.clientEndpoint();
  }

  public List<String> endpoints() {
    return List.of(endpoint());
  }

  public NuwaClient newClient() {
    return NuwaClient.builder().endpoints(endpoint()).requestTimeout(CLIENT_REQUEST_TIMEOUT).build();
  }

  /** A name no other test of this JVM uses, valid for tenants, users, groups and policies. */
  public static String uniqueName(String prefix) {
    return prefix + "-" + NAMES.incrementAndGet();
  }

  @Override
  public void close() {
    server.close();
  }
}
