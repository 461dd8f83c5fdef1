package org.apsara.pangu.chunkserver.store;

/**
 * An append named an offset other than the replica's current length: appends are strictly
 * sequential, so the writer and this replica disagree about what was written.
 */
public final class AppendOffsetMismatchException extends ChunkStoreException {
  private static final long serialVersionUID = 1L;
  private final long chunkId;
  private final long expectedOffset;
  private final long replicaLength;

  public AppendOffsetMismatchException(long chunkId, long expectedOffset, long replicaLength) {
    super("chunk " + chunkId + ": append expected offset " + expectedOffset
        + " but the replica's length is " + replicaLength);
    this.chunkId = chunkId;
    this.expectedOffset = expectedOffset;
    this.replicaLength = replicaLength;
  }

  public long chunkId() {
    return chunkId;
  }

  public long expectedOffset() {
    return expectedOffset;
  }

  /** The offset the next append must name. */
  public long replicaLength() {
    return replicaLength;
  }
}
