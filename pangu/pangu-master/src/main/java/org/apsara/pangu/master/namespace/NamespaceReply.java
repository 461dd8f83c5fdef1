package org.apsara.pangu.master.namespace;

import java.util.List;

/**
 * What applying one record produced, identical on every replica. The replica that serves the
 * client turns it into the RPC answer. Immutable.
 */
public sealed interface NamespaceReply {

  /** The record was refused at apply; nothing but the applied index changed. */
  record Failed(NamespaceException error) implements NamespaceReply {}

  /** The record's index was at or below the applied index, so it was not applied again. */
  record AlreadyApplied(long index) implements NamespaceReply {}

  /** mkdirs, create, append, close, recoverLease, rename, setTimes/Permission/Owner/Quota. */
  record Status(FileStatus status) implements NamespaceReply {}

  /** addChunk: the allocated chunk; commitChunk: the sealed chunk. */
  record Chunk(ChunkInfo chunk) implements NamespaceReply {}

  /**
   * renewLease.
   *
   * @param renewed live leases extended
   * @param expired leases of the client that had already run out and were left as they are
   */
  record LeasesRenewed(int renewed, int expired) implements NamespaceReply {}

  /**
   * delete.
   *
   * @param detached the target was too big to free at once and waits for reclaim records
   * @param garbageChunks chunks that became garbage by this record
   */
  record Deleted(boolean detached, int garbageChunks) implements NamespaceReply {}

  /**
   * reclaimDeleted.
   *
   * @param inodesFreed inodes deleted from the store
   * @param garbageChunks chunks that became garbage
   * @param done the reclaim queue is empty afterwards
   */
  record Reclaimed(int inodesFreed, int garbageChunks, boolean done) implements NamespaceReply {}

  /** forgetGarbageChunks: how many of the ids were garbage and are now forgotten. */
  record GarbageForgotten(int chunks) implements NamespaceReply {}

  /** A record batch: one reply per record of the batch, in order. */
  record Batch(List<NamespaceReply> replies) implements NamespaceReply {
    public Batch {
      replies = List.copyOf(replies);
    }
  }

  /** Throws the refusal if this reply is {@link Failed}, else returns this reply. */
  default NamespaceReply orThrow() throws NamespaceException {
    if (this instanceof Failed failed) {
      throw failed.error();
    }
    return this;
  }
}
