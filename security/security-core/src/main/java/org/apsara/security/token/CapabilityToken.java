package org.apsara.security.token;

import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The contents of a capability token: who may do which operations on which resource, until when.
 *
 * <p>Immutable and thread-safe. The constructor enforces the limits below, so every token that
 * exists can be encoded within {@link #ENCODED_LENGTH_MAX}.
 *
 * @param keyId the id of the key that signs the token
 * @param subject who the token was issued to, a principal ARN
 * @param resource what the token grants access to, opaque to the token, for example {@code
 *     chunk/123}
 * @param operations what the holder may do, for example {@code read}; kept sorted
 * @param issuedAt when the token was issued, in whole milliseconds
 * @param expiresAt when the token stops being valid, in whole milliseconds
 */
public record CapabilityToken(
    String keyId,
    String subject,
    String resource,
    Set<String> operations,
    Instant issuedAt,
    Instant expiresAt) {
  /**
   * Longest encoded token accepted; a token with every field at its maximum encodes to 1151
   * characters.
   */
  public static final int ENCODED_LENGTH_MAX = 1200;
  /** The longest lifetime (expiry minus issue time) a token may have. */
  public static final Duration LIFETIME_MAX = Duration.ofHours(1);
  /** Longest key id. */
  public static final int KEY_ID_LENGTH_MAX = 32;
  /** Longest subject or resource, in UTF-8 bytes. */
  public static final int FIELD_BYTES_MAX = 256;
  /** Most operations one token may grant. */
  public static final int OPERATIONS_MAX = 8;
  /** Longest operation name. */
  public static final int OPERATION_LENGTH_MAX = 32;

  private static final Pattern KEY_ID = Pattern.compile("[A-Za-z0-9._-]{1," + KEY_ID_LENGTH_MAX + "}");
  private static final Pattern OPERATION =
      Pattern.compile("[a-z][a-z0-9-]{0," + (OPERATION_LENGTH_MAX - 1) + "}");

  public CapabilityToken {
    Objects.requireNonNull(keyId, "keyId");
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(resource, "resource");
    Objects.requireNonNull(issuedAt, "issuedAt");
    Objects.requireNonNull(expiresAt, "expiresAt");
    if (!KEY_ID.matcher(keyId).matches()) {
      throw new IllegalArgumentException("invalid key id: " + keyId);
    }
    checkField("subject", subject);
    checkField("resource", resource);
    if (operations.isEmpty() || operations.size() > OPERATIONS_MAX) {
      throw new IllegalArgumentException("a token grants 1.." + OPERATIONS_MAX + " operations");
    }
    for (String operation : operations) {
      if (!OPERATION.matcher(operation).matches()) {
        throw new IllegalArgumentException("invalid operation: " + operation);
      }
    }
    operations = Collections.unmodifiableSortedSet(new TreeSet<>(operations));
    if (issuedAt.getNano() % 1_000_000 != 0 || expiresAt.getNano() % 1_000_000 != 0) {
      throw new IllegalArgumentException("token times are whole milliseconds");
    }
  }

  /** The time from issue to expiry. */
  public Duration lifetime() {
    return Duration.between(issuedAt, expiresAt);
  }

  private static void checkField(String name, String value) {
    int bytes = value.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    if (bytes == 0 || bytes > FIELD_BYTES_MAX) {
      throw new IllegalArgumentException(
          "the " + name + " must have 1.." + FIELD_BYTES_MAX + " UTF-8 bytes, not " + bytes);
    }
  }
}
