package org.apsara.nuwa.client;

import java.util.List;
import java.util.Objects;

/**
 * A batch of changes delivered to a watch listener. Immutable.
 *
 * @param header the server's revision when it sent the batch
 * @param events the changes, in revision order, never empty; all changes of one revision arrive in
 *     the same batch
 */
public record WatchResponse(ResponseHeader header, List<WatchEvent> events) {
  public WatchResponse {
    Objects.requireNonNull(header, "header");
    events = List.copyOf(events);
  }
}
