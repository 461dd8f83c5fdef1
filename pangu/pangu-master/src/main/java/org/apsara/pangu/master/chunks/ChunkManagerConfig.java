package org.apsara.pangu.master.chunks;

import java.time.Duration;

/**
 * How the leader's chunk manager judges chunkservers and paces repair. Immutable.
 *
 * @param heartbeatInterval how often chunkservers are told to heartbeat
 * @param deadInterval a chunkserver silent for this long is declared dead and its replicas are
 *     re-replicated; at least two heartbeat intervals, so one lost heartbeat kills nobody
 * @param copiesPerServerMax re-replication copies one chunkserver takes part in at a time, as
 *     source or target, so that repair never saturates a disk that also serves clients
 */
public record ChunkManagerConfig(
    Duration heartbeatInterval, Duration deadInterval, int copiesPerServerMax) {
  /** As HDFS: a chunkserver reports every 3 s. */
  public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(3);
  /**
   * Ten missed heartbeats. HDFS waits 10.5 minutes before it re-replicates; Pangu's chunks are
   * smaller than a disk's worth and copies are bounded per server, so it starts sooner.
   */
  public static final Duration DEFAULT_DEAD_INTERVAL = Duration.ofSeconds(30);
  /** As HDFS's default of two replication streams per datanode. */
  public static final int DEFAULT_COPIES_PER_SERVER_MAX = 2;
  /** Most copies per server anyone may configure. */
  public static final int COPIES_PER_SERVER_LIMIT = 64;

  public static final ChunkManagerConfig DEFAULTS = new ChunkManagerConfig(
      DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_DEAD_INTERVAL, DEFAULT_COPIES_PER_SERVER_MAX);

  public ChunkManagerConfig {
    if (heartbeatInterval == null || heartbeatInterval.toMillis() < 1) {
      throw new IllegalArgumentException("heartbeat interval must be at least 1 ms: "
          + heartbeatInterval);
    }
    if (heartbeatInterval.toMillis() > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("heartbeat interval is too long: " + heartbeatInterval);
    }
    if (deadInterval == null || deadInterval.compareTo(heartbeatInterval.multipliedBy(2)) < 0) {
      throw new IllegalArgumentException("dead interval " + deadInterval
          + " must be at least two heartbeat intervals (" + heartbeatInterval.multipliedBy(2)
          + ")");
    }
    if (copiesPerServerMax < 1 || copiesPerServerMax > COPIES_PER_SERVER_LIMIT) {
      throw new IllegalArgumentException("copies per chunkserver " + copiesPerServerMax
          + " is outside 1.." + COPIES_PER_SERVER_LIMIT);
    }
  }
}
