package org.apsara.nuwa.client;

import io.grpc.Status;

/**
 * The lease does not exist: it was never granted, has been revoked, or has expired. Keys that were
 * attached to it are gone.
 */
public final class LeaseNotFoundException extends NuwaException {
  public LeaseNotFoundException(String message, Throwable cause) {
    super(Status.Code.NOT_FOUND, message, cause);
  }
}
