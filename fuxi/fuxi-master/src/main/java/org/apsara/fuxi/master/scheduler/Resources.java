package org.apsara.fuxi.master.scheduler;

/**
 * An amount of machine resources: CPU in millicores and memory in MiB. Used for machine capacities,
 * role shapes (one unit) and quota bounds. Immutable; arithmetic never overflows within {@link
 * SchedulerLimits} (a machine's capacity times {@link SchedulerLimits#MAX_MACHINES} fits a {@code
 * long}).
 */
public record Resources(long cpuMillis, long memoryMiB) {
  public static final Resources ZERO = new Resources(0, 0);

  public static Resources of(long cpuMillis, long memoryMiB) {
    return new Resources(cpuMillis, memoryMiB);
  }

  public Resources plus(Resources other) {
    return new Resources(cpuMillis + other.cpuMillis, memoryMiB + other.memoryMiB);
  }

  public Resources minus(Resources other) {
    return new Resources(cpuMillis - other.cpuMillis, memoryMiB - other.memoryMiB);
  }

  public Resources times(long units) {
    return new Resources(cpuMillis * units, memoryMiB * units);
  }

  /** True when this amount is at most {@code other} in both dimensions. */
  public boolean fitsIn(Resources other) {
    return cpuMillis <= other.cpuMillis && memoryMiB <= other.memoryMiB;
  }

  /** True when this amount exceeds {@code other} in at least one dimension. */
  public boolean exceedsInAny(Resources other) {
    return !fitsIn(other);
  }

  /** Whole units of a positive {@code shape} that fit in this amount (0 when negative). */
  public long unitsOf(Resources shape) {
    if (cpuMillis < 0 || memoryMiB < 0) {
      return 0;
    }
    return Math.min(cpuMillis / shape.cpuMillis, memoryMiB / shape.memoryMiB);
  }

  @Override
  public String toString() {
    return "{cpu: " + cpuMillis + "m, memory: " + memoryMiB + "MiB}";
  }
}
