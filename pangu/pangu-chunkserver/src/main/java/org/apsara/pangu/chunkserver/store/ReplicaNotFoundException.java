package org.apsara.pangu.chunkserver.store;

/** No replica of this chunk is on this chunkserver (or it was deleted meanwhile). */
public final class ReplicaNotFoundException extends ChunkStoreException {
  private static final long serialVersionUID = 1L;
  private final long chunkId;

  public ReplicaNotFoundException(long chunkId) {
    super("no replica of chunk " + chunkId + " on this chunkserver");
    this.chunkId = chunkId;
  }

  public long chunkId() {
    return chunkId;
  }
}
