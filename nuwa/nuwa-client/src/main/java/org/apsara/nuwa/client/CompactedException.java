package org.apsara.nuwa.client;

import io.grpc.Status;
import java.util.OptionalLong;

/**
 * The revision a request or watch asked for has been compacted away: the history it needs no longer
 * exists. Retrying the same request cannot succeed; the caller has to start again from the current
 * state (read it, then watch from the revision of that read).
 */
public final class CompactedException extends NuwaException {
  private final long compactRevision;

  /**
   * @param compactRevision the oldest revision still available, or {@code 0} when the server did
   *     not say (a range read reports compaction without the revision)
   */
  public CompactedException(String message, long compactRevision, Throwable cause) {
    super(Status.Code.OUT_OF_RANGE, message, cause);
    this.compactRevision = compactRevision;
  }

  /**
   * The revision the store was compacted at, when known: a watch that fails on compaction carries
   * it, a range read does not.
   */
  public OptionalLong compactRevision() {
    return compactRevision > 0 ? OptionalLong.of(compactRevision) : OptionalLong.empty();
  }
}
