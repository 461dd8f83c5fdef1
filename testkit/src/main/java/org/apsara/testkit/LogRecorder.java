package org.apsara.testkit;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Records what one logger (and those below it) logs while it is open, for tests that count how
 * often a process complains. Thread-safe: logback serializes the appends.
 */
public final class LogRecorder implements AutoCloseable {
  private final Logger logger;
  private final ListAppender<ILoggingEvent> events = new ListAppender<>();

  private LogRecorder(String loggerName) {
    this.logger = (Logger) LoggerFactory.getLogger(loggerName);
    events.start();
    logger.addAppender(events);
  }

  /** Starts recording {@code loggerName}'s events. */
  public static LogRecorder of(String loggerName) {
    return new LogRecorder(loggerName);
  }

  /** How many events so far have a formatted message containing {@code text}. */
  public long count(String text) {
    List<ILoggingEvent> seen;
    synchronized (events) {
      // The appender appends under its own lock.
      seen = List.copyOf(events.list);
    }
    return seen.stream().filter(e -> e.getFormattedMessage().contains(text)).count();
  }

  @Override
  public void close() {
    logger.detachAppender(events);
    events.stop();
  }
}
