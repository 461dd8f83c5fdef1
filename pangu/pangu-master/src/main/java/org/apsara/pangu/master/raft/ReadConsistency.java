package org.apsara.pangu.master.raft;

/** How current a read must be. */
public enum ReadConsistency {
  /**
   * Served by the leader once it has confirmed its leadership with a majority and applied up to
   * its commit index (a Raft read index): the read sees every change acknowledged before it
   * began. Followers refuse it with {@link MasterUnavailableException.Reason#NOT_LEADER}.
   */
  LINEARIZABLE,
  /**
   * Served by any member from what it has applied, without asking anyone: fast, never blocks,
   * but may miss recent changes.
   */
  STALE
}
