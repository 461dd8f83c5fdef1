package org.apsara.pangu.master.namespace;

/**
 * What the namespace says about one chunk id, as the leader's chunk manager asks about every
 * replica a chunkserver reports. Read from one consistent state. Immutable.
 */
public sealed interface ChunkOwnership {
  long chunkId();

  /**
   * The chunk is chunk {@code chunk.index()} of a file.
   *
   * @param chunk the chunk as recorded; {@code chunk.sealed()} once committed
   * @param replication the file's replication
   * @param chunkSizeBytes the file's chunk size
   */
  record InFile(ChunkInfo chunk, int replication, long chunkSizeBytes) implements ChunkOwnership {
    @Override
    public long chunkId() {
      return chunk.chunkId();
    }

    /** The chunk has its final length and generation (it is not a writer's open chunk). */
    public boolean committed() {
      return chunk.sealed();
    }
  }

  /** No file refers to the chunk any more; its replicas are to be deleted, then it is forgotten. */
  record Garbage(GarbageChunkInfo garbage) implements ChunkOwnership {
    @Override
    public long chunkId() {
      return garbage.chunkId();
    }
  }

  /**
   * The id was allocated once, but no file refers to it and it is no longer garbage (forgotten
   * after its known replicas were deleted): a replica of it is left over and may be deleted.
   */
  record Orphan(long chunkId) implements ChunkOwnership {}

  /**
   * The id is at or past the next chunk id of this state: a chunk allocated by records this
   * state has not applied yet. Its replicas must be left alone.
   */
  record NotYetAllocated(long chunkId) implements ChunkOwnership {}
}
