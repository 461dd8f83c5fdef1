package org.apsara.bench.nuwa;

import java.time.Duration;
import java.util.Optional;
import org.apsara.bench.report.CompilerCpu;

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

  /**
   * The members' CPU (read from the system's processes), this JVM's CPU, and the part of both
   * that their JIT compilers used; the meter for it. This JVM is read by {@link CompilerCpu},
   * as the warm-ups read it: its CPU is the total less the members'.
   */
  static CpuMeter of(KvSystem system) {
    return () -> {
      Optional<Duration> members = system.membersCpuTime();
      return members.flatMap(m -> CompilerCpu.read(members, system.membersCompilerCpuTime())
          .map(all -> new CpuTimes(m, all.total().minus(m), all.compilers())));
    };
  }

  /**
   * CPU time of the members, all together, and of the benchmark's client JVM.
   *
   * @param members user and system CPU of the system's member processes, summed
   * @param client user and system CPU of the benchmark's JVM, which runs only the clients
   * @param compilers the part of both that JIT compiler threads used
   */
  record CpuTimes(Duration members, Duration client, Duration compilers) {
    /** What was used between {@code earlier} and this reading. */
    CpuTimes since(CpuTimes earlier) {
      return new CpuTimes(members.minus(earlier.members), client.minus(earlier.client),
          compilers.minus(earlier.compilers));
    }

    /** Each part divided by {@code operations}. */
    CpuTimes per(long operations) {
      return new CpuTimes(members.dividedBy(operations), client.dividedBy(operations),
          compilers.dividedBy(operations));
    }

    /** The share of all the CPU that went to JIT compilers, 0 to 1; 0 when no CPU was used. */
    double compilerShare() {
      return CompilerCpu.share(compilers, members.plus(client));
    }
  }
}
