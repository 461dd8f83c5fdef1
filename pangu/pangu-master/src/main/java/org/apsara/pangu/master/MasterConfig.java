package org.apsara.pangu.master;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.master.namespace.ProposerConfig;

/**
 * Everything one Pangu master member needs to start: who it is, who its peers are, where it keeps
 * its data and how its Raft group and leader-side loops behave. Immutable; build one with
 * {@link #builder}, which holds the defaults.
 *
 * @param memberId this member's name, a key of {@code peers}
 * @param peers every member of the group (this one included) and its Raft address, in a fixed
 *     order that must be the same on every member
 * @param dataDir this member's own directory: the Raft log and snapshots under {@code raft/},
 *     the namespace's RocksDB under {@code namespace/}
 * @param electionTimeoutMin a follower that hears no leader for a random time between this and
 *     twice this starts an election
 * @param requestTimeout a replicated command or a linearizable read fails after this long
 * @param appendBatchWait how long the leader lets new entries gather after it sent a follower
 *     something, before it sends again: longer batches more entries per append under load
 * @param snapshotEveryEntries a member snapshots the namespace each time it has applied this
 *     many entries since its last snapshot
 * @param snapshotsRetained snapshots kept on disk (the newest ones)
 * @param logSegmentSizeBytes a Raft log segment is closed, and may then be purged, at this size
 * @param logPurgeGap the log is purged up to the newest snapshot only once at least this many
 *     entries can go
 * @param proposer the leader's lease duration and reclaim batch size
 * @param leaseMonitorInterval how often the leader looks for expired leases
 * @param reclaimInterval how often the leader looks for deleted subtrees to reclaim
 * @param healthyApplyLagMax entries the applied index may trail the commit index before the
 *     member reports itself unhealthy
 */
