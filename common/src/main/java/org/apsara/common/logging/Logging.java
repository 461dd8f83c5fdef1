package org.apsara.common.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.Layout;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.rolling.FixedWindowRollingPolicy;
import ch.qos.logback.core.rolling.RollingFileAppender;
import ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy;
import ch.qos.logback.core.spi.FilterReply;
import ch.qos.logback.core.util.Duration;
import ch.qos.logback.core.util.FileSize;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;

/**
 * Configures logback from code, so that every Apsara process logs the same way without XML files.
 *
 * <p>Console output goes to standard error (as etcd's does), keeping standard output free for the
 * results of command-line tools. The optional file gets JSON lines ({@link JsonLineLayout}).
 *
 * <p>Thread-safe: {@link #configure}, {@link #setConsoleLevel} and {@link #stop} are serialized;
 * logging from other threads while reconfiguring is safe but events logged in between may be lost.
 */
public final class Logging {
  /** The human-readable console line; key-value pairs follow the message when there are any. */
  public static final String HUMAN_PATTERN =
      "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{36} - %msg%replace( %kvp){'^ $',''}%n";

  /**
   * How often the file size is compared with the limit: logback checks on logging, at most this
   * often, so a file can overshoot by what is logged in this time.
   */
  public static final int ROLL_CHECK_INTERVAL_MS = 100;

  /** The logger services record audit events on (who did what, allowed or denied, and why). */
  public static final String AUDIT_LOGGER = "apsara.audit";

  /** With a log directory, audit events go to {@code audit.log} there, and only there. */
  public static final String AUDIT_FILE_BASE_NAME = "audit";

  // java.util.logging forgets the level of a logger nobody references; these keep them alive.
  private static final List<java.util.logging.Logger> julLoggers = new ArrayList<>();
  /** The console appender's threshold since the last {@link #configure}; null before it. */
  private static ConsoleThreshold consoleThreshold;

  private Logging() {}

  /**
   * Replaces the whole logging configuration of this process with {@code settings}.
   *
   * @throws IllegalStateException if SLF4J is not bound to logback
   * @throws UncheckedIOException if the log directory cannot be created
   */
  public static synchronized void configure(LogSettings settings) {
    LoggerContext context = loggerContext();
    context.reset();

    Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(toLogback(settings.level()));

    ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
    console.setContext(context);
    console.setName("console");
    console.setTarget("System.err");
    console.setEncoder(encoder(context, settings.consoleFormat() == LogSettings.ConsoleFormat.JSON
        ? jsonLayout(context) : humanLayout(context)));
    consoleThreshold = new ConsoleThreshold(toLogback(settings.consoleLevel()));
    consoleThreshold.setContext(context);
    consoleThreshold.start();
    console.addFilter(consoleThreshold);
    console.start();
    root.addAppender(console);

    settings.fileDirectory().ifPresent(directory -> {
      root.addAppender(fileAppender(context, directory, settings.fileBaseName(), settings));
      // Audit events get a file of their own, so that they can be kept and searched apart from
      // (and are not rolled away by) ordinary logs.
      Logger audit = context.getLogger(AUDIT_LOGGER);
      audit.setAdditive(false);
      audit.addAppender(fileAppender(context, directory, AUDIT_FILE_BASE_NAME, settings));
    });

    julLoggers.clear();
    for (Map.Entry<String, org.slf4j.event.Level> entry : settings.loggerLevels().entrySet()) {
      context.getLogger(entry.getKey()).setLevel(toLogback(entry.getValue()));
      // gRPC logs through java.util.logging, which logback's levels do not reach.
      java.util.logging.Logger jul = java.util.logging.Logger.getLogger(entry.getKey());
      jul.setLevel(toJul(entry.getValue()));
      julLoggers.add(jul);
    }
  }

