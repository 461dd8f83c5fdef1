package org.apsara.nuwa.client.recipes;

import java.util.Optional;

/** Hears who leads an election. Callbacks come one at a time, in order. */
@FunctionalInterface
public interface LeaderListener {
  /**
   * The leader is now {@code leader}, or nobody. Called once with the state when observation
   * starts, then on every change of leader or of the leader's proclaimed value.
   */
  void onLeaderChange(Optional<Leader> leader);
}
