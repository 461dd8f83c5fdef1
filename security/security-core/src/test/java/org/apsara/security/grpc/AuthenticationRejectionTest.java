package org.apsara.security.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apsara.testkit.TestClock;
import org.apsara.security.audit.AuditEvent;
import org.apsara.security.sign.AccessKeyCredentials;
import org.apsara.security.sign.RequestSigner;
import org.apsara.security.sign.SignatureVerifier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Every way a call can fail authentication, against a running server. */
class AuthenticationRejectionTest {
  private static final Duration WINDOW = SignatureVerifier.ALLOWED_CLOCK_SKEW;

  private SecuredServer server = new SecuredServer();
  private final TestClock clientClock = new TestClock(SecuredServer.NOW);

  @AfterEach
  void close() {
    server.close();
  }

  @Test
  void missingAuthorization() {
    StatusRuntimeException e = rejectedUnary(server.channel(), "MissingAuthorization");

    assertThat(e.getStatus().getDescription()).contains("no Authorization header");
    AuditEvent event = server.audit.events().get(0);
    assertThat(event.outcome()).isEqualTo(AuditEvent.Outcome.AUTHENTICATION_FAILED);
    assertThat(event.principal()).isEqualTo(AuditEvent.ANONYMOUS);
    assertThat(event.action()).isEqualTo(EchoService.UNARY.getFullMethodName());
    assertThat(event.reason()).startsWith("MissingAuthorization: ");
  }

  @Test
  void malformedAuthorization() {
    Channel channel = server.channel(
        editHeaders(headers -> put(headers, "authorization", "ACS3-HMAC-SHA256 nonsense")),
        signingAs(SecuredServer.ALICE));

    rejectedUnary(channel, "InvalidAuthorization");
  }

  @Test
  void missingRequiredSignedHeader() {
    Channel channel = server.channel(
        editHeaders(headers -> headers.removeAll(key("x-acs-date"))),
        signingAs(SecuredServer.ALICE));

    StatusRuntimeException e = rejectedUnary(channel, "MissingSignedHeader");
    assertThat(e.getStatus().getDescription()).contains("x-acs-date");
  }

  @Test
  void malformedTimestamp() {
    Channel channel = server.channel(
        editHeaders(headers -> put(headers, "x-acs-date", "2024-05-01 08:00:00")),
        signingAs(SecuredServer.ALICE));

    rejectedUnary(channel, "InvalidTimeStamp.Format");
  }

  @Test
  void malformedNonce() {
    Channel channel = server.channel(
        editHeaders(headers -> put(headers, "x-acs-signature-nonce", "no spaces please")),
        signingAs(SecuredServer.ALICE));

    rejectedUnary(channel, "InvalidSignatureNonce");
  }

  @Test
  void unknownAccessKey() {
    AccessKeyCredentials stranger =
        new AccessKeyCredentials("LTAIstranger000000000000", "whatever");

    rejectedUnary(server.channel(signingAs(stranger)), "InvalidAccessKeyId.NotFound");
    assertThat(server.audit.events().get(0).accessKeyId()).isEqualTo(stranger.accessKeyId());
  }

  @Test
  void disabledAccessKey() {
    rejectedUnary(server.channel(signingAs(SecuredServer.BOB)), "InvalidAccessKeyId.Inactive");
  }

  @Test
  void wrongSecret() {
    AccessKeyCredentials forged =
        new AccessKeyCredentials(SecuredServer.ALICE.accessKeyId(), "not-alice-secret");

    StatusRuntimeException e =
        rejectedUnary(server.channel(signingAs(forged)), "SignatureDoesNotMatch");
    assertThat(e.getStatus().getDescription()).doesNotContain(SecuredServer.ALICE.accessKeySecret());
    assertThat(server.audit.events().get(0).toJson())
        .doesNotContain(SecuredServer.ALICE.accessKeySecret());
  }

  @Test
  void clockSkewJustInsideBothEdgesIsAccepted() {
    Channel channel = server.channel(signingAs(SecuredServer.ALICE));

    clientClock.set(SecuredServer.NOW.minus(WINDOW));
    assertThat(unary(channel, "early")).endsWith(": early");
    clientClock.set(SecuredServer.NOW.plus(WINDOW));
    assertThat(unary(channel, "late")).endsWith(": late");
  }

  @Test
  void clockSkewJustOutsideEitherEdgeIsRejected() {
    Channel channel = server.channel(signingAs(SecuredServer.ALICE));

    clientClock.set(SecuredServer.NOW.minus(WINDOW).minusSeconds(1));
    StatusRuntimeException behind = rejectedUnary(channel, "InvalidTimeStamp.Expired");
    assertThat(behind.getStatus().getDescription())
        .contains("15 min 1 s behind").contains("allowed skew is 15 min either way");

    clientClock.set(SecuredServer.NOW.plus(WINDOW).plusSeconds(1));
    StatusRuntimeException ahead = rejectedUnary(channel, "InvalidTimeStamp.Expired");
    assertThat(ahead.getStatus().getDescription()).contains("15 min 1 s ahead of");
  }

  @Test
  void replayedNonce() {
    Channel channel = server.channel(new SigningClientInterceptor(
        new RequestSigner(SecuredServer.ALICE, clientClock, () -> "the-same-nonce")));

    assertThat(unary(channel, "first")).endsWith(": first");
    rejectedUnary(channel, "SignatureNonceUsed");
    assertThat(server.service.seenRequests).containsExactly("first");
  }

