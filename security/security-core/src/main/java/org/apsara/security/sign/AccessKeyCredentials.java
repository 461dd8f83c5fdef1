package org.apsara.security.sign;

import java.util.Objects;

/**
 * An AccessKey pair a client signs its requests with.
 *
 * <p>Immutable and thread-safe. {@link #toString()} never shows the secret, so the credentials can
 * appear in log statements and exception messages without leaking it.
 *
 * @param accessKeyId the public id, sent with every request
 * @param accessKeySecret the shared secret, used only as the HMAC key and never sent
 */
public record AccessKeyCredentials(String accessKeyId, String accessKeySecret) {
  /** Longest secret accepted; generated secrets are far shorter. */
  public static final int SECRET_LENGTH_MAX = 256;

  public AccessKeyCredentials {
    Objects.requireNonNull(accessKeyId, "accessKeyId");
    Objects.requireNonNull(accessKeySecret, "accessKeySecret");
    if (!SignatureV3.isValidAccessKeyId(accessKeyId)) {
      throw new IllegalArgumentException("invalid AccessKey id: " + accessKeyId);
    }
    if (accessKeySecret.isEmpty() || accessKeySecret.length() > SECRET_LENGTH_MAX) {
      throw new IllegalArgumentException(
          "an AccessKey secret must have 1.." + SECRET_LENGTH_MAX + " characters");
    }
  }

  @Override
  public String toString() {
    return "AccessKeyCredentials[accessKeyId=" + accessKeyId + ", accessKeySecret=<hidden>]";
  }
}
