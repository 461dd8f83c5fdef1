package org.apsara.fuxi.tubo.agent;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apsara.common.net.HostPort;
import org.apsara.common.observe.HealthStatus;
import org.apsara.common.time.MonotonicClock;
import org.apsara.fuxi.api.FuxiTrailers;
import org.apsara.fuxi.api.v1.TuboHeartbeatRequest;
import org.apsara.fuxi.api.v1.TuboHeartbeatResponse;
import org.apsara.fuxi.api.v1.TuboTrackerGrpc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends this machine's heartbeats to the FuxiMaster primary ({@code TuboTracker.Heartbeat}) and
 * hands every answer to the {@link TuboAgent}.
 *
 * <p>Each heartbeat carries the machine's identity and capacity, the whole list of running
 * workers and every exit not yet acknowledged; the next one goes out {@code
 * heartbeat_interval_millis} (clamped to [{@link AgentLimits#HEARTBEAT_INTERVAL_MIN}, {@link
 * AgentLimits#HEARTBEAT_INTERVAL_MAX}]) after the last answer, or at once when {@link #beatNow}
 * asks for one.
 *
 * <h2>Finding the primary</h2>
 *
 * Heartbeats go to one member at a time, starting with the first listed. A member answering
 * UNAVAILABLE with the primary's address in {@value FuxiTrailers#PRIMARY_NAME} is left for that
 * address at once (at most {@link AgentLimits#REDIRECTS_IN_A_ROW_MAX} times in a row, so that
 * members who disagree cannot make it spin). Any other failure moves to the next listed member
 * after a backoff that starts at {@link AgentLimits#HEARTBEAT_BACKOFF_INITIAL} and doubles up to
 * the interval, with jitter.
 *
 * <p>Threading: one thread sends the heartbeats and applies the answers. {@link #beatNow}, {@link
 * #readiness} and {@link #close} may be called from any thread.
 */
final class HeartbeatLoop implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HeartbeatLoop.class);
  private static final long NEVER = Long.MIN_VALUE;

  private final TuboHeartbeatRequest identity;
  private final TuboAgent agent;
  private final List<HostPort> members;
  private final Function<HostPort, ManagedChannel> channelFactory;
  private final TuboMetrics metrics;
  private final MonotonicClock clock;
  private final Random random;
  private final long startNanos;
  private final ScheduledExecutorService thread;
  /** Guarded by itself. */
  private final Map<HostPort, ManagedChannel> channels = new HashMap<>();

  // Used by the heartbeat thread only.
  private HostPort target;
  private int failuresInARow;
  private int redirectsInARow;

  // Guarded by this.
  /** Identifies the one scheduled heartbeat that may run; older scheduled ones do nothing. */
  private long ticket;
  private boolean beating;
  private boolean closed;
  private List<CompletableFuture<Void>> waiting = new ArrayList<>();

  private volatile long intervalNanos = AgentLimits.DEFAULT_HEARTBEAT_INTERVAL.toNanos();
  private volatile long lastAnsweredNanos = NEVER;
  private volatile String lastFailure = "";

  /**
   * @param identity the fixed part of every heartbeat: machine id, rack, address, capacity and
   *     enforcement
   * @param members the master's members' client addresses, at least one
   * @param channelFactory opens a channel to a member; channels are shut down by {@link #close}
   * @param random jitters the backoff
   */
  HeartbeatLoop(TuboHeartbeatRequest identity, TuboAgent agent, List<HostPort> members,
      Function<HostPort, ManagedChannel> channelFactory, TuboMetrics metrics,
      MonotonicClock clock, Random random) {
    if (members.isEmpty()) {
      throw new IllegalArgumentException("heartbeats need at least one master member");
    }
    this.identity = Objects.requireNonNull(identity, "identity");
    this.agent = Objects.requireNonNull(agent, "agent");
    this.members = List.copyOf(members);
    this.channelFactory = Objects.requireNonNull(channelFactory, "channelFactory");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.random = Objects.requireNonNull(random, "random");
    this.startNanos = clock.nanos();
    this.target = this.members.get(0);
    this.thread = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread heartbeat = new Thread(runnable, "tubo-heartbeat");
      heartbeat.setDaemon(true);
      return heartbeat;
    });
  }

  /** Starts the heartbeats; the first goes out at once. */
  void start() {
    beatNow();
  }

  /**
   * Asks for a heartbeat at once (or right after the one in flight) and returns a future
   * completed when a heartbeat started after this call has ended, answered or not. Completed
   * exceptionally once the loop is closed.
   */
  CompletableFuture<Void> beatNow() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    synchronized (this) {
      if (closed) {
        done.completeExceptionally(new IllegalStateException("heartbeats are stopped"));
        return done;
      }
      waiting.add(done);
      if (!beating) {
        scheduleLocked(0);
      }
      // Otherwise the heartbeat in flight reschedules at once when it ends: it sees us waiting.
    }
    return done;
  }

  private void scheduleLocked(long delayNanos) {
    long mine = ++ticket;
    try {
      thread.schedule(() -> beatAndReschedule(mine), delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // closed meanwhile
    }
  }

  private void beatAndReschedule(long mine) {
    List<CompletableFuture<Void>> served;
    synchronized (this) {
      if (closed || mine != ticket) {
        return; // superseded by a beatNow
      }
      beating = true;
      served = waiting;
      waiting = new ArrayList<>();
    }
    long delayNanos;
    try {
      delayNanos = beatOnce();
    } catch (RuntimeException e) {
      // A bug must not end the heartbeats for good: the master would declare this machine dead.
      LOG.error("heartbeat failed unexpectedly", e);
      delayNanos = intervalNanos;
    }
    served.forEach(f -> f.complete(null));
    synchronized (this) {
      beating = false;
      if (!closed) {
        scheduleLocked(waiting.isEmpty() ? delayNanos : 0);
      }
    }
  }

  /**
   * Sends one heartbeat to the current member, applies the answer, and returns how long to wait
   * before the next, in nanoseconds (0 after a redirect).
   */
  long beatOnce() {
    HostPort member = target;
    TuboHeartbeatRequest request = identity.toBuilder()
        .addAllRunning(agent.running().stream().map(TuboAgent::toProto).toList())
        .addAllExits(agent.exits().pending())
        .build();
    TuboHeartbeatResponse answer;
    try {
      answer = TuboTrackerGrpc.newBlockingStub(channel(member))
          .withDeadlineAfter(AgentLimits.HEARTBEAT_CALL_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS)
          .heartbeat(request);
    } catch (StatusRuntimeException e) {
      return failed(member, e.getStatus(), e.getTrailers());
    } catch (RuntimeException e) {
      return failed(member, Status.fromThrowable(e), null);
    }
    if (answer.getHeartbeatIntervalMillis() > 0) {
      intervalNanos = clamp(Duration.ofMillis(answer.getHeartbeatIntervalMillis())).toNanos();
    }
    if (failuresInARow > 0) {
      LOG.info("master {} answered a heartbeat after {} failed ones", member, failuresInARow);
    }
    failuresInARow = 0;
    redirectsInARow = 0;
    lastAnsweredNanos = clock.nanos();
    lastFailure = "";
    metrics.heartbeatAnswered();
    agent.apply(answer);
    return intervalNanos;
  }

  private long failed(HostPort member, Status status, Metadata trailers) {
    metrics.heartbeatFailed(status.getCode().name());
    lastFailure = member + ": " + status.getCode()
        + (status.getDescription() == null ? "" : " " + status.getDescription());
    HostPort primary = primaryNamedIn(trailers);
    if (status.getCode() == Status.Code.UNAVAILABLE && primary != null && !primary.equals(member)
        && redirectsInARow < AgentLimits.REDIRECTS_IN_A_ROW_MAX) {
      redirectsInARow++;
      LOG.debug("master member {} is not the primary, {} is", member, primary);
      target = primary;
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

  private static HostPort primaryNamedIn(Metadata trailers) {
    String named = trailers == null ? null : trailers.get(FuxiTrailers.PRIMARY);
    if (named == null || named.isBlank()) {
      return null;
    }
    try {
      return HostPort.parse(named.strip());
    } catch (IllegalArgumentException e) {
      LOG.warn("ignoring a malformed primary address in {}: {}", FuxiTrailers.PRIMARY_NAME,
          e.getMessage());
      return null;
    }
  }

  private HostPort nextMember(HostPort member) {
    int index = members.indexOf(member); // -1 for a primary named by a trailer: start over
    return members.get((index + 1) % members.size());
  }

  private long backoffNanos() {
    int doublings = Math.min(failuresInARow - 1, 30);
    long base = Math.min(AgentLimits.HEARTBEAT_BACKOFF_INITIAL.toNanos() << doublings,
        intervalNanos);
    // +-20% jitter, so that Tubos that failed together do not retry together.
    long jittered = (long) (base * (0.8 + 0.4 * random.nextDouble()));
    return Math.max(1, Math.min(jittered, intervalNanos));
  }

  private static Duration clamp(Duration interval) {
    if (interval.compareTo(AgentLimits.HEARTBEAT_INTERVAL_MIN) < 0) {
      return AgentLimits.HEARTBEAT_INTERVAL_MIN;
    }
    return interval.compareTo(AgentLimits.HEARTBEAT_INTERVAL_MAX) > 0
        ? AgentLimits.HEARTBEAT_INTERVAL_MAX : interval;
  }

  private ManagedChannel channel(HostPort member) {
    synchronized (channels) {
      if (closed()) {
        throw new IllegalStateException("heartbeats are stopped");
      }
      ManagedChannel channel = channels.get(member);
      if (channel == null) {
        // Primaries named by trailers may come and go; keep channels to listed members only.
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

  private synchronized boolean closed() {
    return closed;
  }

  /**
   * Ready while the master answered a heartbeat within the last {@link
   * AgentLimits#MISSED_INTERVALS_NOT_READY} intervals: otherwise it no longer counts this
   * machine, so AMs should get no new work here. Readiness, not health: restarting Tubo does not
   * bring a master back.
   */
  HealthStatus readiness() {
    long last = lastAnsweredNanos;
    if (last == NEVER) {
      return HealthStatus.unhealthy("the master has not answered a heartbeat yet (members "
          + members + ")" + (lastFailure.isEmpty() ? "" : "; last failure: " + lastFailure));
    }
    long silentNanos = clock.nanos() - last;
    long allowedNanos = AgentLimits.MISSED_INTERVALS_NOT_READY * intervalNanos;
    if (silentNanos > allowedNanos) {
      return HealthStatus.unhealthy("the master has answered no heartbeat for "
          + TimeUnit.NANOSECONDS.toMillis(silentNanos) + " ms; last failure: " + lastFailure);
    }
    return HealthStatus.ok();
  }

  /** Seconds since the master last answered, or since the start if it never has. */
  double lastAnsweredAgeSeconds() {
    long last = lastAnsweredNanos;
    return (clock.nanos() - (last == NEVER ? startNanos : last)) / 1e9;
  }

  /** The interval the master last asked for (or the default). */
  Duration interval() {
    return Duration.ofNanos(intervalNanos);
  }

  /** Stops the heartbeats (a call in flight is cancelled) and closes the channels. */
  @Override
  public void close() {
    List<CompletableFuture<Void>> abandoned;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      abandoned = waiting;
      waiting = new ArrayList<>();
    }
    abandoned.forEach(f -> f.completeExceptionally(
        new IllegalStateException("heartbeats are stopped")));
    thread.shutdownNow();
    try {
      thread.awaitTermination(1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (channels) {
      for (ManagedChannel channel : channels.values()) {
        channel.shutdownNow();
      }
      channels.clear();
    }
  }
}
