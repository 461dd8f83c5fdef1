package org.apsara.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChildProcessTest {
  /** Small and quick to start: the child only prints. */
  private static final String[] LEAN_JVM = {
      "-Xmx32m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto"};
  private static final Duration STARTUP = Duration.ofSeconds(30);

  @TempDir Path directory;

  private ChildProcess.Builder ticker(String logName) {
    return ChildProcess.builder(TickerMain.class)
        .jvmArgs(LEAN_JVM)
        .logFile(directory.resolve(logName));
  }

  @Test
  void runsTheMainClassWithClasspathArgumentsAndEnvironment() {
    try (ChildProcess child = ticker("ticker.log")
        .jvmArgs("-Dticker.greeting=hello")
        .env("TICKER_ENV", "from-test")
        .args("alpha", "beta")
        .start()) {
      String started = child.awaitLogLine(Pattern.compile("^started "), STARTUP);

      assertThat(started).isEqualTo("started pid=" + child.pid()
          + " greeting=hello env=from-test args=[alpha, beta]");
      child.awaitLogLine(Pattern.compile("standard error works too"), STARTUP);
      child.awaitLogLine(Pattern.compile("^tick 3$"), STARTUP);
      assertThat(child.isAlive()).isTrue();
      assertThat(child.exitCode()).isEmpty();
      assertThat(child.logFile()).isEqualTo(directory.resolve("ticker.log"));
    }
  }

  @Test
  void pauseFreezesTheProcessAndResumeLetsItContinue() {
    try (ChildProcess child = ticker("ticker.log").start()) {
      child.awaitLogLine(Pattern.compile("^tick 2$"), STARTUP);

      child.pause();
      child.isPaused().ifPresent(paused -> assertThat(paused).isTrue());
      int linesWhenPaused = child.logLines().size();
      await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
          .until(() -> child.logLines().size() == linesWhenPaused);

      child.resume();
      child.isPaused().ifPresent(paused -> assertThat(paused).isFalse());
      await().atMost(Duration.ofSeconds(5))
          .until(() -> child.logLines().size() > linesWhenPaused + 2);
    }
  }

  @Test
  void stopSendsSigtermSoShutdownHooksRunEvenWhenPaused() {
    ChildProcess child = ticker("ticker.log").start();
    child.awaitLogLine(Pattern.compile("^tick 1$"), STARTUP);
    child.pause();

    int exitCode = child.stop();

    assertThat(exitCode).isEqualTo(ChildProcess.EXIT_CODE_SIGTERM);
    assertThat(child.isAlive()).isFalse();
    assertThat(child.exitCode()).hasValue(ChildProcess.EXIT_CODE_SIGTERM);
    assertThat(child.logLines()).anyMatch(line -> line.startsWith("stopping after "));
  }

  @Test
  void killIsACrashWithoutShutdownHooks() {
    ChildProcess child = ticker("ticker.log").start();
    child.awaitLogLine(Pattern.compile("^tick 1$"), STARTUP);

    assertThat(child.kill()).isEqualTo(ChildProcess.EXIT_CODE_SIGKILL);

    assertThat(child.isAlive()).isFalse();
    assertThat(child.logLines()).noneMatch(line -> line.startsWith("stopping"));
    assertThatThrownBy(child::pause).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("exited with code 137");
    child.close(); // nothing left to do, and no error
  }

  @Test
  void awaitLogLineFailsAtOnceWhenTheProcessExits() {
    try (ChildProcess child = ticker("exit.log").args("exit=3").start()) {
      assertThatThrownBy(() -> child.awaitLogLine(Pattern.compile("never printed"), STARTUP))
          .isInstanceOf(AssertionError.class)
          .hasMessageContaining("exited with code 3 before logging a line matching /never printed/")
          .hasMessageContaining("exiting as asked");
    }
  }

  @Test
  void awaitLogLineGivesUpAfterTheTimeoutAndQuotesTheLog() {
    try (ChildProcess child = ticker("ticker.log").start()) {
      child.awaitLogLine(Pattern.compile("^tick 1$"), STARTUP);

      assertThatThrownBy(() -> child.awaitLogLine(Pattern.compile("^never$"),
          Duration.ofMillis(200)))
          .isInstanceOf(AssertionError.class)
          .hasMessageContaining("no line matching /^never$/ from TickerMain within PT0.2S")
          .hasMessageContaining("tick ");
    }
  }

  @Test
  void restartOnTheSameLogFileOnlySeesTheNewProcessesLines() {
    Path log = directory.resolve("member.log");
    ChildProcess first = ticker("member.log").args("first").start();
    first.awaitLogLine(Pattern.compile("^tick 2$"), STARTUP);
    first.kill();

    try (ChildProcess second = ticker("member.log").args("second").start()) {
      String started = second.awaitLogLine(Pattern.compile("^started "), STARTUP);

      assertThat(started).endsWith("args=[second]");
      assertThat(second.logLines()).noneMatch(line -> line.contains("args=[first]"));
      assertThat(second.logFile()).isEqualTo(log);
    }
  }
}
