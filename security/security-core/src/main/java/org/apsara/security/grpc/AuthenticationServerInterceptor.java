package org.apsara.security.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.apsara.security.audit.AuditEvent;
import org.apsara.security.audit.AuditSink;
import org.apsara.security.sign.AccessKeyResolver;
import org.apsara.security.sign.Principal;
import org.apsara.security.sign.ScopedSignature;
import org.apsara.security.sign.ServiceScope;
import org.apsara.security.sign.SignatureError;
import org.apsara.security.sign.SignatureRejectedException;
import org.apsara.security.sign.SignatureV3;
import org.apsara.security.sign.SignatureVerifier;
import org.apsara.security.sign.SignedCall;
import org.apsara.security.sign.SigningKeyResolver;
import org.apsara.security.sign.VerifiedRequest;

/**
 * Authenticates every call before it reaches the service.
 *
 * <p>The call's signature headers are verified first. A rejected call is closed with {@link
 * Status.Code#UNAUTHENTICATED}, the reason as description and the error code (for example {@code
 * SignatureDoesNotMatch}) in the trailer {@value #ERROR_CODE_TRAILER_NAME}; the one exception is
 * {@code SignatureNonceCacheFull}, which is closed with {@link Status.Code#RESOURCE_EXHAUSTED}
 * because the caller's credentials are fine and the call may be retried later, and {@code
 * SigningKeyUnavailable} (only from {@link #forService}), closed with {@link
 * Status.Code#UNAVAILABLE}. Each rejection is audited.
 *
 * <p>For calls that signed their payload (unary and server-streaming), the first request message is
 * hashed and compared before it is passed on; on a mismatch the call is closed as above and the
 * handler never sees the message.
 *
 * <p>An accepted call runs with its {@link Principal} under {@link SecurityContext#PRINCIPAL} and
 * its {@link RequestOrigin} under {@link SecurityContext#REQUEST_ORIGIN}. Methods in {@code
 * unauthenticatedMethods} (for example the gRPC health check) skip authentication and run without
 * a principal.
 *
 * <p>Thread-safe.
 */
public final class AuthenticationServerInterceptor implements ServerInterceptor {
  /** The name of the trailer that carries the error code of a rejected call. */
  public static final String ERROR_CODE_TRAILER_NAME = "x-acs-error-code";
  /** The trailer that carries {@link SignatureError#code()} of a rejected call. */
  public static final Metadata.Key<String> ERROR_CODE_TRAILER =
      Metadata.Key.of(ERROR_CODE_TRAILER_NAME, Metadata.ASCII_STRING_MARSHALLER);

  /** How a call's signature is checked: one of the verifier's two entry points. */
  @FunctionalInterface
  private interface Verification {
    VerifiedRequest verify(SignedCall call) throws SignatureRejectedException;
  }

  private final SignatureVerifier verifier;
  private final Verification verification;
  private final AuditSink auditSink;
  private final Set<String> unauthenticatedMethods;

  /**
   * An interceptor that accepts {@value SignatureV3#ALGORITHM} signatures, checked against the
   * AccessKey secrets {@code resolver} holds: the identity service's.
   *
   * @param verifier checks signatures and nonces
   * @param resolver looks up AccessKeys
   * @param auditSink receives every rejection
   * @param unauthenticatedMethods full names of the methods that need no signature, for example
   *     {@code grpc.health.v1.Health/Check}
   */
  public AuthenticationServerInterceptor(
      SignatureVerifier verifier,
      AccessKeyResolver resolver,
      AuditSink auditSink,
      Set<String> unauthenticatedMethods) {
    this(call -> verifier.verify(call, resolver), verifier, auditSink, unauthenticatedMethods);
    Objects.requireNonNull(resolver, "resolver");
  }

  private AuthenticationServerInterceptor(
      Verification verification,
      SignatureVerifier verifier,
      AuditSink auditSink,
      Set<String> unauthenticatedMethods) {
    this.verifier = Objects.requireNonNull(verifier, "verifier");
    this.verification = verification;
    this.auditSink = Objects.requireNonNull(auditSink, "auditSink");
    this.unauthenticatedMethods = Set.copyOf(unauthenticatedMethods);
  }

