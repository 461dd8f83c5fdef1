package org.apsara.pangu.master.chunks;

import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import org.apsara.pangu.api.ChunkCapabilities;
import org.apsara.security.token.CapabilityToken;
import org.apsara.security.token.CapabilityTokenIssuer;

/**
 * The capability tokens the master hands out for chunks: "read" and "write" for clients, with the
 * configured lifetime, and "admin" for its own calls on chunkservers. Immutable and thread-safe.
 */
public final class ChunkTokens {
  /** The principal the master's own calls run as. */
  public static final String MASTER_SUBJECT = "acs:ram::system:user/pangu-master";
  /**
   * Admin tokens live only as long as one call may take (a replica copy at most a few minutes):
   * a leaked one is worthless soon, and the master issues a new one per call anyway.
   */
  public static final Duration ADMIN_TOKEN_LIFETIME = Duration.ofMinutes(10);

  private final CapabilityTokenIssuer issuer;
  private final Clock clock;
  private final Duration clientLifetime;

  /**
   * @param clientLifetime lifetime of read and write tokens, at most {@link
   *     CapabilityToken#LIFETIME_MAX}
   */
  public ChunkTokens(CapabilityTokenIssuer issuer, Clock clock, Duration clientLifetime) {
    this.issuer = Objects.requireNonNull(issuer, "issuer");
    this.clock = Objects.requireNonNull(clock, "clock");
    if (clientLifetime.isNegative() || clientLifetime.isZero()
        || clientLifetime.compareTo(CapabilityToken.LIFETIME_MAX) > 0) {
      throw new IllegalArgumentException("token lifetime must be positive and at most "
          + CapabilityToken.LIFETIME_MAX + ": " + clientLifetime);
    }
    this.clientLifetime = clientLifetime;
  }

  /** A token and when it stops being accepted (epoch milliseconds). */
  public record Issued(String token, long expiryMs) {}

  /** A "read" token for {@code subject}. */
  public Issued read(long chunkId, String subject) {
    return client(chunkId, subject, ChunkCapabilities.READ);
  }

  /** A "write" token for {@code subject}. */
  public Issued write(long chunkId, String subject) {
    return client(chunkId, subject, ChunkCapabilities.WRITE);
  }

  /** An "admin" token for the master's own call. */
  public String admin(long chunkId) {
    return issuer.issue(MASTER_SUBJECT, ChunkCapabilities.resource(chunkId),
        Set.of(ChunkCapabilities.ADMIN), ADMIN_TOKEN_LIFETIME);
  }

  /** A "read" token for the master's own use (the source of a copy). */
  public String masterRead(long chunkId) {
    return issuer.issue(MASTER_SUBJECT, ChunkCapabilities.resource(chunkId),
        Set.of(ChunkCapabilities.READ), ADMIN_TOKEN_LIFETIME);
  }

  private Issued client(long chunkId, String subject, String operation) {
    // The issuer reads the same clock; truncating to the millisecond as it does, the expiry
    // given here is never later than the token's own.
    long expiryMs = clock.millis() + clientLifetime.toMillis();
    String token = issuer.issue(subject, ChunkCapabilities.resource(chunkId),
        Set.of(operation), clientLifetime);
    return new Issued(token, expiryMs);
  }
}
