package org.apsara.tenant.server;

import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.api.AuthEnableRequest;
import io.etcd.jetcd.api.AuthGrpc;
import io.etcd.jetcd.api.AuthRoleAddRequest;
import io.etcd.jetcd.api.AuthUserAddRequest;
import io.etcd.jetcd.api.AuthUserGrantRoleRequest;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.common.net.HostPort;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.server.NuwaConfig;
import org.apsara.nuwa.server.NuwaServer;
import org.apsara.nuwa.server.auth.PasswordHasher;
import org.apsara.testkit.Ports;

/**
 * A real one-member Nuwa in this JVM. {@link #shared()} is one for every test class that only
 * needs names of its own ({@link #uniqueName}); {@link #start} gives a class a store of its own,
 * for tests of what happens once per cluster (the bootstrap); {@link #startWithAuth} one with
 * Nuwa's authentication on.
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
    return start(dir, NuwaConfig.builder());
  }

  /**
   * A member of its own with Nuwa's authentication on and a {@code root} user with {@code
   * rootPassword}, enabled by hand as an operator does with etcdctl. Passwords are hashed with
   * the fewest iterations Nuwa allows, so that tests adding many users stay fast.
   */
  public static NuwaFixture startWithAuth(Path dir, String rootPassword) throws IOException {
    NuwaFixture fixture = start(dir, NuwaConfig.builder()
        .passwordHashIterations(PasswordHasher.MIN_ITERATIONS));
    ManagedChannel channel =
        NettyChannelBuilder.forTarget(fixture.endpoint()).usePlaintext().build();
    try {
      AuthGrpc.AuthBlockingStub auth = AuthGrpc.newBlockingStub(channel);
      auth.roleAdd(AuthRoleAddRequest.newBuilder().setName("root").build());
      auth.userAdd(AuthUserAddRequest.newBuilder().setName("root").setPassword(rootPassword).build());
      auth.userGrantRole(
          AuthUserGrantRoleRequest.newBuilder().setUser("root").setRole("root").build());
      auth.authEnable(AuthEnableRequest.getDefaultInstance());
    } catch (RuntimeException e) {
      fixture.close();
      throw e;
    } finally {
      channel.shutdownNow();
    }
    return fixture;
  }

  private static NuwaFixture start(Path dir, NuwaConfig.Builder config) throws IOException {
    NuwaServer server = NuwaServer.start(config
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

  /** A client that authenticates as {@code user}; it logs in on its first call. */
  public NuwaClient newClient(String user, String password) {
    return NuwaClient.builder().endpoints(endpoint()).requestTimeout(CLIENT_REQUEST_TIMEOUT)
        .user(user, password).build();
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