public record MasterConfig(
    String memberId,
    Map<String, HostPort> peers,
    Path dataDir,
    Duration electionTimeoutMin,
    Duration requestTimeout,
    Duration appendBatchWait,
    long snapshotEveryEntries,
    int snapshotsRetained,
    long logSegmentSizeBytes,
    int logPurgeGap,
    ProposerConfig proposer,
    Duration leaseMonitorInterval,
    Duration reclaimInterval,
    long healthyApplyLagMax) {

  /** Most members of one group: Raft needs every write on a majority, so more cost latency. */
  public static final int MEMBERS_MAX = 5;
  /** Short enough to fail over within a second or two, long enough for a loaded JVM's pauses. */
  public static final Duration DEFAULT_ELECTION_TIMEOUT_MIN = Duration.ofMillis(1000);
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(10);
  /**
   * Ratis waits 10 ms by default, which a client writing one command after another pays on every
   * command; 1 ms still lets concurrent commands share appends.
   */
  public static final Duration DEFAULT_APPEND_BATCH_WAIT = Duration.ofMillis(1);
  /** Beyond this every command waits longer than batching gains. */
  public static final Duration APPEND_BATCH_WAIT_MAX = Duration.ofMillis(100);
  /** A namespace checkpoint is cheap (hard links), so snapshot often and keep the log short. */
  public static final long DEFAULT_SNAPSHOT_EVERY_ENTRIES = 100_000;
  public static final int DEFAULT_SNAPSHOTS_RETAINED = 2;
  public static final long DEFAULT_LOG_SEGMENT_SIZE_BYTES = 64L << 20;
  public static final int DEFAULT_LOG_PURGE_GAP = 1024;
  public static final Duration DEFAULT_LEASE_MONITOR_INTERVAL = Duration.ofSeconds(5);
  public static final Duration DEFAULT_RECLAIM_INTERVAL = Duration.ofSeconds(1);
  public static final long DEFAULT_HEALTHY_APPLY_LAG_MAX = 10_000;

  public MasterConfig {
    Objects.requireNonNull(memberId, "memberId");
    peers = Collections.unmodifiableMap(new LinkedHashMap<>(peers));
    Objects.requireNonNull(dataDir, "dataDir");
    Objects.requireNonNull(proposer, "proposer");
    if (!peers.containsKey(memberId)) {
      throw new IllegalArgumentException("member " + memberId + " is not among the peers "
          + peers.keySet());
    }
    if (peers.size() % 2 == 0 || peers.size() > MEMBERS_MAX) {
      throw new IllegalArgumentException("a master group has an odd number of members up to "
          + MEMBERS_MAX + ", not " + peers.size());
    }
    requirePositive(electionTimeoutMin, "election timeout");
    requirePositive(requestTimeout, "request timeout");
    requirePositive(leaseMonitorInterval, "lease monitor interval");
    requirePositive(reclaimInterval, "reclaim interval");
    if (appendBatchWait == null || appendBatchWait.isNegative()
        || appendBatchWait.compareTo(APPEND_BATCH_WAIT_MAX) > 0) {
      throw new IllegalArgumentException("append batch wait must be 0.."
          + APPEND_BATCH_WAIT_MAX.toMillis() + " ms, not " + appendBatchWait);
    }
    if (snapshotEveryEntries < 1 || snapshotsRetained < 1 || logSegmentSizeBytes < 1
        || logPurgeGap < 1 || healthyApplyLagMax < 0) {
      throw new IllegalArgumentException("snapshot interval, snapshots retained, segment size and"
          + " purge gap must be positive, the apply lag limit not negative");
    }
  }

  private static void requirePositive(Duration d, String what) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(what + " must be positive: " + d);
    }
  }

  /** The Raft address of this member. */
  public HostPort self() {
    return peers.get(memberId);
  }

  public static Builder builder(String memberId, Map<String, HostPort> peers, Path dataDir) {
    return new Builder(memberId, peers, dataDir);
  }

  /** Collects a {@link MasterConfig}, starting from the defaults. Not thread-safe. */
  public static final class Builder {
    private final String memberId;
    private final Map<String, HostPort> peers;
    private final Path dataDir;
    private Duration electionTimeoutMin = DEFAULT_ELECTION_TIMEOUT_MIN;
    private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
    private Duration appendBatchWait = DEFAULT_APPEND_BATCH_WAIT;
    private long snapshotEveryEntries = DEFAULT_SNAPSHOT_EVERY_ENTRIES;
    private int snapshotsRetained = DEFAULT_SNAPSHOTS_RETAINED;
    private long logSegmentSizeBytes = DEFAULT_LOG_SEGMENT_SIZE_BYTES;
    private int logPurgeGap = DEFAULT_LOG_PURGE_GAP;
    private ProposerConfig proposer = ProposerConfig.DEFAULTS;
    private Duration leaseMonitorInterval = DEFAULT_LEASE_MONITOR_INTERVAL;
    private Duration reclaimInterval = DEFAULT_RECLAIM_INTERVAL;
    private long healthyApplyLagMax = DEFAULT_HEALTHY_APPLY_LAG_MAX;

    private Builder(String memberId, Map<String, HostPort> peers, Path dataDir) {
      this.memberId = memberId;
      this.peers = peers;
      this.dataDir = dataDir;
    }

    public Builder electionTimeoutMin(Duration value) {
      electionTimeoutMin = value;
      return this;
    }

    public Builder requestTimeout(Duration value) {
      requestTimeout = value;
      return this;
    }

    public Builder appendBatchWait(Duration value) {
      appendBatchWait = value;
      return this;
    }

    public Builder snapshotEveryEntries(long value) {
      snapshotEveryEntries = value;
      return this;
    }

    public Builder snapshotsRetained(int value) {
      snapshotsRetained = value;
      return this;
    }

    public Builder logSegmentSizeBytes(long value) {
      logSegmentSizeBytes = value;
      return this;
    }

    public Builder logPurgeGap(int value) {
      logPurgeGap = value;
      return this;
    }

    public Builder proposer(ProposerConfig value) {
      proposer = value;
      return this;
    }

    public Builder leaseMonitorInterval(Duration value) {
      leaseMonitorInterval = value;
      return this;
    }

    public Builder reclaimInterval(Duration value) {
      reclaimInterval = value;
      return this;
    }

    public Builder healthyApplyLagMax(long value) {
      healthyApplyLagMax = value;
      return this;
    }

    public MasterConfig build() {
      return new MasterConfig(memberId, peers, dataDir, electionTimeoutMin, requestTimeout,
          appendBatchWait, snapshotEveryEntries, snapshotsRetained, logSegmentSizeBytes, logPurgeGap, proposer,
          leaseMonitorInterval, reclaimInterval, healthyApplyLagMax);
    }
  }
}
