package org.apsara.bench.report;

import java.time.Duration;
import java.util.Arrays;
import java.util.OptionalDouble;

/**
 * Decides when a system's warm-up load may stop: once its throughput has stopped rising. The
 * warm-up runs in windows, each measuring every operation once; a window <em>improves</em> if any
 * operation beats its best rate so far by more than {@link #GAIN}. The cluster has settled after
 * {@link #FLAT_WINDOWS} windows in a row without an improvement.
 *
 * <p>Where the JIT compilers' CPU can be read, a window also counts as flat only if they used at
 * most {@link #COMPILERS_QUIET_SHARE} of the CPU that the system and its clients used in it: the
 * throughput of a system on a busy machine can stay flat for a while as its compilers take cores
 * from it, and rise again once they are done (Nuwa's members were still spending a third of
 * their CPU on compiling when their rates had been flat for three windows).
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

  /**
   * The largest share of a window's CPU that JIT compilers may use in a window that counts as
   * flat.
   */
  public static final double COMPILERS_QUIET_SHARE = 0.05;

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
   * @param compilerShare the share of the window's CPU (the system's and its clients') that JIT
   *     compilers used, 0 to 1; empty where it cannot be read
   * @return whether the cluster has now settled
   */
  public boolean record(OptionalDouble compilerShare, double... rates) {
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
    boolean compiling = compilerShare.isPresent()
        && compilerShare.getAsDouble() > COMPILERS_QUIET_SHARE;
    windows++;
    flatWindows = improved || compiling ? 0 : flatWindows + 1;
    return settled();
  }

  public boolean settled() {
    return flatWindows >= FLAT_WINDOWS;
  }

  /** The rule in words, for a report: when a warm-up of windows counts as settled. */
  public static String rule() {
    return "until " + FLAT_WINDOWS + " windows in a row raised no rate by more than "
        + Math.round((GAIN - 1) * 100) + "% over its best so far, with JIT compilers using at"
        + " most " + Math.round(COMPILERS_QUIET_SHARE * 100) + "% of the CPU";
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
