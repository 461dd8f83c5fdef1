package org.apsara.pangu.chunkserver.store;

/** {@code create} found a replica of the chunk already here, of any generation. */
public final class ReplicaExistsException extends ChunkStoreException {
  private static final long serialVersionUID = 1L;
  private final long chunkId;
  private final long existingGeneration;

  public ReplicaExistsException(long chunkId, long existingGeneration) {
    super("a replica of chunk " + chunkId + " already exists (generation " + existingGeneration
        + ")");
    this.chunkId = chunkId;
    this.existingGeneration = existingGeneration;
  }

  public long chunkId() {
    return chunkId;
  }

  public long existingGeneration() {
    return existingGeneration;
  }
}
