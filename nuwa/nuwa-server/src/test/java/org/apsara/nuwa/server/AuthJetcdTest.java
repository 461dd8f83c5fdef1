package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.auth.Permission;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.etcd.jetcd.api.AuthGrpc;
import io.etcd.jetcd.api.AuthRoleAddRequest;
import io.etcd.jetcd.api.AuthRoleGrantPermissionRequest;
import io.etcd.jetcd.api.AuthUserGrantRoleRequest;
import io.etcd.jetcd.api.AuthenticateRequest;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apsara.nuwa.server.auth.PasswordHasher;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * jetcd, unchanged, with a user and password against a 3-member Nuwa group whose tokens live two
 * seconds: clients authenticate on their own, stay within their permissions, and authenticate
 * again when a token expires or the auth state changes, without the application noticing.
 */
class AuthJetcdTest {
  private static final Duration TOKEN_TTL = Duration.ofSeconds(2);
  private static final long CALL_TIMEOUT_SECONDS = 15;
  @TempDir static Path dir;
  static NuwaTestCluster cluster;
  static Client root;

  @BeforeAll
  static void start() throws Exception {
    cluster = NuwaTestCluster.start(dir, 3, config -> config
        .passwordHashIterations(PasswordHasher.MIN_ITERATIONS)
        .authTokenTtl(TOKEN_TTL));
    try (Client admin = client(null, null)) {
      var auth = admin.getAuthClient();
      get(auth.userAdd(bytes("root"), bytes("rootpw")));
      get(auth.roleAdd(bytes("root")));
      get(auth.userGrantRole(bytes("root"), bytes("root")));
      get(auth.userAdd(bytes("bob"), bytes("bobpw")));
      get(auth.roleAdd(bytes("app")));
      get(auth.roleGrantPermission(bytes("app"), bytes("/app/"), bytes("/app0"),
          Permission.Type.READWRITE));
      get(auth.userGrantRole(bytes("bob"), bytes("app")));
      get(auth.authEnable());
    }
    root = client("root", "rootpw");
  }

  @AfterAll
  static void stop() {
    if (root != null) {
      root.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aClientWithUserAndPasswordWorksWithinItsPermissions() throws Exception {
    try (Client bob = client("bob", "bobpw")) {
      get(bob.getKVClient().put(bytes("/app/a"), bytes("1")));
      assertThat(text(get(bob.getKVClient().get(bytes("/app/a"))).getKvs().get(0).getValue()))
          .isEqualTo("1");
      Throwable refused = catchThrowable(() -> get(bob.getKVClient().put(bytes("/other"),
          bytes("x"))));
      assertThat(refused).hasMessageContaining("etcdserver: permission denied");
      assertThat(get(root.getKVClient().get(bytes("/other"))).getCount()).isZero();
    }
    Throwable wrong = catchThrowable(() -> {
      try (Client impostor = client("bob", "wrong")) {
        get(impostor.getKVClient().get(bytes("/app/a")));
      }
    });
    assertThat(wrong).hasStackTraceContaining(
        "etcdserver: authentication failed, invalid user ID or password");
  }

  @Test
  void anExpiredTokenIsRefusedAndClientsAuthenticateAgain() throws Exception {
    try (Client bob = client("bob", "bobpw")) {
      get(bob.getKVClient().put(bytes("/app/before"), bytes("1")));
      // A token issued after bob's: once it is refused, bob's has expired too.
      String token = authenticate(0, "bob", "bobpw");
      await().atMost(Duration.ofSeconds(20)).until(() -> {
        Status status = putWithToken(1, token, "/app/probe");
        return status.getCode() == Status.Code.UNAUTHENTICATED
            && "etcdserver: invalid auth token".equals(status.getDescription());
      });

      get(bob.getKVClient().put(bytes("/app/after"), bytes("2")));
      assertThat(get(root.getKVClient().get(bytes("/app/after"))).getCount()).isOne();

      // A watch created with the expired token is refused as invalid; jetcd authenticates again
      // and creates it anew.
      List<WatchEvent> events = new CopyOnWriteArrayList<>();
      try (Watch.Watcher watcher = bob.getWatchClient().watch(bytes("/app/w/"),
          WatchOption.builder().isPrefix(true).build(), response -> events.addAll(
              response.getEvents()))) {
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300))
            .untilAsserted(() -> {
              get(root.getKVClient().put(bytes("/app/w/1"), bytes("x")));
              assertThat(events).isNotEmpty();
            });
      }
    }
  }

