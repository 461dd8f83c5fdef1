package org.apsara.bench.report;

import java.time.Duration;
import java.util.Arrays;

/**
 * Decides when a system's warm-up load may stop: once its throughput has stopped rising. The
 * warm-up runs in windows, each measuring every operation once; a window <em>improves</em> if any
 * operation beats its best rate so far by more than {@link #GAIN}. The cluster has settled after
 * {@link #FLAT_WINDOWS} windows in a row without an improvement.
 *
 * <p>Why not a fixed time: a JVM server under load keeps compiling its hot paths for as long as
 * its compiler threads share the cores with the load, and how long that is depends on the
 * machine (on a slow two-core machine, Nuwa's puts rose from 985 to 2,637 per second between
 * 100 s and 200 s of load). A fixed warm-up long enough for the slowest machine wastes minutes on
 * every other system and machine. Several flat windows, rather than one, keep a single noisy dip
 * from ending the warm-up while the rate still climbs. Not thread-safe.
 */
public final class WarmupSettling {
  /** How much a window must beat the best rate so far by to count as still rising. */
  public static final double GAIN = 1.05;
  /** Windows in a row without a gain after which the cluster counts as settled. */
  public static final int FLAT_WINDOWS = 3;

  private final double[] best;
  private int flatWindows;
  private int windows;

  /** A tracker for windows of {@code operations} rates each. */
  public WarmupSettling(int operations) {
    if (operations < 1) {
      throw new IllegalArgumentException("operations " + operations + " < 1");
    }
    this.best = new double[operations];
  }

  /**
   * Records one window's rates, one per operation in a fixed order.
   *
   * @return whether the cluster has now settled
   */
  public boolean record(double... rates) {
    if (rates.length != best.length) {
      throw new IllegalArgumentException(
          "expected " + best.length + " rates, got " + Arrays.toString(rates));
    }
    boolean improved = windows == 0;
    for (int i = 0; i < rates.length; i++) {
      if (rates[i] > best[i] * GAIN) {
        improved = true;
      }
      best[i] = Math.max(best[i], rates[i]);
    }
    windows++;
    flatWindows = improved ? 0 : flatWindows + 1;
    return settled();
  }

  public boolean settled() {
    return flatWindows >= FLAT_WINDOWS;
  }

  /** The rule in words, for a report: when a warm-up of windows counts as settled. */
  public static String rule() {
    return "until " + FLAT_WINDOWS + " windows in a row raised no rate by more than "
        + Math.round((GAIN - 1) * 100) + "% over its best so far";
  }

  /** How the warm-up went, for a report: its windows and time, and whether it settled. */
  public String outcome(Duration took) {
    return windows + " windows in " + took.toSeconds() + " s"
        + (settled() ? "" : " (not settled by the limit)");
  }

  /** Windows recorded so far. */
  public int windows() {
    return windows;
  }
}
