package org.apsara.pangu.chunkserver.store;

import java.nio.file.NoSuchFileException;

/**
 * The replica cannot be read or written because it is known to be corrupt in a way that leaves
 * nothing to verify against (its metadata is missing or unreadable, its data file is shorter than
 * its synced length), or, for writes, because any block of it failed verification. It has been
 * reported to the {@link CorruptReplicaListener}; the master re-replicates the chunk and deletes
 * this replica.
 */
public final class CorruptReplicaException extends ChunkStoreException {
  private static final long serialVersionUID = 1L;
  private final long chunkId;

  public CorruptReplicaException(long chunkId, String reason) {
    this(chunkId, reason, null);
  }

  /** @param cause what the disk said, such as the missing file's {@link NoSuchFileException} */
  public CorruptReplicaException(long chunkId, String reason, Throwable cause) {
    super("chunk " + chunkId + " is corrupt: " + reason, cause);
    this.chunkId = chunkId;
  }

  /**
   * Whether a file of the replica was missing, which on a volume that works means someone removed
   * it, and on one that does not, that the disk went away: the store checks the volume.
   */
  boolean fileMissing() {
    return getCause() instanceof NoSuchFileException;
  }

  public long chunkId() {
    return chunkId;
  }
}
