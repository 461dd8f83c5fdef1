package org.apsara.cli.identity;

/**
 * A failure of an identity command, with a message fit to show as it is (after {@code apsara: }).
 * Immutable.
 */
public final class IdentityCommandException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public IdentityCommandException(String message) {
    super(message);
  }

  public IdentityCommandException(String message, Throwable cause) {
    super(message, cause);
  }
}
