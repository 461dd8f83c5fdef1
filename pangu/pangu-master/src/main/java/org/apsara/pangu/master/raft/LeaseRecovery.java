package org.apsara.pangu.master.raft;

import org.apsara.pangu.master.namespace.NamespaceException;

/**
 * How the leader closes a file whose writer's lease expired. The chunk-aware implementation asks
 * the replicas of an uncommitted last chunk how much they synced and commits that much; without
 * one (a master with no chunkservers, as in namespace tests) the node drops such a chunk, which
 * is right only because no replica of it can exist.
 */
@FunctionalInterface
public interface LeaseRecovery {
  /**
   * Tries to close {@code path} as {@code clientName}; returns true once the file is closed
   * (or was already), false if the recovery cannot finish yet and should be tried again later.
   * Blocks, bounded by the implementation's timeouts; called on the leader duties thread or a
   * request thread.
   *
   * @throws NamespaceException if the namespace refuses (another client's live lease, no such
   *     file...)
   */
  boolean recover(String path, String clientName) throws NamespaceException;
}
