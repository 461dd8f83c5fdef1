package org.apsara.pangu.master.repair;

import org.apsara.pangu.master.chunks.ChunkServerView;

/** One call the replication monitor makes on a chunkserver to repair a chunk. Immutable. */
public sealed interface RepairAction {
  long chunkId();

  ChunkServerView server();

  /** Seal an open replica of a committed chunk at the committed length. */
  record Seal(long chunkId, ChunkServerView server, long generation, long lengthBytes)
      implements RepairAction {}

  /** Delete a replica that is corrupt, stale, excess, garbage or an orphan. */
  record Delete(long chunkId, ChunkServerView server, long generation, Reason reason)
      implements RepairAction {}

  /** Why a replica is deleted. */
  enum Reason {
    /** A check failed on it; a healthy copy exists elsewhere. */
    CORRUPT,
    /** Its generation or length is not the committed one; a healthy copy exists elsewhere. */
    STALE,
    /** The chunk has more healthy replicas than its file's replication. */
    EXCESS,
    /** The chunk's file was deleted or the chunk dropped. */
    GARBAGE,
    /** The namespace does not know the chunk any more. */
    ORPHAN
  }
}
