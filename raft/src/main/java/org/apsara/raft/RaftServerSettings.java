package org.apsara.raft;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.TimeDuration;

/**
 * The Ratis server settings every replicated Apsara service shares, so that none of them can
 * forget one: the transport that replaces failed log appenders, durable acknowledgements, reads
 * by read index, and how a leader paces and retries its followers. Each service adds its own
 * log, snapshot and message-size settings to the properties returned.
 */
public final class RaftServerSettings {
  /**
   * Ratis backs off to 5 s between tries at an unreachable follower; a restarted member would
   * then wait that long to hear from the leader. Retry every 100 ms instead: cheap, and a member
   * that comes back serves again within moments.
   */
  public static final String APPENDER_RETRY_POLICY = "1ms,10, 100ms,1000000000";

  private RaftServerSettings() {}

  /**
   * @param electionTimeoutMin the shortest election timeout; the longest is twice that
   * @param readTimeout how long a linearizable read may wait for its read index
   * @param appendBatchWait how long a message to a follower waits, after the previous one to it,
   *     for more entries to travel with, while that previous one is unanswered
   */
  public static RaftProperties base(Path storageDir, String host, int port,
      Duration electionTimeoutMin, Duration readTimeout, Duration appendBatchWait) {
    RaftProperties properties = new RaftProperties();
    RaftServerConfigKeys.setStorageDir(properties, List.of(storageDir.toFile()));
    RaftConfigKeys.Rpc.setType(properties, new RaftTransport());
    GrpcConfigKeys.Server.setHost(properties, host);
    GrpcConfigKeys.Server.setPort(properties, port);
    long electionMinMs = electionTimeoutMin.toMillis();
    RaftServerConfigKeys.Rpc.setTimeoutMin(properties,
        TimeDuration.valueOf(electionMinMs, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setTimeoutMax(properties,
        TimeDuration.valueOf(electionMinMs * 2, TimeUnit.MILLISECONDS));
    // Linearizable reads by read index, served by followers too (etcd's default read mode).
    RaftServerConfigKeys.Read.setOption(properties, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
    RaftServerConfigKeys.Read.setTimeout(properties,
        TimeDuration.valueOf(readTimeout.toMillis(), TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Log.Appender.setRetryPolicy(properties, APPENDER_RETRY_POLICY);
    // Counted from the last message to that follower, and only while a message to it is still
    // unanswered (see RaftTransport): an entry that finds nothing outstanding leaves at once.
    RaftServerConfigKeys.Log.Appender.setWaitTimeMin(properties,
        TimeDuration.valueOf(appendBatchWait.toNanos(), TimeUnit.NANOSECONDS));
    // An acknowledged entry is on disk: never report a log entry as flushed before its fsync.
    RaftServerConfigKeys.Log.setUnsafeFlushEnabled(properties, false);
    // Nor let a force run beside the log worker: in Ratis 3.2.2 a finished asynchronous force
    // marks as flushed every entry written by then, also those written while it ran, and a
    // failed one does too.
    RaftServerConfigKeys.Log.setAsyncFlushEnabled(properties, false);
    RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(properties, true);
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(properties, true);
    return properties;
  }
}
