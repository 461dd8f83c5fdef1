package org.apsara.nuwa.client;

import com.google.protobuf.ByteString;
import java.util.List;

/**
 * What the server knows about a lease. Immutable.
 *
 * @param id the lease
 * @param ttlSeconds seconds left before the lease expires; {@code -1} if the lease does not exist
 *     (expired, revoked or never granted)
 * @param grantedTtlSeconds the TTL the lease was granted with
 * @param keys the keys attached to the lease, if they were asked for
 */
public record LeaseTimeToLive(
    long id, long ttlSeconds, long grantedTtlSeconds, List<ByteString> keys) {
  public LeaseTimeToLive {
    keys = List.copyOf(keys);
  }

  /** Whether the lease exists. */
  public boolean exists() {
    return ttlSeconds >= 0;
  }
}