  /**
   * Moves the console's threshold while the process runs; the file, if any, keeps getting every
   * event at the configured level.
   *
   * @throws IllegalStateException if {@link #configure} has not been called
   */
  public static synchronized void setConsoleLevel(org.slf4j.event.Level level) {
    if (consoleThreshold == null) {
      throw new IllegalStateException("logging is not configured");
    }
    consoleThreshold.level = toLogback(level);
  }

  /** Flushes and closes every appender; call last, e.g. from a shutdown hook. */
  public static synchronized void stop() {
    loggerContext().stop();
  }

  private static RollingFileAppender<ILoggingEvent> fileAppender(
      LoggerContext context, Path directory, String baseName, LogSettings settings) {
    try {
      Files.createDirectories(directory);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create log directory " + directory, e);
    }
    RollingFileAppender<ILoggingEvent> file = new RollingFileAppender<>();
    file.setContext(context);
    file.setName(baseName);
    file.setFile(directory.resolve(baseName + ".log").toString());

    FixedWindowRollingPolicy rolling = new FixedWindowRollingPolicy();
    rolling.setContext(context);
    rolling.setParent(file);
    // Logback treats '%' specially in file name patterns; base names are plain file names, but
    // escape it anyway rather than fail in an obscure way.
    rolling.setFileNamePattern(directory.resolve(
        baseName.replace("%", "\\%") + ".%i.log").toString());
    rolling.setMinIndex(1);
    rolling.setMaxIndex(settings.filesMax() - 1);
    rolling.start();

    SizeBasedTriggeringPolicy<ILoggingEvent> trigger = new SizeBasedTriggeringPolicy<>();
    trigger.setContext(context);
    trigger.setMaxFileSize(new FileSize(settings.fileSizeBytesMax()));
    trigger.setCheckIncrement(Duration.buildByMilliseconds(ROLL_CHECK_INTERVAL_MS));
    trigger.start();

    file.setRollingPolicy(rolling);
    file.setTriggeringPolicy(trigger);
    file.setEncoder(encoder(context, jsonLayout(context)));
    file.start();
    return file;
  }

  private static Layout<ILoggingEvent> humanLayout(LoggerContext context) {
    PatternLayout layout = new PatternLayout();
    layout.setContext(context);
    layout.setPattern(HUMAN_PATTERN);
    layout.start();
    return layout;
  }

  private static Layout<ILoggingEvent> jsonLayout(LoggerContext context) {
    JsonLineLayout layout = new JsonLineLayout();
    layout.setContext(context);
    layout.start();
    return layout;
  }

  private static LayoutWrappingEncoder<ILoggingEvent> encoder(
      LoggerContext context, Layout<ILoggingEvent> layout) {
    LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
    encoder.setContext(context);
    encoder.setLayout(layout);
    encoder.setCharset(StandardCharsets.UTF_8);
    encoder.start();
    return encoder;
  }

  private static LoggerContext loggerContext() {
    ILoggerFactory factory = LoggerFactory.getILoggerFactory();
    if (!(factory instanceof LoggerContext context)) {
      throw new IllegalStateException(
          "SLF4J is bound to " + factory.getClass().getName() + ", not logback");
    }
    return context;
  }

  /** Passes events at or above a level that {@link #setConsoleLevel} can move. */
  private static final class ConsoleThreshold extends Filter<ILoggingEvent> {
    private volatile Level level;

    ConsoleThreshold(Level level) {
      this.level = level;
    }

    @Override
    public FilterReply decide(ILoggingEvent event) {
      return event.getLevel().isGreaterOrEqual(level) ? FilterReply.NEUTRAL : FilterReply.DENY;
    }
  }

  private static Level toLogback(org.slf4j.event.Level level) {
    return Level.toLevel(level.name());
  }

  private static java.util.logging.Level toJul(org.slf4j.event.Level level) {
    return switch (level) {
      case ERROR -> java.util.logging.Level.SEVERE;
      case WARN -> java.util.logging.Level.WARNING;
      case INFO -> java.util.logging.Level.INFO;
      case DEBUG -> java.util.logging.Level.FINE;
      case TRACE -> java.util.logging.Level.FINEST;
    };
  }
}
