package org.apsara.pangu.master.namespace;

import java.util.Objects;

/**
 * A command the namespace refused, with a typed {@link #code() code}, the path it concerns and a
 * message naming that path and whatever else explains the refusal (the lease holder and expiry,
 * the quota directory with its limit and usage). Immutable.
 */
public final class NamespaceException extends Exception {
  private static final long serialVersionUID = 1L;

  private final NamespaceErrorCode code;
  private final String path;

  public NamespaceException(NamespaceErrorCode code, String path, String message) {
    super(code + ": " + message, null, false, false);
    this.code = Objects.requireNonNull(code, "code");
    this.path = path == null ? "" : path;
  }

  public NamespaceErrorCode code() {
    return code;
  }

  /** The path the refusal is about (empty when the command named none, e.g. renewLease). */
  public String path() {
    return path;
  }
}
