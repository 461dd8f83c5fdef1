package org.apsara.cli;

import java.nio.file.Path;
import org.apsara.common.logging.LogSettings;
import org.apsara.common.logging.Logging;
import org.slf4j.event.Level;

/** How each kind of command logs. */
public final class LogSetup {
  private LogSetup() {}

  /**
   * The embedded cluster: the console stays for what the user asked to see; everything goes, as
   * JSON lines, to the log directory. While the cluster starts (and again while it stops) its
   * parts retry one another and warn about it, as a member that is not up yet refuses connections
   * and a new master group has no leader for a moment: only errors reach the console then, and
   * warnings too from {@link #embeddedUp} on.
   */
  static void forEmbedded(Path logDir) {
    Logging.configure(LogSettings.builder()
        .level(Level.INFO)
        .consoleLevel(Level.ERROR)
        .file(logDir, "apsara")
        .build());
  }

  /** The embedded cluster is up: its warnings now say something is wrong, so show them. */
  static void embeddedUp() {
    Logging.setConsoleLevel(Level.WARN);
  }

  /** The embedded cluster is stopping: its parts lose one another on the way, as expected. */
  static void embeddedStopping() {
    Logging.setConsoleLevel(Level.ERROR);
  }

  /** One service process: readable (or JSON) lines on the console, JSON lines in its data directory. */
  static void forService(Path logDir, boolean jsonConsole) {
    Logging.configure(LogSettings.builder()
        .level(Level.INFO)
        .consoleFormat(jsonConsole ? LogSettings.ConsoleFormat.JSON : LogSettings.ConsoleFormat.HUMAN)
        .file(logDir, "apsara")
        .build());
  }

  /**
   * The built-in application master: readable lines on the console, which Tubo keeps in the
   * sandbox's {@code stderr} file beside the workers' output.
   */
  static void forAppMaster() {
    Logging.configure(LogSettings.builder().level(Level.INFO).build());
  }

  /** Client commands: only warnings, on the console. */
  public static void forClient() {
    Logging.configure(LogSettings.builder().level(Level.WARN).build());
  }
}
