package org.apsara.security.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.apsara.security.audit.AuditEvent;
import org.apsara.security.audit.AuditSink;
import org.apsara.security.sign.Principal;

/**
 * What service handlers call to check that the current caller may do what it asks.
 *
 * <pre>{@code
 * try {
 *   authorization.require("nuwa:Put", "acs:nuwa::" + tenant + ":key/" + key, Access.MUTATE);
 * } catch (StatusRuntimeException denied) {
 *   responseObserver.onError(denied);
 *   return;
 * }
 * }</pre>
 *
 * <p>The exception must reach the client through {@code onError} (or an interceptor such as
 * grpc-util's {@code TransmitStatusRuntimeExceptionInterceptor}): gRPC reports an exception that
 * escapes a handler as {@code UNKNOWN}.
 *
 * <p>The caller is the {@link SecurityContext#currentPrincipal() current principal}; the request
 * context handed to the {@link Authorizer} is built from the call's {@link RequestOrigin} and the
 * clock. Every denial is audited, and so is every allowed mutation; allowed reads are not, to keep
 * the audit trail to what changes state or was refused.
 *
 * <p>Thread-safe if the authorizer and the audit sink are.
 */
public final class Authorization {
  /** Condition key: the caller's IP address. */
  public static final String CONTEXT_SOURCE_IP = "acs:SourceIp";
  /** Condition key: the time of the check, ISO 8601 in UTC with whole seconds. */
  public static final String CONTEXT_CURRENT_TIME = "acs:CurrentTime";
  /** Condition key: "true" if the call arrived over TLS, else "false". */
  public static final String CONTEXT_SECURE_TRANSPORT = "acs:SecureTransport";

  /** Whether a checked action only reads or also changes state; mutations are always audited. */
  public enum Access {
    READ,
    MUTATE
  }

  private final Authorizer authorizer;
  private final AuditSink auditSink;
  private final Clock clock;

  public Authorization(Authorizer authorizer, AuditSink auditSink, Clock clock) {
    this.authorizer = Objects.requireNonNull(authorizer, "authorizer");
    this.auditSink = Objects.requireNonNull(auditSink, "auditSink");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * Returns if the current caller may perform {@code action} on {@code resource}.
   *
   * @throws StatusRuntimeException {@link Status.Code#PERMISSION_DENIED} with the message
   *     {@code <user arn> is not allowed to perform <action> on <resource>: <reason>} if the
   *     authorizer denies, or {@link Status.Code#UNAUTHENTICATED} if the call has no authenticated
   *     principal (a handler of a method exempt from authentication asked)
   */
  public void require(String action, String resource, Access access) {
    Instant now = Instant.now(clock).truncatedTo(ChronoUnit.SECONDS);
    RequestOrigin origin = SecurityContext.currentOrigin();
    Optional<Principal> current = SecurityContext.currentPrincipal();
    if (current.isEmpty()) {
      String reason = "the call is not authenticated";
      audit(now, AuditEvent.ANONYMOUS, "", origin, action, resource, AuditEvent.Outcome.DENIED,
          reason);
      throw Status.UNAUTHENTICATED
          .withDescription("cannot perform " + action + " on " + resource + ": " + reason)
          .asRuntimeException();
    }
    Principal principal = current.get();
    AuthorizationDecision decision =
        authorizer.authorize(principal, action, resource, requestContext(origin, now));
    if (decision.allowed()) {
      if (access == Access.MUTATE) {
        audit(now, principal.arn(), principal.accessKeyId(), origin, action, resource,
            AuditEvent.Outcome.ALLOWED, decision.reason());
      }
      return;
    }
    audit(now, principal.arn(), principal.accessKeyId(), origin, action, resource,
        AuditEvent.Outcome.DENIED, decision.reason());
    throw Status.PERMISSION_DENIED
        .withDescription(principal.arn() + " is not allowed to perform " + action + " on "
            + resource + ": " + decision.reason())
        .asRuntimeException();
  }

  /** The condition keys of a request from {@code origin} checked at {@code now}. */
  public static Map<String, String> requestContext(RequestOrigin origin, Instant now) {
    Map<String, String> context = new LinkedHashMap<>();
    if (!origin.sourceIp().isEmpty()) {
      context.put(CONTEXT_SOURCE_IP, origin.sourceIp());
    }
    context.put(CONTEXT_CURRENT_TIME, now.truncatedTo(ChronoUnit.SECONDS).toString());
    context.put(CONTEXT_SECURE_TRANSPORT, Boolean.toString(origin.secureTransport()));
    return Map.copyOf(context);
  }

  private void audit(
      Instant now,
      String principal,
      String accessKeyId,
      RequestOrigin origin,
      String action,
      String resource,
      AuditEvent.Outcome outcome,
      String reason) {
    auditSink.record(new AuditEvent(
        now, principal, accessKeyId, origin.sourceAddress(), action, resource, outcome, reason));
  }
}
