package org.apsara.security.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apsara.security.sign.RequestSigner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Signed calls of every type pass the server interceptor and reach handlers with the caller. */
class SignedCallsTest {
  private static final String ALICE_ARN = "acs:ram::1234:user/alice";

  private final SecuredServer server = new SecuredServer();
  private final Channel channel =
      server.channel(new SigningClientInterceptor(SecuredServer.ALICE, server.clock));

  @AfterEach
  void close() {
    server.close();
  }

  @Test
  void unary() {
    String reply = ClientCalls.blockingUnaryCall(channel, EchoService.UNARY, CallOptions.DEFAULT, "hi");

    assertThat(reply).isEqualTo(ALICE_ARN + ": hi");
  }

  @Test
  void serverStreaming() {
    List<String> replies = new ArrayList<>();
    ClientCalls.blockingServerStreamingCall(channel, EchoService.REPEAT, CallOptions.DEFAULT, "3:x")
        .forEachRemaining(replies::add);

    assertThat(replies).containsExactly("x#0", "x#1", "x#2");
  }

  @Test
  void clientStreaming() throws Exception {
    RecordingObserver replies = new RecordingObserver();
    StreamObserver<String> requests = ClientCalls.asyncClientStreamingCall(
        channel.newCall(EchoService.CONCAT, CallOptions.DEFAULT), replies);
    requests.onNext("a");
    requests.onNext("b");
    requests.onCompleted();

    assertThat(replies.done.get(10, TimeUnit.SECONDS)).isEqualTo(Status.Code.OK);
    assertThat(replies.values).containsExactly(ALICE_ARN + ": a,b");
  }

  @Test
  void bidiStreaming() throws Exception {
    RecordingObserver replies = new RecordingObserver();
    StreamObserver<String> requests = ClientCalls.asyncBidiStreamingCall(
        channel.newCall(EchoService.CHAT, CallOptions.DEFAULT), replies);
    requests.onNext("one");
    requests.onNext("two");
    requests.onCompleted();

    assertThat(replies.done.get(10, TimeUnit.SECONDS)).isEqualTo(Status.Code.OK);
    assertThat(replies.values).containsExactly(ALICE_ARN + ": one", ALICE_ARN + ": two");
  }

  @Test
  void exemptMethodNeedsNoSignatureAndRunsWithoutPrincipal() {
    Channel unsigned = server.channel();

    String reply = ClientCalls.blockingUnaryCall(unsigned, EchoService.PING, CallOptions.DEFAULT, "hi");

    assertThat(reply).isEqualTo("anonymous: hi");
  }

  @Test
  void whatIsCalledBeforeTheFirstMessageIsAppliedWhenTheCallStarts() throws Exception {
    ClientCall<String, String> call = channel.newCall(EchoService.REPEAT, CallOptions.DEFAULT);
    RecordingListener listener = new RecordingListener();
    call.start(listener, new Metadata());
    call.request(1);
    call.setMessageCompression(true);
    assertThat(call.isReady()).isFalse(); // held back until the payload hash is known
    call.request(2);
    call.sendMessage("3:y");
    call.halfClose();

    assertThat(listener.closed.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
    assertThat(listener.messages).containsExactly("y#0", "y#1", "y#2");
  }

  @Test
  void flowControlStillLimitsDeliveryAfterTheHeldBackStart() throws Exception {
    ClientCall<String, String> call = channel.newCall(EchoService.REPEAT, CallOptions.DEFAULT);
    RecordingListener listener = new RecordingListener();
    call.start(listener, new Metadata());
    call.request(1);
    call.sendMessage("3:z");
    call.halfClose();

    org.awaitility.Awaitility.await().atMost(10, TimeUnit.SECONDS)
        .until(() -> listener.messages.size() == 1);
    assertThat(listener.closed).isNotDone();
    call.request(5);

    assertThat(listener.closed.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
    assertThat(listener.messages).containsExactly("z#0", "z#1", "z#2");
  }

  @Test
  void cancelBeforeTheFirstMessageClosesTheCallAsCancelled() throws Exception {
    ClientCall<String, String> call = channel.newCall(EchoService.UNARY, CallOptions.DEFAULT);
    RecordingListener listener = new RecordingListener();
    call.start(listener, new Metadata());
    call.request(1);

    call.cancel("changed my mind", null);

    assertThat(listener.closed.get(10, TimeUnit.SECONDS).getCode())
        .isEqualTo(Status.Code.CANCELLED);
    assertThat(server.service.seenRequests).isEmpty();
  }

  @Test
  void eachCallIsSignedWithAFreshNonce() {
    for (int i = 0; i < 5; i++) {
      ClientCalls.blockingUnaryCall(channel, EchoService.UNARY, CallOptions.DEFAULT, "again");
    }

    assertThat(server.service.seenRequests).hasSize(5);
  }

  @Test
  void theSigningInterceptorAcceptsAnInjectedSigner() {
    Channel fixed = server.channel(new SigningClientInterceptor(
        new RequestSigner(SecuredServer.ALICE, server.clock, () -> "only-once")));

    assertThat(ClientCalls.blockingUnaryCall(fixed, EchoService.UNARY, CallOptions.DEFAULT, "a"))
        .isEqualTo(ALICE_ARN + ": a");
  }

  static final class RecordingObserver implements StreamObserver<String> {
    final List<String> values = new CopyOnWriteArrayList<>();
    final CompletableFuture<Status.Code> done = new CompletableFuture<>();

    @Override
    public void onNext(String value) {
      values.add(value);
    }

    @Override
    public void onError(Throwable t) {
      done.complete(Status.fromThrowable(t).getCode());
    }

    @Override
    public void onCompleted() {
      done.complete(Status.Code.OK);
    }
  }

  static final class RecordingListener extends ClientCall.Listener<String> {
    final List<String> messages = new CopyOnWriteArrayList<>();
    final CompletableFuture<Status> closed = new CompletableFuture<>();
    volatile Metadata trailers;

    @Override
    public void onMessage(String message) {
      messages.add(message);
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      this.trailers = trailers;
      closed.complete(status);
    }
  }
}
