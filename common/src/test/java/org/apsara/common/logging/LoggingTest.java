package org.apsara.common.logging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apsara.common.json.JsonReader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.slf4j.event.Level;

/** Reconfigures the process-wide logback context; restores the defaults afterwards. */
class LoggingTest {
  private final Logger log = LoggerFactory.getLogger("org.apsara.nuwa.server.Test");
  private final ByteArrayOutputStream console = new ByteArrayOutputStream();
  private PrintStream originalErr;

  @TempDir Path logDirectory;

  @BeforeEach
  void captureStandardError() {
    originalErr = System.err;
    System.setErr(new PrintStream(console, true, StandardCharsets.UTF_8));
  }

  @AfterEach
  void restore() {
    MDC.clear();
    Logging.configure(LogSettings.defaults());
    System.setErr(originalErr);
  }

  @Test
  void humanConsoleShowsMessageAndKeyValuePairsAtTheConfiguredLevel() {
    Logging.configure(LogSettings.defaults());

    log.atInfo().addKeyValue("term", 5).addKeyValue("member", "n1").log("became leader");
    log.info("plain message");
    log.debug("hidden at INFO");

    String[] lines = consoleText().split("\n");
    assertThat(lines).hasSize(2);
    assertThat(lines[0])
        .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d) INFO  .*")
        .contains("[" + Thread.currentThread().getName() + "]")
        .endsWith(" - became leader term=\"5\" member=\"n1\"");
    assertThat(lines[1]).endsWith(" - plain message");
  }

  @Test
  void jsonConsoleWritesOneParsableObjectPerLine() {
    Logging.configure(LogSettings.builder()
        .consoleFormat(LogSettings.ConsoleFormat.JSON).level(Level.DEBUG).build());

    MDC.put("member", "n3");
    log.atDebug().addKeyValue("index", 12L).log("applied");

    Map<String, Object> json = JsonReader.parseObject(consoleText().trim());
    assertThat(json).containsEntry("level", "DEBUG").containsEntry("msg", "applied")
        .containsEntry("member", "n3").containsEntry("index", 12L)
        .containsEntry("logger", "org.apsara.nuwa.server.Test");
  }

  @Test
  void noisyLibrariesLogAtWarnUnlessOverridden() {
    Logging.configure(LogSettings.builder().level(Level.DEBUG).build());
    Logger ratis = LoggerFactory.getLogger("org.apache.ratis.server.RaftServer");
    Logger netty = LoggerFactory.getLogger("io.netty.channel.Channel");

    assertThat(ratis.isInfoEnabled()).isFalse();
    assertThat(ratis.isWarnEnabled()).isTrue();
    assertThat(netty.isInfoEnabled()).isFalse();
    assertThat(log.isDebugEnabled()).isTrue();
    assertThat(java.util.logging.Logger.getLogger("io.grpc.internal").isLoggable(
        java.util.logging.Level.INFO)).isFalse();

    Logging.configure(LogSettings.builder().loggerLevel("org.apache.ratis", Level.INFO).build());
    assertThat(ratis.isInfoEnabled()).isTrue();
    assertThat(ratis.isDebugEnabled()).isFalse();
    assertThat(netty.isInfoEnabled()).isFalse();
  }

  @Test
  void consoleLevelKeepsTheConsoleQuietWhileTheFileGetsEverything() throws IOException {
    Logging.configure(LogSettings.builder()
        .consoleLevel(org.slf4j.event.Level.WARN)
        .file(logDirectory, "quiet")
        .build());

    log.info("only in the file");
    log.warn("on the console too");

    assertThat(consoleText()).doesNotContain("only in the file").contains("on the console too");
    assertThat(Files.readString(logDirectory.resolve("quiet.log")))
        .contains("only in the file").contains("on the console too");
  }

  @Test
  void consoleLevelMovesWhileTheProcessRunsAndTheFileKeepsEverything() throws IOException {
    Logging.configure(LogSettings.builder()
        .consoleLevel(org.slf4j.event.Level.ERROR)
        .file(logDirectory, "moving")
        .build());

    log.warn("warned while only errors show");
    Logging.setConsoleLevel(org.slf4j.event.Level.WARN);
    log.warn("warned once warnings show");

    assertThat(consoleText()).doesNotContain("warned while only errors show")
        .contains("warned once warnings show");
    assertThat(Files.readString(logDirectory.resolve("moving.log")))
        .contains("warned while only errors show").contains("warned once warnings show");
  }

  @Test
  void auditEventsGoToTheirOwnFileOnly() throws IOException {
    Logging.configure(LogSettings.builder().file(logDirectory, "tenant").build());

    LoggerFactory.getLogger(Logging.AUDIT_LOGGER).info("{\"outcome\":\"DENIED\"}");
    log.info("ordinary");

    assertThat(Files.readString(logDirectory.resolve("audit.log")))
        .contains("DENIED").doesNotContain("ordinary");
    assertThat(Files.readString(logDirectory.resolve("tenant.log")))
        .contains("ordinary").doesNotContain("DENIED");
  }

  @Test
  void fileGetsJsonLinesAndRollsOverBySize() throws IOException {
    Logging.configure(LogSettings.builder()
        .file(logDirectory, "nuwa")
        .fileSizeBytesMax(LogSettings.FILE_SIZE_BYTES_MIN)
        .filesMax(3)
        .build());

    log.atInfo().addKeyValue("n", 0).log("first");
    assertThat(Files.readString(logDirectory.resolve("nuwa.log")).trim())
        .satisfies(line -> assertThat(JsonReader.parseObject(line)).containsEntry("msg", "first"));

    // Logback compares the size with the limit at most every ROLL_CHECK_INTERVAL_MS, so keep
    // writing until the window is full and has rolled once more, dropping the oldest file.
    String padding = "x".repeat(1000);
    Path oldest = logDirectory.resolve("nuwa.2.log");
    long[] next = {1};
    Runnable writeSome = () -> {
      for (int i = 0; i < 20; i++) {
        log.atInfo().addKeyValue("n", next[0]++).log(padding);
      }
    };
    await().atMost(Duration.ofSeconds(20)).until(() -> {
      writeSome.run();
      return Files.exists(oldest);
    });
    long firstOfOldest = firstN(oldest);
    await().atMost(Duration.ofSeconds(20)).until(() -> {
      writeSome.run();
      return firstN(oldest) != firstOfOldest;
    });
    Logging.stop();

    List<String> files;
    try (Stream<Path> listing = Files.list(logDirectory)) {
      files = listing.map(path -> path.getFileName().toString())
          .filter(name -> name.startsWith("nuwa")).sorted()
          .collect(Collectors.toList());
    }
    assertThat(files).containsExactly("nuwa.1.log", "nuwa.2.log", "nuwa.log");
    for (String file : files) {
      List<String> lines = Files.readAllLines(logDirectory.resolve(file));
      assertThat(lines).isNotEmpty();
      lines.forEach(line -> assertThat(JsonReader.parseObject(line)).containsKey("n"));
    }
    List<String> last = Files.readAllLines(logDirectory.resolve("nuwa.log"));
    assertThat(JsonReader.parseObject(last.get(last.size() - 1))).containsEntry("n", next[0] - 1);
    assertThat(Files.size(logDirectory.resolve("nuwa.1.log")))
        .isGreaterThanOrEqualTo(LogSettings.FILE_SIZE_BYTES_MIN);
  }

  private static long firstN(Path file) throws IOException {
    String first = Files.readAllLines(file).get(0);
    return (Long) JsonReader.parseObject(first).get("n");
  }

  @Test
  void settingsAreValidated() {
    assertThatThrownBy(() -> LogSettings.builder().filesMax(1))
        .hasMessageContaining("must be 2..21, got 1");
    assertThatThrownBy(() -> LogSettings.builder().filesMax(22))
        .hasMessageContaining("must be 2..21, got 22");
    assertThatThrownBy(() -> LogSettings.builder().fileSizeBytesMax(10))
        .hasMessageContaining("below the minimum");
    assertThatThrownBy(() -> LogSettings.builder().file(logDirectory, "a/b"))
        .hasMessageContaining("plain file name");
    LogSettings defaults = LogSettings.defaults();
    assertThat(defaults.level()).isEqualTo(Level.INFO);
    assertThat(defaults.consoleFormat()).isEqualTo(LogSettings.ConsoleFormat.HUMAN);
    assertThat(defaults.fileDirectory()).isEmpty();
    assertThat(defaults.fileSizeBytesMax()).isEqualTo(64L * 1024 * 1024);
    assertThat(defaults.filesMax()).isEqualTo(5);
    assertThat(defaults.loggerLevels()).containsEntry("org.apache.ratis", Level.WARN)
        .containsEntry("io.grpc", Level.WARN).containsEntry("io.netty", Level.WARN)
        .containsEntry("org.apache.zookeeper", Level.WARN);
  }

  private String consoleText() {
    return console.toString(StandardCharsets.UTF_8);
  }
}
