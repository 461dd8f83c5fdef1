package org.apsara.security.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apsara.testkit.TestClock;
import org.apsara.security.audit.InMemoryAuditSink;
import org.apsara.security.sign.NonceCache;
import org.apsara.security.sign.ResolvedAccessKey;
import org.apsara.security.sign.SignatureVerifier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Signed calls over a real TCP connection on the loopback interface, with protobuf messages. */
class TcpEndToEndTest {
  private static final String SERVICE = "apsara.test.Proto";
  /** Replies with the request's field names in the order the handler sees them. */
  private static final MethodDescriptor<Struct, Struct> KEYS = MethodDescriptor.<Struct, Struct>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Keys"))
      .setRequestMarshaller(ProtoUtils.marshaller(Struct.getDefaultInstance()))
      .setResponseMarshaller(ProtoUtils.marshaller(Struct.getDefaultInstance()))
      .build();

  private final TestClock clock = new TestClock(SecuredServer.NOW);
  private final InMemoryAuditSink audit = new InMemoryAuditSink();
  private final EchoService echo = new EchoService();
  private final AtomicReference<Map<String, String>> requestContext = new AtomicReference<>();
  private final Server server;
  private final ManagedChannel managedChannel;
  private final Channel channel;

  TcpEndToEndTest() throws Exception {
    Authorization authorization = new Authorization((principal, action, resource, context) -> {
      requestContext.set(context);
      return AuthorizationDecision.allow("test");
    }, audit, clock);
    ServerServiceDefinition proto = ServerServiceDefinition.builder(SERVICE)
        .addMethod(KEYS, ServerCalls.asyncUnaryCall((Struct request, StreamObserver<Struct> out) -> {
          authorization.require("test:Keys", "struct", Authorization.Access.READ);
          Struct.Builder reply = Struct.newBuilder();
          request.getFieldsMap().keySet().forEach(
              key -> reply.putFields(key, Value.newBuilder().setBoolValue(true).build()));
          out.onNext(reply.build());
          out.onCompleted();
        }))
        .build();
    AuthenticationServerInterceptor authentication = new AuthenticationServerInterceptor(
        new SignatureVerifier(clock, new NonceCache(1000)),
        id -> id.equals(SecuredServer.ALICE.accessKeyId())
            ? Optional.of(new ResolvedAccessKey(
                SecuredServer.ALICE.accessKeySecret(), true, SecuredServer.ALICE_PRINCIPAL))
            : Optional.empty(),
        audit,
        Set.of());
    InetAddress loopback = InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
    server = NettyServerBuilder
        .forAddress(new InetSocketAddress(loopback, 0), InsecureServerCredentials.create())
        .addService(ServerInterceptors.intercept(echo.definition(), authentication))
        .addService(ServerInterceptors.intercept(proto, authentication))
        .build()
        .start();
    managedChannel = Grpc.newChannelBuilderForAddress(
            "127.0.0.1", server.getPort(), InsecureChannelCredentials.create())
        .build();
    channel = ClientInterceptors.intercept(
        managedChannel, new SigningClientInterceptor(SecuredServer.ALICE, clock));
  }

  @AfterEach
  void close() throws InterruptedException {
    managedChannel.shutdownNow();
    server.shutdownNow();
    managedChannel.awaitTermination(10, TimeUnit.SECONDS);
    server.awaitTermination(10, TimeUnit.SECONDS);
  }

  @Test
  void unaryProtobufCallWithAMapIsSignedAndChecked() {
    Struct request = Struct.newBuilder()
        .putFields("zeta", Value.newBuilder().setNumberValue(1).build())
        .putFields("alpha", Value.newBuilder().setStringValue("a").build())
        .putFields("mu", Value.newBuilder().setBoolValue(false).build())
        .build();

    Struct reply = ClientCalls.blockingUnaryCall(channel, KEYS, CallOptions.DEFAULT, request);

    assertThat(reply.getFieldsMap().keySet()).containsExactlyInAnyOrder("zeta", "alpha", "mu");
    assertThat(requestContext.get()).containsEntry(Authorization.CONTEXT_SOURCE_IP, "127.0.0.1")
        .containsEntry(Authorization.CONTEXT_SECURE_TRANSPORT, "false")
        .containsEntry(Authorization.CONTEXT_CURRENT_TIME, "2024-05-01T08:00:00Z");
  }

  @Test
  void streamingCallsWork() {
    assertThat(ClientCalls.blockingServerStreamingCall(
            channel, EchoService.REPEAT, CallOptions.DEFAULT, "2:tcp"))
        .toIterable().containsExactly("tcp#0", "tcp#1");
    SignedCallsTest.RecordingObserver replies = new SignedCallsTest.RecordingObserver();
    StreamObserver<String> requests = ClientCalls.asyncBidiStreamingCall(
        channel.newCall(EchoService.CHAT, CallOptions.DEFAULT), replies);
    requests.onNext("x");
    requests.onCompleted();

    assertThat(replies.done).succeedsWithin(java.time.Duration.ofSeconds(10))
        .isEqualTo(Status.Code.OK);
    assertThat(replies.values).containsExactly("acs:ram::1234:user/alice: x");
  }

  @Test
  void rejectionsCarryTheErrorCodeOverTheWire() {
    Channel unsigned = managedChannel;

    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
        () -> ClientCalls.blockingUnaryCall(unsigned, EchoService.UNARY, CallOptions.DEFAULT, "x"));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(e.getTrailers().get(AuthenticationServerInterceptor.ERROR_CODE_TRAILER))
        .isEqualTo("MissingAuthorization");
    assertThat(audit.events()).singleElement()
        .satisfies(event -> assertThat(event.sourceAddress()).startsWith("127.0.0.1:"));
  }
}
