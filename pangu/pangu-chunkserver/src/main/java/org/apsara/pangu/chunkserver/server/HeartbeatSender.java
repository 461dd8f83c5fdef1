package org.apsara.pangu.chunkserver.server;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apsara.common.net.HostPort;
import org.apsara.common.observe.HealthStatus;
import org.apsara.common.time.MonotonicClock;
import org.apsara.pangu.api.MasterTrailers;
import org.apsara.pangu.api.v1.ChunkServerLocation;
import org.apsara.pangu.api.v1.ChunkServerTrackerGrpc;
import org.apsara.pangu.api.v1.HeartbeatRequest;
import org.apsara.pangu.api.v1.HeartbeatResponse;
import org.apsara.pangu.api.v1.ReplicaReport;
import org.apsara.pangu.chunkserver.store.CorruptReplicaReport;
import org.apsara.pangu.chunkserver.store.ReplicaInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends this chunkserver's heartbeats to the master leader ({@code
 * ChunkServerTracker.Heartbeat} in {@code master.proto}): its location, its volumes' space, its
 * replicas and the replicas found corrupt.
 *
 * <h2>Full and incremental reports</h2>
 *
 * The sender keeps what the master is known to hold: the replica reports of the last heartbeat
 * the master <em>answered</em>. A heartbeat is a full report when there is no such knowledge: the
 * first one, after the master set {@code full_report_requested}, and after <em>any</em> failed
 * heartbeat or change of member. Otherwise it is incremental: the replicas whose report differs
 * from the known one, and the known ones no longer here.
 *
 * <p>Why a failure forces a full report: a heartbeat that timed out may still have been applied.
 * Say it added chunk 5, and chunk 5 is deleted before the next heartbeat: a diff against the last
 * answered state would mention chunk 5 neither as added nor as removed, and the master would keep
 * it forever. A full report replaces whatever the master has, whichever way the lost heartbeat
 * went. Failures are rare, and backoff bounds how often a full report follows one.
 *
 * <p>Corrupt reports are dropped from the chunkserver ({@link
 * ReportSource#acknowledgeCorruptReports}) only after a heartbeat carrying them was answered;
 * until then every heartbeat repeats them.
 *
 * <p>Every heartbeat says whether the chunkserver is being decommissioned. An answer asking for
 * a change ({@code decommission}) is recorded on the disks ({@link
 * ReportSource#setDecommissioning}) and confirmed by a heartbeat sent at once.
 *
 * <h2>Finding the leader</h2>
 *
 * Heartbeats go to one member at a time, starting with the first listed. A member that answers
 * UNAVAILABLE naming the leader in the trailer {@value MasterTrailers#LEADER_NAME} is left for that
 * leader at once (at most {@value #REDIRECTS_IN_A_ROW_MAX} times in a row, so that members who
 * disagree cannot make it spin). Any other failure moves to the next listed member after a
 * backoff that starts at {@link #BACKOFF_INITIAL} and doubles up to the heartbeat interval, with
 * jitter, so that a dead member delays a heartbeat by at most about an interval.
 *
 * <h2>Timing and health</h2>
 *
 * The master sets the interval in each answer (clamped to [{@link #INTERVAL_MIN}, {@link
 * #INTERVAL_MAX}]); before the first answer it is {@link #DEFAULT_INTERVAL}. A full report asked
 * for in answer to an incremental one is sent at once. {@link #readiness} fails after {@value
 * #MISSED_INTERVALS_NOT_READY} intervals without an answered heartbeat: the chunkserver still
 * serves its replicas, but the master no longer counts it, so it should get no new work. It is a
 * readiness check, not a health check, on purpose: restarting a chunkserver does not bring a
 * master back, and a master outage must not make every chunkserver look broken.
 *
 * <p>Threading: one thread runs the heartbeats ({@link #start}), or a test calls {@link #beatOnce}
 * directly; never both. {@link #readiness}, {@link #lastAnsweredAgeSeconds} and {@link #close}
 * may be called from any thread. Heartbeats read snapshots of the store and take no replica's
 * lock (only a volume's space accounting, for a moment), so they never hold up reads or writes.
 */
final class HeartbeatSender implements AutoCloseable {
  /** The interval until the master answers with one. */
  static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(3);
  /** Shortest interval taken from the master. */
  static final Duration INTERVAL_MIN = Duration.ofMillis(10);
  /** Longest interval taken from the master. */
  static final Duration INTERVAL_MAX = Duration.ofMinutes(5);
  /** How long one heartbeat call may take; a full report of many replicas can be large. */
  static final Duration CALL_TIMEOUT = Duration.ofSeconds(15);
  /** The first wait after a failure; it doubles with each further failure, up to the interval. */
  static final Duration BACKOFF_INITIAL = Duration.ofMillis(100);
  /** Redirects to a named leader followed at once, before falling back to backoff. */
  static final int REDIRECTS_IN_A_ROW_MAX = 3;
  /** Intervals without an answered heartbeat after which the chunkserver is not ready. */
  static final int MISSED_INTERVALS_NOT_READY = 3;

  private static final Logger LOG = LoggerFactory.getLogger(HeartbeatSender.class);
  private static final long NEVER = Long.MIN_VALUE;

  /** What the heartbeats report, and where they acknowledge corrupt reports. */
  interface ReportSource {
    HeartbeatReport heartbeatReport();

    void acknowledgeCorruptReports(Collection<CorruptReplicaReport> delivered);

    /** Records an operator's change of decommissioning, which later reports then carry. */
    void setDecommissioning(boolean decommissioning) throws IOException;
  }

  private final ReportSource source;
  private final ChunkServerLocation location;
  private final List<HostPort> members;
  private final Function<HostPort, ManagedChannel> channelFactory;
  private final ChunkServerMetrics metrics;
  private final MonotonicClock clock;
  private final Random random;
  private final long startNanos;
  /** Guarded by itself; also closed from {@link #close}. */
  private final Map<HostPort, ManagedChannel> channels = new HashMap<>();

  // Used by the one heartbeat thread only.
  private HostPort target;
  /** The master's view of our replicas after the last answered heartbeat; null: unknown. */
  private Map<Long, ReplicaReport> acknowledged;
  private int failuresInARow;
  private int redirectsInARow;

  private volatile long intervalNanos = DEFAULT_INTERVAL.toNanos();
  private volatile long lastAnsweredNanos = NEVER;
  private volatile String lastFailure = "";
  private volatile boolean closed;
  private ScheduledExecutorService thread;

  /**
   * @param members the master's members' client addresses, at least one
   * @param channelFactory opens a channel to a member; channels are shut down by {@link #close}
   * @param random jitters the backoff; seed it in tests
   */
  HeartbeatSender(ReportSource source, ChunkServerLocation location, List<HostPort> members,
      Function<HostPort, ManagedChannel> channelFactory, ChunkServerMetrics metrics,
      MonotonicClock clock, Random random) {
    if (members.isEmpty()) {
      throw new IllegalArgumentException("heartbeats need at least one master member");
    }
    this.source = Objects.requireNonNull(source, "source");
    this.location = Objects.requireNonNull(location, "location");
    this.members = List.copyOf(members);
    this.channelFactory = Objects.requireNonNull(channelFactory, "channelFactory");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.random = Objects.requireNonNull(random, "random");
    this.startNanos = clock.nanos();
    this.target = this.members.get(0);
  }

  /** Starts the heartbeat thread; the first heartbeat goes out at once. */
  synchronized void start() {
    if (thread != null) {
      throw new IllegalStateException("already started");
    }
    thread = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread heartbeat = new Thread(runnable, "chunk-heartbeat");
      heartbeat.setDaemon(true);
      return heartbeat;
    });
    thread.execute(this::beatAndReschedule);
  }

  private void beatAndReschedule() {
    long delayNanos;
    try {
      delayNanos = beatOnce();
    } catch (RuntimeException e) {
      // A bug must not end the heartbeats for good: the master would declare us dead.
      LOG.error("heartbeat failed unexpectedly", e);
      acknowledged = null;
      delayNanos = intervalNanos;
    }
    try {
      if (!closed) {
        thread.schedule(this::beatAndReschedule, delayNanos, TimeUnit.NANOSECONDS);
      }
    } catch (RejectedExecutionException e) {
      // closed meanwhile
    }
  }

  /**
   * Sends one heartbeat to the current member and returns how long to wait before the next, in
   * nanoseconds: 0 to go again at once (after a redirect, or to send a full report asked for).
   */
  long beatOnce() {
    HostPort member = target;
    boolean full = acknowledged == null;
    HeartbeatReport report;
    Map<Long, ReplicaReport> current;
    HeartbeatRequest request;
    try {
      report = source.heartbeatReport();
      current = replicaReports(report.replicas());
      request = request(report, current, full);
    } catch (RuntimeException e) {
      // The store is closing, or a bug; either way this heartbeat cannot be built.
      LOG.warn("could not build a heartbeat", e);
      return failed(member, Status.INTERNAL.withDescription(e.toString()).withCause(e), null);
    }
    HeartbeatResponse response;
    try {
      response = ChunkServerTrackerGrpc.newBlockingStub(channel(member))
          .withDeadlineAfter(CALL_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS)
          .heartbeat(request);
    } catch (StatusRuntimeException e) {
      return failed(member, e.getStatus(), e.getTrailers());
    } catch (RuntimeException e) {
      return failed(member, Status.fromThrowable(e), null);
    }
    // Answered: the master now holds exactly what this heartbeat described.
    acknowledged = response.getFullReportRequested() ? null : current;
    source.acknowledgeCorruptReports(report.corruptReplicas());
    if (response.getHeartbeatIntervalMs() > 0) {
      intervalNanos = clamp(Duration.ofMillis(response.getHeartbeatIntervalMs())).toNanos();
    }
    if (failuresInARow > 0) {
      LOG.info("master {} answered a heartbeat after {} failed ones", member, failuresInARow);
    }
    failuresInARow = 0;
    redirectsInARow = 0;
    lastAnsweredNanos = clock.nanos();
    lastFailure = "";
    metrics.heartbeatAnswered(full, request.getReplicasCount());
    if (response.hasDecommission() && response.getDecommission() != report.decommissioning()) {
      try {
        source.setDecommissioning(response.getDecommission());
        // The operator's call waits for a heartbeat saying so: send it now.
        return 0;
      } catch (IOException e) {
        // The master keeps asking in every answer until a heartbeat reports the change.
        LOG.warn("could not record the decommissioning the master asked for", e);
      }
    }
    if (response.getFullReportRequested()) {
      LOG.info("master {} asked for a full report", member);
      // Asked in answer to an incremental report: the master lacks our replicas, send them now.
      // Asked again in answer to a full one: it is not ready for them yet, so wait an interval.
      return full ? intervalNanos : 0;
    }
    return intervalNanos;
  }

  private long failed(HostPort member, Status status, Metadata trailers) {
    metrics.heartbeatFailed(status.getCode().name());
    // The master may or may not have applied what was sent: only a full report is safe next.
    acknowledged = null;
    lastFailure = member + ": " + status.getCode()
        + (status.getDescription() == null ? "" : " " + status.getDescription());
    HostPort leader = leaderNamedIn(trailers);
    if (status.getCode() == Status.Code.UNAVAILABLE && leader != null && !leader.equals(member)
        && redirectsInARow < REDIRECTS_IN_A_ROW_MAX) {
      redirectsInARow++;
      LOG.debug("master member {} is not the leader, {} is", member, leader);
      target = leader;
      return 0;
    }
    redirectsInARow = 0;
    failuresInARow++;
    if (failuresInARow == 1) {
      LOG.warn("heartbeat to master {} failed: {}", member, lastFailure);
    } else {
      LOG.debug("heartbeat to master {} failed ({} in a row): {}", member, failuresInARow,
          lastFailure);
    }
    target = nextMember(member);
    return backoffNanos();
  }

  private HostPort leaderNamedIn(Metadata trailers) {
    String named = trailers == null ? null : trailers.get(MasterTrailers.LEADER);
    if (named == null || named.isBlank()) {
      return null;
    }
    try {
      return HostPort.parse(named.strip());
    } catch (IllegalArgumentException e) {
      LOG.warn("ignoring a malformed leader address in {}: {}", MasterTrailers.LEADER_NAME,
          e.getMessage());
      return null;
    }
  }

  private HostPort nextMember(HostPort member) {
    int index = members.indexOf(member); // -1 for a leader named by a trailer: start over
    return members.get((index + 1) % members.size());
  }

  private long backoffNanos() {
    int doublings = Math.min(failuresInARow - 1, 30);
    long base = Math.min(BACKOFF_INITIAL.toNanos() << doublings, intervalNanos);
    // +-20% jitter, so that chunkservers that failed together do not retry together.
    long jittered = (long) (base * (0.8 + 0.4 * random.nextDouble()));
    return Math.max(1, Math.min(jittered, intervalNanos));
  }

  private static Duration clamp(Duration interval) {
    if (interval.compareTo(INTERVAL_MIN) < 0) {
      return INTERVAL_MIN;
    }
    return interval.compareTo(INTERVAL_MAX) > 0 ? INTERVAL_MAX : interval;
  }

  private ManagedChannel channel(HostPort member) {
    synchronized (channels) {
      if (closed) {
        throw new IllegalStateException("heartbeats are stopped");
      }
      ManagedChannel channel = channels.get(member);
      if (channel == null) {
        // Leaders named by trailers may come and go; keep channels to listed members only.
        Set<HostPort> unlisted = new HashSet<>(channels.keySet());
        unlisted.removeAll(members);
        for (HostPort stale : unlisted) {
          channels.remove(stale).shutdown();
        }
        channel = channelFactory.apply(member);
        channels.put(member, channel);
      }
      return channel;
    }
  }

  private HeartbeatRequest request(HeartbeatReport report, Map<Long, ReplicaReport> current,
      boolean full) {
    HeartbeatRequest.Builder request = HeartbeatRequest.newBuilder()
        .setLocation(location)
        .setFullReport(full)
        .setDecommissioning(report.decommissioning());
    request.addAllVolumes(report.volumeReports());
    if (full) {
      request.addAllReplicas(current.values());
    } else {
      for (ReplicaReport replica : current.values()) {
        if (!replica.equals(acknowledged.get(replica.getChunkId()))) {
          request.addReplicas(replica);
        }
      }
      for (Long known : acknowledged.keySet()) {
        if (!current.containsKey(known)) {
          request.addRemovedChunkIds(known);
        }
      }
    }
    for (CorruptReplicaReport corrupt : report.corruptReplicas()) {
      ReplicaReport.Builder entry = ReplicaReport.newBuilder()
          .setChunkId(corrupt.chunkId())
          .setGeneration(corrupt.generation())
          .setCorrupt(true);
      ReplicaReport now = current.get(corrupt.chunkId());
      if (now != null) {
        entry.setLength(now.getLength()).setState(now.getState());
      }
      request.addCorruptReplicas(entry);
    }
    return request.build();
  }

  /** The replicas as reported, in chunk id order. */
  private static Map<Long, ReplicaReport> replicaReports(List<ReplicaInfo> replicas) {
    Map<Long, ReplicaReport> reports = new LinkedHashMap<>(replicas.size() * 2);
    for (ReplicaInfo replica : replicas) {
      reports.put(replica.chunkId(), ReplicaReport.newBuilder()
          .setChunkId(replica.chunkId())
          // UNKNOWN_GENERATION (-1) goes out as the all-ones uint64, as in GetReplica.
          .setGeneration(replica.generation())
          .setLength(replica.length())
          .setState(ChunkServiceImpl.toProto(replica.state()))
          .setCorrupt(replica.corrupt())
          .build());
    }
    return reports;
  }

  /**
   * Ready while the master answered a heartbeat within the last {@value
   * #MISSED_INTERVALS_NOT_READY} intervals; see the class comment.
   */
  HealthStatus readiness() {
    long last = lastAnsweredNanos;
    if (last == NEVER) {
      return HealthStatus.unhealthy("the master has not answered a heartbeat yet (members "
          + members + ")" + (lastFailure.isEmpty() ? "" : "; last failure: " + lastFailure));
    }
    long silentNanos = clock.nanos() - last;
    long allowedNanos = MISSED_INTERVALS_NOT_READY * intervalNanos;
    if (silentNanos > allowedNanos) {
      return HealthStatus.unhealthy("the master has answered no heartbeat for "
          + TimeUnit.NANOSECONDS.toMillis(silentNanos) + " ms, more than "
          + MISSED_INTERVALS_NOT_READY + " heartbeat intervals; last failure: " + lastFailure);
    }
    return HealthStatus.ok();
  }

  /** Seconds since the master last answered, or since the start if it never has. */
  double lastAnsweredAgeSeconds() {
    long last = lastAnsweredNanos;
    return (clock.nanos() - (last == NEVER ? startNanos : last)) / 1e9;
  }

  /** The member the next heartbeat goes to. */
  HostPort target() {
    return target;
  }

  /** The interval the master last asked for (or the default). */
  Duration interval() {
    return Duration.ofNanos(intervalNanos);
  }

  /** Stops the heartbeats (a call in flight is cancelled) and closes the channels. */
  @Override
  public void close() {
    closed = true;
    ScheduledExecutorService running;
    synchronized (this) {
      running = thread;
    }
    if (running != null) {
      running.shutdownNow();
      try {
        running.awaitTermination(1, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    synchronized (channels) {
      for (ManagedChannel channel : channels.values()) {
        channel.shutdownNow();
      }
      channels.clear();
    }
  }
}
