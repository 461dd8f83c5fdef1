package org.apsara.common.logging;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.LayoutBase;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apsara.common.json.JsonStrings;
import org.slf4j.event.KeyValuePair;

/**
 * Formats each logging event as one JSON object on one line ("JSON lines"), for machines to read.
 *
 * <p>Fields, in this order: {@code ts} (ISO-8601 UTC with microseconds), {@code level}, {@code
 * logger}, {@code thread}, {@code msg}, then each MDC entry and each key-value pair given through
 * SLF4J's fluent API ({@code log.atInfo().addKeyValue("term", 5).log("...")}), then {@code
 * exception} with the full stack trace if there is one. Numbers and booleans in key-value pairs stay
 * JSON numbers and booleans; every other value is written as its {@code toString()}.
 *
 * <p>Keys are unique within a line: an MDC key that collides with a field already written gets the
 * prefix {@code mdc.}, a key-value pair key the prefix {@code kv.}, and underscores are added in
 * front until the key is free. A line never contains a raw newline: newlines in messages and stack
 * traces are escaped.
 *
 * <p>Thread-safe: {@link #doLayout} keeps no state between calls.
 */
public class JsonLineLayout extends LayoutBase<ILoggingEvent> {
  private static final DateTimeFormatter TIMESTAMP =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);

  /** The fixed fields; MDC and key-value keys must not repeat them. */
  private static final List<String> FIXED_FIELDS =
      List.of("ts", "level", "logger", "thread", "msg", "exception");

  @Override
  public String doLayout(ILoggingEvent event) {
    StringBuilder line = new StringBuilder(256);
    Set<String> usedKeys = new HashSet<>(FIXED_FIELDS);
    line.append("{\"ts\":\"").append(TIMESTAMP.format(event.getInstant())).append('"');
    line.append(",\"level\":\"").append(event.getLevel()).append('"');
    appendField(line, "logger", event.getLoggerName());
    appendField(line, "thread", event.getThreadName());
    appendField(line, "msg", event.getFormattedMessage());
    Map<String, String> mdc = event.getMDCPropertyMap();
    if (mdc != null) {
      for (Map.Entry<String, String> entry : mdc.entrySet()) {
        appendField(line, uniqueKey(entry.getKey(), "mdc.", usedKeys), entry.getValue());
      }
    }
    List<KeyValuePair> pairs = event.getKeyValuePairs();
    if (pairs != null) {
      for (KeyValuePair pair : pairs) {
        line.append(',');
        JsonStrings.appendQuoted(line, uniqueKey(pair.key, "kv.", usedKeys));
        line.append(':');
        appendValue(line, pair.value);
      }
    }
    IThrowableProxy throwable = event.getThrowableProxy();
    if (throwable != null) {
      appendField(line, "exception", ThrowableProxyUtil.asString(throwable));
    }
    return line.append("}\n").toString();
  }

  @Override
  public String getContentType() {
    return "application/x-ndjson";
  }

  private static void appendField(StringBuilder line, String key, String value) {
    line.append(',');
    JsonStrings.appendQuoted(line, key);
    line.append(':');
    JsonStrings.appendQuoted(line, value);
  }

  private static void appendValue(StringBuilder line, Object value) {
    if (value == null) {
      line.append("null");
    } else if (value instanceof Boolean
        || value instanceof Integer
        || value instanceof Long
        || value instanceof Short
        || value instanceof Byte) {
      line.append(value);
    } else if ((value instanceof Double || value instanceof Float)
        && Double.isFinite(((Number) value).doubleValue())) {
      line.append(value); // NaN and infinities have no JSON form; they fall through to strings.
    } else {
      JsonStrings.appendQuoted(line, String.valueOf(value));
    }
  }

  private static String uniqueKey(String key, String prefix, Set<String> usedKeys) {
    String candidate = key == null ? "null" : key;
    if (!usedKeys.contains(candidate)) {
      usedKeys.add(candidate);
      return candidate;
    }
    candidate = prefix + candidate;
    while (!usedKeys.add(candidate)) {
      candidate = "_" + candidate;
    }
    return candidate;
  }
}
