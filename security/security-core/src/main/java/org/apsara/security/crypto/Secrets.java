package org.apsara.security.crypto;

import java.security.SecureRandom;

/**
 * Generates AccessKey ids and secrets in Alibaba Cloud's formats, from {@link SecureRandom}.
 *
 * <p>Ids are {@value #ACCESS_KEY_ID_PREFIX} followed by random letters and digits, {@value
 * #ACCESS_KEY_ID_LENGTH} characters in all (about 119 random bits); secrets are {@value
 * #ACCESS_KEY_SECRET_LENGTH} random letters and digits (about 178 bits). Characters are drawn
 * without modulo bias.
 *
 * <p>Thread-safe.
 */
public final class Secrets {
  public static final String ACCESS_KEY_ID_PREFIX = "LTAI";
  public static final int ACCESS_KEY_ID_LENGTH = 24;
  public static final int ACCESS_KEY_SECRET_LENGTH = 30;

  private static final char[] ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".toCharArray();
  /** Random bytes at or above this are redrawn, so that every character is equally likely. */
  private static final int UNBIASED_LIMIT = 256 - 256 % ALPHABET.length;
  private static final SecureRandom RANDOM = new SecureRandom();

  private Secrets() {}

  /** A new AccessKey id, for example {@code LTAI5tQ3wJx9Bz2Kd7Lm1Np8}. */
  public static String newAccessKeyId() {
    return ACCESS_KEY_ID_PREFIX + randomChars(ACCESS_KEY_ID_LENGTH - ACCESS_KEY_ID_PREFIX.length());
  }

  /** A new AccessKey secret. */
  public static String newAccessKeySecret() {
    return randomChars(ACCESS_KEY_SECRET_LENGTH);
  }

  private static String randomChars(int count) {
    StringBuilder out = new StringBuilder(count);
    byte[] bytes = new byte[count * 2];
    while (out.length() < count) {
      RANDOM.nextBytes(bytes);
      for (int i = 0; i < bytes.length && out.length() < count; i++) {
        int value = bytes[i] & 0xFF;
        if (value < UNBIASED_LIMIT) {
          out.append(ALPHABET[value % ALPHABET.length]);
        }
      }
    }
    return out.toString();
  }
}
