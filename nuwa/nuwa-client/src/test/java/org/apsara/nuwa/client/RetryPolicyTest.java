package org.apsara.nuwa.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
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
 * Which failed requests the client sends again, against scripted servers that fail on purpose: a
 * real etcd cannot be made to fail a request after receiving it.
 */
class RetryPolicyTest {
  private static final Metadata.Key<String> SIGNATURE =
      Metadata.Key.of("x-apsara-signature", Metadata.ASCII_STRING_MARSHALLER);

  private final List<Server> servers = new ArrayList<>();
  private final List<NuwaClient> clients = new ArrayList<>();

  @AfterEach
  void stop() {
    clients.forEach(NuwaClient::close);
    servers.forEach(Server::shutdownNow);
  }

  /** A KV service that fails each call with the next scripted status, then succeeds. */
  static final class ScriptedKv extends KVGrpc.KVImplBase {
    final Queue<Status> rangeFailures = new ConcurrentLinkedQueue<>();
    final Queue<Status> putFailures = new ConcurrentLinkedQueue<>();
    final AtomicInteger ranges = new AtomicInteger();
    final AtomicInteger puts = new AtomicInteger();
    volatile boolean alwaysUnavailable;
    volatile boolean neverAnswer;

    @Override
    public void range(RangeRequest request, StreamObserver<RangeResponse> response) {
      ranges.incrementAndGet();
      if (neverAnswer) {
        return;
      }
      Status failure = alwaysUnavailable ? Status.UNAVAILABLE : rangeFailures.poll();
      if (failure != null) {
        response.onError(failure.asRuntimeException());
        return;
      }
      response.onNext(RangeResponse.newBuilder().setCount(7).build());
      response.onCompleted();
    }

    @Override
    public void put(PutRequest request, StreamObserver<io.etcd.jetcd.api.PutResponse> response) {
      puts.incrementAndGet();
      Status failure = putFailures.poll();
      if (failure != null) {
        response.onError(failure.asRuntimeException());
        return;
      }
      response.onNext(io.etcd.jetcd.api.PutResponse.getDefaultInstance());
      response.onCompleted();
    }
  }

