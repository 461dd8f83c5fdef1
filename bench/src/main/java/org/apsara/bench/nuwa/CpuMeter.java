package org.apsara.bench.nuwa;

import java.time.Duration;
import java.util.Optional;

/**
 * Reads how much CPU time the system under test and the benchmark's own JVM (its clients) have
 * used so far. Two readings around a measured window give the CPU each side spent on the
 * window's operations: where servers and clients share the machine's cores and a step is
 * CPU-bound, CPU per operation compares how much work each system does for the same result.
 */
@FunctionalInterface
interface CpuMeter {
  /** A meter for steps whose CPU is not reported (the warm-up). */
  CpuMeter NONE = Optional::empty;

  /** CPU used so far, or empty where the operating system does not report it. */
  Optional<CpuTimes> read();

  /** The members' CPU (read from the system's processes) and this JVM's CPU; the meter for it. */
  static CpuMeter of(KvSystem system) {
    return () -> system.membersCpuTime().flatMap(members ->
        ProcessHandle.current().info().totalCpuDuration()
            .map(client -> new CpuTimes(members, client)));
  }

  /**
   * CPU time of the members, all together, and of the benchmark's client JVM.
   *
   * @param members user and system CPU of the system's member processes, summed
   * @param client user and system CPU of the benchmark's JVM, which runs only the clients
   */
  record CpuTimes(Duration members, Duration client) {
    /** What was used between {@code earlier} and this reading. */
    CpuTimes since(CpuTimes earlier) {
      return new CpuTimes(members.minus(earlier.members), client.minus(earlier.client));
    }
  }
}
