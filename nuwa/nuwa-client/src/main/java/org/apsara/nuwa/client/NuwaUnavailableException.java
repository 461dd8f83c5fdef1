package org.apsara.nuwa.client;

import io.grpc.Status;

/**
 * No server could serve the request: every endpoint was unreachable, had no leader, or was shutting
 * down, for as long as the client kept retrying. For a write this does not say whether the write
 * was applied; read the key to find out.
 */
public final class NuwaUnavailableException extends NuwaException {
  public NuwaUnavailableException(String message, Throwable cause) {
    super(Status.Code.UNAVAILABLE, message, cause);
  }
}