  private String serve(ScriptedKv kv, int port, List<String> signatures) {
    io.grpc.ServerInterceptor recordSignature =
        new io.grpc.ServerInterceptor() {
          @Override
          public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(
              io.grpc.ServerCall<Q, R> call,
              Metadata headers,
              io.grpc.ServerCallHandler<Q, R> next) {
            String signature = headers.get(SIGNATURE);
            if (signature != null) {
              signatures.add(signature);
            }
            return next.startCall(call, headers);
          }
        };
    try {
      Server server =
          NettyServerBuilder.forAddress(
                  new InetSocketAddress(InetAddress.getLoopbackAddress(), port))
              .addService(ServerInterceptors.intercept(kv, recordSignature))
              .build()
              .start();
      servers.add(server);
      return "127.0.0.1:" + server.getPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private String serve(ScriptedKv kv) {
    return serve(kv, 0, new CopyOnWriteArrayList<>());
  }

  private NuwaClient client(Duration timeout, String... endpoints) {
    NuwaClient client = NuwaClient.builder().endpoints(endpoints).requestTimeout(timeout).build();
    clients.add(client);
    return client;
  }

  @Test
  void readsAreRetriedAfterUnavailable() {
    ScriptedKv kv = new ScriptedKv();
    kv.rangeFailures.add(Status.UNAVAILABLE);
    kv.rangeFailures.add(NuwaErrors.LEADER_CHANGED);

    GetResponse response = client(Duration.ofSeconds(5), serve(kv)).kv().get("k");

    assertThat(response.count()).isEqualTo(7);
    assertThat(kv.ranges.get()).isEqualTo(3);
  }

  @Test
  void writesThatMayHaveBeenAppliedAreNotSentAgain() {
    ScriptedKv kv = new ScriptedKv();
    kv.putFailures.add(NuwaErrors.LEADER_CHANGED);
    NuwaClient client = client(Duration.ofSeconds(5), serve(kv));

    assertThatThrownBy(() -> client.kv().put("k", "v"))
        .isInstanceOf(NuwaUnavailableException.class)
        .hasMessage("etcdserver: leader changed");
    assertThat(kv.puts.get()).isEqualTo(1);
  }

  @Test
  void writesRejectedBeforeBeingProposedAreSentAgain() {
    ScriptedKv kv = new ScriptedKv();
    kv.putFailures.add(NuwaErrors.NO_LEADER);
    kv.putFailures.add(NuwaErrors.NOT_LEADER);

    client(Duration.ofSeconds(5), serve(kv)).kv().put("k", "v");

    assertThat(kv.puts.get()).isEqualTo(3);
  }

  @Test
  void writesThatNeverLeftTheClientAreSentOnceTheServerIsUp() throws Exception {
    int port = freePort();
    ScriptedKv kv = new ScriptedKv();
    NuwaClient client = client(Duration.ofSeconds(10), "127.0.0.1:" + port);

    CompletableFuture<PutResponse> put =
        client
            .kv()
            .putAsync(
                com.google.protobuf.ByteString.copyFromUtf8("k"),
                com.google.protobuf.ByteString.copyFromUtf8("v"),
                PutOptions.DEFAULT);
    // Let a few attempts fail on the refused connection before the server comes up.
    org.awaitility.Awaitility.await().pollDelay(Duration.ofMillis(300)).until(() -> !put.isDone());
    serve(kv, port, new CopyOnWriteArrayList<>());

    put.get(10, TimeUnit.SECONDS);
    assertThat(kv.puts.get()).isEqualTo(1);
  }

  @Test
  void readsFailOverToAnotherEndpoint() {
    ScriptedKv broken = new ScriptedKv();
    broken.alwaysUnavailable = true;
    ScriptedKv healthy = new ScriptedKv();
    NuwaClient client = client(Duration.ofSeconds(5), serve(broken), serve(healthy));

    for (int i = 0; i < 20; i++) {
      assertThat(client.kv().get("k").count()).isEqualTo(7);
    }
    assertThat(healthy.ranges.get()).isEqualTo(20);
    assertThat(broken.ranges.get()).isPositive();
  }

  @Test
  void closingTheClientFailsCallsWaitingToBeRetried() {
    ScriptedKv kv = new ScriptedKv();
    kv.alwaysUnavailable = true;
    NuwaClient client = client(Duration.ofSeconds(30), serve(kv));
    CompletableFuture<GetResponse> get = client.kv().getAsync(KeyRange.key("k"), GetOptions.DEFAULT);
    org.awaitility.Awaitility.await().until(() -> kv.ranges.get() >= 3);

    client.close();

    assertThat(get)
        .failsWithin(Duration.ofSeconds(5))
        .withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .withCauseInstanceOf(NuwaException.class);
  }

  @Test
  void unansweredRequestsTimeOut() {
    ScriptedKv kv = new ScriptedKv();
    kv.neverAnswer = true;
    NuwaClient client = client(Duration.ofMillis(300), serve(kv));

    assertThatThrownBy(() -> client.kv().get("k")).isInstanceOf(NuwaTimeoutException.class);
  }

  @Test
  void interceptorsSeeEveryCall() {
    ScriptedKv kv = new ScriptedKv();
    List<String> signatures = new CopyOnWriteArrayList<>();
    String endpoint = serve(kv, 0, signatures);
    ClientInterceptor signer =
        new ClientInterceptor() {
          @Override
          public <Q, R> io.grpc.ClientCall<Q, R> interceptCall(
              io.grpc.MethodDescriptor<Q, R> method,
              io.grpc.CallOptions options,
              io.grpc.Channel next) {
            return new ForwardingClientCall.SimpleForwardingClientCall<>(
                next.newCall(method, options)) {
              @Override
              public void start(Listener<R> listener, Metadata headers) {
                headers.put(SIGNATURE, "signed:" + method.getBareMethodName());
                super.start(listener, headers);
              }
            };
          }
        };
    NuwaClient client = NuwaClient.builder().endpoints(endpoint).interceptor(signer).build();
    clients.add(client);

    client.kv().get("k");
    client.kv().put("k", "v");

    assertThat(signatures).containsExactly("signed:Range", "signed:Put");
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
