package org.apsara.security.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class AuditSinkTest {
  private static final AuditEvent DENIED = new AuditEvent(
      Instant.parse("2024-05-01T08:00:00Z"),
      "acs:ram::1234:user/alice",
      "LTAIalice000000000000000",
      "10.0.0.7:40000",
      "nuwa:Put",
      "key/\"quoted\"\nline",
      AuditEvent.Outcome.DENIED,
      "explicit deny");

  @Test
  void eventsAreOneJsonObjectOnOneLine() {
    assertThat(DENIED.toJson()).isEqualTo("{\"time\":\"2024-05-01T08:00:00Z\","
        + "\"principal\":\"acs:ram::1234:user/alice\",\"accessKeyId\":\"LTAIalice000000000000000\","
        + "\"sourceAddress\":\"10.0.0.7:40000\",\"action\":\"nuwa:Put\","
        + "\"resource\":\"key/\\\"quoted\\\"\\nline\",\"outcome\":\"DENIED\","
        + "\"reason\":\"explicit deny\"}");
  }

  @Test
  void slf4jSinkLogsTheJsonOnTheAuditLogger() {
    Logger logger = (Logger) LoggerFactory.getLogger(Slf4jAuditSink.LOGGER_NAME);
    ListAppender<ILoggingEvent> appender = new ListAppender<>();
    appender.start();
    logger.addAppender(appender);
    try {
      new Slf4jAuditSink().record(DENIED);
    } finally {
      logger.detachAppender(appender);
    }

    assertThat(appender.list).singleElement().satisfies(event -> {
      assertThat(event.getLoggerName()).isEqualTo("apsara.audit");
      assertThat(event.getLevel()).isEqualTo(Level.INFO);
      assertThat(event.getFormattedMessage()).isEqualTo(DENIED.toJson());
    });
  }

  @Test
  void inMemorySinkKeepsTheNewestEvents() {
    InMemoryAuditSink sink = new InMemoryAuditSink(2);
    AuditEvent first = withReason("1");
    AuditEvent second = withReason("2");
    AuditEvent third = withReason("3");

    sink.record(first);
    sink.record(second);
    sink.record(third);

    assertThat(sink.events()).containsExactly(second, third);
    sink.clear();
    assertThat(sink.events()).isEmpty();
    assertThatThrownBy(() -> new InMemoryAuditSink(InMemoryAuditSink.CAPACITY_MAX + 1))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static AuditEvent withReason(String reason) {
    return new AuditEvent(DENIED.time(), DENIED.principal(), DENIED.accessKeyId(),
        DENIED.sourceAddress(), DENIED.action(), DENIED.resource(), DENIED.outcome(), reason);
  }
}
