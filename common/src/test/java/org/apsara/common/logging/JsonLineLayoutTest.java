package org.apsara.common.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import java.io.IOException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apsara.common.json.JsonReader;
import org.junit.jupiter.api.Test;
import org.slf4j.event.KeyValuePair;

class JsonLineLayoutTest {
  private final LoggerContext context = new LoggerContext();
  private final JsonLineLayout layout = new JsonLineLayout();

  JsonLineLayoutTest() {
    layout.setContext(context);
    layout.start();
  }

  @Test
  void writesTheFixedFieldsInOrderOnOneLine() {
    LoggingEvent event = event(Level.INFO, "elected leader for term {}", null, 7);
    event.setInstant(Instant.parse("2024-03-01T12:34:56.123456789Z"));

    String line = layout.doLayout(event);

    assertThat(line).isEqualTo("{\"ts\":\"2024-03-01T12:34:56.123456Z\",\"level\":\"INFO\","
        + "\"logger\":\"org.apsara.nuwa.Raft\",\"thread\":\"raft-1\","
        + "\"msg\":\"elected leader for term 7\"}\n");
  }

  @Test
  void includesMdcAndKeyValuePairsWithJsonTypes() {
    Map<String, String> mdc = new LinkedHashMap<>();
    mdc.put("member", "n2");
    mdc.put("cluster", "c\"1");
    LoggingEvent event = event(mdc, Level.WARN, "slow apply", null);
    event.setKeyValuePairs(List.of(
        new KeyValuePair("index", 42L),
        new KeyValuePair("ratio", 0.5),
        new KeyValuePair("leader", true),
        new KeyValuePair("nan", Double.NaN),
        new KeyValuePair("peer", List.of("a", "b")),
        new KeyValuePair("none", null)));

    Map<String, Object> json = parseLine(layout.doLayout(event));

    assertThat(json).containsEntry("level", "WARN")
        .containsEntry("member", "n2")
        .containsEntry("cluster", "c\"1")
        .containsEntry("index", 42L)
        .containsEntry("ratio", 0.5)
        .containsEntry("leader", true)
        .containsEntry("nan", "NaN")
        .containsEntry("peer", "[a, b]")
        .containsEntry("none", null);
  }

  @Test
  void keysThatCollideAreRenamedRatherThanRepeated() {
    Map<String, String> mdc = new LinkedHashMap<>();
    mdc.put("msg", "from mdc");
    mdc.put("id", "mdc-id");
    LoggingEvent event = event(mdc, Level.INFO, "the real message", null);
    event.setKeyValuePairs(List.of(
        new KeyValuePair("id", "kv-id"),
        new KeyValuePair("level", "kv-level"),
        new KeyValuePair("kv.level", "taken")));

    Map<String, Object> json = parseLine(layout.doLayout(event));

    assertThat(json).containsEntry("msg", "the real message")
        .containsEntry("mdc.msg", "from mdc")
        .containsEntry("id", "mdc-id")
        .containsEntry("kv.id", "kv-id")
        .containsEntry("level", "INFO")
        .containsEntry("kv.level", "kv-level")
        .containsEntry("kv.kv.level", "taken");
  }

  @Test
  void escapesMessagesAndWritesTheStackTraceOnTheSameLine() {
    IOException cause = new IOException("disk \"sda\" failed\n\tbadly");
    LoggingEvent event = event(Level.ERROR, "line one\nline two\u0001", new IllegalStateException(
        "cannot append", cause));

    String line = layout.doLayout(event);

    assertThat(line).endsWith("}\n");
    assertThat(line.substring(0, line.length() - 1)).doesNotContain("\n").doesNotContain("\u0001");
    Map<String, Object> json = parseLine(line);
    assertThat(json).containsEntry("msg", "line one\nline two\u0001");
    String exception = (String) json.get("exception");
    assertThat(exception)
        .startsWith("java.lang.IllegalStateException: cannot append")
        .contains("at org.apsara.common.logging.JsonLineLayoutTest")
        .contains("Caused by: java.io.IOException: disk \"sda\" failed\n\tbadly");
  }

  @Test
  void nullMessageIsAJsonNull() {
    Map<String, Object> json = parseLine(layout.doLayout(event(Level.DEBUG, null, null)));
    assertThat(json).containsEntry("msg", null).containsEntry("level", "DEBUG");
  }

  private LoggingEvent event(Level level, String message, Throwable throwable, Object... args) {
    return event(Map.of(), level, message, throwable, args);
  }

  private LoggingEvent event(Map<String, String> mdc, Level level, String message,
      Throwable throwable, Object... args) {
    LoggingEvent event = new LoggingEvent(JsonLineLayoutTest.class.getName(),
        context.getLogger("org.apsara.nuwa.Raft"), level, message, throwable, args);
    event.setThreadName("raft-1");
    event.setMDCPropertyMap(mdc); // a bare context has no MDC adapter to take it from
    return event;
  }

  private static Map<String, Object> parseLine(String line) {
    assertThat(line).endsWith("\n");
    assertThat(line.indexOf('\n')).isEqualTo(line.length() - 1);
    return JsonReader.parseObject(line.trim());
  }
}
