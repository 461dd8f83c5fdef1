package org.apsara.raft;

import org.apache.ratis.statemachine.SnapshotInfo;

/**
 * Says when a state machine storage should look for old snapshots to delete. Ratis calls
 * {@code cleanupOldSnapshots} after every call of {@code takeSnapshot}, and calls that after every
 * round of applied entries while a snapshot is due, whether or not one was taken (one is being
 * written, or {@link SnapshotRetry} holds the next try back). Only a new latest snapshot, taken or
 * installed, makes others old, so the directory is listed only then.
 *
 * <p>Not thread-safe: the apply thread, which Ratis calls both on, owns it.
 */
public final class SnapshotCleanupGate {
  private boolean cleanedUp;
  /** With {@link #cleanedUp}: the latest snapshot when old ones were last looked for. */
  private SnapshotInfo cleanedUpTo;

  /** Whether to look for old snapshots now that {@code latest} (or null) is the latest. */
  public boolean due(SnapshotInfo latest) {
    if (cleanedUp && cleanedUpTo == latest) {
      return false;
    }
    cleanedUp = true;
    cleanedUpTo = latest;
    return true;
  }
}