  @Test
  void keepAlivesContinuePastTheTokensExpiry() throws Exception {
    try (Client bob = client("bob", "bobpw")) {
      long lease = get(bob.getLeaseClient().grant(2)).getID();
      List<LeaseKeepAliveResponse> answers = new CopyOnWriteArrayList<>();
      try (var keepAlive = bob.getLeaseClient().keepAlive(lease, new StreamObserver<>() {
        @Override
        public void onNext(LeaseKeepAliveResponse response) {
          answers.add(response);
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      })) {
        // Well past the token's two seconds and the lease's own TTL, the lease lives on.
        await().during(TOKEN_TTL.multipliedBy(3)).atMost(TOKEN_TTL.multipliedBy(6))
            .until(() -> get(root.getLeaseClient().timeToLive(lease,
                io.etcd.jetcd.options.LeaseOption.DEFAULT)).getTTL() > 0);
        assertThat(answers).isNotEmpty();
      }
    }
  }

  @Test
  void aChangeOfTheAuthStateMakesOldTokensRenewThemselves() throws Exception {
    try (Client bob = client("bob", "bobpw")) {
      get(bob.getKVClient().put(bytes("/app/x"), bytes("1")));
      String token = authenticate(2, "bob", "bobpw");
      get(root.getAuthClient().roleAdd(bytes("unrelated-" + System.nanoTime())));

      Status old = putWithToken(0, token, "/app/y");
      assertThat(old.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(old.getDescription()).isEqualTo("etcdserver: revision of auth store is old");
      // jetcd authenticates again on that answer and retries.
      get(bob.getKVClient().put(bytes("/app/y"), bytes("2")));
      assertThat(get(root.getKVClient().get(bytes("/app/y"))).getCount()).isOne();
    }
  }

  /**
   * Changes of the auth state made one right after another, each through another member, with
   * one root token: as in etcd, a token from before a change still serves the root role for the
   * next. A follower learns that an entry committed only with the leader's next message to it, so
   * a member judging a change by a state that lags the one acknowledged would stamp it with an
   * old auth revision, and the change would be refused when it applies.
   */
  @Test
  void authChangesInQuickSuccessionThroughEveryMemberSucceed() throws Exception {
    String rootToken = authenticate(0, "root", "rootpw");
    for (int round = 0; round < 3; round++) {
      String role = "quick-" + round + "-" + System.nanoTime();
      int member = round % cluster.size();
      assertThat(authCall(member, rootToken, auth -> auth.roleAdd(
          AuthRoleAddRequest.newBuilder().setName(role).build())))
          .as("role add through member %d", member).isEqualTo(Status.OK);
      member = (member + 1) % cluster.size();
      assertThat(authCall(member, rootToken, auth -> auth.roleGrantPermission(
          AuthRoleGrantPermissionRequest.newBuilder().setName(role)
              .setPerm(io.etcd.jetcd.api.Permission.newBuilder()
                  .setPermType(io.etcd.jetcd.api.Permission.Type.WRITE)
                  .setKey(ByteString.copyFromUtf8("/" + role + "/"))
                  .setRangeEnd(ByteString.copyFromUtf8("/" + role + "0")))
              .build())))
          .as("permission grant through member %d", member).isEqualTo(Status.OK);
      member = (member + 1) % cluster.size();
      assertThat(authCall(member, rootToken, auth -> auth.userGrantRole(
          AuthUserGrantRoleRequest.newBuilder().setUser("bob").setRole(role).build())))
          .as("role grant through member %d", member).isEqualTo(Status.OK);
    }
  }

  @Test
  void etcdctlAuthenticatesAgainWhenItsTokenExpiresMidCommand() throws Exception {
    Assumptions.assumeTrue(EtcdctlRunner.installed(), "etcdctl is not installed");
    // The lock is released after the command ran for longer than the token lives: etcdctl's
    // unlock meets "invalid auth token", authenticates again and succeeds.
    long sleepSeconds = TOKEN_TTL.multipliedBy(2).toSeconds();
    EtcdctlRunner.Result result = EtcdctlRunner.run(cluster.endpoint(0), null, List.of(
        "--user=bob:bobpw", "lock", "/app/lock", "--", "sh", "-c",
        "sleep " + sleepSeconds + "; echo done"));
    assertThat(result.ok()).as(result.all()).isTrue();
    assertThat(result.output()).isEqualTo("done");
    assertThat(get(root.getKVClient().get(bytes("/app/lock/"),
        io.etcd.jetcd.options.GetOption.builder().isPrefix(true).build())).getCount()).isZero();
  }

  // ------------------------------------------------------------------ helpers

  private static Client client(String user, String password) {
    var builder = Client.builder()
        .endpoints(cluster.endpoints().stream().map(e -> "http://" + e).toArray(String[]::new));
    if (user != null) {
      builder.user(bytes(user)).password(bytes(password));
    }
    return builder.build();
  }

  /** A token from one member, over the raw etcd API. */
  private static String authenticate(int member, String user, String password)
      throws InterruptedException {
    ManagedChannel channel = channel(member);
    try {
      return AuthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .authenticate(AuthenticateRequest.newBuilder().setName(user).setPassword(password)
              .build())
          .getToken();
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** Puts with the given token over the raw etcd API; the status it got. */
  private static Status putWithToken(int member, String token, String key)
      throws InterruptedException {
    ManagedChannel channel = channel(member);
    try {
      Metadata headers = new Metadata();
      headers.put(Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER), token);
      KVGrpc.newBlockingStub(channel)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .put(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8(key)).build());
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** One call of the Auth service with the given token over the raw etcd API; its status. */
  private static Status authCall(int member, String token,
      java.util.function.Consumer<AuthGrpc.AuthBlockingStub> call) throws InterruptedException {
    ManagedChannel channel = channel(member);
    try {
      Metadata headers = new Metadata();
      headers.put(Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER), token);
      call.accept(AuthGrpc.newBlockingStub(channel)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
          .withDeadlineAfter(10, TimeUnit.SECONDS));
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static ManagedChannel channel(int member) {
    return NettyChannelBuilder.forTarget(cluster.endpoint(member)).usePlaintext().build();
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  private static String text(ByteSequence b) {
    return b.toString(StandardCharsets.UTF_8);
  }

  private static <T> T get(CompletableFuture<T> future) throws Exception {
    return future.get(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }
}
