package org.apsara.security.token;

import java.util.Objects;

/**
 * A capability token was rejected. The message says what was wrong with this token and never
 * contains the token or a key. Immutable.
 */
public final class CapabilityTokenException extends Exception {
  private static final long serialVersionUID = 1L;

  private final TokenRejection reason;

  public CapabilityTokenException(TokenRejection reason, String message) {
    super(message);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public TokenRejection reason() {
    return reason;
  }
}
