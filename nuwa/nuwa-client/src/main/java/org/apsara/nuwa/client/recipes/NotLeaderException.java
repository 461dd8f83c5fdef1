package org.apsara.nuwa.client.recipes;

import io.grpc.Status;
import org.apsara.nuwa.client.NuwaException;

/** An election operation that needs leadership was made by a candidate that does not have it. */
public final class NotLeaderException extends NuwaException {
  public NotLeaderException(String message) {
    super(Status.Code.FAILED_PRECONDITION, message);
  }
}
