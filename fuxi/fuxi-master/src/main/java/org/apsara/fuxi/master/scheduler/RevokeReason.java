package org.apsara.fuxi.master.scheduler;

/** Why the scheduler took units back from an application. */
public enum RevokeReason {
  /** The units were borrowed beyond the holder group's minimum; another group needs its minimum. */
  PREEMPTED_FOR_QUOTA,
  /** A role of higher priority in the same quota group waited too long for room. */
  PREEMPTED_FOR_PRIORITY,
  /** The machine died or left the cluster, or (after a failover) no machine reports the units. */
  MACHINE_LOST,
  /** The application (or the role) no longer exists. */
  APPLICATION_GONE
}
