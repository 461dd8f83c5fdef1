package org.apsara.nuwa.api;

/** Nuwa's default limits; each is the same as etcd's so that etcd clients meet no surprise. */
public final class NuwaLimits {
  private NuwaLimits() {}

  /** Largest request a member accepts (etcd's {@code --max-request-bytes}). */
  public static final int MAX_REQUEST_BYTES = 1536 * 1024;
  /** Operations in one transaction, counting then and else branches separately (etcd's {@code --max-txn-ops}). */
  public static final int MAX_TXN_OPS = 128;
  /** Longest lease TTL accepted, in seconds (etcd's {@code MaxLeaseTTL}: 9,000,000,000 s). */
  public static final long MAX_LEASE_TTL_SECONDS = 9_000_000_000L;
  /**
   * Shortest lease TTL granted, in seconds. A shorter request is raised to this, as etcd raises
   * it to its minimum (derived from the election timeout), so that a lease survives a leader change.
   */
  public static final long MIN_LEASE_TTL_SECONDS = 2;
  /** Events sent in one watch response at most; later events follow in further responses. */
  public static final int MAX_EVENTS_PER_WATCH_RESPONSE = 1000;
}
