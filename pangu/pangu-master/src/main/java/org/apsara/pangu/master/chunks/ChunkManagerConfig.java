package org.apsara.pangu.master.chunks;

import java.time.Duration;

/**
 * How the leader's chunk manager judges chunkservers and paces repair. Immutable.
 *
 * @param heartbeatInterval how often chunkservers are told to heartbeat
 * @param deadInterval a chunkserver silent for this long is declared dead and its replicas are
 *     re-replicated; at least two heartbeat intervals, so one lost heartbeat kills nobody
 * @param copiesPerServerMax copies (re-replication and balancing together) one chunkserver takes
 *     part in at a time, as source or target, so that repair never saturates a disk that also
 *     serves clients
 * @param balanceThresholdPercent the balancer moves replicas while the used fraction of the
 *     fullest live, non-full chunkserver exceeds that of the emptiest by more than this many
 *     percentage points; 0 turns the balancer off
 * @param balanceCopiesMax balancing copies under way at a time in the whole cluster
 * @param replicationMin the fewest chunkservers a new chunk is placed on when fewer than its
 *     file's replication qualify (a file of lower replication needs all of its own); the
 *     replication monitor copies it up to the file's replication once chunkservers are back
 */
public record ChunkManagerConfig(
    Duration heartbeatInterval, Duration deadInterval, int copiesPerServerMax,
    double balanceThresholdPercent, int balanceCopiesMax, int replicationMin) {
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
  /**
   * As HDFS's balancer: disks within 10 percentage points of each other are left alone, so the
   * balancer does not churn over differences that new writes even out anyway.
   */
  public static final double DEFAULT_BALANCE_THRESHOLD_PERCENT = 10;
  /**
   * Four 64 MiB copies at a time: enough to fill a new chunkserver at a few hundred MB/s, little
   * enough that balancing never competes with clients for the disks of the whole cluster.
   */
  public static final int DEFAULT_BALANCE_COPIES_MAX = 4;
  /** Most balancing copies at a time anyone may configure. */
  public static final int BALANCE_COPIES_LIMIT = 1024;
  /**
   * Two: a cluster of three chunkservers keeps taking writes with one of them down, while no
   * acknowledged byte rests on a single disk. (HDFS's {@code dfs.namenode.replication.min} is 1.)
   */
  public static final int DEFAULT_REPLICATION_MIN = 2;
  /** Most replicas a chunk may be required to start with, as the most a file may ask for. */
  public static final int REPLICATION_MIN_LIMIT = 16;

  public static final ChunkManagerConfig DEFAULTS = new ChunkManagerConfig(
      DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_DEAD_INTERVAL, DEFAULT_COPIES_PER_SERVER_MAX);

  /** With the balancer's and placement's defaults. */
  public ChunkManagerConfig(Duration heartbeatInterval, Duration deadInterval,
      int copiesPerServerMax) {
    this(heartbeatInterval, deadInterval, copiesPerServerMax, DEFAULT_BALANCE_THRESHOLD_PERCENT,
        DEFAULT_BALANCE_COPIES_MAX, DEFAULT_REPLICATION_MIN);
  }

  /** Replicas a new chunk of a file with {@code replication} must at least be placed on. */
  public int replicasRequired(int replication) {
    return Math.min(replication, replicationMin);
  }

  /** The balancer's threshold as a fraction (0.1 for 10 percentage points); 0 when off. */
  public double balanceThresholdFraction() {
    return balanceThresholdPercent / 100;
  }

  /** The balancer runs at all. */
  public boolean balancing() {
    return balanceThresholdPercent > 0;
  }

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
    if (!(balanceThresholdPercent >= 0 && balanceThresholdPercent <= 100)) {
      throw new IllegalArgumentException("balance threshold " + balanceThresholdPercent
          + " is outside 0..100 percentage points");
    }
    if (balanceCopiesMax < 1 || balanceCopiesMax > BALANCE_COPIES_LIMIT) {
      throw new IllegalArgumentException("balancing copies " + balanceCopiesMax
          + " is outside 1.." + BALANCE_COPIES_LIMIT);
    }
    if (replicationMin < 1 || replicationMin > REPLICATION_MIN_LIMIT) {
      throw new IllegalArgumentException("minimum replication " + replicationMin
          + " is outside 1.." + REPLICATION_MIN_LIMIT);
    }
  }
}
