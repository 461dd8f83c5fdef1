package org.apsara.nuwa.client;

/**
 * Hears how keeping a lease alive goes. Callbacks for one lease run one at a time, in order, on the
 * client's callback executor.
 */
public interface LeaseKeepAliveListener {
  /** Ignores everything. */
  LeaseKeepAliveListener NONE = new LeaseKeepAliveListener() {};

  /** The server renewed the lease; it now expires {@code ttlSeconds} from the renewal. */
  default void onRenewed(long leaseId, long ttlSeconds) {}

  /**
   * The lease is gone or must be assumed gone, and keeping it alive stopped. {@code cause} is a
   * {@link LeaseNotFoundException} if the server said the lease expired or was revoked; a {@link
   * NuwaUnavailableException} if no renewal succeeded before the lease's TTL ran out (the server
   * may have expired it; anything held under it, such as a lock, must be treated as lost); or a
   * {@link NuwaException} with code {@code CANCELLED} if the client was closed, so that nothing
   * renews the lease any more; or a {@link NuwaAuthenticationException} if the server no longer
   * accepts the client's user or password, so that no new keep-alive stream can be opened. Not
   * called when the keeper itself is closed.
   */
  default void onLost(long leaseId, NuwaException cause) {}
}
