package org.apsara.fuxi.tubo;

import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;

/**
 * A stand-in for a latency-sensitive service, run as a worker by {@link IsolationMeasurement}:
 * every period it wakes up at a scheduled instant, does a fixed small unit of work, and records
 * the time from the scheduled instant to the end of the work (wake-up delay plus work, what a
 * request would see). Prints {@code p50_us=... p99_us=... max_us=... samples=...} at the end.
 *
 * <p>Arguments: period µs, work iterations, warm-up seconds, measured seconds.
 */
public final class LatencyProbe {
  private static volatile long sink;

  private LatencyProbe() {}

  public static void main(String[] args) {
    long periodNanos = Long.parseLong(args[0]) * 1000;
    int iterations = Integer.parseInt(args[1]);
    long warmupNanos = Long.parseLong(args[2]) * 1_000_000_000L;
    long measureNanos = Long.parseLong(args[3]) * 1_000_000_000L;
    long[] samples = new long[(int) (measureNanos / periodNanos) + 1];
    int count = 0;
    long begin = System.nanoTime();
    long measureFrom = begin + warmupNanos;
    long end = measureFrom + measureNanos;
    long next = begin;
    while (true) {
      next += periodNanos;
      long now;
      while ((now = System.nanoTime()) < next) {
        LockSupport.parkNanos(next - now);
      }
      if (next >= end) {
        break;
      }
      work(iterations);
      long done = System.nanoTime();
      if (next >= measureFrom && count < samples.length) {
        samples[count++] = done - next;
      }
      if (done > next + periodNanos) {
        next = done; // missed ticks are skipped, not queued
      }
    }
    long[] sorted = Arrays.copyOf(samples, count);
    Arrays.sort(sorted);
    System.out.printf("p50_us=%d p99_us=%d max_us=%d samples=%d%n",
        percentile(sorted, 0.50) / 1000, percentile(sorted, 0.99) / 1000,
        sorted[count - 1] / 1000, count);
  }

  private static long percentile(long[] sorted, double q) {
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
  }

  /** A fixed amount of arithmetic the JIT cannot drop (xorshift into a volatile). */
  private static void work(int iterations) {
    long x = sink | 1;
    for (int i = 0; i < iterations; i++) {
      x ^= x << 13;
      x ^= x >>> 7;
      x ^= x << 17;
    }
    sink = x;
  }
}
