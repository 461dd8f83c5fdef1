package org.apsara.security.grpc;

import java.util.Objects;

/**
 * What an {@link Authorizer} decided, and why.
 *
 * <p>Immutable and thread-safe.
 *
 * @param allowed whether the action may proceed
 * @param reason why, in words fit for the caller and the audit log, for example "explicit deny in
 *     policy ReadOnly" or "no policy allows nuwa:Put"
 */
public record AuthorizationDecision(boolean allowed, String reason) {
  public AuthorizationDecision {
    Objects.requireNonNull(reason, "reason");
  }

  public static AuthorizationDecision allow(String reason) {
    return new AuthorizationDecision(true, reason);
  }

  public static AuthorizationDecision deny(String reason) {
    return new AuthorizationDecision(false, reason);
  }
}
