package org.apsara.security.sign;

import java.util.Objects;

/**
 * A signed request was rejected.
 *
 * <p>The message is meant for the caller: it says what was wrong with this request and never
 * contains a secret or the expected signature. Immutable.
 */
public final class SignatureRejectedException extends Exception {
  private static final long serialVersionUID = 1L;

  private final SignatureError error;
  private final String claimedAccessKeyId;

  /**
   * @param error what kind of rejection this is
   * @param message what exactly was wrong, for the caller
   * @param claimedAccessKeyId the AccessKey id the request named, or "" if it named none that
   *     could be read; recorded in the audit log to trace who is failing
   */
  public SignatureRejectedException(SignatureError error, String message, String claimedAccessKeyId) {
    super(message);
    this.error = Objects.requireNonNull(error, "error");
    this.claimedAccessKeyId = Objects.requireNonNull(claimedAccessKeyId, "claimedAccessKeyId");
  }

  public SignatureError error() {
    return error;
  }

  /** The AccessKey id the rejected request named, unverified; "" if none could be read. */
  public String claimedAccessKeyId() {
    return claimedAccessKeyId;
  }
}
