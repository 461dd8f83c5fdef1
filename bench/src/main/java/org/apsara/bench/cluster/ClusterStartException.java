package org.apsara.bench.cluster;

import java.nio.file.Path;

/**
 * A member of a local cluster did not come up in time, or exited while starting. The message
 * names the system, the member and its log file, and quotes the end of the log.
 */
public final class ClusterStartException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String system;
  private final Path logFile;

  public ClusterStartException(String system, String detail, Path logFile, Throwable cause) {
    super(system + ": " + detail + (logFile == null ? "" : " (log: " + logFile + ")"), cause);
    this.system = system;
    this.logFile = logFile;
  }

  /** The system that failed, e.g. {@code "etcd"}. */
  public String system() {
    return system;
  }

  /** The log of the member that failed, or null when no member was started. */
  public Path logFile() {
    return logFile;
  }
}
