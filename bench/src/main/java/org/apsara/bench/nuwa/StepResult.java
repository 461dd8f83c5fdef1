package org.apsara.bench.nuwa;

import java.time.Duration;
import java.util.Optional;

/**
 * The measurements of one step (one operation at one concurrency against one system in one round).
 *
 * @param operations operations that started and completed inside the measured window
 * @param errors operations that failed inside the measured window (not counted in operations)
 * @param window the length of the measured window
 * @param p50Nanos median latency of the counted operations, 0 if there were none
 * @param p99Nanos 99th percentile latency of the counted operations, 0 if there were none
 * @param maxNanos highest latency of the counted operations, 0 if there were none
 * @param stuckClients client threads still inside a call when the step had to end; their counts
 *     are lost, so a nonzero value marks the step as unreliable
 * @param firstError the first error seen, for the report
 * @param cpu CPU the members and the clients used during the measured window, where reported
 */
record StepResult(
    Operation operation,
    int clients,
    long operations,
    long errors,
    Duration window,
    long p50Nanos,
    long p99Nanos,
    long maxNanos,
    int stuckClients,
    Optional<String> firstError,
    Optional<CpuMeter.CpuTimes> cpu) {

  StepResult {
    if (operations < 0 || errors < 0 || stuckClients < 0) {
      throw new IllegalArgumentException("negative count in " + operations + "/" + errors);
    }
    if (window.isNegative() || window.isZero()) {
      throw new IllegalArgumentException("window " + window + " is not positive");
    }
    if (p50Nanos > p99Nanos || p99Nanos > maxNanos) {
      throw new IllegalArgumentException(
          "percentiles out of order: p50 " + p50Nanos + " p99 " + p99Nanos + " max " + maxNanos);
    }
  }

  /** Completed operations per second of the measured window. */
  double operationsPerSecond() {
    return operations / (window.toNanos() / 1e9);
  }

  /** CPU of the members and of the clients per counted operation, where reported. */
  Optional<CpuMeter.CpuTimes> cpuPerOperation() {
    if (operations == 0) {
      return Optional.empty();
    }
    return cpu.map(used -> used.per(operations));
  }
}
