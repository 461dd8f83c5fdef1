package org.apsara.pangu.chunkserver.store;

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
    super("chunk " + chunkId + " is corrupt: " + reason);
    this.chunkId = chunkId;
  }

  public long chunkId() {
    return chunkId;
  }
}
