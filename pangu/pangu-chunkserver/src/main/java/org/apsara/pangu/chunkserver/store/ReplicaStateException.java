package org.apsara.pangu.chunkserver.store;

/**
 * The replica's state forbids the operation: appending to a sealed replica, bumping the
 * generation of an open one, writing to one whose earlier write failed, sealing at a length it
 * does not have.
 */
public final class ReplicaStateException extends ChunkStoreException {
  private static final long serialVersionUID = 1L;
  private final long chunkId;
  private final ReplicaState state;

  public ReplicaStateException(long chunkId, ReplicaState state, String message) {
    super("chunk " + chunkId + " (" + state + "): " + message);
    this.chunkId = chunkId;
    this.state = state;
  }

  public long chunkId() {
    return chunkId;
  }

  public ReplicaState state() {
    return state;
  }
}
