package org.apsara.nuwa.client;

import io.grpc.Status;

/**
 * The request did not complete within its deadline. For a write this does not say whether the write
 * was applied; read the key to find out.
 */
public final class NuwaTimeoutException extends NuwaException {
  public NuwaTimeoutException(String message, Throwable cause) {
    super(Status.Code.DEADLINE_EXCEEDED, message, cause);
  }
}
