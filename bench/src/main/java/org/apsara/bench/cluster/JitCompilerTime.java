package org.apsara.bench.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * How much CPU time a JVM's JIT compiler threads have used so far, read from Linux's {@code
 * /proc}: the threads named {@code C1 CompilerThread<n>} and {@code C2 CompilerThread<n>}, their
 * time on a CPU from {@code schedstat} (nanoseconds).
 *
 * <p>Why: a JVM server keeps compiling its hot paths for minutes under load, and on a small
 * machine its compiler threads take cores from the load itself. A benchmark that measures before
 * they have finished measures the JIT compiler, not the server; this reading tells when they
 * have. A process that is not a JVM has no such threads and reads zero.
 */
public final class JitCompilerTime {
  private static final Path PROC = Path.of("/proc");
  /** Thread names as {@code /proc} gives them: the first 15 characters. */
  private static final List<String> COMPILER_THREAD_PREFIXES =
      List.of("C1 CompilerThre", "C2 CompilerThre");

  private JitCompilerTime() {}

  /** The compiler threads' CPU time of this JVM, or empty where {@code /proc} does not say. */
  public static Optional<Duration> ofThisJvm() {
    return ofProcess(ProcessHandle.current().pid());
  }

  /**
   * The compiler threads' CPU time of the process, or empty where {@code /proc} does not say
   * (not Linux, or the process is gone).
   */
  static Optional<Duration> ofProcess(long pid) {
    return ofTaskDirectory(PROC.resolve(Long.toString(pid)).resolve("task"));
  }

  /** Sums the compiler threads among the thread directories of {@code tasks}. */
  static Optional<Duration> ofTaskDirectory(Path tasks) {
    long nanos = 0;
    try (Stream<Path> threads = Files.list(tasks)) {
      for (Path thread : threads.toList()) {
        nanos += compilerNanos(thread);
      }
    } catch (IOException e) {
      return Optional.empty();
    }
    return Optional.of(Duration.ofNanos(nanos));
  }

  /** The thread's time on a CPU if it is a compiler thread, else 0; 0 if it has just ended. */
  private static long compilerNanos(Path thread) throws IOException {
    try {
      String name = Files.readString(thread.resolve("comm"), StandardCharsets.UTF_8).strip();
      if (COMPILER_THREAD_PREFIXES.stream().noneMatch(name::startsWith)) {
        return 0;
      }
      String schedstat = Files.readString(thread.resolve("schedstat"), StandardCharsets.UTF_8);
      return Long.parseLong(schedstat.strip().split("\\s+")[0]);
    } catch (NoSuchFileException e) {
      return 0;
    } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
      throw new IOException("unreadable schedstat in " + thread + ": " + e.getMessage(), e);
    }
  }
}
