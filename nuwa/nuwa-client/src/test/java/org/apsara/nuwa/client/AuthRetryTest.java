package org.apsara.nuwa.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.api.AuthGrpc;
import io.etcd.jetcd.api.AuthenticateRequest;
import io.etcd.jetcd.api.AuthenticateResponse;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.LeaseKeepAliveRequest;
import io.etcd.jetcd.api.LeaseKeepAliveResponse;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.nuwa.api.NuwaErrors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Which token each call carries and when the client authenticates again, against a scripted server
 * that issues numbered tokens and refuses those it is told to: a real etcd cannot be made to refuse
 * a token on cue, nor to count what it was sent.
 */
class AuthRetryTest {
  private static final String PASSWORD = "pa55-word-x9";
  private static final Context.Key<String> TOKEN = Context.key("token");
  private static final Metadata.Key<String> TOKEN_HEADER =
      Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);

  private final List<Server> servers = new ArrayList<>();
  private final List<NuwaClient> clients = new ArrayList<>();

  /** Method and token (or "-" for none) of every call the server received, in order. */
  private final List<String> received = new CopyOnWriteArrayList<>();

  private final ScriptedAuth auth = new ScriptedAuth();
  private final TokenCheckingKv kv = new TokenCheckingKv();

  @AfterEach
  void stop() {
    clients.forEach(NuwaClient::close);
    servers.forEach(Server::shutdownNow);
  }

  /** Issues tokens "t1", "t2", ...; or fails each Authenticate with the next scripted status. */
  static final class ScriptedAuth extends AuthGrpc.AuthImplBase {
    final AtomicInteger issued = new AtomicInteger();
    final Queue<Status> failures = new ConcurrentLinkedQueue<>();
    volatile Status alwaysFail;

    @Override
    public void authenticate(
        AuthenticateRequest request, StreamObserver<AuthenticateResponse> response) {
      Status failure = alwaysFail != null ? alwaysFail : failures.poll();
      if (failure != null) {
        response.onError(failure.asRuntimeException());
        return;
      }
      if (!request.getName().equals("alice") || !request.getPassword().equals(PASSWORD)) {
        response.onError(NuwaErrors.AUTH_FAILED.asRuntimeException());
        return;
      }
      response.onNext(
          AuthenticateResponse.newBuilder().setToken("t" + issued.incrementAndGet()).build());
      response.onCompleted();
    }
  }

  /** Tokens numbered up to this one are refused, as etcd refuses an expired token. */
  private volatile int revokedUpTo;

  /**
   * Why the server refuses the current call's token, or null if it accepts it. A call with none
   * fails as etcd fails it with authentication enabled, unless {@code open}.
   */
  private Status check(boolean open) {
    String token = TOKEN.get();
    if (token == null) {
      return open ? null : NuwaErrors.USER_EMPTY;
    }
    if (Integer.parseInt(token.substring(1)) <= revokedUpTo) {
      return NuwaErrors.INVALID_AUTH_TOKEN;
    }
    return null;
  }

  /** Refuses calls whose token {@link #check} refuses. */
  final class TokenCheckingKv extends KVGrpc.KVImplBase {
    volatile boolean open;
    final Queue<Status> putFailures = new ConcurrentLinkedQueue<>();
    final AtomicInteger ranges = new AtomicInteger();
    final AtomicInteger puts = new AtomicInteger();
    final AtomicInteger applied = new AtomicInteger();

    private Status check() {
      return AuthRetryTest.this.check(open);
    }

    @Override
    public void range(RangeRequest request, StreamObserver<RangeResponse> response) {
      ranges.incrementAndGet();
      Status refused = check();
      if (refused != null) {
        response.onError(refused.asRuntimeException());
        return;
      }
      response.onNext(RangeResponse.newBuilder().setCount(7).build());
      response.onCompleted();
    }

    @Override
    public void put(PutRequest request, StreamObserver<io.etcd.jetcd.api.PutResponse> response) {
      puts.incrementAndGet();
      Status refused = putFailures.poll();
      if (refused == null) {
        refused = check();
      }
      if (refused != null) {
        response.onError(refused.asRuntimeException());
        return;
      }
      applied.incrementAndGet();
      response.onNext(io.etcd.jetcd.api.PutResponse.getDefaultInstance());
      response.onCompleted();
    }
  }

  /**
   * Creates every watch its token allows, and cancels the others as Nuwa does, with the reason
   * etcd 3.5 gives.
   */
  final class TokenCheckingWatch extends WatchGrpc.WatchImplBase {
    @Override
    public StreamObserver<WatchRequest> watch(
        StreamObserver<io.etcd.jetcd.api.WatchResponse> responses) {
      Status refused = check(false);
      return new StreamObserver<>() {
        @Override
        public void onNext(WatchRequest request) {
          var created = io.etcd.jetcd.api.WatchResponse.newBuilder().setCreated(true).setWatchId(1);
          if (refused != null) {
            created.setCanceled(true).setCancelReason(refused.getDescription());
          }
          responses.onNext(created.build());
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          responses.onCompleted();
        }
      };
    }
  }

  /** Renews every lease for 30 s on a keep-alive stream its token allows; fails the others. */
  final class TokenCheckingLease extends LeaseGrpc.LeaseImplBase {
    @Override
    public StreamObserver<LeaseKeepAliveRequest> leaseKeepAlive(
        StreamObserver<LeaseKeepAliveResponse> responses) {
      Status refused = check(false);
      return new StreamObserver<>() {
        @Override
        public void onNext(LeaseKeepAliveRequest request) {
          if (refused != null) {
            responses.onError(refused.asRuntimeException());
            return;
          }
          responses.onNext(
              LeaseKeepAliveResponse.newBuilder().setID(request.getID()).setTTL(30).build());
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          responses.onCompleted();
        }
      };
    }
  }

  private String serve() {
    ServerInterceptor recordToken =
        new ServerInterceptor() {
          @Override
          public <Q, R> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            String token = headers.get(TOKEN_HEADER);
            received.add(
                call.getMethodDescriptor().getBareMethodName()
                    + " "
                    + (token == null ? "-" : token));
            return Contexts.interceptCall(
                Context.current().withValue(TOKEN, token), call, headers, next);
          }
        };
    try {
      Server server =
          NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
              .addService(ServerInterceptors.intercept(auth, recordToken))
              .addService(ServerInterceptors.intercept(kv, recordToken))
              .addService(ServerInterceptors.intercept(new TokenCheckingWatch(), recordToken))
              .addService(ServerInterceptors.intercept(new TokenCheckingLease(), recordToken))
              .build()
              .start();
      servers.add(server);
      return "127.0.0.1:" + server.getPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private NuwaClient client(String password) {
    NuwaClient client =
        NuwaClient.builder()
            .endpoints(serve())
            .requestTimeout(Duration.ofSeconds(5))
            .user("alice", password)
            .build();
    clients.add(client);
    return client;
  }

  @Test
  void everyCallCarriesTheTokenExceptAuthenticateItself() {
    NuwaClient client = client(PASSWORD);

    client.kv().get("k");
    client.kv().put("k", "v");
    RecordingWatchListener listener = new RecordingWatchListener();
    Watcher watcher = client.watch().watch("k", listener);
    LeaseKeeper keeper = client.lease().keepAlive(42, LeaseKeepAliveListener.NONE);
    await().atMost(Duration.ofSeconds(5)).until(() -> keeper.ttlSeconds() == 30);
    watcher.cancel();
    keeper.close();

    // The two streams open concurrently, so the server may see them in either order.
    assertThat(received)
        .startsWith("Authenticate -", "Range t1", "Put t1")
        .containsExactlyInAnyOrder(
            "Authenticate -", "Range t1", "Put t1", "Watch t1", "LeaseKeepAlive t1");
  }

  @Test
  void concurrentFirstCallsShareOneAuthentication() throws Exception {
    NuwaClient client = client(PASSWORD);

    List<CompletableFuture<GetResponse>> gets = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      gets.add(client.kv().getAsync(KeyRange.key("k" + i), GetOptions.DEFAULT));
    }
    for (CompletableFuture<GetResponse> get : gets) {
      assertThat(get.get(5, TimeUnit.SECONDS).count()).isEqualTo(7);
    }

    assertThat(auth.issued.get()).isEqualTo(1);
    assertThat(received).filteredOn(r -> r.startsWith("Range")).allMatch(r -> r.endsWith(" t1"));
  }

  @Test
  void callsRefusedForAStaleTokenShareOneRenewal() throws Exception {
    NuwaClient client = client(PASSWORD);
    client.kv().get("warm-up");
    revokedUpTo = 1;
    kv.ranges.set(0);

    List<CompletableFuture<GetResponse>> gets = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      gets.add(client.kv().getAsync(KeyRange.key("k" + i), GetOptions.DEFAULT));
    }
    for (CompletableFuture<GetResponse> get : gets) {
      assertThat(get.get(5, TimeUnit.SECONDS).count()).isEqualTo(7);
    }

    assertThat(auth.issued.get()).as("one authentication, one renewal").isEqualTo(2);
    // Calls that started before the renewal were refused once and sent again; calls that started
    // after it carried the new token at once. None was sent more than twice.
    assertThat(kv.ranges.get()).isBetween(16 + 1, 2 * 16);
  }

  @Test
  void aCallRenewsItsTokenABoundedNumberOfTimesWhenTheServerKeepsRefusingIt() {
    NuwaClient client = client(PASSWORD);
    client.kv().get("warm-up");
    revokedUpTo = Integer.MAX_VALUE;
    kv.ranges.set(0);

    assertThatThrownBy(() -> client.kv().get("k"))
        .isInstanceOf(NuwaAuthenticationException.class)
        .hasMessage("etcdserver: invalid auth token")
        .extracting(e -> ((NuwaException) e).code())
        .isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(kv.ranges.get()).isEqualTo(1 + RpcInvoker.TOKEN_RENEWALS_MAX);
    assertThat(auth.issued.get()).isEqualTo(1 + RpcInvoker.TOKEN_RENEWALS_MAX);
  }

  @Test
  void aWriteRefusedForItsTokenIsSentAgainAndAppliedOnce() {
    NuwaClient client = client(PASSWORD);
    kv.putFailures.add(NuwaErrors.AUTH_OLD_REVISION);

    client.kv().put("k", "v");

    assertThat(kv.puts.get()).isEqualTo(2);
    assertThat(kv.applied.get()).isEqualTo(1);
    assertThat(auth.issued.get()).isEqualTo(2);
  }

  @Test
  void aWatchRefusedForItsTokenRenewsItOnceAndIsCreated() {
    NuwaClient client = client(PASSWORD);
    client.kv().get("warm-up");
    revokedUpTo = 1;
    RecordingWatchListener listener = new RecordingWatchListener();

    Watcher watcher = client.watch().watch("k", listener);

    await().atMost(Duration.ofSeconds(5)).until(() -> received.contains("Watch t2"));
    assertThat(received).containsSubsequence("Watch t1", "Watch t2");
    assertThat(auth.issued.get()).isEqualTo(2);
    assertThat(watcher.isClosed()).isFalse();
    assertThat(listener.errors).isEmpty();
  }

  @Test
  void aWatchRefusedForItsTokenAgainAfterTheRenewalFails() {
    NuwaClient client = client(PASSWORD);
    client.kv().get("warm-up");
    revokedUpTo = Integer.MAX_VALUE;
    RecordingWatchListener listener = new RecordingWatchListener();

    Watcher watcher = client.watch().watch("k", listener);

    await().atMost(Duration.ofSeconds(5)).until(() -> !listener.errors.isEmpty());
    assertThat(listener.errors.get(0))
        .isInstanceOf(NuwaAuthenticationException.class)
        .hasMessage("etcdserver: invalid auth token");
    assertThat(watcher.isClosed()).isTrue();
    assertThat(received)
        .filteredOn(r -> r.startsWith("Watch"))
        .containsExactly("Watch t1", "Watch t2");
  }

  @Test
  void aKeepAliveStreamRefusedForItsTokenRenewsItOnce() {
    NuwaClient client = client(PASSWORD);
    client.kv().get("warm-up");
    revokedUpTo = 1;

    LeaseKeeper keeper = client.lease().keepAlive(42, LeaseKeepAliveListener.NONE);

    await().atMost(Duration.ofSeconds(5)).until(() -> keeper.ttlSeconds() == 30);
    assertThat(received).containsSubsequence("LeaseKeepAlive t1", "LeaseKeepAlive t2");
    assertThat(auth.issued.get()).isEqualTo(2);
    keeper.close();
  }

  @Test
  void aWrongPasswordFailsNamingTheUserAndSendsNothing() {
    NuwaClient client = client("not-" + PASSWORD);

    for (int i = 0; i < 2; i++) {
      assertThatThrownBy(() -> client.kv().put("k", "v"))
          .isInstanceOf(NuwaAuthenticationException.class)
          .hasMessage(
              "cannot authenticate as user \"alice\": "
                  + "etcdserver: authentication failed, invalid user ID or password")
          .satisfies(e -> assertThat(e.toString()).doesNotContain(PASSWORD));
    }

    assertThat(kv.puts.get()).isZero();
    assertThat(received).containsExactly("Authenticate -", "Authenticate -");
  }

  @Test
  void aWatchEndsWithTheAuthenticationFailure() {
    NuwaClient client = client("not-" + PASSWORD);
    RecordingWatchListener listener = new RecordingWatchListener();

    Watcher watcher = client.watch().watch("k", listener);

    await().atMost(Duration.ofSeconds(5)).until(() -> !listener.errors.isEmpty());
    assertThat(listener.errors.get(0))
        .isInstanceOf(NuwaAuthenticationException.class)
        .hasMessageContaining("\"alice\"");
    assertThat(watcher.isClosed()).isTrue();
    assertThat(received).containsExactly("Authenticate -");
  }

  @Test
  void aKeepAliveLosesItsLeaseWithTheAuthenticationFailure() {
    NuwaClient client = client("not-" + PASSWORD);
    List<NuwaException> losses = new CopyOnWriteArrayList<>();

    client.lease().keepAlive(42, new LeaseKeepAliveListener() {
      @Override
      public void onRenewed(long leaseId, long ttlSeconds) {}

      @Override
      public void onLost(long leaseId, NuwaException cause) {
        losses.add(cause);
      }
    });

    await().atMost(Duration.ofSeconds(5)).until(() -> !losses.isEmpty());
    assertThat(losses.get(0)).isInstanceOf(NuwaAuthenticationException.class);
  }

  @Test
  void noTokenIsSentUntilTheServerAsksForOne() {
    // etcd answers Authenticate so while its authentication is disabled.
    auth.failures.add(NuwaErrors.AUTH_NOT_ENABLED);
    kv.open = true;
    NuwaClient client = client(PASSWORD);

    client.kv().get("k");
    kv.open = false;
    client.kv().get("k");

    assertThat(received)
        .containsExactly(
            "Authenticate -", "Range -", "Range -", "Authenticate -", "Range t1");
  }

  @Test
  void anUnreachableAuthenticationIsRetriedLikeARead() {
    auth.failures.add(Status.UNAVAILABLE.withDescription("etcdserver: not capable"));
    NuwaClient client = client(PASSWORD);

    assertThat(client.kv().get("k").count()).isEqualTo(7);
    assertThat(received).containsExactly("Authenticate -", "Authenticate -", "Range t1");
  }

  @Test
  void thePasswordAppearsInNoDescription() {
    NuwaClient.Builder builder =
        NuwaClient.builder().endpoints("127.0.0.1:2379").user("alice", PASSWORD);
    NuwaClient client = builder.build();
    clients.add(client);

    assertThat(builder.toString()).contains("alice").doesNotContain(PASSWORD);
    assertThat(client.toString()).contains("alice").doesNotContain(PASSWORD);
    assertThat(client.user()).hasValue("alice");
  }

  @Test
  void aUserNeedsANameAndAPassword() {
    NuwaClient.Builder builder = NuwaClient.builder();
    assertThatThrownBy(() -> builder.user("", PASSWORD))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> builder.user(null, PASSWORD))
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> builder.user("alice", null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageNotContaining(PASSWORD);
  }
}
