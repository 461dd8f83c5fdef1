package org.apsara.fuxi.master.scheduler;

/**
 * A change the scheduler announces: units granted to or revoked from a role of an application on
 * one machine. The network layer forwards a decision to the application master and to the Tubo of
 * the machine. Decisions are deltas, never a full state.
 */
public sealed interface Decision permits Decision.Grant, Decision.Revoke {
  String appId();

  String role();

  String machineId();

  /** Units (each of the role's shape), at least 1. */
  int count();

  /**
   * {@code count} more units of {@code role} are now held by {@code appId} on {@code machineId}.
   */
  record Grant(String appId, String role, String machineId, int count) implements Decision {}

  /** {@code count} units the application held on the machine are taken away, for {@code reason}. */
  record Revoke(String appId, String role, String machineId, int count, RevokeReason reason)
      implements Decision {}
}
