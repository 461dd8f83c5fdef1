package org.apsara.security.audit;

import java.time.Instant;
import java.util.Objects;
import org.apsara.common.json.JsonStrings;

/**
 * One security decision: who did what to which resource, from where, and what was decided.
 *
 * <p>Immutable and thread-safe. Events never carry secrets, signatures or tokens: only ids, names
 * and the reason for the decision. Fields that are unknown are "" rather than null, except the
 * principal, which is {@link #ANONYMOUS} when the caller was not authenticated.
 *
 * @param time when the decision was made
 * @param principal the caller's ARN, or {@link #ANONYMOUS}
 * @param accessKeyId the AccessKey the request named (unverified when authentication failed)
 * @param sourceAddress the caller's network address
 * @param action the gRPC method or the RAM-style action, for example {@code nuwa:Put}
 * @param resource the resource acted on
 * @param outcome what was decided
 * @param reason the error code, or the authorizer's reason
 */
public record AuditEvent(
    Instant time,
    String principal,
    String accessKeyId,
    String sourceAddress,
    String action,
    String resource,
    Outcome outcome,
    String reason) {
  /** The principal of a request that was not authenticated. */
  public static final String ANONYMOUS = "anonymous";

  /** What was decided. */
  public enum Outcome {
    /** An authenticated caller was allowed to act. */
    ALLOWED,
    /** An authenticated caller was denied. */
    DENIED,
    /** The request's signature was rejected before it reached the service. */
    AUTHENTICATION_FAILED
  }

  public AuditEvent {
    Objects.requireNonNull(time, "time");
    Objects.requireNonNull(principal, "principal");
    Objects.requireNonNull(accessKeyId, "accessKeyId");
    Objects.requireNonNull(sourceAddress, "sourceAddress");
    Objects.requireNonNull(action, "action");
    Objects.requireNonNull(resource, "resource");
    Objects.requireNonNull(outcome, "outcome");
    Objects.requireNonNull(reason, "reason");
  }

  /** The event as one JSON object on one line, fields in a fixed order. */
  public String toJson() {
    StringBuilder out = new StringBuilder(256);
    out.append("{\"time\":");
    JsonStrings.appendQuoted(out, time.toString());
    field(out, "principal", principal);
    field(out, "accessKeyId", accessKeyId);
    field(out, "sourceAddress", sourceAddress);
    field(out, "action", action);
    field(out, "resource", resource);
    field(out, "outcome", outcome.name());
    field(out, "reason", reason);
    return out.append('}').toString();
  }

  private static void field(StringBuilder out, String name, String value) {
    out.append(",\"").append(name).append("\":");
    JsonStrings.appendQuoted(out, value);
  }
}
