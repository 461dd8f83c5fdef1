package org.apsara.fuxi.tubo.cgroup;

/**
 * The CPU numbers Tubo writes, and why.
 *
 * <h2>Quota (both versions)</h2>
 *
 * A worker's grant is a hard cap: CFS quota = {@code millicores} x {@value #CFS_PERIOD_US} µs /
 * 1000 per period of {@value #CFS_PERIOD_US} µs (v1 {@code cpu.cfs_quota_us} and {@code
 * cpu.cfs_period_us}, v2 {@code cpu.max}). 100 ms is the kernel's default period: shorter periods
 * cost more accounting, longer ones let a throttled worker stall longer.
 *
 * <h2>Weight: how the classes share what is left</h2>
 *
 * Each class has a parent group; its weight decides how the two classes split a contended CPU:
 *
 * <ul>
 *   <li>v1 {@code cpu.shares}: latency-sensitive = {@value #V1_SHARES_PER_CORE} per core of the
 *       machine, batch = {@value #V1_BATCH_CLASS_SHARES} (the kernel's minimum). On a 2-core
 *       machine that is 2048 : 2, so a service that wants the CPU gets 99.9% of it.
 *   <li>v2 {@code cpu.weight}: latency-sensitive = {@value #V2_LATENCY_CLASS_WEIGHT} (the
 *       maximum), batch = {@value #V2_BATCH_CLASS_WEIGHT} (the minimum): 10000 : 1.
 * </ul>
 *
 * Tubo's own group gets the weight of one task per core the machine has (v1 {@value
 * #V1_SHARES_PER_CORE} x cores, v2 {@value #V2_WEIGHT_PER_CORE} x cores): the workers, as a whole,
 * compete with the system's own processes (daemons, Tubo) like that many busy processes would,
 * rather than like one. Without it, a busy batch worker uses up the share of the whole tree and a
 * service waking up inside it queues behind processes outside Tubo.
 *
 * <p>Inside a class, workers share in proportion to their grants: v1 {@value #V1_SHARES_PER_CORE}
 * shares per core granted (at least {@value #V1_MIN_SHARES}), v2 {@value #V2_WEIGHT_PER_CORE} per
 * core (the kernel's default weight for one core's worth), clamped to [1, 10000].
 *
 * <p>A low weight alone does not stop batch work from using an idle CPU: weights only matter when
 * the CPU is contended, which is exactly what keeps the machine busy while services stay fast.
 */
public final class CpuWeights {
  private CpuWeights() {}

  /** The CFS period, microseconds. */
  public static final long CFS_PERIOD_US = 100_000;

  /** v1 shares per core: the kernel's default weight of one task at nice 0. */
  public static final long V1_SHARES_PER_CORE = 1024;

  /** v1 shares of the batch class's parent group: the kernel's minimum. */
  public static final long V1_BATCH_CLASS_SHARES = 2;

  /** The smallest v1 shares value the kernel accepts. */
  public static final long V1_MIN_SHARES = 2;

  /** v2 weight of the latency-sensitive class's parent group: the kernel's maximum. */
  public static final long V2_LATENCY_CLASS_WEIGHT = 10_000;

  /** v2 weight of the batch class's parent group: the kernel's minimum. */
  public static final long V2_BATCH_CLASS_WEIGHT = 1;

  /** v2 weight per core granted to a worker: the kernel's default weight. */
  public static final long V2_WEIGHT_PER_CORE = 100;

  /** The CFS quota of a grant, microseconds per {@link #CFS_PERIOD_US}. */
  public static long quotaUs(int millicores) {
    return Math.max(1000, millicores * CFS_PERIOD_US / 1000);
  }

  /** v1 shares of a worker granted {@code millicores}. */
  public static long v1WorkerShares(int millicores) {
    return Math.max(V1_MIN_SHARES, millicores * V1_SHARES_PER_CORE / 1000);
  }

  /** v1 shares of Tubo's own group and of its latency-sensitive class. */
  public static long v1LatencyClassShares(int machineMillicores) {
    long cores = Math.max(1, (machineMillicores + 999) / 1000);
    return cores * V1_SHARES_PER_CORE;
  }

  /** v2 weight of Tubo's own group on a machine of {@code machineMillicores}. */
  public static long v2TuboGroupWeight(int machineMillicores) {
    long cores = Math.max(1, (machineMillicores + 999) / 1000);
    return Math.min(10_000, cores * V2_WEIGHT_PER_CORE);
  }

  /** v2 weight of a worker granted {@code millicores}. */
  public static long v2WorkerWeight(int millicores) {
    return Math.min(10_000, Math.max(1, millicores * V2_WEIGHT_PER_CORE / 1000));
  }
}