  /**
   * An interceptor for any service but the identity service: it accepts only {@value
   * ScopedSignature#ALGORITHM} signatures made with a key derived for {@code scope} (see {@link
   * SignatureVerifier#verifyScoped}), so the service never needs an AccessKey secret. Rejections
   * are as described on the class; a {@code resolver} that cannot learn a key now ({@code
   * SigningKeyUnavailable}) closes the call with {@link Status.Code#UNAVAILABLE}, since the
   * caller's credentials may well be fine.
   *
   * @param verifier checks signatures and nonces
   * @param scope this service's region and name
   * @param resolver gives the derived keys; it may block a call to fetch a key it has never seen
   * @param auditSink receives every rejection
   * @param unauthenticatedMethods as for the {@linkplain #AuthenticationServerInterceptor
   *     constructor}
   */
  public static AuthenticationServerInterceptor forService(
      SignatureVerifier verifier,
      ServiceScope scope,
      SigningKeyResolver resolver,
      AuditSink auditSink,
      Set<String> unauthenticatedMethods) {
    Objects.requireNonNull(verifier, "verifier");
    Objects.requireNonNull(scope, "scope");
    Objects.requireNonNull(resolver, "resolver");
    return new AuthenticationServerInterceptor(
        call -> verifier.verifyScoped(call, scope, resolver), verifier, auditSink,
        unauthenticatedMethods);
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    RequestOrigin origin = RequestOrigin.fromAttributes(call.getAttributes());
    Context context = Context.current().withValue(SecurityContext.REQUEST_ORIGIN, origin);
    if (unauthenticatedMethods.contains(method)) {
      return Contexts.interceptCall(context, call, headers, next);
    }

    SignedCall signedCall = new SignedCall(
        method,
        Objects.requireNonNullElse(call.getAuthority(), ""),
        call.getMethodDescriptor().getType().clientSendsOneMessage(),
        asciiHeaders(headers));
    VerifiedRequest verified;
    try {
      verified = verification.verify(signedCall);
    } catch (SignatureRejectedException e) {
      reject(call, e.error(), e.getMessage(), AuditEvent.ANONYMOUS, e.claimedAccessKeyId(), origin);
      return new ServerCall.Listener<>() {};
    }

    Principal principal = verified.principal();
    ServerCall.Listener<ReqT> handler = Contexts.interceptCall(
        context.withValue(SecurityContext.PRINCIPAL, principal), call, headers, next);
    if (!verified.payloadHashed()) {
      return handler;
    }
    return new PayloadCheckingListener<>(handler, call, verified, origin);
  }

  private void reject(
      ServerCall<?, ?> call,
      SignatureError error,
      String message,
      String principal,
      String accessKeyId,
      RequestOrigin origin) {
    auditSink.record(new AuditEvent(
        Instant.now(verifier.clock()),
        principal,
        accessKeyId,
        origin.sourceAddress(),
        call.getMethodDescriptor().getFullMethodName(),
        "",
        AuditEvent.Outcome.AUTHENTICATION_FAILED,
        error.code() + ": " + message));
    Status status = switch (error) {
      case NONCE_CACHE_FULL -> Status.RESOURCE_EXHAUSTED;
      case SIGNING_KEY_UNAVAILABLE -> Status.UNAVAILABLE;
      default -> Status.UNAUTHENTICATED;
    };
    Metadata trailers = new Metadata();
    trailers.put(ERROR_CODE_TRAILER, error.code());
    call.close(status.withDescription(message), trailers);
  }

  /** The headers with text values, by name; gRPC metadata names are already lower case. */
  private static Map<String, String> asciiHeaders(Metadata headers) {
    Map<String, String> result = new HashMap<>();
    for (String name : headers.keys()) {
      if (name.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
        continue;
      }
      String value = headers.get(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER));
      if (value != null) {
        result.put(name, value);
      }
    }
    return result;
  }

  /**
   * Checks the first request message against the signed hash before the handler sees it. gRPC
   * calls a listener's methods one at a time, so its fields need no synchronization.
   */
  private final class PayloadCheckingListener<ReqT>
      extends ForwardingServerCallListener.SimpleForwardingServerCallListener<ReqT> {
    private final ServerCall<ReqT, ?> call;
    private final VerifiedRequest verified;
    private final RequestOrigin origin;
    private boolean checked;
    private boolean rejected;

    PayloadCheckingListener(
        ServerCall.Listener<ReqT> delegate,
        ServerCall<ReqT, ?> call,
        VerifiedRequest verified,
        RequestOrigin origin) {
      super(delegate);
      this.call = call;
      this.verified = verified;
      this.origin = origin;
    }

    @Override
    public void onMessage(ReqT message) {
      if (rejected) {
        return;
      }
      if (!checked) {
        checked = true;
        String actual = PayloadHash.sha256Hex(call.getMethodDescriptor(), message);
        if (!SignatureV3.constantTimeEquals(verified.contentSha256(), actual)) {
          rejected = true;
          reject(call, SignatureError.CONTENT_SHA256_MISMATCH,
              "the request message does not match the signed " + SignatureV3.HEADER_CONTENT_SHA256
                  + "; the server computed " + actual,
              verified.principal().arn(), verified.principal().accessKeyId(), origin);
          return;
        }
      }
      super.onMessage(message);
    }

    @Override
    public void onHalfClose() {
      if (!rejected) {
        super.onHalfClose();
      }
    }

    @Override
    public void onReady() {
      if (!rejected) {
        super.onReady();
      }
    }
  }
}
