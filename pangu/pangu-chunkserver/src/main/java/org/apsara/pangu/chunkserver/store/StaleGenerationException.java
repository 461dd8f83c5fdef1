package org.apsara.pangu.chunkserver.store;

/**
 * The caller named a generation other than the replica's: one of the two is stale (the master
 * bumps the generation when it recovers a chunk, so that replicas that missed the recovery are
 * recognisable).
 */
public final class StaleGenerationException extends ChunkStoreException {
  private static final long serialVersionUID = 1L;
  private final long chunkId;
  private final long requestedGeneration;
  private final long replicaGeneration;

  public StaleGenerationException(long chunkId, long requestedGeneration, long replicaGeneration) {
    super("chunk " + chunkId + ": request names generation " + requestedGeneration
        + " but the replica here has generation " + replicaGeneration);
    this.chunkId = chunkId;
    this.requestedGeneration = requestedGeneration;
    this.replicaGeneration = replicaGeneration;
  }

  public long chunkId() {
    return chunkId;
  }

  public long requestedGeneration() {
    return requestedGeneration;
  }

  public long replicaGeneration() {
    return replicaGeneration;
  }
}
