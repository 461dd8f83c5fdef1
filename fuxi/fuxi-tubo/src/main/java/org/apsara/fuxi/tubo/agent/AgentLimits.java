package org.apsara.fuxi.tubo.agent;

import java.time.Duration;

/** Every limit and timing of the agent, in one place (the supervisor's are in TuboLimits). */
public final class AgentLimits {
  private AgentLimits() {}

  /** The heartbeat interval until the master answers with one. */
  public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(1);

  /** Shortest heartbeat interval taken from the master. */
  public static final Duration HEARTBEAT_INTERVAL_MIN = Duration.ofMillis(10);

  /**
   * Longest heartbeat interval taken from the master: it declares a Tubo dead after its dead
   * interval (10 s by default) without a heartbeat, so a longer one would be a master's mistake.
   */
  public static final Duration HEARTBEAT_INTERVAL_MAX = Duration.ofMinutes(1);

  /** How long one heartbeat call may take before it counts as failed. */
  public static final Duration HEARTBEAT_CALL_TIMEOUT = Duration.ofSeconds(5);

  /**
   * The first wait after a failed heartbeat; it doubles with each further failure, up to the
   * heartbeat interval, so that a dead member delays a heartbeat by about an interval at most.
   */
  public static final Duration HEARTBEAT_BACKOFF_INITIAL = Duration.ofMillis(50);

  /** Redirects to a named primary followed at once, before falling back to backoff. */
  public static final int REDIRECTS_IN_A_ROW_MAX = 3;

  /** Intervals without an answered heartbeat after which Tubo is not ready (see /ready). */
  public static final int MISSED_INTERVALS_NOT_READY = 3;

  /**
   * How long StartWorker waits for the extra heartbeat it sends when the grant table does not
   * cover the start (the AM may learn of a grant before this Tubo does).
   */
  public static final Duration GRANT_RECHECK_WAIT = Duration.ofSeconds(5);

  /**
   * Exits kept for the master until it acknowledges them; beyond it the oldest are dropped (the
   * master still sees the workers gone from the running list). A machine runs at most a few
   * hundred workers, so this is many heartbeats' worth of exits.
   */
  public static final int PENDING_EXITS_MAX = 10_000;

  /**
   * Application-master launches remembered, so that a launch repeated by the master (in every
   * answer until it sees the AM run) is not a second AM; the oldest are forgotten beyond it.
   */
  public static final int REMEMBERED_AM_LAUNCHES_MAX = 10_000;

  /** Threads running Tubo calls: StartWorker may wait for a heartbeat, StopWorker for a kill. */
  public static final int HANDLER_THREADS = 8;

  /**
   * How often Tubo reads the machine's available memory; evicting batch work within about a
   * second of a shortage keeps services clear of the kernel's OOM killer in most cases.
   */
  public static final Duration MEMORY_CHECK_INTERVAL = Duration.ofSeconds(1);

  /** How long {@code close} lets calls in flight finish. */
  public static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(2);
}
