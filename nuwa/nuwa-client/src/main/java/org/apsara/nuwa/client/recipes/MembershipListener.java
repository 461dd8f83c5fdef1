package org.apsara.nuwa.client.recipes;

/** Hears how the instances of a service change. Callbacks come one at a time, in order. */
@FunctionalInterface
public interface MembershipListener {
  /**
   * The instances changed. The first call, made when watching starts, lists every instance already
   * registered as added (possibly none); later calls are made only for actual changes.
   */
  void onChange(MembershipChange change);
}
