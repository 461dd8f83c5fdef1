package org.apsara.pangu.master.raft;

/**
 * Told when this member becomes the ready leader (it has applied every entry of earlier terms
 * and may propose) and when it stops leading: how state that only the leader keeps, such as the
 * chunk manager's soft state, is started and dropped.
 */
public interface LeadershipObserver {
  /** Called on Ratis's apply thread: must return quickly (hand work to another thread). */
  void leaderReady(long term);

  /** Called on a Ratis thread: must return quickly. */
  void leadershipLost();
}
