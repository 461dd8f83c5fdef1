package org.apsara.security.policy;

/**
 * A policy document, or a part of it, is not valid. The message names the first problem found and
 * where it is, e.g. {@code Statement[2].Effect must be "Allow" or "Deny", got "allow"}, and is
 * meant to be shown to the author of the policy.
 */
public final class InvalidPolicyException extends Exception {
  private static final long serialVersionUID = 1L;

  InvalidPolicyException(String message) {
    super(message);
  }
}
