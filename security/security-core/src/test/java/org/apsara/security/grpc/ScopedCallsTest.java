package org.apsara.security.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCalls;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apsara.testkit.TestClock;
import org.apsara.security.audit.AuditEvent;
import org.apsara.security.audit.InMemoryAuditSink;
import org.apsara.security.sign.NonceCache;
import org.apsara.security.sign.ResolvedSigningKey;
import org.apsara.security.sign.ScopedSignature;
import org.apsara.security.sign.ServiceScope;
import org.apsara.security.sign.SignatureError;
import org.apsara.security.sign.SignatureRejectedException;
import org.apsara.security.sign.SignatureVerifier;
import org.apsara.security.sign.SigningKeyResolver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A service behind {@link AuthenticationServerInterceptor#forService}, called through {@link
 * SigningClientInterceptor#forService}: the server holds derived keys only.
 */
class ScopedCallsTest {
  private static final ServiceScope PANGU = new ServiceScope("cn-test", "pangu");

  private final TestClock clock = new TestClock(SecuredServer.NOW);
  private final InMemoryAuditSink audit = new InMemoryAuditSink();
  private final AtomicBoolean identityReachable = new AtomicBoolean(true);
  private final SigningKeyResolver resolver = (id, scope) -> {
    if (!identityReachable.get()) {
      throw new SignatureRejectedException(SignatureError.SIGNING_KEY_UNAVAILABLE,
          "the identity service cannot be reached", id);
    }
    return id.equals(SecuredServer.ALICE.accessKeyId())
        ? Optional.of(new ResolvedSigningKey(ScopedSignature.deriveSigningKey(
            SecuredServer.ALICE.accessKeySecret(), scope), true, SecuredServer.ALICE_PRINCIPAL))
        : Optional.empty();
  };
  private final String name = InProcessServerBuilder.generateName();
  private final Server server;
  private final ManagedChannel channel;

  ScopedCallsTest() throws Exception {
    AuthenticationServerInterceptor authentication = AuthenticationServerInterceptor.forService(
        new SignatureVerifier(clock, new NonceCache()), PANGU, resolver, audit, Set.of());
    server = InProcessServerBuilder.forName(name)
        .addService(ServerInterceptors.intercept(new EchoService().definition(), authentication))
        .build().start();
    channel = InProcessChannelBuilder.forName(name).build();
  }

  @AfterEach
  void close() throws InterruptedException {
    channel.shutdownNow();
    server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
  }

  @Test
  void aCallSignedForTheServiceReachesItWithTheCaller() {
    Channel signed = ClientInterceptors.intercept(channel,
        SigningClientInterceptor.forService(SecuredServer.ALICE, PANGU, clock));

    assertThat(ClientCalls.blockingUnaryCall(signed, EchoService.UNARY, CallOptions.DEFAULT, "hi"))
        .isEqualTo(SecuredServer.ALICE_PRINCIPAL.arn() + ": hi");
  }

  @Test
  void aCallSignedForAnotherServiceIsUnauthenticatedAndAudited() {
    Channel signed = ClientInterceptors.intercept(channel, SigningClientInterceptor.forService(
        SecuredServer.ALICE, new ServiceScope("cn-test", "fuxi"), clock));

    StatusRuntimeException e = rejected(signed);

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(errorCode(e)).isEqualTo("InvalidCredentialScope");
    AuditEvent event = audit.events().get(0);
    assertThat(event.outcome()).isEqualTo(AuditEvent.Outcome.AUTHENTICATION_FAILED);
    assertThat(event.accessKeyId()).isEqualTo(SecuredServer.ALICE.accessKeyId());
  }

  @Test
  void anUnsignedOrAcs3CallIsUnauthenticated() {
    Channel acs3 = ClientInterceptors.intercept(channel,
        new SigningClientInterceptor(SecuredServer.ALICE, clock));

    assertThat(errorCode(rejected(channel))).isEqualTo("MissingAuthorization");
    assertThat(errorCode(rejected(acs3))).isEqualTo("InvalidAuthorization");
  }

  @Test
  void anUnreachableKeySourceMakesTheCallUnavailableNotUnauthenticated() {
    identityReachable.set(false);
    Channel signed = ClientInterceptors.intercept(channel,
        SigningClientInterceptor.forService(SecuredServer.ALICE, PANGU, clock));

    StatusRuntimeException e = rejected(signed);

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(errorCode(e)).isEqualTo("SigningKeyUnavailable");
  }

  private static StatusRuntimeException rejected(Channel channel) {
    return catchThrowableOfType(StatusRuntimeException.class, () -> ClientCalls.blockingUnaryCall(
        channel, EchoService.UNARY, CallOptions.DEFAULT, "hi"));
  }

  private static String errorCode(StatusRuntimeException e) {
    return e.getTrailers().get(AuthenticationServerInterceptor.ERROR_CODE_TRAILER);
  }
}
