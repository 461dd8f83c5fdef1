package org.apsara.security.token;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.Set;

/**
 * Issues capability tokens signed with one {@link TokenKey}; run by the master that hands out
 * access to data.
 *
 * <p>To rotate keys, first give every verifier the new key alongside the old, then issue with the
 * new key, and drop the old key from verifiers once the last token it signed has expired ({@link
 * CapabilityToken#LIFETIME_MAX} after the switch).
 *
 * <p>Immutable and thread-safe.
 */
public final class CapabilityTokenIssuer {
  private final TokenKey key;
  private final Clock clock;

  public CapabilityTokenIssuer(TokenKey key, Clock clock) {
    this.key = Objects.requireNonNull(key, "key");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * A token granting {@code subject} the {@code operations} on {@code resource} from now for
   * {@code lifetime}.
   *
   * @param subject the principal ARN the token is for
   * @param resource what the token grants access to, for example {@code chunk/123}
   * @param operations for example {@code read}, {@code write}
   * @param lifetime positive and at most {@link CapabilityToken#LIFETIME_MAX}
   * @return the encoded token, URL-safe and at most {@link CapabilityToken#ENCODED_LENGTH_MAX}
   *     characters
   * @throws IllegalArgumentException if a field breaks the limits of {@link CapabilityToken}
   */
  public String issue(String subject, String resource, Set<String> operations, Duration lifetime) {
    if (lifetime.isNegative() || lifetime.isZero()
        || lifetime.compareTo(CapabilityToken.LIFETIME_MAX) > 0) {
      throw new IllegalArgumentException("a token lifetime must be positive and at most "
          + CapabilityToken.LIFETIME_MAX + ": " + lifetime);
    }
    Instant issuedAt = Instant.now(clock).truncatedTo(ChronoUnit.MILLIS);
    Instant expiresAt = issuedAt.plus(lifetime).truncatedTo(ChronoUnit.MILLIS);
    CapabilityToken token =
        new CapabilityToken(key.keyId(), subject, resource, operations, issuedAt, expiresAt);
    return TokenCodec.encode(token, key);
  }
}
