package org.apsara.pangu.client;

import java.io.IOException;
import java.util.Objects;

/**
 * A Pangu operation failed. Carries the {@link PanguErrorCode} and the path the failure is about
 * (empty when it concerns no single path), so that callers, such as the Hadoop adapter, can map
 * it onto their own exception types without reading the message.
 *
 * <p>Unless the code is {@link PanguErrorCode#OUTCOME_UNKNOWN}, a failed master operation changed
 * nothing.
 */
public class PanguException extends IOException {
  private static final long serialVersionUID = 1L;

  private final PanguErrorCode code;
  private final String path;

  public PanguException(PanguErrorCode code, String path, String message) {
    this(code, path, message, null);
  }

  public PanguException(PanguErrorCode code, String path, String message, Throwable cause) {
    // The master's descriptions may already start with the code.
    super(message != null && message.startsWith(code.name() + ":") ? message
        : code + ": " + message, cause);
    this.code = Objects.requireNonNull(code, "code");
    this.path = path == null ? "" : path;
  }

  public PanguErrorCode code() {
    return code;
  }

  /** The path the failure is about, or "" if none. */
  public String path() {
    return path;
  }
}
