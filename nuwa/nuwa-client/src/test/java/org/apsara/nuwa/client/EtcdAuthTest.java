package org.apsara.nuwa.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.grpc.ClientInterceptor;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.nuwa.client.testing.AuthEnabledEtcd;
import org.apsara.nuwa.client.testing.NuwaTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * User and password authentication against a real etcd with authentication enabled, where user
 * {@code alice} may read and write under {@code /alice/} only.
 */
class EtcdAuthTest {
  private static final Duration WAIT = Duration.ofSeconds(15);
  private static final String ALICE_PASSWORD = "alice-pw-4b1d";

  private static AuthEnabledEtcd etcd;
  private final List<NuwaClient> clients = new ArrayList<>();

  @BeforeAll
  static void startEtcd() {
    etcd = AuthEnabledEtcd.start(List.of());
    etcd.addUser("alice", ALICE_PASSWORD, "/alice/");
  }

  @AfterAll
  static void stopEtcd() {
    if (etcd != null) {
      etcd.close();
    }
  }

  @AfterEach
  void closeClients() {
    clients.forEach(NuwaClient::close);
  }

  private NuwaClient client(String user, String password, ClientInterceptor... interceptors) {
    NuwaClient.Builder builder =
        NuwaClient.builder()
            .endpoints(etcd.endpoint())
            .requestTimeout(NuwaTestServer.TEST_REQUEST_TIMEOUT);
    if (user != null) {
      builder.user(user, password);
    }
    for (ClientInterceptor interceptor : interceptors) {
      builder.interceptor(interceptor);
    }
    NuwaClient client = builder.build();
    clients.add(client);
    return client;
  }

  private NuwaClient alice() {
    return client("alice", ALICE_PASSWORD);
  }

  @Test
  void aUserReadsAndWritesWithinItsPermissions() {
    NuwaClient alice = alice();

    long revision = alice.kv().put("/alice/k", "v1").header().revision();
    GetResponse read = alice.kv().get("/alice/k");
    alice.kv().delete("/alice/k");

    assertThat(read.first()).hasValueSatisfying(kv -> assertThat(kv.valueUtf8()).isEqualTo("v1"));
    assertThat(read.first().get().modRevision()).isEqualTo(revision);
    assertThat(alice.kv().get("/alice/k").isEmpty()).isTrue();
    assertThat(alice.cluster().members()).hasSize(1);
    assertThat(alice.cluster().status(etcd.endpoint()).isLeader()).isTrue();
  }

  @Test
  void withoutAUserTheServerRefusesWithAnAuthenticationError() {
    NuwaClient anonymous = client(null, null);

    assertThatThrownBy(() -> anonymous.kv().get("/alice/k"))
        .isInstanceOf(NuwaAuthenticationException.class)
        .hasMessage("etcdserver: user name is empty");
    assertThatThrownBy(() -> anonymous.kv().put("/alice/k", "v"))
        .isInstanceOf(NuwaAuthenticationException.class)
        .hasMessage("etcdserver: user name is empty");
  }

  @Test
  void aWrongPasswordFailsNamingTheUserButNotThePassword() {
    String wrong = "not-alices-pw-91c";
    AuthenticationCounter counter = new AuthenticationCounter();
    AtomicInteger authenticateCalls = new AtomicInteger();
    NuwaClient impostor =
        client("alice", wrong, counter, countCalls("Authenticate", authenticateCalls));

    for (int i = 0; i < 3; i++) {
      assertThatThrownBy(() -> impostor.kv().get("/alice/k"))
          .isInstanceOf(NuwaAuthenticationException.class)
          .hasMessage(
              "cannot authenticate as user \"alice\": "
                  + "etcdserver: authentication failed, invalid user ID or password")
          .satisfies(e -> assertThat(stackTraceText(e)).doesNotContain(wrong));
    }

    assertThat(authenticateCalls.get()).as("one Authenticate per call, no retry loop").isEqualTo(3);
    assertThat(counter.succeeded()).isZero();
  }

