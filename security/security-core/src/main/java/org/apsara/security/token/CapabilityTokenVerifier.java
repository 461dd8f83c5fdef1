package org.apsara.security.token;

import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Checks capability tokens on a data path, without calling anyone.
 *
 * <p>Holds every key a valid token may be signed with, by key id, so that a verifier given both the
 * old and the new key accepts tokens of either during a rotation. The checks run in this order,
 * each failing with its own {@link TokenRejection}: the encoding, the key id, the signature
 * (compared in constant time), the lifetime, the issue time and expiry (with {@link
 * #ALLOWED_CLOCK_SKEW} either way), the resource, and the operation.
 *
 * <p>Immutable and thread-safe; to change the keys, build a new verifier.
 */
public final class CapabilityTokenVerifier {
  /** How far the issuer's and this verifier's clocks may disagree. */
  public static final Duration ALLOWED_CLOCK_SKEW = Duration.ofSeconds(30);

  private final Map<String, TokenKey> keys = new HashMap<>();
  private final Clock clock;

  /**
   * @param keys every key a valid token may be signed with; key ids must be distinct
   * @param clock the verifier's clock
   */
  public CapabilityTokenVerifier(Collection<TokenKey> keys, Clock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
    for (TokenKey key : keys) {
      if (this.keys.put(key.keyId(), key) != null) {
        throw new IllegalArgumentException("two keys have the id " + key.keyId());
      }
    }
    if (this.keys.isEmpty()) {
      throw new IllegalArgumentException("a verifier needs at least one key");
    }
  }

  /**
   * Returns the token's contents if it is valid now and grants {@code operation} on {@code
   * resource}.
   *
   * @throws CapabilityTokenException saying which check failed
   */
  public CapabilityToken verify(String token, String resource, String operation)
      throws CapabilityTokenException {
    TokenCodec.Decoded decoded = TokenCodec.decode(token);
    CapabilityToken contents = decoded.token();
    TokenKey key = keys.get(contents.keyId());
    if (key == null) {
      throw new CapabilityTokenException(TokenRejection.UNKNOWN_KEY_ID,
          "the token was signed with key " + contents.keyId() + ", which this verifier does not hold");
    }
    byte[] expected = key.mac(decoded.signed(), decoded.payloadLength());
    if (!MessageDigest.isEqual(expected, decoded.mac())) {
      throw new CapabilityTokenException(TokenRejection.BAD_SIGNATURE,
          TokenRejection.BAD_SIGNATURE.description());
    }
    Duration lifetime = contents.lifetime();
    if (lifetime.isNegative() || lifetime.compareTo(CapabilityToken.LIFETIME_MAX) > 0) {
      throw new CapabilityTokenException(TokenRejection.LIFETIME_TOO_LONG,
          "the token's lifetime " + lifetime + " is not within 0.." + CapabilityToken.LIFETIME_MAX);
    }
    Instant now = Instant.now(clock);
    if (now.isBefore(contents.issuedAt().minus(ALLOWED_CLOCK_SKEW))) {
      throw new CapabilityTokenException(TokenRejection.NOT_YET_VALID,
          "the token was issued at " + contents.issuedAt() + ", after now (" + now + ") plus the"
              + " allowed clock skew of " + ALLOWED_CLOCK_SKEW.toSeconds() + " s");
    }
    if (now.isAfter(contents.expiresAt().plus(ALLOWED_CLOCK_SKEW))) {
      throw new CapabilityTokenException(TokenRejection.EXPIRED,
          "the token expired at " + contents.expiresAt() + "; now is " + now + " and the allowed"
              + " clock skew is " + ALLOWED_CLOCK_SKEW.toSeconds() + " s");
    }
    if (!contents.resource().equals(resource)) {
      throw new CapabilityTokenException(TokenRejection.RESOURCE_MISMATCH,
          "the token grants access to " + contents.resource() + ", not to " + resource);
    }
    if (!contents.operations().contains(operation)) {
      throw new CapabilityTokenException(TokenRejection.OPERATION_NOT_GRANTED,
          "the token grants " + String.join(", ", contents.operations()) + " on "
              + contents.resource() + ", not " + operation);
    }
    return contents;
  }
}
