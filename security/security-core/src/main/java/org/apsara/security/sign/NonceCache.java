package org.apsara.security.sign;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Remembers the signature nonces of accepted requests for as long as those requests could be
 * replayed, so that a replay is rejected.
 *
 * <p>A request is only accepted while its {@code x-acs-date} is within the allowed skew of the
 * server's clock, so its nonce need only be remembered until that date plus the skew; after that a
 * replay fails the timestamp check. Nonces are remembered per AccessKey, so one key's requests can
 * never collide with another's.
 *
 * <p>The cache holds at most {@code entriesMax} nonces. When it is full and no remembered nonce
 * has expired, {@link #record} refuses the new nonce ({@link Result#FULL}) instead of forgetting
 * an older one: forgetting would reopen a replay window, while refusing only delays legitimate
 * clients until old nonces expire. Each entry costs roughly 200 bytes, so {@link
 * #DEFAULT_ENTRIES_MAX} bounds the cache near 100 MiB; at the nominal 15-minute retention it admits
 * about 550 signed calls a second, sustained, per server. A busier server passes a larger bound.
 *
 * <p>Thread-safe: all methods synchronize on the cache.
 */
public final class NonceCache {
  /** The default bound on remembered nonces; see the class comment for what it costs and admits. */
  public static final int DEFAULT_ENTRIES_MAX = 500_000;

  /** What {@link #record} did. */
  public enum Result {
    /** The nonce was new and is now remembered. */
    RECORDED,
    /** The nonce is already remembered: the request is a replay. */
    REUSED,
    /** The nonce was new but the cache is full; it was not remembered. */
    FULL
  }

  private record Entry(Instant rememberUntil, String key) {}

  private final int entriesMax;
  private final Map<String, Instant> rememberUntilByKey = new HashMap<>();
  private final PriorityQueue<Entry> byExpiry =
      new PriorityQueue<>((a, b) -> a.rememberUntil().compareTo(b.rememberUntil()));

  /** A cache of at most {@link #DEFAULT_ENTRIES_MAX} nonces. */
  public NonceCache() {
    this(DEFAULT_ENTRIES_MAX);
  }

  /** A cache of at most {@code entriesMax} nonces. */
  public NonceCache(int entriesMax) {
    if (entriesMax < 1) {
      throw new IllegalArgumentException("entriesMax must be positive: " + entriesMax);
    }
    this.entriesMax = entriesMax;
  }

  /**
   * Remembers a nonce unless it is remembered already or the cache is full.
   *
   * @param accessKeyId the key the request was signed with
   * @param nonce the request's nonce
   * @param rememberUntil the last instant at which the request could still be accepted
   * @param now the current time; nonces whose {@code rememberUntil} is before it are forgotten
   */
  public synchronized Result record(
      String accessKeyId, String nonce, Instant rememberUntil, Instant now) {
    forgetExpired(now);
    String key = accessKeyId + '\n' + nonce;
    if (rememberUntilByKey.containsKey(key)) {
      return Result.REUSED;
    }
    if (rememberUntilByKey.size() >= entriesMax) {
      return Result.FULL;
    }
    rememberUntilByKey.put(key, rememberUntil);
    byExpiry.add(new Entry(rememberUntil, key));
    return Result.RECORDED;
  }

  /** The number of nonces remembered, counting expired ones not yet forgotten. */
  public synchronized int size() {
    return rememberUntilByKey.size();
  }

  /** The most nonces this cache remembers. */
  public int entriesMax() {
    return entriesMax;
  }

  private void forgetExpired(Instant now) {
    while (!byExpiry.isEmpty() && byExpiry.peek().rememberUntil().isBefore(now)) {
      rememberUntilByKey.remove(byExpiry.poll().key());
    }
  }
}
