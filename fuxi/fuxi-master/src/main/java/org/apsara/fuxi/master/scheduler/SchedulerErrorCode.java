package org.apsara.fuxi.master.scheduler;

/**
 * Why the scheduler refused a call. Every code means that nothing changed: the scheduler validates
 * a call completely before it touches any state.
 */
public enum SchedulerErrorCode {
  /**
   * A null, empty or over-long id ({@link SchedulerLimits#MAX_ID_LENGTH}), or another bad value.
   */
  INVALID_ARGUMENT,
  /** A capacity or shape that is not positive in both dimensions or over the per-machine limits. */
  INVALID_RESOURCES,
  /** A unit count below 1 or over {@link SchedulerLimits#MAX_UNITS_PER_CALL}. */
  COUNT_OUT_OF_RANGE,
  /** A role's pending units would exceed {@link SchedulerLimits#MAX_PENDING_UNITS_PER_ROLE}. */
  TOO_MANY_PENDING_UNITS,
  /**
   * A priority outside [{@link SchedulerLimits#MIN_PRIORITY}, {@link
   * SchedulerLimits#MAX_PRIORITY}].
   */
  PRIORITY_OUT_OF_RANGE,
  /** A role shape that no live machine could hold even when empty. */
  SHAPE_LARGER_THAN_ANY_MACHINE,
  UNKNOWN_MACHINE,
  UNKNOWN_RACK,
  UNKNOWN_APPLICATION,
  UNKNOWN_ROLE,
  UNKNOWN_QUOTA_GROUP,
  DUPLICATE_MACHINE,
  DUPLICATE_APPLICATION,
  DUPLICATE_ROLE,
  DUPLICATE_QUOTA_GROUP,
  /** A quota group cannot be removed while applications are registered in it. */
  QUOTA_GROUP_IN_USE,
  /** A quota group's minimum is larger than its maximum. */
  QUOTA_MIN_EXCEEDS_MAX,
  /** A quota group's minimum is larger than the capacity of all live machines. */
  QUOTA_MIN_EXCEEDS_CLUSTER,
  /** A release of more units than the role holds on the machine. */
  RELEASE_EXCEEDS_HELD,
  /** A request for a location the role has refused. */
  LOCATION_REFUSED,
  /** A table is full: machines, applications, roles, groups or refusals (the message names it). */
  LIMIT_EXCEEDED,
  /** A failover report that contradicts itself or the cluster (the message says how). */
  INVALID_REPORT,
  /** {@code rebuild} on a scheduler that already has machines or applications. */
  NOT_EMPTY
}
