package org.apsara.security.token;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Objects;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A 256-bit HMAC key that signs capability tokens, named by a key id so that tokens say which key
 * signed them and keys can be rotated.
 *
 * <p>Immutable and thread-safe. {@link #toString()} shows only the id.
 */
public final class TokenKey {
  /** Length of a token key. */
  public static final int SECRET_BYTES = 32;

  private static final String MAC_ALGORITHM = "HmacSHA256";
  private static final Pattern KEY_ID =
      Pattern.compile("[A-Za-z0-9._-]{1," + CapabilityToken.KEY_ID_LENGTH_MAX + "}");

  private final String keyId;
  private final SecretKeySpec secret;

  private TokenKey(String keyId, byte[] secret) {
    if (!KEY_ID.matcher(keyId).matches()) {
      throw new IllegalArgumentException("invalid key id: " + keyId);
    }
    if (secret.length != SECRET_BYTES) {
      throw new IllegalArgumentException("a token key has " + SECRET_BYTES + " bytes");
    }
    this.keyId = keyId;
    this.secret = new SecretKeySpec(secret, MAC_ALGORITHM);
  }

  /** A key with the given id and secret bytes (copied). */
  public static TokenKey of(String keyId, byte[] secret) {
    return new TokenKey(Objects.requireNonNull(keyId, "keyId"), secret.clone());
  }

  /** A new random key. */
  public static TokenKey generate(String keyId, SecureRandom random) {
    byte[] secret = new byte[SECRET_BYTES];
    random.nextBytes(secret);
    return new TokenKey(Objects.requireNonNull(keyId, "keyId"), secret);
  }

  public String keyId() {
    return keyId;
  }

  /** A copy of the secret, for storing it (encrypted) so that all masters share it. */
  public byte[] secret() {
    return secret.getEncoded();
  }

  byte[] mac(byte[] data, int length) {
    try {
      Mac mac = Mac.getInstance(MAC_ALGORITHM);
      mac.init(secret);
      mac.update(data, 0, length);
      return mac.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is required of every Java platform", e);
    }
  }

  @Override
  public String toString() {
    return "TokenKey[keyId=" + keyId + "]";
  }
}
