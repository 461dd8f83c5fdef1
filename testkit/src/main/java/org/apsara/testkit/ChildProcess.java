package org.apsara.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Java main class running as a separate OS process with this JVM's classpath, for tests that
 * crash, pause and restart cluster members for real.
 *
 * <p>Standard output and standard error go to one log file, appended to, so that a member
 * restarted on the same log file keeps its history; {@link #awaitLogLine} only looks at what this
 * process wrote.
 *
 * <p>Faults: {@link #kill()} is SIGKILL (a crash: no shutdown hooks, no flushing), {@link #stop()}
 * is SIGTERM (a clean shutdown), {@link #pause()} and {@link #resume()} are SIGSTOP and SIGCONT (a
 * process that hangs, e.g. in a long GC, and comes back). Pausing and resuming need a Unix {@code
 * kill} command.
 *
 * <p>Every process still running when the test JVM exits is killed by a shutdown hook, so a
 * failing test does not leave members behind. Methods are thread-safe.
 */
public final class ChildProcess implements AutoCloseable {
  /** How long {@link #kill()} waits for the process to be gone. */
  public static final Duration KILL_WAIT = Duration.ofSeconds(10);

  /** How long {@link #stop()} waits for a clean exit before it kills. */
  public static final Duration STOP_WAIT_DEFAULT = Duration.ofSeconds(10);

  /** How long {@link #pause()} and {@link #resume()} wait for the state change to show. */
  public static final Duration SIGNAL_WAIT = Duration.ofSeconds(5);

  /** How often {@link #awaitLogLine} reads the log file again. */
  public static final Duration LOG_POLL_INTERVAL = Duration.ofMillis(20);

  /** Bytes of the log file read at once. */
  public static final int LOG_READ_CHUNK_BYTES = 64 * 1024;

  /** The lines of the log file quoted when {@link #awaitLogLine} gives up. */
  public static final int LOG_TAIL_LINES = 30;

  /** Exit code of a JVM ended by SIGTERM (128 + 15). */
  public static final int EXIT_CODE_SIGTERM = 143;

  /** Exit code of a process ended by SIGKILL (128 + 9). */
  public static final int EXIT_CODE_SIGKILL = 137;

  private static final Set<ChildProcess> running = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(
        () -> running.forEach(child -> child.process.destroyForcibly()),
        "child-process-reaper"));
  }

  private final String name;
  private final Process process;
  private final Path logFile;
  private final long logStartOffset;
  private final List<String> command;

  private ChildProcess(
      String name, Process process, Path logFile, long logStartOffset, List<String> command) {
    this.name = name;
    this.process = process;
    this.logFile = logFile;
    this.logStartOffset = logStartOffset;
    this.command = command;
  }

  /** Starts describing a process that runs {@code mainClass}. */
  public static Builder builder(Class<?> mainClass) {
    return new Builder(mainClass.getName());
  }

  /** Starts describing a process that runs the main class with this fully qualified name. */
  public static Builder builder(String mainClassName) {
    return new Builder(mainClassName);
  }

  /** The name given to the builder, for messages. */
  public String name() {
    return name;
  }

  public long pid() {
    return process.pid();
  }

  /** The full command line, for messages. */
  public List<String> command() {
    return command;
  }

  public Path logFile() {
    return logFile;
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** The exit code if the process has ended. */
  public OptionalInt exitCode() {
    return process.isAlive() ? OptionalInt.empty() : OptionalInt.of(process.exitValue());
  }

  /**
   * Sends SIGKILL and waits until the process is gone. Works on a paused process too.
   *
   * @return the exit code ({@value #EXIT_CODE_SIGKILL} unless it had exited before)
   */
  public int kill() {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    return awaitExit(KILL_WAIT, "SIGKILL");
  }

  /** {@link #stop(Duration)} with {@link #STOP_WAIT_DEFAULT}. */
  public int stop() {
    return stop(STOP_WAIT_DEFAULT);
  }

  /**
   * Sends SIGTERM (resuming the process first if it is paused, or it could not act on it) and waits
   * up to {@code wait} for it to exit; if it does not, kills it and throws.
   *
   * @return the exit code ({@value #EXIT_CODE_SIGTERM} for a JVM that ran its shutdown hooks)
   * @throws IllegalStateException if the process ignored SIGTERM for {@code wait}
   */
  public int stop(Duration wait) {
    if (!process.isAlive()) {
      return process.exitValue();
    }
    if (isPaused().orElse(true)) {
      signal("CONT");
    }
    process.destroy();
    try {
      if (process.waitFor(wait.toMillis(), TimeUnit.MILLISECONDS)) {
        return finished();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      kill();
      throw new IllegalStateException("interrupted while stopping " + name, e);
    }
    kill();
    throw new IllegalStateException(
        name + " did not exit within " + wait + " of SIGTERM and was killed; log " + logFile);
  }

  /**
   * Sends SIGSTOP; returns once the process is stopped (where {@code /proc} shows it) so that the
   * caller can rely on it making no progress.
   */
  public void pause() {
    requireAlive("pause");
    signal("STOP");
    awaitProcState(true);
  }

  /** Sends SIGCONT; returns once the process runs again (where {@code /proc} shows it). */
  public void resume() {
    requireAlive("resume");
    signal("CONT");
    awaitProcState(false);
  }

  /** True if the process is stopped by a signal; empty where {@code /proc} is not available. */
  public Optional<Boolean> isPaused() {
    return procState().map(state -> state == 'T' || state == 't');
  }

  /**
   * Waits until a line written by this process matches {@code pattern} (anywhere in the line, as
   * {@link Matcher#find()}), and returns the first such line.
   *
   * @throws AssertionError if no line matches within {@code timeout} or the process exits first;
   *     the message quotes the end of the log
   */
  public String awaitLogLine(Pattern pattern, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    LogReader reader = new LogReader();
    while (true) {
      boolean exited = !process.isAlive(); // read after checking, so no last line is missed
      String match = reader.scan(line -> pattern.matcher(line).find());
      if (match != null) {
        return match;
      }
      if (exited) {
        throw new AssertionError(name + " exited with code " + process.exitValue()
            + " before logging a line matching /" + pattern + "/; log ends:\n" + tail());
      }
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("no line matching /" + pattern + "/ from " + name + " within "
            + timeout + "; log ends:\n" + tail());
      }
      try {
        Thread.sleep(LOG_POLL_INTERVAL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for /" + pattern + "/", e);
      }
    }
  }

  /** The lines this process has written so far. */
  public List<String> logLines() {
    return new LogReader().newLines();
  }

  /** Kills the process if it is still running. */
  @Override
  public void close() {
    if (process.isAlive()) {
      kill();
    }
    running.remove(this);
  }

  @Override
  public String toString() {
    return "ChildProcess{" + name + ", pid " + process.pid() + ", "
        + (process.isAlive() ? "alive" : "exited " + process.exitValue()) + "}";
  }

  private int awaitExit(Duration wait, String what) {
    try {
      if (!process.waitFor(wait.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException(name + " still running " + wait + " after " + what);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for " + name + " to exit", e);
    }
    return finished();
  }

  private int finished() {
    running.remove(this);
    return process.exitValue();
  }

  private void requireAlive(String action) {
    if (!process.isAlive()) {
      throw new IllegalStateException(
          "cannot " + action + " " + name + ": it exited with code " + process.exitValue());
    }
  }

  private void signal(String signal) {
    ProcessBuilder kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid()))
        .redirectErrorStream(true);
    try {
      Process sender = kill.start();
      String output = new String(sender.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (sender.waitFor() != 0 && process.isAlive()) {
        throw new IllegalStateException("kill -" + signal + " " + process.pid() + " failed: "
            + output.strip());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run kill -" + signal, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while sending SIG" + signal, e);
    }
  }

  private void awaitProcState(boolean stopped) {
    long deadline = System.nanoTime() + SIGNAL_WAIT.toNanos();
    while (true) {
      Optional<Boolean> paused = isPaused();
      if (paused.isEmpty() || paused.get() == stopped || !process.isAlive()) {
        return; // no /proc to confirm with, or done
      }
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException(name + " did not " + (stopped ? "stop" : "continue")
            + " within " + SIGNAL_WAIT);
      }
      try {
        Thread.sleep(1); // signals are delivered within microseconds; no need to spin
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for " + name, e);
      }
    }
  }

  /** The state letter from /proc/[pid]/stat: R, S, D, T (stopped), t (traced), Z... */
  private Optional<Character> procState() {
    Path stat = Path.of("/proc", Long.toString(process.pid()), "stat");
    try {
      String text = Files.readString(stat, StandardCharsets.UTF_8);
      // "pid (comm) S ...": the command may contain spaces and parentheses, so find the last ')'.
      int close = text.lastIndexOf(')');
      if (close < 0 || close + 2 >= text.length()) {
        return Optional.empty();
      }
      return Optional.of(text.charAt(close + 2));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private String tail() {
    ArrayDeque<String> tail = new ArrayDeque<>(LOG_TAIL_LINES + 1);
    new LogReader().scan(line -> {
      tail.addLast(line);
      if (tail.size() > LOG_TAIL_LINES) {
        tail.removeFirst();
      }
      return false;
    });
    return String.join("\n", tail);
  }

  /** Reads complete lines of the log written since this process started, incrementally. */
  private final class LogReader {
    private long position = logStartOffset;
    // Bytes of a line not yet ended by '\n'; kept as bytes so that a character split across
    // reads is decoded whole.
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();

    /** All complete lines not read before. */
    List<String> newLines() {
      List<String> lines = new ArrayList<>();
      scan(line -> {
        lines.add(line);
        return false;
      });
      return lines;
    }

    /** Reads complete new lines until {@code stop} accepts one, which is returned; else null. */
    String scan(Predicate<String> stop) {
      try (RandomAccessFile file = new RandomAccessFile(logFile.toFile(), "r")) {
        file.seek(position);
        byte[] buffer = new byte[LOG_READ_CHUNK_BYTES];
        int n;
        while ((n = file.read(buffer)) > 0) {
          int lineStart = 0;
          for (int i = 0; i < n; i++) {
            if (buffer[i] != '\n') {
              continue;
            }
            partial.write(buffer, lineStart, i - lineStart);
            String line = partial.toString(StandardCharsets.UTF_8);
            partial.reset();
            lineStart = i + 1;
            if (stop.test(line)) {
              position += lineStart;
              return line;
            }
          }
          partial.write(buffer, lineStart, n - lineStart);
          position += n;
        }
        return null;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read log " + logFile, e);
      }
    }
  }

  /** Describes a child process; not thread-safe. */
  public static final class Builder {
    private final String mainClassName;
    private final List<String> jvmArgs = new ArrayList<>();
    private final List<String> args = new ArrayList<>();
    private final Map<String, String> environment = new LinkedHashMap<>();
    private String name;
    private Path logFile;
    private Path workingDirectory;

    private Builder(String mainClassName) {
      if (mainClassName == null || mainClassName.isBlank()) {
        throw new IllegalArgumentException("main class name must not be empty");
      }
      this.mainClassName = mainClassName;
      this.name = mainClassName.substring(mainClassName.lastIndexOf('.') + 1);
    }

    /** A name for messages; defaults to the simple name of the main class. */
    public Builder name(String name) {
      this.name = Objects.requireNonNull(name, "name");
      return this;
    }

    /** Arguments for the JVM, e.g. {@code -Xmx256m} or {@code -Dkey=value}. */
    public Builder jvmArgs(String... jvmArgs) {
      this.jvmArgs.addAll(List.of(jvmArgs));
      return this;
    }

    /** Arguments for {@code main}. */
    public Builder args(String... args) {
      this.args.addAll(List.of(args));
      return this;
    }

    /** Arguments for {@code main}. */
    public Builder args(List<String> args) {
      this.args.addAll(args);
      return this;
    }

    /** An environment variable added to (or replacing one of) this JVM's environment. */
    public Builder env(String key, String value) {
      environment.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
      return this;
    }

    /** Where standard output and error go (appended to); required. */
    public Builder logFile(Path logFile) {
      this.logFile = Objects.requireNonNull(logFile, "logFile");
      return this;
    }

    /** The working directory; defaults to this JVM's. */
    public Builder workingDirectory(Path workingDirectory) {
      this.workingDirectory = Objects.requireNonNull(workingDirectory, "workingDirectory");
      return this;
    }

    /**
     * Starts the process.
     *
     * @throws UncheckedIOException if it cannot be started or the log file cannot be created
     */
    public ChildProcess start() {
      if (logFile == null) {
        throw new IllegalStateException("a log file is required");
      }
      List<String> command = new ArrayList<>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      command.addAll(jvmArgs);
      command.add("-cp");
      command.add(System.getProperty("java.class.path"));
      command.add(mainClassName);
      command.addAll(args);

      ProcessBuilder builder = new ProcessBuilder(command)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
      builder.environment().putAll(environment);
      if (workingDirectory != null) {
        builder.directory(workingDirectory.toFile());
      }
      try {
        Path parent = logFile.toAbsolutePath().getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        long startOffset = Files.exists(logFile) ? Files.size(logFile) : 0;
        Process process = builder.start();
        ChildProcess child =
            new ChildProcess(name, process, logFile, startOffset, List.copyOf(command));
        running.add(child);
        return child;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start " + name + ": " + command, e);
      }
    }
  }
}
