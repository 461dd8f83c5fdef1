package org.apsara.security.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.Grpc;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLSession;
import org.apsara.security.audit.AuditEvent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link Authorization#require} called from a handler of a running server. */
class AuthorizationTest {
  private static final String SERVICE = "apsara.test.Guarded";
  /** The request "action|resource|READ or MUTATE" is checked with {@link Authorization#require}. */
  private static final MethodDescriptor<String, String> DO = MethodDescriptor.<String, String>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Do"))
      .setRequestMarshaller(EchoService.UTF8)
      .setResponseMarshaller(EchoService.UTF8)
      .build();

  private final AtomicReference<Map<String, String>> lastContext = new AtomicReference<>();
  /** Alice may do anything but test:Forbidden; nobody else may do anything. */
  private final Authorizer authorizer = (principal, action, resource, context) -> {
    lastContext.set(context);
    if (!principal.userName().equals("alice")) {
      return AuthorizationDecision.deny("no policy allows " + principal.userName());
    }
    return action.equals("test:Forbidden")
        ? AuthorizationDecision.deny("explicit deny in policy NoForbidden")
        : AuthorizationDecision.allow("allowed by policy AliceAll");
  };
  private final SecuredServer server;
  private final Channel alice;

  AuthorizationTest() {
    AtomicReference<Authorization> authorization = new AtomicReference<>();
    ServerServiceDefinition guarded = ServerServiceDefinition.builder(SERVICE)
        .addMethod(DO, ServerCalls.asyncUnaryCall((request, out) -> {
          String[] parts = request.split("\\|");
          try {
            authorization.get().require(parts[0], parts[1], Authorization.Access.valueOf(parts[2]));
          } catch (StatusRuntimeException e) {
            out.onError(e);
            return;
          }
          out.onNext("done");
          out.onCompleted();
        }))
        .build();
    server = new SecuredServer(1000, List.of(guarded));
    authorization.set(new Authorization(authorizer, server.audit, server.clock));
    alice = server.channel(new SigningClientInterceptor(SecuredServer.ALICE, server.clock));
  }

  @AfterEach
  void close() {
    server.close();
  }

  @Test
  void allowedReadIsNotAudited() {
    assertThat(call("test:Read|res/1|READ")).isEqualTo("done");

    assertThat(server.audit.events()).isEmpty();
  }

  @Test
  void allowedMutationIsAudited() {
    assertThat(call("test:Write|res/1|MUTATE")).isEqualTo("done");

    assertThat(server.audit.events()).singleElement().satisfies(event -> {
      assertThat(event.outcome()).isEqualTo(AuditEvent.Outcome.ALLOWED);
      assertThat(event.principal()).isEqualTo("acs:ram::1234:user/alice");
      assertThat(event.accessKeyId()).isEqualTo(SecuredServer.ALICE.accessKeyId());
      assertThat(event.action()).isEqualTo("test:Write");
      assertThat(event.resource()).isEqualTo("res/1");
      assertThat(event.reason()).isEqualTo("allowed by policy AliceAll");
      assertThat(event.time()).isEqualTo(SecuredServer.NOW);
    });
  }

  @Test
  void denialFailsTheCallWithPermissionDeniedAndIsAudited() {
    StatusRuntimeException e = catchThrowableOfType(
        StatusRuntimeException.class, () -> call("test:Forbidden|res/2|READ"));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(e.getStatus().getDescription()).isEqualTo("acs:ram::1234:user/alice is not allowed"
        + " to perform test:Forbidden on res/2: explicit deny in policy NoForbidden");
    assertThat(server.audit.events()).singleElement().satisfies(event -> {
      assertThat(event.outcome()).isEqualTo(AuditEvent.Outcome.DENIED);
      assertThat(event.reason()).isEqualTo("explicit deny in policy NoForbidden");
    });
  }

  @Test
  void theAuthorizerSeesTheRequestContext() {
    call("test:Read|res/1|READ");

    // The in-process transport has no IP address, so there is no acs:SourceIp.
    assertThat(lastContext.get()).containsExactlyInAnyOrderEntriesOf(Map.of(
        Authorization.CONTEXT_CURRENT_TIME, "2024-05-01T08:00:00Z",
        Authorization.CONTEXT_SECURE_TRANSPORT, "false"));
  }

  @Test
  void requestContextCarriesSourceIpAndTls() throws Exception {
    SSLSession session = (SSLSession) Proxy.newProxyInstance(
        getClass().getClassLoader(), new Class<?>[] {SSLSession.class}, (proxy, method, args) -> {
          throw new UnsupportedOperationException(method.getName());
        });
    Attributes attributes = Attributes.newBuilder()
        .set(Grpc.TRANSPORT_ATTR_REMOTE_ADDR,
            new InetSocketAddress(InetAddress.getByAddress(new byte[] {10, 0, 0, 7}), 40000))
        .set(Grpc.TRANSPORT_ATTR_SSL_SESSION, session)
        .build();

    RequestOrigin origin = RequestOrigin.fromAttributes(attributes);

    assertThat(origin).isEqualTo(new RequestOrigin("10.0.0.7", "10.0.0.7:40000", true));
    assertThat(Authorization.requestContext(origin, Instant.parse("2024-05-01T08:00:00.750Z")))
        .containsExactlyInAnyOrderEntriesOf(Map.of(
            "acs:SourceIp", "10.0.0.7",
            "acs:CurrentTime", "2024-05-01T08:00:00Z",
            "acs:SecureTransport", "true"));
    assertThat(RequestOrigin.fromAttributes(Attributes.EMPTY)).isEqualTo(RequestOrigin.UNKNOWN);
  }

  @Test
  void unauthenticatedCallerCannotPassACheck() {
    Authorization authorization = new Authorization(authorizer, server.audit, server.clock);

    // Outside any call there is no principal, as in a handler of an exempt method.
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
        () -> authorization.require("test:Read", "res/1", Authorization.Access.READ));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(lastContext.get()).isNull();
    assertThat(server.audit.events()).singleElement()
        .satisfies(event -> assertThat(event.principal()).isEqualTo(AuditEvent.ANONYMOUS));
  }

  private String call(String request) {
    return ClientCalls.blockingUnaryCall(alice, DO, CallOptions.DEFAULT, request);
  }
}
