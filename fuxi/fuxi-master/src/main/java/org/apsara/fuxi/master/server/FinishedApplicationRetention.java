package org.apsara.fuxi.master.server;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.TreeSet;

/**
 * Which finished applications the primary purges, and in what order. It holds only finished
 * (succeeded, failed, killed) applications, ordered by finish time: an application that has not
 * ended is never added, so it can never be chosen. {@link #due} names, oldest finished first,
 * those beyond the newest {@code keptMax} and those finished more than {@code retention} ago:
 * whichever of the two limits removes more.
 *
 * <p>Order is by the stored finish time (then id), not by the order of {@link #add} calls, so that
 * a new primary that rebuilds this index from Nuwa chooses the same applications its predecessor
 * would have. The finish time is wall-clock time (it must mean the same to the next primary); a
 * wall clock stepped backwards only makes some applications look younger for a while.
 *
 * <p>Threading: not thread-safe; owned by the scheduler thread. No I/O: the caller deletes what it
 * is told and then calls {@link #remove}.
 */
final class FinishedApplicationRetention {
  private record Entry(long finishMillis, String appId) {}

  private static final Comparator<Entry> OLDEST_FIRST =
      Comparator.comparingLong(Entry::finishMillis).thenComparing(Entry::appId);

  private final int keptMax;
  private final long retentionMillis;
  private final NavigableSet<Entry> byFinish = new TreeSet<>(OLDEST_FIRST);
  private final Map<String, Entry> byId = new HashMap<>();

  /**
   * @param keptMax the most finished applications kept, at least 1
   * @param retention how long after it finished an application is kept; positive
   */
  FinishedApplicationRetention(int keptMax, Duration retention) {
    if (keptMax < 1) {
      throw new IllegalArgumentException("keptMax " + keptMax + " must be at least 1");
    }
    if (retention.isNegative() || retention.isZero()) {
      throw new IllegalArgumentException("retention " + retention + " must be positive");
    }
    this.keptMax = keptMax;
    this.retentionMillis = retention.toMillis();
  }

  /** Records that {@code appId} finished at {@code finishMillis}; a second call moves it. */
  void add(String appId, long finishMillis) {
    remove(appId);
    Entry e = new Entry(finishMillis, appId);
    byFinish.add(e);
    byId.put(appId, e);
  }

  /** Forgets {@code appId} (purged); nothing if it is not held. */
  void remove(String appId) {
    Entry e = byId.remove(appId);
    if (e != null) {
      byFinish.remove(e);
    }
  }

  int size() {
    return byId.size();
  }

  void clear() {
    byFinish.clear();
    byId.clear();
  }

  /**
   * The applications to purge at {@code nowMillis}, oldest finished first, at most {@code
   * batchMax} of them: the oldest {@code size - keptMax}, and every one that finished more than
   * the retention before {@code nowMillis}. Both sets are prefixes of the finish order, so the
   * answer is the longer prefix. O(batchMax log n); O(1) when nothing is due.
   */
  List<String> due(long nowMillis, int batchMax) {
    long excess = (long) byId.size() - keptMax;
    long cutoffMillis = nowMillis - retentionMillis;
    List<String> out = new ArrayList<>();
    for (Entry e : byFinish) {
      if (out.size() >= batchMax || (out.size() >= excess && e.finishMillis() >= cutoffMillis)) {
        break;
      }
      out.add(e.appId());
    }
    return out;
  }
}
