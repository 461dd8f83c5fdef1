package org.apsara.bench.fuxi;

import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/** What one measured phase accumulates, until {@link #result} freezes it. Not thread-safe. */
final class PhaseMeter {
  /** Longest request-to-grant wait the histogram resolves: one hour, in microseconds. */
  private static final long WAIT_MICROS_MAX = TimeUnit.HOURS.toMicros(1);

  /** Longest single scheduler call the histogram resolves: one minute, in nanoseconds. */
  private static final long CALL_NANOS_MAX = TimeUnit.MINUTES.toNanos(1);

  private static final int SIGNIFICANT_DIGITS = 3;

  final String name;
  final double load;
  private final Histogram waitMicros = new Histogram(WAIT_MICROS_MAX, SIGNIFICANT_DIGITS);
  private final Histogram lagMicros = new Histogram(WAIT_MICROS_MAX, SIGNIFICANT_DIGITS);
  private final Histogram callNanos = new Histogram(CALL_NANOS_MAX, SIGNIFICANT_DIGITS);
  private long startNanos;
  private long endNanos;
  private long startCpuNanos;
  private long endCpuNanos;
  private long grantedUnits;
  private long revokedUnits;
  private long schedulerNanos;
  private long waitingAtEnd;
  private long samples;
  private long saturatedSamples;
  private double saturatedShareSum;
  private double saturatedShareMin = 1;

  /** The priority classes, most urgent first, and one wait histogram per class. */
  private final int[] priorities;
  private final Histogram[] waitMicrosByPriority;

  PhaseMeter(String name, double load, int[] priorities) {
    this.name = name;
    this.load = load;
    this.priorities = priorities.clone();
    waitMicrosByPriority = new Histogram[priorities.length];
    for (int i = 0; i < priorities.length; i++) {
      waitMicrosByPriority[i] = new Histogram(WAIT_MICROS_MAX, SIGNIFICANT_DIGITS);
    }
  }

  /** Starts the phase; {@code threadCpuNanos} is the loop thread's cpu time so far. */
  void start(long nowNanos, long threadCpuNanos) {
    startNanos = nowNanos;
    startCpuNanos = threadCpuNanos;
  }

  /** Units of priority class {@code priorityClass} granted after waiting {@code waitNanos}. */
  void granted(int priorityClass, long waitNanos, int units) {
    grantedUnits += units;
    recordWait(priorityClass, waitNanos, units);
  }

  /** Units still waiting when the phase ends: their wait so far is a lower bound, counted too. */
  void stillWaiting(int priorityClass, long waitNanos, int units) {
    waitingAtEnd += units;
    recordWait(priorityClass, waitNanos, units);
  }

  private void recordWait(int priorityClass, long waitNanos, int units) {
    long micros = Math.min(WAIT_MICROS_MAX, Math.max(0, waitNanos / 1_000));
    waitMicros.recordValueWithCount(micros, units);
    waitMicrosByPriority[priorityClass].recordValueWithCount(micros, units);
  }

  /** How late the loop handled a task's end, after the instant it was due. */
  void eventLag(long lagNanos) {
    lagMicros.recordValue(Math.min(WAIT_MICROS_MAX, Math.max(0, lagNanos / 1_000)));
  }

  void revoked(int units) {
    revokedUnits += units;
  }

  void schedulerCall(long nanos) {
    schedulerNanos += nanos;
    callNanos.recordValue(Math.min(CALL_NANOS_MAX, nanos));
  }

  /** One sample of the cluster: {@code saturated} when units were waiting at that moment. */
  void sample(boolean saturated, double cpuShare) {
    samples++;
    if (saturated) {
      saturatedSamples++;
      saturatedShareSum += cpuShare;
      saturatedShareMin = Math.min(saturatedShareMin, cpuShare);
    }
  }

  void end(long nowNanos, long threadCpuNanos) {
    endNanos = nowNanos;
    endCpuNanos = threadCpuNanos;
  }

  FuxiBenchmark.PhaseResult result() {
    double seconds = (endNanos - startNanos) / 1e9;
    double cpuSeconds = (endCpuNanos - startCpuNanos) / 1e9;
    return new FuxiBenchmark.PhaseResult(
        name,
        load,
        seconds,
        grantedUnits,
        grantedUnits / seconds,
        cpuSeconds / seconds,
        cpuSeconds > 0 ? grantedUnits / cpuSeconds : Double.NaN,
        waitMicros.getValueAtPercentile(50) / 1_000.0,
        waitMicros.getValueAtPercentile(99) / 1_000.0,
        waitMicros.getMaxValue() / 1_000.0,
        waitingAtEnd,
        lagMicros.getValueAtPercentile(99) / 1_000.0,
        callNanos.getTotalCount(),
        callNanos.getValueAtPercentile(50) / 1_000.0,
        callNanos.getValueAtPercentile(99) / 1_000.0,
        schedulerNanos / 1e9 / seconds,
        revokedUnits,
        saturatedSamples == 0 ? Double.NaN : saturatedShareSum / saturatedSamples,
        saturatedSamples == 0 ? Double.NaN : saturatedShareMin,
        samples == 0 ? 0 : saturatedSamples / (double) samples,
        byPriority());
  }

  private java.util.List<FuxiBenchmark.PriorityWait> byPriority() {
    java.util.List<FuxiBenchmark.PriorityWait> waits = new java.util.ArrayList<>();
    for (int i = 0; i < priorities.length; i++) {
      Histogram h = waitMicrosByPriority[i];
      waits.add(new FuxiBenchmark.PriorityWait(priorities[i], h.getTotalCount(),
          h.getValueAtPercentile(50) / 1_000.0, h.getValueAtPercentile(99) / 1_000.0));
    }
    return waits;
  }
}
