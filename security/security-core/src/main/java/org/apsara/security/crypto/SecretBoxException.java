package org.apsara.security.crypto;

import java.security.GeneralSecurityException;

/**
 * A sealed secret could not be opened: it was altered, belongs to another record (other associated
 * data), was sealed with another master key, or is not a sealed secret at all. The message says
 * which and never contains key material or plaintext.
 */
public final class SecretBoxException extends GeneralSecurityException {
  private static final long serialVersionUID = 1L;

  public SecretBoxException(String message) {
    super(message);
  }

  public SecretBoxException(String message, Throwable cause) {
    super(message, cause);
  }
}