  @Test
  void aUserConfinedToAPrefixIsDeniedOutsideIt() {
    NuwaClient alice = alice();

    assertThatThrownBy(() -> alice.kv().get("/other/k"))
        .isInstanceOf(NuwaException.class)
        .isNotInstanceOf(NuwaAuthenticationException.class)
        .hasMessage("etcdserver: permission denied")
        .extracting(e -> ((NuwaException) e).code())
        .isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThatThrownBy(() -> alice.kv().put("/other/k", "v"))
        .isInstanceOf(NuwaException.class)
        .extracting(e -> ((NuwaException) e).code())
        .isEqualTo(Status.Code.PERMISSION_DENIED);
    // A range reaching past the prefix is refused too, even if only part of it is outside.
    assertThatThrownBy(() -> alice.kv().getPrefix("/al"))
        .extracting(e -> ((NuwaException) e).code())
        .isEqualTo(Status.Code.PERMISSION_DENIED);

    RecordingWatchListener listener = new RecordingWatchListener();
    Watcher watcher = alice.watch().watchPrefix("/other/", listener);
    await().atMost(WAIT).until(() -> !listener.errors.isEmpty());
    assertThat(listener.errors.get(0).code()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(listener.errors.get(0)).hasMessage("etcdserver: permission denied");
    assertThat(watcher.isClosed()).isTrue();

    NuwaClient root = client("root", AuthEnabledEtcd.ROOT_PASSWORD);
    assertThat(root.kv().get("/other/k").isEmpty()).as("the refused put wrote nothing").isTrue();
  }

  @Test
  void aWatchDeliversChangesToAnAuthenticatedUser() {
    NuwaClient alice = alice();
    RecordingWatchListener listener = new RecordingWatchListener();
    Watcher watcher = alice.watch().watchPrefix("/alice/w/", listener);
    await().atMost(WAIT).until(() -> watcher.nextRevision() > 0);

    alice.kv().put("/alice/w/a", "1");
    alice.kv().put("/alice/w/b", "2");

    await().atMost(WAIT).until(() -> listener.events.size() == 2);
    assertThat(listener.describe()).containsExactly("PUT /alice/w/a=1", "PUT /alice/w/b=2");
    assertThat(listener.errors).isEmpty();
    watcher.cancel();
  }

  @Test
  void aLeaseIsKeptAliveForAnAuthenticatedUser() {
    NuwaClient alice = alice();
    LeaseGrant lease = alice.lease().grant(3);
    alice.kv().put("/alice/session", "up", PutOptions.withLease(lease.id()));
    List<Long> renewals = new CopyOnWriteArrayList<>();
    List<NuwaException> losses = new CopyOnWriteArrayList<>();

    try (LeaseKeeper keeper =
        alice
            .lease()
            .keepAlive(
                lease.id(),
                new LeaseKeepAliveListener() {
                  @Override
                  public void onRenewed(long leaseId, long ttlSeconds) {
                    renewals.add(ttlSeconds);
                  }

                  @Override
                  public void onLost(long leaseId, NuwaException cause) {
                    losses.add(cause);
                  }
                })) {
      // Renewals a third of the TTL apart: five span longer than the TTL, so the lease lives
      // only because they work.
      await().atMost(WAIT).until(() -> renewals.size() >= 5);
      assertThat(keeper.isAlive()).isTrue();
    }

    assertThat(losses).isEmpty();
    assertThat(renewals).allMatch(ttl -> ttl == 3);
    assertThat(alice.lease().timeToLive(lease.id(), true).keys())
        .containsExactly(ByteString.copyFromUtf8("/alice/session"));
    alice.lease().revoke(lease.id());
    assertThat(alice.kv().get("/alice/session").isEmpty()).isTrue();
  }

  @Test
  void afterAPasswordChangeTheOldPasswordFailsClearly() {
    etcd.addUser("bob", "bob-old-pw-77", "/bob/");
    NuwaClient bob = client("bob", "bob-old-pw-77");
    bob.kv().put("/bob/k", "v1");

    // etcd invalidates bob's tokens, so the old client must authenticate again, and cannot.
    etcd.changePassword("bob", "bob-new-pw-88");

    for (int i = 0; i < 2; i++) {
      assertThatThrownBy(() -> bob.kv().get("/bob/k"))
          .isInstanceOf(NuwaAuthenticationException.class)
          .hasMessage(
              "cannot authenticate as user \"bob\": "
                  + "etcdserver: authentication failed, invalid user ID or password")
          .satisfies(e -> assertThat(stackTraceText(e)).doesNotContain("bob-old-pw-77"));
    }
    NuwaClient renewed = client("bob", "bob-new-pw-88");
    assertThat(renewed.kv().get("/bob/k").first().orElseThrow().valueUtf8()).isEqualTo("v1");
  }

  @Test
  void aUserIsHarmlessWhereAuthenticationIsDisabled() {
    // The shared test server has authentication disabled, as etcd has by default.
    NuwaClient client =
        NuwaClient.builder()
            .endpoints(NuwaTestServer.endpoints())
            .requestTimeout(NuwaTestServer.TEST_REQUEST_TIMEOUT)
            .user("alice", ALICE_PASSWORD)
            .build();
    clients.add(client);
    String key = NuwaTestServer.uniquePrefix("auth-disabled") + "k";

    client.kv().put(key, "v");

    assertThat(client.kv().get(key).first().orElseThrow().valueUtf8()).isEqualTo("v");
  }

  private static ClientInterceptor countCalls(String method, AtomicInteger count) {
    return new ClientInterceptor() {
      @Override
      public <Q, R> io.grpc.ClientCall<Q, R> interceptCall(
          io.grpc.MethodDescriptor<Q, R> descriptor,
          io.grpc.CallOptions options,
          io.grpc.Channel next) {
        if (method.equals(descriptor.getBareMethodName())) {
          count.incrementAndGet();
        }
        return next.newCall(descriptor, options);
      }
    };
  }

  /** The exception with its causes, as a log would show it. */
  private static String stackTraceText(Throwable e) {
    java.io.StringWriter text = new java.io.StringWriter();
    e.printStackTrace(new java.io.PrintWriter(text));
    return text.toString();
  }
}
