package org.apsara.nuwa.server.lease;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.apsara.common.time.MonotonicClock;

/**
 * The deadline of every lease, on an injected {@link MonotonicClock}: the leader-local soft state
 * of etcd's lessor. Not replicated: each member keeps its own, and only the leader's matters.
 * A member that becomes leader calls {@link #resetAll()}, giving every lease a full TTL again,
 * so that a leader change never expires a lease early (it may expire one late, as etcd's does).
 *
 * <p>Thread-safe: every method is atomic, synchronized on this object, so a caller may also
 * hold this object's monitor to make several calls one atomic step.
 */
public final class LeaseTimers {
  private static final long NANOS_PER_SECOND = 1_000_000_000L;
  /** What {@link #renew} and {@link #remainingSeconds} answer for an unknown lease. */
  public static final long UNKNOWN = -1;

  private final MonotonicClock clock;
  /** Clock reading when this object was made; deadlines are kept relative to it. */
  private final long originNanos;
  /** Looked up by ID only; never iterated, so its order cannot leak. */
  private final Map<Long, Timer> byId = new HashMap<>();
  /** Earliest deadline first; ties by ID. */
  private final TreeSet<Timer> byDeadline = new TreeSet<>((a, b) -> {
    int c = Long.compare(a.deadlineNanos, b.deadlineNanos);
    return c != 0 ? c : Long.compare(a.id, b.id);
  });

  private static final class Timer {
    final long id;
    final long ttlSeconds;
    /** Nanoseconds after {@link #originNanos}. */
    long deadlineNanos;

    Timer(long id, long ttlSeconds) {
      this.id = id;
      this.ttlSeconds = ttlSeconds;
    }
  }

  public LeaseTimers(MonotonicClock clock) {
    this.clock = clock;
    this.originNanos = clock.nanos();
  }

  /** Starts timing a lease: its deadline is now + {@code ttlSeconds}. Replaces an earlier one. */
  public synchronized void granted(long id, long ttlSeconds) {
    if (ttlSeconds < 0) {
      throw new IllegalArgumentException("negative TTL " + ttlSeconds + " for lease " + id);
    }
    revoked(id);
    Timer timer = new Timer(id, ttlSeconds);
    timer.deadlineNanos = deadlineFromNow(ttlSeconds);
    byId.put(id, timer);
    byDeadline.add(timer);
  }

  /** Stops timing a lease; nothing happens if it is unknown. */
  public synchronized void revoked(long id) {
    Timer timer = byId.remove(id);
    if (timer != null) {
      byDeadline.remove(timer);
    }
  }

  /**
   * Keeps a lease alive: its deadline becomes now + its TTL.
   *
   * @return the lease's TTL in seconds, or {@link #UNKNOWN} if it is not timed here
   */
  public synchronized long renew(long id) {
    Timer timer = byId.get(id);
    if (timer == null) {
      return UNKNOWN;
    }
    reschedule(timer, deadlineFromNow(timer.ttlSeconds));
    return timer.ttlSeconds;
  }

  /**
   * Seconds until the lease's deadline, rounded up; 0 once it has passed.
   *
   * @return the remaining seconds, or {@link #UNKNOWN} if the lease is not timed here
   */
  public synchronized long remainingSeconds(long id) {
    Timer timer = byId.get(id);
    if (timer == null) {
      return UNKNOWN;
    }
    long remainingNanos = timer.deadlineNanos - elapsedNanos();
    if (remainingNanos <= 0) {
      return 0;
    }
    return (remainingNanos + NANOS_PER_SECOND - 1) / NANOS_PER_SECOND;
  }

  /** Gives every lease a full TTL from now; called when this member becomes leader. */
  public synchronized void resetAll() {
    List<Timer> all = new ArrayList<>(byDeadline);
    byDeadline.clear();
    for (Timer timer : all) {
      timer.deadlineNanos = deadlineFromNow(timer.ttlSeconds);
      byDeadline.add(timer);
    }
  }

  /**
   * The leases whose deadline has passed, earliest deadline first, at most {@code max}. They
   * stay here (and are answered again) until {@link #revoked} or {@link #renew}ed, so a revoke
   * lost on its way through the log is retried by asking again.
   */
  public synchronized List<Long> expired(int max) {
    if (max < 0) {
      throw new IllegalArgumentException("max must not be negative: " + max);
    }
    long now = elapsedNanos();
    List<Long> ids = new ArrayList<>();
    for (Timer timer : byDeadline) {
      if (ids.size() >= max || timer.deadlineNanos > now) {
        break;
      }
      ids.add(timer.id);
    }
    return ids;
  }

  /** Forgets every lease; called before reloading them from a snapshot. */
  public synchronized void clear() {
    byId.clear();
    byDeadline.clear();
  }

  /** The number of leases timed. */
  public synchronized int size() {
    return byId.size();
  }

  private void reschedule(Timer timer, long deadlineNanos) {
    byDeadline.remove(timer);
    timer.deadlineNanos = deadlineNanos;
    byDeadline.add(timer);
  }

  private long elapsedNanos() {
    return clock.nanos() - originNanos;
  }

  private long deadlineFromNow(long ttlSeconds) {
    long ttlNanos = ttlSeconds > Long.MAX_VALUE / NANOS_PER_SECOND
        ? Long.MAX_VALUE
        : ttlSeconds * NANOS_PER_SECOND;
    long elapsed = elapsedNanos();
    // Saturate rather than wrap: a deadline past the end of time never expires.
    return elapsed > Long.MAX_VALUE - ttlNanos ? Long.MAX_VALUE : elapsed + ttlNanos;
  }
}
