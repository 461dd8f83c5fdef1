package org.apsara.bench.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One member of a local cluster running as a child OS process, its standard output and error
 * appended to a log file.
 *
 * <p>Every started process is also registered with a JVM shutdown hook, so that an interrupted
 * benchmark (Ctrl-C) does not leave servers running. {@link #close()} stops the process (SIGTERM,
 * then SIGKILL after {@link #STOP_GRACE}) and is idempotent. Instances are safe to use from several
 * threads.
 */
public final class MemberProcess implements AutoCloseable {
  /** How long a member gets to exit after SIGTERM before it is killed. */
  public static final Duration STOP_GRACE = Duration.ofSeconds(5);

  /** Longest log excerpt quoted in an error message. */
  public static final int LOG_TAIL_LINES_MAX = 20;

  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> LIVE.forEach(MemberProcess::killTree), "bench-member-process-reaper"));
  }

  private final String name;
  private final Path logFile;
  private final Process process;

  private MemberProcess(String name, Path logFile, Process process) {
    this.name = name;
    this.logFile = logFile;
    this.process = process;
  }

  /**
   * Starts {@code command} in {@code workDir}, appending its output to {@code logFile}.
   *
   * @param name the member's name for messages, e.g. {@code "etcd member m2"}
   */
  public static MemberProcess start(String name, List<String> command, Path workDir, Path logFile)
      throws IOException {
    Files.createDirectories(logFile.getParent());
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .directory(workDir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
    Process process = builder.start();
    LIVE.add(process);
    // Members never read standard input; closing it gives them end-of-file instead of a pipe
    // that nobody writes.
    process.getOutputStream().close();
    return new MemberProcess(name, logFile, process);
  }

  public String name() {
    return name;
  }

  public Path logFile() {
    return logFile;
  }

  public long pid() {
    return process.pid();
  }

  /**
   * CPU time (user and system) the process and its descendants have used so far, or empty where
   * the operating system does not report it for one of them.
   */
  public Optional<Duration> cpuTime() {
    return sum(processTree(), handle -> handle.info().totalCpuDuration());
  }

  /**
   * CPU time the JIT compiler threads of the process and its descendants have used so far (zero
   * for a process that is not a JVM), or empty where the operating system does not say.
   */
  public Optional<Duration> compilerCpuTime() {
    return sum(processTree(), handle -> JitCompilerTime.ofProcess(handle.pid()));
  }

  /** The process and its descendants. */
  private List<ProcessHandle> processTree() {
    List<ProcessHandle> tree = new ArrayList<>();
    tree.add(process.toHandle());
    tree.addAll(process.toHandle().descendants().toList());
    return tree;
  }

  /** The sum of {@code reading} over {@code items}, or empty if any reading is. */
  static <T> Optional<Duration> sum(List<T> items, Function<T, Optional<Duration>> reading) {
    Optional<Duration> total = Optional.of(Duration.ZERO);
    for (T item : items) {
      total = total.flatMap(sum -> reading.apply(item).map(sum::plus));
    }
    return total;
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** The exit code, or -1 while the process runs. */
  public int exitCodeOrMinusOne() {
    return process.isAlive() ? -1 : process.exitValue();
  }

  /** The last {@code lines} lines of the log (at most {@link #LOG_TAIL_LINES_MAX}), for errors. */
  public String logTail(int lines) {
    int count = Math.min(lines, LOG_TAIL_LINES_MAX);
    try {
      if (!Files.exists(logFile)) {
        return "(no log written)";
      }
      List<String> all = Files.readAllLines(logFile, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - count), all.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(log unreadable: " + e.getMessage() + ")";
    }
  }

  /** Stops the process: SIGTERM, then SIGKILL after {@link #STOP_GRACE}. */
  @Override
  public void close() {
    try {
      process.toHandle().descendants().forEach(ProcessHandle::destroy);
      process.destroy();
      if (!process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
        killTree(process);
        process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      killTree(process);
      Thread.currentThread().interrupt();
    } finally {
      LIVE.remove(process);
    }
  }

  /** Closes every member, continuing past failures so that none is left running. */
  public static void closeAll(List<MemberProcess> members) {
    List<RuntimeException> failures = new ArrayList<>();
    for (MemberProcess member : members) {
      try {
        member.close();
      } catch (RuntimeException e) {
        failures.add(e);
      }
    }
    if (!failures.isEmpty()) {
      RuntimeException first = failures.get(0);
      failures.subList(1, failures.size()).forEach(first::addSuppressed);
      throw first;
    }
  }

  private static void killTree(Process process) {
    process.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
  }

  @Override
  public String toString() {
    return name + " (pid " + process.pid() + ", log " + logFile + ")";
  }
}
