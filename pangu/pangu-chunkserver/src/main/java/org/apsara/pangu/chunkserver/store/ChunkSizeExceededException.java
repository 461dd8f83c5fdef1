package org.apsara.pangu.chunkserver.store;

/** An append would make the replica longer than the configured chunk size. */
public final class ChunkSizeExceededException extends ChunkStoreException {
  private static final long serialVersionUID = 1L;
  private final long chunkId;
  private final long chunkSizeBytes;

  public ChunkSizeExceededException(
      long chunkId, long replicaLength, long appendBytes, long chunkSizeBytes) {
    super("chunk " + chunkId + ": appending " + appendBytes + " bytes at length " + replicaLength
        + " would exceed the chunk size of " + chunkSizeBytes + " bytes");
    this.chunkId = chunkId;
    this.chunkSizeBytes = chunkSizeBytes;
  }

  public long chunkId() {
    return chunkId;
  }

  public long chunkSizeBytes() {
    return chunkSizeBytes;
  }
}
