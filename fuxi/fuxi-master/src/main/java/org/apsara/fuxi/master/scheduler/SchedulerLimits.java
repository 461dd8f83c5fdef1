package org.apsara.fuxi.master.scheduler;

/**
 * Every limit the scheduler enforces, in one place. Table sizes bound memory; the probe limits
 * bound the work of one event, which is what keeps per-event cost independent of the number of
 * machines and requests.
 */
public final class SchedulerLimits {
  /** Longest machine, rack, application, role or quota group id, in chars. */
  public static final int MAX_ID_LENGTH = 256;

  /** Most live machines. */
  public static final int MAX_MACHINES = 100_000;

  /** Most registered applications. */
  public static final int MAX_APPLICATIONS = 100_000;

  /** Most roles one application defines. */
  public static final int MAX_ROLES_PER_APPLICATION = 1_024;

  /** Most quota groups. */
  public static final int MAX_QUOTA_GROUPS = 1_024;

  /** Most refused machines plus racks per role. */
  public static final int MAX_REFUSALS_PER_ROLE = 4_096;

  /** Largest CPU capacity of one machine, and so of one shape: 16,384 cores. */
  public static final long MAX_MACHINE_CPU_MILLIS = 16_384_000L;

  /** Largest memory capacity of one machine, and so of one shape: 64 TiB. */
  public static final long MAX_MACHINE_MEMORY_MIB = 64L * 1024 * 1024;

  /** Most units one request or release names. */
  public static final int MAX_UNITS_PER_CALL = 1_000_000;

  /** Most units one role may have waiting, over all locations. */
  public static final int MAX_PENDING_UNITS_PER_ROLE = 10_000_000;

  /** Priority bounds; a larger value is more urgent. */
  public static final int MIN_PRIORITY = 0;

  public static final int MAX_PRIORITY = 1_000;

  /**
   * Most tree nodes one search for a machine with room may visit. The free-capacity tree prunes on
   * the per-subtree maximum of each dimension separately, so a fragmented cluster (cpu free here,
   * memory free there) could otherwise make one search walk many machines; past this bound the
   * request simply waits and is served when capacity frees up or on a later tick.
   */
  public static final int MAX_FIT_NODE_VISITS = 512;

  /** Most waiting demands one queue offers a freed machine to, per event. */
  public static final int MAX_OFFER_PROBES = 64;

  /** Most lowest-priority allocations examined per group when looking for a preemption victim. */
  public static final int MAX_VICTIM_PROBES = 64;

  /**
   * Most preemption exchanges (revocations on one machine, then a grant there) for one starving
   * request per retry; a request that needs more continues at its next retry, one preemption wait
   * later.
   */
  public static final int MAX_PREEMPTION_ROUNDS = 64;

  /** Most expired timers (locality relaxations, preemption checks) one tick handles. */
  public static final int MAX_TIMERS_PER_TICK = 10_000;

  private SchedulerLimits() {}
}
