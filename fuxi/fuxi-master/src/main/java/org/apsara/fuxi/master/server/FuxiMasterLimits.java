package org.apsara.fuxi.master.server;

/**
 * Every limit the FuxiMaster server enforces on what callers send it and on what it buffers, in
 * one place (the scheduler's own limits are in {@code SchedulerLimits}). Constants only.
 */
public final class FuxiMasterLimits {
  /** Longest submit request id and application name, in UTF-8 bytes. */
  public static final int MAX_REQUEST_ID_BYTES = 256;

  public static final int MAX_NAME_BYTES = 256;

  /** Most arguments of an AM command, and most AM environment entries. */
  public static final int MAX_AM_COMMAND_ARGS = 1_024;

  public static final int MAX_AM_ENVIRONMENT_ENTRIES = 1_024;

  /** AM starts when the submit request says 0, and the most a request may ask for. */
  public static final int DEFAULT_AM_ATTEMPTS = 4;

  public static final int MAX_AM_ATTEMPTS = 100;

  /** Events (calls, heartbeats, stream messages, ticks) waiting for the scheduler thread. */
  public static final int MAX_QUEUED_EVENTS = 100_000;

  /**
   * Messages kept for an application whose AM is not connected (grants, revocations, worker
   * exits), delivered when it connects; beyond this the oldest are dropped.
   */
  public static final int MAX_UNDELIVERED_MESSAGES = 10_000;

  /** Items (definitions, requests, withdrawals, releases, refusals) in one Changes message. */
  public static final int MAX_CHANGE_ITEMS = 10_000;

  /** Changes messages an AM may send before its Welcome (during a rebuild); more are refused. */
  public static final int MAX_CHANGES_BEFORE_WELCOME = 1_000;

  /** Running workers and exits one heartbeat may carry. */
  public static final int MAX_WORKERS_PER_HEARTBEAT = 10_000;

  public static final int MAX_EXITS_PER_HEARTBEAT = 10_000;

  private FuxiMasterLimits() {}
}