  @Test
  void tamperedPayloadNeverReachesTheHandler() {
    Channel channel = server.channel(replaceMessages("transfer 1000"), signingAs(SecuredServer.ALICE));

    StatusRuntimeException e = rejectedUnary(channel, "ContentSha256Mismatch");

    assertThat(e.getStatus().getDescription()).contains("does not match the signed");
    assertThat(server.service.seenRequests).isEmpty();
    AuditEvent event = server.audit.events().get(0);
    assertThat(event.principal()).isEqualTo(SecuredServer.ALICE_PRINCIPAL.arn());
    assertThat(event.reason()).startsWith("ContentSha256Mismatch: ");
  }

  @Test
  void tamperedServerStreamingPayloadNeverReachesTheHandler() {
    Channel channel = server.channel(replaceMessages("9:evil"), signingAs(SecuredServer.ALICE));

    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
        () -> ClientCalls.blockingServerStreamingCall(
            channel, EchoService.REPEAT, CallOptions.DEFAULT, "1:good").next());

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(server.service.seenRequests).isEmpty();
  }

  @Test
  void fullNonceCacheAsksTheClientToRetryLater() {
    server.close();
    server = new SecuredServer(1);
    Channel channel = server.channel(signingAs(SecuredServer.ALICE));
    unary(channel, "fits");

    StatusRuntimeException e = catchThrowableOfType(
        StatusRuntimeException.class, () -> unary(channel, "does not fit"));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(errorCode(e.getTrailers())).isEqualTo("SignatureNonceCacheFull");
  }

  @Test
  void streamingCallsAreRejectedBeforeTheirMessagesReachTheHandler() throws Exception {
    AccessKeyCredentials forged =
        new AccessKeyCredentials(SecuredServer.ALICE.accessKeyId(), "not-alice-secret");
    Channel channel = server.channel(signingAs(forged));
    ExpectFailure outcome = new ExpectFailure();
    StreamObserver<String> requests = ClientCalls.asyncBidiStreamingCall(
        channel.newCall(EchoService.CHAT, CallOptions.DEFAULT), outcome);
    requests.onNext("hello");
    requests.onCompleted();

    Throwable t = outcome.failure.get(10, TimeUnit.SECONDS);
    assertThat(Status.fromThrowable(t).getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(errorCode(Status.trailersFromThrowable(t))).isEqualTo("SignatureDoesNotMatch");
    assertThat(server.service.seenRequests).isEmpty();
  }

  @Test
  void unsignedPayloadIsNotAcceptedForUnaryCalls() throws Exception {
    // A client that declares the unary method as client-streaming signs it with UNSIGNED-PAYLOAD;
    // the server knows the method is unary and insists on the payload hash.
    MethodDescriptor<String, String> misdeclared = EchoService.UNARY.toBuilder()
        .setType(MethodDescriptor.MethodType.CLIENT_STREAMING).build();
    Channel channel = server.channel(signingAs(SecuredServer.ALICE));
    ExpectFailure outcome = new ExpectFailure();
    StreamObserver<String> requests = ClientCalls.asyncClientStreamingCall(
        channel.newCall(misdeclared, CallOptions.DEFAULT), outcome);
    requests.onNext("x");
    requests.onCompleted();

    Throwable t = outcome.failure.get(10, TimeUnit.SECONDS);
    assertThat(Status.fromThrowable(t).getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(errorCode(Status.trailersFromThrowable(t))).isEqualTo("ContentSha256Mismatch");
    assertThat(Status.fromThrowable(t).getDescription()).contains("UNSIGNED-PAYLOAD");
    assertThat(server.service.seenRequests).isEmpty();
  }

  private String unary(Channel channel, String request) {
    return ClientCalls.blockingUnaryCall(channel, EchoService.UNARY, CallOptions.DEFAULT, request);
  }

  private StatusRuntimeException rejectedUnary(Channel channel, String expectedCode) {
    StatusRuntimeException e =
        catchThrowableOfType(StatusRuntimeException.class, () -> unary(channel, "hi"));
    assertThat(e).as("the call should fail").isNotNull();
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(errorCode(e.getTrailers())).isEqualTo(expectedCode);
    return e;
  }

  private ClientInterceptor signingAs(AccessKeyCredentials credentials) {
    return new SigningClientInterceptor(credentials, clientClock);
  }

  private static String errorCode(Metadata trailers) {
    return trailers == null ? null : trailers.get(AuthenticationServerInterceptor.ERROR_CODE_TRAILER);
  }

  private static Metadata.Key<String> key(String name) {
    return Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER);
  }

  private static void put(Metadata headers, String name, String value) {
    headers.removeAll(key(name));
    headers.put(key(name), value);
  }

  /** Edits the headers after the signing interceptor (which runs first) has added its own. */
  private static ClientInterceptor editHeaders(Consumer<Metadata> edit) {
    return new ClientInterceptor() {
      @Override
      public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
          MethodDescriptor<ReqT, RespT> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
          @Override
          public void start(Listener<RespT> listener, Metadata headers) {
            edit.accept(headers);
            super.start(listener, headers);
          }
        };
      }
    };
  }

  /** Swaps every request message for another after it was signed: a man in the middle. */
  private static ClientInterceptor replaceMessages(String replacement) {
    return new ClientInterceptor() {
      @Override
      @SuppressWarnings("unchecked")
      public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
          MethodDescriptor<ReqT, RespT> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
          @Override
          public void sendMessage(ReqT message) {
            super.sendMessage((ReqT) replacement);
          }
        };
      }
    };
  }

  /** A response observer for calls that must fail. */
  private static final class ExpectFailure implements StreamObserver<String> {
    final CompletableFuture<Throwable> failure = new CompletableFuture<>();

    @Override
    public void onNext(String value) {
      failure.completeExceptionally(new AssertionError("got a reply: " + value));
    }

    @Override
    public void onError(Throwable t) {
      failure.complete(t);
    }

    @Override
    public void onCompleted() {
      failure.completeExceptionally(new AssertionError("the call succeeded"));
    }
  }
}
