package org.apsara.bench.report;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalDouble;
import org.apsara.bench.cluster.JitCompilerTime;

/**
 * A reading of the CPU a system under test and this benchmark JVM have used so far, and of the
 * part of it their JIT compilers used; two readings give the compilers' share of a window, which
 * {@link WarmupSettling} wants to see small before a warm-up ends.
 *
 * @param total user and system CPU of the system's processes and of this JVM
 * @param compilers the part of {@code total} that JIT compiler threads used
 */
public record CompilerCpu(Duration total, Duration compilers) {
  /**
   * Reads this JVM and adds the given readings of the system's own processes (zero for a system
   * that runs inside this JVM); empty if any of them is.
   */
  public static Optional<CompilerCpu> read(Optional<Duration> processesCpu,
      Optional<Duration> processesCompilers) {
    return processesCpu.flatMap(cpu -> processesCompilers.flatMap(compilers ->
        ProcessHandle.current().info().totalCpuDuration().flatMap(jvmCpu ->
            JitCompilerTime.ofThisJvm().map(jvmCompilers ->
                new CompilerCpu(cpu.plus(jvmCpu), compilers.plus(jvmCompilers))))));
  }

  /** The compilers' share, 0 to 1, of the CPU used since {@code earlier}; 0 if none was. */
  public double shareSince(CompilerCpu earlier) {
    return share(compilers.minus(earlier.compilers), total.minus(earlier.total));
  }

  /** {@code compilers} as a share of {@code total}, 0 to 1; 0 if no CPU was used. */
  public static double share(Duration compilers, Duration total) {
    long used = total.toNanos();
    return used <= 0 ? 0 : Math.max(0, Math.min(1, (double) compilers.toNanos() / used));
  }

  /** The share since {@code start} as read now, or empty where either reading is. */
  public static OptionalDouble shareSince(Optional<CompilerCpu> start, Optional<CompilerCpu> now) {
    return start.isPresent() && now.isPresent()
        ? OptionalDouble.of(now.get().shareSince(start.get())) : OptionalDouble.empty();
  }
}
