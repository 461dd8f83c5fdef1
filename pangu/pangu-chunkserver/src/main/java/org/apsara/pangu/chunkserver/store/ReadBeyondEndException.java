package org.apsara.pangu.chunkserver.store;

/** A read asked for bytes past the replica's current (visible) length. */
public final class ReadBeyondEndException extends ChunkStoreException {
  private static final long serialVersionUID = 1L;
  private final long chunkId;
  private final long offset;
  private final long length;
  private final long replicaLength;

  public ReadBeyondEndException(long chunkId, long offset, long length, long replicaLength) {
    super("chunk " + chunkId + ": cannot read " + length + " bytes at offset " + offset
        + ": the replica has " + replicaLength + " bytes");
    this.chunkId = chunkId;
    this.offset = offset;
    this.length = length;
    this.replicaLength = replicaLength;
  }

  public long chunkId() {
    return chunkId;
  }

  public long offset() {
    return offset;
  }

  public long length() {
    return length;
  }

  public long replicaLength() {
    return replicaLength;
  }
}
