package org.apsara.common.logging;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.event.Level;

/**
 * How a process logs: see {@link Logging#configure(LogSettings)}. Immutable; build with {@link
 * #builder()}.
 *
 * <p>Defaults: human-readable console output at INFO, no log file, and the libraries that log a lot
 * at INFO ({@link #NOISY_LIBRARIES}) at WARN.
 */
public final class LogSettings {
  /** The format of console output. */
  public enum ConsoleFormat {
    /** One readable line per event: time, level, thread, logger, message, key-value pairs. */
    HUMAN,
    /** The same JSON lines as the log file ({@link JsonLineLayout}). */
    JSON
  }

  /** Size at which the log file is rolled over: 64 MiB. */
  public static final long FILE_SIZE_BYTES_DEFAULT = 64L * 1024 * 1024;

  /** Log files kept, counting the active one: 5 (so at most about 320 MiB by default). */
  public static final int FILES_DEFAULT = 5;

  /** Fewest files: the active one and one rolled over. */
  public static final int FILES_MIN = 2;

  /** Most files: logback's fixed-window rolling keeps at most 20 rolled-over files. */
  public static final int FILES_MAX = 21;

  /** Smallest allowed roll-over size, so that a typo cannot make every line its own file. */
  public static final long FILE_SIZE_BYTES_MIN = 64L * 1024;

  /** Loggers of libraries that are chatty at INFO; they log at WARN unless configured otherwise. */
  public static final Map<String, Level> NOISY_LIBRARIES = Map.of(
      "org.apache.ratis", Level.WARN,
      "io.grpc", Level.WARN,
      "io.netty", Level.WARN,
      "org.apache.zookeeper", Level.WARN);

  private final Level level;
  private final Level consoleLevel;
  private final ConsoleFormat consoleFormat;
  private final Path fileDirectory;
  private final String fileBaseName;
  private final long fileSizeBytesMax;
  private final int filesMax;
  private final Map<String, Level> loggerLevels;

  private LogSettings(Builder builder) {
    this.level = builder.level;
    this.consoleLevel = builder.consoleLevel;
    this.consoleFormat = builder.consoleFormat;
    this.fileDirectory = builder.fileDirectory;
    this.fileBaseName = builder.fileBaseName;
    this.fileSizeBytesMax = builder.fileSizeBytesMax;
    this.filesMax = builder.filesMax;
    Map<String, Level> levels = new LinkedHashMap<>(NOISY_LIBRARIES);
    levels.putAll(builder.loggerLevels);
    this.loggerLevels = Map.copyOf(levels);
  }

  /** The defaults described on the class. */
  public static LogSettings defaults() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Level of the root logger. */
  public Level level() {
    return level;
  }

  /**
   * The least severe level that reaches the console, on top of {@link #level()}: an embedded
   * cluster keeps its terminal for warnings while the file gets everything.
   */
  public Level consoleLevel() {
    return consoleLevel;
  }

  public ConsoleFormat consoleFormat() {
    return consoleFormat;
  }

  /** Directory of the JSON-lines log file; empty if logging to the console only. */
  public Optional<Path> fileDirectory() {
    return Optional.ofNullable(fileDirectory);
  }

  /** Name of the active log file without {@code .log}; rolled files add {@code .1}, {@code .2}... */
  public String fileBaseName() {
    return fileBaseName;
  }

  public long fileSizeBytesMax() {
    return fileSizeBytesMax;
  }

  /** Log files kept, counting the active one. */
  public int filesMax() {
    return filesMax;
  }

  /** Levels of individual loggers (by name prefix), including those of {@link #NOISY_LIBRARIES}. */
  public Map<String, Level> loggerLevels() {
    return loggerLevels;
  }

  @Override
  public String toString() {
    return "LogSettings{level=" + level + ", console=" + consoleFormat + ", file="
        + (fileDirectory == null ? "none" : fileDirectory.resolve(fileBaseName + ".log"))
        + ", fileSizeBytesMax=" + fileSizeBytesMax + ", filesMax=" + filesMax
        + ", loggerLevels=" + loggerLevels + "}";
  }

  /** Builds {@link LogSettings}; not thread-safe. */
  public static final class Builder {
    private Level level = Level.INFO;
    private Level consoleLevel = Level.TRACE;
    private ConsoleFormat consoleFormat = ConsoleFormat.HUMAN;
    private Path fileDirectory;
    private String fileBaseName = "apsara";
    private long fileSizeBytesMax = FILE_SIZE_BYTES_DEFAULT;
    private int filesMax = FILES_DEFAULT;
    private final Map<String, Level> loggerLevels = new LinkedHashMap<>();

    private Builder() {}

    public Builder level(Level level) {
      this.level = Objects.requireNonNull(level, "level");
      return this;
    }

    public Builder consoleLevel(Level consoleLevel) {
      this.consoleLevel = Objects.requireNonNull(consoleLevel, "consoleLevel");
      return this;
    }

    public Builder consoleFormat(ConsoleFormat consoleFormat) {
      this.consoleFormat = Objects.requireNonNull(consoleFormat, "consoleFormat");
      return this;
    }

    /**
     * Also log JSON lines to {@code <directory>/<baseName>.log}, rolling over by size. The
     * directory is created if missing.
     */
    public Builder file(Path directory, String baseName) {
      Objects.requireNonNull(directory, "directory");
      if (baseName == null || baseName.isBlank() || baseName.contains("/")
          || baseName.contains("\\")) {
        throw new IllegalArgumentException("log file base name must be a plain file name: "
            + baseName);
      }
      this.fileDirectory = directory;
      this.fileBaseName = baseName;
      return this;
    }

    public Builder fileSizeBytesMax(long bytes) {
      if (bytes < FILE_SIZE_BYTES_MIN) {
        throw new IllegalArgumentException(
            "log file size " + bytes + " is below the minimum of " + FILE_SIZE_BYTES_MIN + " bytes");
      }
      this.fileSizeBytesMax = bytes;
      return this;
    }

    public Builder filesMax(int files) {
      if (files < FILES_MIN || files > FILES_MAX) {
        throw new IllegalArgumentException(
            "log files kept must be " + FILES_MIN + ".." + FILES_MAX + ", got " + files);
      }
      this.filesMax = files;
      return this;
    }

    /** Sets the level of one logger and its descendants; overrides {@link #NOISY_LIBRARIES}. */
    public Builder loggerLevel(String loggerName, Level level) {
      if (loggerName == null || loggerName.isBlank()) {
        throw new IllegalArgumentException("logger name must not be empty");
      }
      loggerLevels.put(loggerName, Objects.requireNonNull(level, "level"));
      return this;
    }

    public LogSettings build() {
      return new LogSettings(this);
    }
  }
}
