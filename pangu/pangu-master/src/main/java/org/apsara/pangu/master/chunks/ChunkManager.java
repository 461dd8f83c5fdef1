package org.apsara.pangu.master.chunks;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.random.RandomGenerator;
import org.apsara.common.net.HostPort;
import org.apsara.common.time.MonotonicClock;
import org.apsara.pangu.api.v1.HeartbeatRequest;
import org.apsara.pangu.api.v1.HeartbeatResponse;
import org.apsara.pangu.api.v1.ReplicaReport;
import org.apsara.pangu.api.v1.ReplicaState;
import org.apsara.pangu.api.v1.VolumeReport;
import org.apsara.pangu.master.chunks.ChunkPlacement.Candidate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader's soft state about chunkservers and replicas: which chunkservers exist, whether
 * they are alive and how full, and which replicas each holds, learnt from heartbeats and from
 * the master's own calls. Nothing here is replicated or persisted: a new leader starts empty
 * ({@link #reset}) and asks every chunkserver for a full report on its first heartbeat.
 *
 * <p>Liveness: a chunkserver is alive while its last heartbeat is at most the dead interval old,
 * on the injected monotonic clock. {@link #declareDead} (run by the replication monitor) declares
 * silent ones dead and forgets their replicas, so they stop counting towards a chunk's
 * replication; a dead chunkserver that heartbeats again is asked for a full report.
 *
 * <p>Placement ({@link #placeNewChunk}, {@link #chooseCopyTarget}) follows {@link
 * ChunkPlacement}, among live chunkservers whose free space, minus what was placed on them since
 * their last heartbeat, holds a whole chunk.
 *
 * <p>Threading: every method takes this object's lock and none blocks or calls out, so the
 * state is always consistent and the order of calls alone decides the outcome: with the same
 * calls, clock readings and random seed, two managers end in the same state.
 */
public final class ChunkManager {
  private static final Logger LOG = LoggerFactory.getLogger(ChunkManager.class);

  /**
   * Chunk ids waiting for the replication monitor's attention at most; beyond it new ones are
   * dropped, and the monitor's walk over every replica finds them later.
   */
  public static final int ATTENTION_MAX = 100_000;
  /**
   * Heartbeats of a chunkserver in which a replica the master just deleted there is ignored. A
   * chunkserver sends one heartbeat at a time, so the first heartbeat that arrives after the
   * deletion may have been built before it, and the second was built after the first was
   * answered; the second is ignored too, for a heartbeat that a timeout made arrive late. Were
   * the replica taken back from such a report, the leader would count a replica that no longer
   * exists, and trimming excess replicas could then delete a real one.
   */
  static final int DELETED_REPLICA_IGNORED_HEARTBEATS = 2;
  /** The all-ones generation a chunkserver reports for an unreadable replica. */
  public static final long UNKNOWN_GENERATION = -1;

  private final ChunkManagerConfig config;
  private final MonotonicClock clock;
  private final Clock wallClock;
  private final RandomGenerator random;
  private final Map<String, Server> servers = new TreeMap<>();
  /** Chunk id -> server id -> replica. */
  private final TreeMap<Long, TreeMap<String, Held>> replicas = new TreeMap<>();
  /** Where replicas of a chunk were placed, for chunks still being written. */
  private final Map<Long, List<String>> expected = new HashMap<>();
  /** Copies under way, per chunk: target server id -> bytes expected to arrive there. */
  private final Map<Long, Map<String, Long>> copyTargets = new HashMap<>();
  /** Replicas with a master call under way (chunk id -> server ids), not to be acted on again. */
  private final Map<Long, Set<String>> busy = new HashMap<>();
  private final LinkedHashSet<Long> attention = new LinkedHashSet<>();
  /** Told each time a chunk asks for attention; must only hand work to another thread. */
  private Runnable attentionListener = () -> { };
  private long resetNanos;

  /**
   * @param clock times heartbeats and the dead interval
   * @param wallClock stamps heartbeat times for operators
   * @param random breaks ties in placement; seed it for reproducible placement
   */
  public ChunkManager(ChunkManagerConfig config, MonotonicClock clock, Clock wallClock,
      RandomGenerator random) {
    this.config = Objects.requireNonNull(config, "config");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.wallClock = Objects.requireNonNull(wallClock, "wallClock");
    this.random = Objects.requireNonNull(random, "random");
    this.resetNanos = clock.nanos();
  }

  public ChunkManagerConfig config() {
    return config;
  }

  /** Forgets everything: on taking and on losing leadership. */
  public synchronized void reset() {
    for (Server server : servers.values()) {
      failDecommissionWaiters(server, "this master member's leadership changed; ask the leader");
    }
    servers.clear();
    replicas.clear();
    expected.clear();
    copyTargets.clear();
    busy.clear();
    attention.clear();
    resetNanos = clock.nanos();
  }

  /**
   * True once a dead interval has passed since {@link #reset}: every live chunkserver has
   * heartbeat and been asked for its full report since, so a replica nobody reported is not on
   * any live chunkserver.
   */
  public synchronized boolean reportsSettled() {
    return clock.nanos() - resetNanos >= config.deadInterval().toNanos();
  }

  // ---------------------------------------------------------------- heartbeats

  /**
   * Records a heartbeat: the chunkserver's location and space, and its full or incremental
   * replica report. A chunkserver the leader does not know (new, or declared dead, or any after
   * a reset) is asked for a full report, and its incremental reports are ignored until then.
   *
   * @throws IllegalArgumentException if the location's id or address is malformed
   */
  public synchronized HeartbeatResponse heartbeat(HeartbeatRequest request) {
    String id = request.getLocation().getId();
    if (id.isEmpty()) {
      throw new IllegalArgumentException("a heartbeat needs the chunkserver's id");
    }
    HostPort address = HostPort.parse(request.getLocation().getAddress());
    long now = clock.nanos();
    Server server = servers.computeIfAbsent(id, Server::new);
    if (server.declaredDead) {
      server.declaredDead = false;
      server.fullReportNeeded = true;
      LOG.atInfo().addKeyValue("chunkserver", id).log("chunkserver is back after being dead");
    }
    server.address = address;
    server.rack = request.getLocation().getRack();
    long capacity = 0;
    long used = 0;
    long available = 0;
    boolean anyAccepts = false;
    List<VolumeReport> failedVolumes = new ArrayList<>();
    for (VolumeReport volume : request.getVolumesList()) {
      if (!volume.getFailure().isEmpty()) {
        failedVolumes.add(volume);
        continue;
      }
      capacity += volume.getCapacityBytes();
      used += volume.getUsedBytes();
      if (!volume.getFull()) {
        available += volume.getAvailableBytes();
        anyAccepts = true;
      }
    }
    server.capacityBytes = capacity;
    server.usedBytes = used;
    server.availableBytes = available;
    server.full = !anyAccepts;
    if (!failedVolumes.equals(server.failedVolumes)) {
      for (VolumeReport volume : failedVolumes) {
        if (!server.failedVolumes.contains(volume)) {
          LOG.atWarn().addKeyValue("chunkserver", id).addKeyValue("volume", volume.getDirectory())
              .log("chunkserver reports a failed volume: {}", volume.getFailure());
        }
      }
      server.failedVolumes = List.copyOf(failedVolumes);
    }
    server.lastHeartbeatNanos = now;
    server.lastHeartbeatWallMs = wallClock.millis();
    // The reported space now includes what was placed, copied or deleted before this
    // heartbeat, roughly (a report built just before a copy finished arrives after it): writes
    // in flight are not counted twice for long. Copies still under way keep counting.
    server.scheduledBytes = 0;
    server.arrivedBytes = 0;
    server.departedBytes = 0;

    if (request.getFullReport()) {
      Set<Long> reported = new HashSet<>();
      for (ReplicaReport r : request.getReplicasList()) {
        if (server.deletedRecently.containsKey(r.getChunkId())) {
          continue;
        }
        reported.add(r.getChunkId());
        upsert(r.getChunkId(), server, r.getGeneration(), r.getLength(), r.getState(),
            r.getCorrupt());
      }
      for (Long chunkId : new ArrayList<>(server.chunks)) {
        if (!reported.contains(chunkId)) {
          remove(chunkId, server);
        }
      }
      server.fullReportNeeded = false;
    } else if (!server.fullReportNeeded) {
      for (ReplicaReport r : request.getReplicasList()) {
        if (!server.deletedRecently.containsKey(r.getChunkId())) {
          upsert(r.getChunkId(), server, r.getGeneration(), r.getLength(), r.getState(),
              r.getCorrupt());
        }
      }
      for (long chunkId : request.getRemovedChunkIdsList()) {
        remove(chunkId, server);
      }
    }
    for (ReplicaReport r : request.getCorruptReplicasList()) {
      markCorrupt(r.getChunkId(), id, r.getGeneration());
    }
    server.deletedRecently.replaceAll((chunkId, left) -> left - 1);
    server.deletedRecently.values().removeIf(left -> left <= 0);
    if (server.decommissioning != request.getDecommissioning()) {
      server.decommissioning = request.getDecommissioning();
      LOG.atInfo().addKeyValue("chunkserver", id).log(server.decommissioning
          ? "chunkserver is decommissioning: its chunks are copied to the others"
          : "chunkserver is in service");
    }
    HeartbeatResponse.Builder response = HeartbeatResponse.newBuilder()
        .setFullReportRequested(server.fullReportNeeded)
        .setHeartbeatIntervalMs((int) config.heartbeatInterval().toMillis());
    if (server.decommissionAsked != null) {
      if (server.decommissionAsked == server.decommissioning) {
        server.decommissionAsked = null;
        ChunkServerView view = view(server, now);
        server.decommissionWaiters.forEach(w -> w.complete(view));
        server.decommissionWaiters.clear();
      } else {
        response.setDecommission(server.decommissionAsked);
      }
    }
    return response.build();
  }

  // ---------------------------------------------------------------- decommissioning

  /**
   * Asks a live chunkserver to start ({@code decommission}) or end its decommissioning: the
   * answers to its heartbeats carry the request until a heartbeat reports it done, which
   * completes the returned future with the chunkserver as that heartbeat left it. The future
   * fails with {@link IllegalStateException} if this member stops leading first (its soft state
   * is reset). The chunkserver records the change on its disks, so whichever member leads next
   * learns it from its heartbeats.
   *
   * @throws IllegalArgumentException if no chunkserver has this id, or it is not alive
   */
  public synchronized CompletableFuture<ChunkServerView> requestDecommission(String id,
      boolean decommission) {
    Server server = servers.get(id);
    if (server == null) {
      throw new IllegalArgumentException("no chunkserver " + id + " has reported to this leader");
    }
    if (!alive(server, clock.nanos())) {
      throw new IllegalArgumentException("chunkserver " + id + " is not alive; a dead"
          + " chunkserver's chunks are copied to the others anyway");
    }
    if (server.decommissionAsked != null && server.decommissionAsked != decommission) {
      // The operator changed their mind before the chunkserver confirmed the first change.
      failDecommissionWaiters(server, "a later call asked for the opposite change");
      server.decommissionAsked = null;
    }
    CompletableFuture<ChunkServerView> done = new CompletableFuture<>();
    if (server.decommissioning == decommission) {
      done.complete(view(server, clock.nanos()));
    } else {
      server.decommissionAsked = decommission;
      server.decommissionWaiters.add(done);
    }
    return done;
  }

  private static void failDecommissionWaiters(Server server, String why) {
    server.decommissionWaiters.forEach(w -> w.completeExceptionally(new IllegalStateException(
        "chunkserver " + server.id + " did not confirm the change: " + why)));
    server.decommissionWaiters.clear();
  }

  /**
   * Declares dead every chunkserver silent for the dead interval and forgets its replicas, so
   * that their chunks are re-replicated. Returns the ids newly declared dead.
   */
  public synchronized List<String> declareDead() {
    long now = clock.nanos();
    List<String> dead = new ArrayList<>();
    for (Server server : servers.values()) {
      if (server.declaredDead || alive(server, now)) {
        continue;
      }
      server.declaredDead = true;
      dead.add(server.id);
      int forgotten = server.chunks.size();
      server.deletedRecently.clear();
      for (Long chunkId : new ArrayList<>(server.chunks)) {
        remove(chunkId, server);
      }
      LOG.atWarn().addKeyValue("chunkserver", server.id)
          .addKeyValue("silentMs", (now - server.lastHeartbeatNanos) / 1_000_000)
          .addKeyValue("replicasForgotten", forgotten)
          .log("chunkserver declared dead; its chunks will be re-replicated");
    }
    return dead;
  }

  // ---------------------------------------------------------------- placement

  /**
   * Chooses {@code replication} live chunkservers with room for a new chunk, or as many as
   * qualify if that is fewer but at least {@link ChunkManagerConfig#replicasRequired}: a cluster
   * with a chunkserver down keeps taking writes, and the replication monitor copies the chunk up
   * to its replication later. Until {@link #reportsSettled} a new leader asks for all of them, as
   * it may not have heard from every chunkserver yet. The caller then allocates the chunk and
   * records the choice with {@link #expectReplicas}.
   *
   * @param excluded chunkserver ids not to use
   * @param clientHost the writer's host, or empty
   * @throws NotEnoughChunkServersException if too few qualify
   */
  public synchronized List<ChunkServerView> placeNewChunk(int replication,
      long chunkSizeBytes, Collection<String> excluded, String clientHost)
      throws NotEnoughChunkServersException {
    long now = clock.nanos();
    List<Candidate> candidates = new ArrayList<>();
    int alive = 0;
    int excludedAlive = 0;
    int withoutRoom = 0;
    int decommissioning = 0;
    for (Server server : servers.values()) {
      if (!alive(server, now)) {
        continue;
      }
      alive++;
      if (excluded.contains(server.id)) {
        excludedAlive++;
      } else if (server.decommissioning) {
        decommissioning++;
      } else if (!hasRoom(server, chunkSizeBytes)) {
        withoutRoom++;
      } else {
        candidates.add(candidate(server));
      }
    }
    int required = reportsSettled() ? config.replicasRequired(replication) : replication;
    if (candidates.size() < required) {
      throw new NotEnoughChunkServersException(required, candidates.size(), "replication "
          + replication + " needs at least " + required + " live chunkservers with room for a"
          + " chunk of " + chunkSizeBytes + " bytes, but only " + candidates.size() + " qualify: "
          + servers.size() + " known, " + alive + " alive, " + excludedAlive
          + " of them excluded by the writer, " + decommissioning + " decommissioning, "
          + withoutRoom + " without room");
    }
    int placing = Math.min(replication, candidates.size());
    if (placing < replication) {
      // Debug only: with a chunkserver down every new file would log it; fsck and the repair
      // metrics show the under-replicated chunks.
      LOG.atDebug()
          .addKeyValue("replication", replication)
          .addKeyValue("placed", placing)
          .log("too few chunkservers qualify; a new chunk starts under-replicated");
    }
    List<Candidate> chosen = ChunkPlacement.choose(candidates, placing, List.of(),
        clientHost, racksConfigured(now), random);
    List<ChunkServerView> result = new ArrayList<>();
    for (Candidate c : chosen) {
      Server server = servers.get(c.id());
      server.scheduledBytes += chunkSizeBytes;
      result.add(view(server, now));
    }
    return result;
  }

  /**
   * Remembers where the replicas of a newly allocated chunk were placed, for reads and lease
   * recovery before the chunkservers report them, and after the commit until each placement is
   * settled (see {@link #unreportedPlacements}).
   */
  public synchronized void expectReplicas(long chunkId, List<String> serverIds) {
    expected.put(chunkId, List.copyOf(serverIds));
  }

  /**
   * A live chunkserver with room and a free copy slot that holds no replica of the chunk, to copy
   * it to; placed for rack and host diversity against {@code healthyHolders}. Null if none. The
   * chosen chunkserver's room is taken only by {@link #startCopy}.
   */
  public synchronized ChunkServerView chooseCopyTarget(long chunkId, long chunkSizeBytes,
      Collection<String> healthyHolders) {
    long now = clock.nanos();
    Map<String, Held> held = replicas.getOrDefault(chunkId, new TreeMap<>());
    Set<String> copying = copyTargets.getOrDefault(chunkId, Map.of()).keySet();
    List<Candidate> candidates = new ArrayList<>();
    List<Candidate> placed = new ArrayList<>();
    for (Server server : servers.values()) {
      if (healthyHolders.contains(server.id)) {
        // A decommissioning holder is leaving: spread the copy against those that stay.
        if (!server.decommissioning) {
          placed.add(candidate(server));
        }
        continue;
      }
      if (alive(server, now) && !server.decommissioning && hasRoom(server, chunkSizeBytes)
          && !held.containsKey(server.id)
          && !copying.contains(server.id) && server.copies < config.copiesPerServerMax()) {
        candidates.add(candidate(server));
      }
    }
    List<Candidate> chosen = ChunkPlacement.choose(candidates, 1, placed, "",
        racksConfigured(now), random);
    if (chosen.isEmpty()) {
      return null;
    }
    return view(servers.get(chosen.get(0).id()), now);
  }

  // ---------------------------------------------------------------- copies and calls

  /**
   * Registers a copy of {@code chunkId} from {@code source} to {@code target} if both have a free
   * copy slot and the target has no copy of it under way; returns false (and registers nothing)
   * otherwise. Until {@link #copyFinished}, {@code bytes} count as used on the target (in its
   * {@link ChunkServerView#pendingBytes} and against its room).
   */
  public synchronized boolean startCopy(long chunkId, String source, String target, long bytes) {
    Server from = servers.get(source);
    Server to = servers.get(target);
    if (from == null || to == null || from.copies >= config.copiesPerServerMax()
        || to.copies >= config.copiesPerServerMax()
        || copyTargets.getOrDefault(chunkId, Map.of()).containsKey(target)) {
      return false;
    }
    from.copies++;
    to.copies++;
    to.inboundCopyBytes += Math.max(0, bytes);
    copyTargets.computeIfAbsent(chunkId, k -> new HashMap<>()).put(target, Math.max(0, bytes));
    return true;
  }

  /**
   * Ends a copy registered with {@link #startCopy}. On success the target holds a sealed replica
   * with the given generation and length (its next report says so too).
   */
  public synchronized void copyFinished(long chunkId, String source, String target,
      boolean succeeded, long generation, long lengthBytes) {
    Server from = servers.get(source);
    Server to = servers.get(target);
    if (from != null && from.copies > 0) {
      from.copies--;
    }
    if (to != null && to.copies > 0) {
      to.copies--;
    }
    Map<String, Long> targets = copyTargets.get(chunkId);
    Long expectedBytes = targets == null ? null : targets.remove(target);
    if (targets != null && targets.isEmpty()) {
      copyTargets.remove(chunkId);
    }
    if (to != null && expectedBytes != null) {
      to.inboundCopyBytes = Math.max(0, to.inboundCopyBytes - expectedBytes);
    }
    if (succeeded && to != null && !to.declaredDead) {
      // On disk now; its next report counts it.
      to.arrivedBytes += lengthBytes;
      to.deletedRecently.remove(chunkId);
      upsert(chunkId, to, generation, lengthBytes, ReplicaState.REPLICA_STATE_SEALED, false);
    }
  }

  /** Copies of the chunk under way. */
  public synchronized int copiesInFlight(long chunkId) {
    return copyTargets.getOrDefault(chunkId, Map.of()).size();
  }

  /** The chunkservers copies of the chunk are under way to. */
  public synchronized Set<String> copyTargets(long chunkId) {
    // Asked of every chunk on each balancing pass, and most chunks have no copy under way.
    Map<String, Long> targets = copyTargets.get(chunkId);
    return targets == null ? Set.of() : Set.copyOf(targets.keySet());
  }

  /** Copies one chunkserver takes part in now, as source or target. */
  public synchronized int copiesOf(String serverId) {
    Server server = servers.get(serverId);
    return server == null ? 0 : server.copies;
  }

  /**
   * Marks a replica as having a master call under way; returns false if it already has one.
   * End it with {@link #endCall}.
   */
  public synchronized boolean beginCall(long chunkId, String serverId) {
    return busy.computeIfAbsent(chunkId, k -> new HashSet<>()).add(serverId);
  }

  public synchronized void endCall(long chunkId, String serverId) {
    Set<String> servers = busy.get(chunkId);
    if (servers != null && servers.remove(serverId) && servers.isEmpty()) {
      busy.remove(chunkId);
    }
  }

  /**
   * Calls under way on replicas of the chunk (seals, deletions): until they end, what the leader
   * knows of its replicas is about to change.
   */
  public synchronized int callsInFlight(long chunkId) {
    return busy.getOrDefault(chunkId, Set.of()).size();
  }

  // ---------------------------------------------------------------- replica changes

  /** The master sealed or bumped a replica: record its new generation, length and state. */
  public synchronized void replicaChanged(long chunkId, String serverId, long generation,
      long lengthBytes, ReplicaState state) {
    Server server = servers.get(serverId);
    if (server != null && !server.declaredDead) {
      upsert(chunkId, server, generation, lengthBytes, state, false);
    }
  }

  /**
   * The replica's chunkserver refused to seal it at its chunk's committed length and says it is
   * open with {@code generation} and {@code lengthBytes}, fewer bytes than that: it can never
   * serve the chunk, and is stale. The mark lasts while reports show that same replica.
   */
  public synchronized void sealRefused(long chunkId, String serverId, long generation,
      long lengthBytes) {
    Server server = servers.get(serverId);
    if (server == null || server.declaredDead) {
      return;
    }
    upsert(chunkId, server, generation, lengthBytes, ReplicaState.REPLICA_STATE_OPEN, false);
    replicas.get(chunkId).get(serverId).shortConfirmed = true;
  }

  /**
   * A replica is gone (deleted, or its chunkserver said it has none). Its bytes no longer count
   * as used there, though the next report is the first to show it, and reports of it are
   * ignored for {@value #DELETED_REPLICA_IGNORED_HEARTBEATS} heartbeats of that chunkserver (a
   * report built before the deletion would bring it back).
   */
  public synchronized void replicaRemoved(long chunkId, String serverId) {
    Server server = servers.get(serverId);
    if (server == null) {
      return;
    }
    Map<String, Held> held = replicas.get(chunkId);
    Held replica = held == null ? null : held.get(serverId);
    if (replica != null) {
      server.departedBytes += Math.max(0, replica.length);
    }
    server.deletedRecently.put(chunkId, DELETED_REPLICA_IGNORED_HEARTBEATS);
    remove(chunkId, server);
  }

  /**
   * A replica was found corrupt (by its chunkserver, a reader or the master). Applies only if
   * the replica still has {@code generation} (or either side does not know it): a newer replica
   * is not blamed for an old one's fault. Returns true if a replica was marked.
   */
  public synchronized boolean markCorrupt(long chunkId, String serverId, long generation) {
    Map<String, Held> held = replicas.get(chunkId);
    Held replica = held == null ? null : held.get(serverId);
    if (replica == null) {
      return false;
    }
    if (replica.generation != generation && generation != UNKNOWN_GENERATION
        && replica.generation != UNKNOWN_GENERATION) {
      return false;
    }
    if (!replica.corrupt) {
      replica.corrupt = true;
      noteAttention(chunkId);
      LOG.atWarn().addKeyValue("chunk", Long.toUnsignedString(chunkId))
          .addKeyValue("chunkserver", serverId).log("replica marked corrupt");
    }
    return true;
  }

  /** Forgets where the chunk was placed: its last chunk was recovered, or its file deleted. */
  public synchronized void forgetExpected(long chunkId) {
    expected.remove(chunkId);
  }

  /**
   * The master's seal of a replica on a chunkserver the committed chunk was placed on answered,
   * whatever it said: the placement no longer stands for a replica, and what the seal recorded
   * or the chunkserver's reports say is the truth from now on.
   */
  public synchronized void placementSettled(long chunkId, String serverId) {
    List<String> placed = expected.get(chunkId);
    if (placed != null && placed.contains(serverId)) {
      keepPlacements(chunkId, placed.stream().filter(id -> !id.equals(serverId)).toList());
    }
  }

  private void keepPlacements(long chunkId, List<String> serverIds) {
    if (serverIds.isEmpty()) {
      expected.remove(chunkId);
    } else {
      expected.put(chunkId, List.copyOf(serverIds));
    }
  }

  /** Asks the replication monitor to look at this chunk soon (after a commit, a bad read...). */
  public synchronized void noteAttention(long chunkId) {
    if (attention.size() < ATTENTION_MAX) {
      attention.add(chunkId);
    }
    attentionListener.run();
  }

  /**
   * Sets what is told when a chunk asks for attention, so that the replication monitor can look
   * at once rather than at its next round. Called under this manager's lock: {@code listener}
   * must not block or call back into the manager.
   */
  public synchronized void setAttentionListener(Runnable listener) {
    attentionListener = java.util.Objects.requireNonNull(listener, "listener");
  }

  /** Takes up to {@code max} chunk ids that asked for attention, oldest first. */
  public synchronized List<Long> drainAttention(int max) {
    List<Long> drained = new ArrayList<>();
    Iterator<Long> it = attention.iterator();
    while (it.hasNext() && drained.size() < max) {
      drained.add(it.next());
      it.remove();
    }
    return drained;
  }

  // ---------------------------------------------------------------- reads

  /** Every replica known of the chunk, on live and dead chunkservers alike, by server id. */
  public synchronized List<ReplicaView> replicas(long chunkId) {
    long now = clock.nanos();
    List<ReplicaView> views = new ArrayList<>();
    Map<String, Held> held = replicas.get(chunkId);
    if (held != null) {
      for (Map.Entry<String, Held> e : held.entrySet()) {
        Server server = servers.get(e.getKey());
        Held r = e.getValue();
        views.add(new ReplicaView(view(server, now), alive(server, now), r.generation, r.length,
            r.state, r.corrupt, r.shortConfirmed));
      }
    }
    return views;
  }

  /**
   * Where to read a chunk, nearest to {@code clientHost} first (same host, same rack, the rest),
   * ties spread deterministically by chunk: for a committed chunk the live, not corrupt replicas
   * with its generation that hold its committed length; for a chunk being written, also the
   * chunkservers it was placed on that have not reported it yet.
   */
  public synchronized List<ChunkServerView> readLocations(long chunkId, long generation,
      boolean committed, long lengthBytes, String clientHost) {
    long now = clock.nanos();
    List<Server> found = new ArrayList<>();
    Map<String, Held> held = replicas.getOrDefault(chunkId, new TreeMap<>());
    for (Map.Entry<String, Held> e : held.entrySet()) {
      Server server = servers.get(e.getKey());
      Held r = e.getValue();
      boolean usable = alive(server, now) && !r.corrupt
          && r.state != ReplicaState.REPLICA_STATE_UNREADABLE
          && (committed ? r.generation == generation && r.length >= lengthBytes
              : r.generation >= generation);
      if (usable) {
        found.add(server);
      }
    }
    if (!committed) {
      for (String id : expected.getOrDefault(chunkId, List.of())) {
        Server server = servers.get(id);
        if (server != null && alive(server, now) && !held.containsKey(id)) {
          found.add(server);
        }
      }
    }
    String clientRack = rackOfHost(clientHost);
    // A decommissioning chunkserver is read from last: it is busy giving its chunks away.
    found.sort(Comparator.<Server, Boolean>comparing(s -> s.decommissioning)
        .thenComparingInt(s -> distance(s, clientHost, clientRack))
        .thenComparingLong(s -> spread(chunkId, s.id)));
    List<ChunkServerView> views = new ArrayList<>();
    for (Server server : found) {
      views.add(view(server, now));
    }
    return views;
  }

  /**
   * The live chunkservers that may hold a replica of a chunk being written: those that reported
   * one (not corrupt) and those it was placed on. What lease recovery asks.
   */
  public synchronized List<ChunkServerView> possibleHolders(long chunkId) {
    long now = clock.nanos();
    Map<String, Server> found = new TreeMap<>();
    Map<String, Held> held = replicas.getOrDefault(chunkId, new TreeMap<>());
    for (Map.Entry<String, Held> e : held.entrySet()) {
      Server server = servers.get(e.getKey());
      if (alive(server, now) && !e.getValue().corrupt) {
        found.put(server.id, server);
      }
    }
    for (String id : expected.getOrDefault(chunkId, List.of())) {
      Server server = servers.get(id);
      if (server != null && alive(server, now)) {
        found.put(id, server);
      }
    }
    List<ChunkServerView> views = new ArrayList<>();
    for (Server server : found.values()) {
      views.add(view(server, now));
    }
    return views;
  }

  /**
   * The live chunkservers a committed chunk was placed on that have not reported a replica of it
   * yet: right after its writer commits, the replicas exist there before any heartbeat says so.
   * A placement stands until its chunkserver reports the replica or dies, or until the master's
   * seal of it answers ({@link #placementSettled}): forgotten any earlier, a replica whose seal is
   * still under way would count as missing, and the chunk would be copied to a fourth chunkserver
   * only to have one replica deleted as excess once the seal records it.
   */
  synchronized List<ChunkServerView> unreportedPlacements(long chunkId) {
    List<String> placed = expected.get(chunkId);
    if (placed == null) {
      return List.of();
    }
    long now = clock.nanos();
    Map<String, Held> held = replicas.getOrDefault(chunkId, new TreeMap<>());
    List<String> standing = new ArrayList<>();
    List<ChunkServerView> views = new ArrayList<>();
    for (String id : placed) {
      Server server = servers.get(id);
      if (server != null && alive(server, now) && !held.containsKey(id)) {
        standing.add(id);
        views.add(view(server, now));
      }
    }
    keepPlacements(chunkId, standing);
    return views;
  }

  /**
   * Every replica known of a committed chunk ({@link #replicas}), and its {@link
   * #unreportedPlacements} as replicas open at the committed {@code generation} and {@code
   * lengthBytes}: right after the commit, the replicas are there before any heartbeat says so.
   * Read together, so that a seal recording a placed replica in between is not counted twice.
   */
  public synchronized List<ReplicaView> replicasOfCommitted(long chunkId, long generation,
      long lengthBytes) {
    List<ReplicaView> views = replicas(chunkId);
    for (ChunkServerView placed : unreportedPlacements(chunkId)) {
      views.add(new ReplicaView(placed, true, generation, lengthBytes,
          ReplicaState.REPLICA_STATE_OPEN, false));
    }
    return views;
  }

  /** True if a replica of the chunk was ever placed or reported since the last reset. */
  public synchronized boolean everPlacedOrReported(long chunkId) {
    return expected.containsKey(chunkId) || replicas.containsKey(chunkId);
  }

  /** Up to {@code limit} chunk ids with known replicas above {@code afterChunkId}, in order. */
  public synchronized List<Long> reportedChunksAfter(long afterChunkId, int limit) {
    List<Long> ids = new ArrayList<>();
    for (Long id : replicas.tailMap(afterChunkId, false).keySet()) {
      if (ids.size() == limit) {
        break;
      }
      ids.add(id);
    }
    return ids;
  }

  /**
   * Up to {@code limit} ids of chunks the chunkserver holds a replica of, above {@code
   * afterChunkId} in order; none for an unknown chunkserver. What the balancer moves.
   */
  public synchronized List<Long> chunksOn(String serverId, long afterChunkId, int limit) {
    Server server = servers.get(serverId);
    List<Long> ids = new ArrayList<>();
    if (server == null) {
      return ids;
    }
    for (Long id : server.chunks.tailSet(afterChunkId, false)) {
      if (ids.size() == limit) {
        break;
      }
      ids.add(id);
    }
    return ids;
  }

  /**
   * True once this leader has taken the chunkserver's full report: until then it knows none of
   * the chunkserver's replicas, so "no chunks there" means nothing.
   */
  public synchronized boolean fullyReported(String serverId) {
    Server server = servers.get(serverId);
    return server != null && !server.fullReportNeeded;
  }

  /** True if any live chunkserver names its rack: placement then wants rack diversity. */
  public synchronized boolean racksConfigured() {
    return racksConfigured(clock.nanos());
  }

  /** Every chunkserver known since the last reset, by id. */
  public synchronized List<ChunkServerView> servers() {
    long now = clock.nanos();
    List<ChunkServerView> views = new ArrayList<>();
    for (Server server : servers.values()) {
      views.add(view(server, now));
    }
    return views;
  }

  /** The volumes the chunkserver last reported failed; empty if none or unknown. */
  public synchronized List<VolumeReport> failedVolumes(String id) {
    Server server = servers.get(id);
    return server == null ? List.of() : server.failedVolumes;
  }

  /** The chunkserver, if known. */
  public synchronized ChunkServerView server(String id) {
    Server server = servers.get(id);
    return server == null ? null : view(server, clock.nanos());
  }

  // ---------------------------------------------------------------- internals

  private void upsert(long chunkId, Server server, long generation, long length,
      ReplicaState state, boolean corrupt) {
    TreeMap<String, Held> held = replicas.computeIfAbsent(chunkId, k -> new TreeMap<>());
    Held old = held.get(server.id);
    boolean same = old != null && old.generation == generation && old.length == length;
    boolean stillCorrupt = corrupt || (same && old.corrupt);
    Held now = new Held(generation, length, state, stillCorrupt);
    // A refused seal confirmed this length; a report of the same replica does not undo that.
    now.shortConfirmed = same && old.shortConfirmed && state == old.state;
    held.put(server.id, now);
    server.chunks.add(chunkId);
    if (!now.equals(old)) {
      noteAttention(chunkId);
    }
  }

  private void remove(long chunkId, Server server) {
    server.chunks.remove(chunkId);
    Map<String, Held> held = replicas.get(chunkId);
    if (held != null && held.remove(server.id) != null) {
      if (held.isEmpty()) {
        replicas.remove(chunkId);
      }
      noteAttention(chunkId);
    }
  }

  private boolean alive(Server server, long now) {
    // Servers exist only once they heartbeat, so lastHeartbeatNanos is always a reading.
    return !server.declaredDead
        && now - server.lastHeartbeatNanos <= config.deadInterval().toNanos();
  }

  private static boolean hasRoom(Server server, long chunkSizeBytes) {
    return !server.full && server.availableBytes - incomingBytes(server) >= chunkSizeBytes;
  }

  /** Bytes headed for the chunkserver, or landed, that its last report does not include. */
  private static long incomingBytes(Server server) {
    return server.scheduledBytes + server.inboundCopyBytes + server.arrivedBytes;
  }

  private boolean racksConfigured(long now) {
    for (Server server : servers.values()) {
      if (alive(server, now) && !server.rack.isEmpty()) {
        return true;
      }
    }
    return false;
  }

  private String rackOfHost(String host) {
    if (host.isEmpty()) {
      return "";
    }
    for (Server server : servers.values()) {
      if (server.address != null && server.address.host().equals(host)) {
        return server.rack;
      }
    }
    return "";
  }

  private static int distance(Server server, String clientHost, String clientRack) {
    if (!clientHost.isEmpty() && server.address.host().equals(clientHost)) {
      return 0;
    }
    if (!clientRack.isEmpty() && server.rack.equals(clientRack)) {
      return 1;
    }
    return 2;
  }

  /** A per-chunk order of chunkservers, so that readers of different chunks go to different ones. */
  private static long spread(long chunkId, String serverId) {
    long x = chunkId * 0x9E3779B97F4A7C15L + serverId.hashCode();
    x ^= x >>> 33;
    x *= 0xff51afd7ed558ccdL;
    return x ^ (x >>> 33);
  }

  private static Candidate candidate(Server server) {
    return new Candidate(server.id, server.address.host(), server.rack,
        server.availableBytes - incomingBytes(server));
  }

  private ChunkServerView view(Server server, long now) {
    return new ChunkServerView(server.id, server.address, server.rack, alive(server, now),
        server.lastHeartbeatWallMs, server.capacityBytes, server.usedBytes, server.availableBytes,
        server.full, server.chunks.size(), incomingBytes(server) - server.departedBytes,
        server.decommissioning);
  }

  private static final class Server {
    final String id;
    HostPort address;
    String rack = "";
    long capacityBytes;
    long usedBytes;
    long availableBytes;
    boolean full;
    /** Its volumes taken out of service after disk errors, as last reported. */
    List<VolumeReport> failedVolumes = List.of();
    long lastHeartbeatNanos;
    long lastHeartbeatWallMs;
    boolean declaredDead;
    boolean fullReportNeeded = true;
    /** Bytes of chunks placed here since the last heartbeat reported its space. */
    long scheduledBytes;
    /** Bytes of copies under way to here. */
    long inboundCopyBytes;
    /** Bytes of copies that finished here since the last heartbeat. */
    long arrivedBytes;
    /** Bytes of replicas the master deleted here since the last heartbeat. */
    long departedBytes;
    int copies;
    /** Chunks whose replica the master deleted here -> heartbeats still to ignore it in. */
    final Map<Long, Integer> deletedRecently = new HashMap<>();
    /** Ordered, so that the balancer can walk a chunkserver's chunks in pages. */
    final TreeSet<Long> chunks = new TreeSet<>();
    /** Its last heartbeat said it is being decommissioned. */
    boolean decommissioning;
    /** A change of {@link #decommissioning} an operator asked for, not yet reported; or null. */
    Boolean decommissionAsked;
    /** Operators' calls waiting for a heartbeat to report {@link #decommissionAsked}. */
    final List<CompletableFuture<ChunkServerView>> decommissionWaiters = new ArrayList<>();

    Server(String id) {
      this.id = id;
    }
  }

  /** One replica. Mutable only for its two flags, under the manager's lock. */
  private static final class Held {
    final long generation;
    final long length;
    final ReplicaState state;
    boolean corrupt;
    boolean shortConfirmed;

    Held(long generation, long length, ReplicaState state, boolean corrupt) {
      this.generation = generation;
      this.length = length;
      this.state = state;
      this.corrupt = corrupt;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Held h && h.generation == generation && h.length == length
          && h.state == state && h.corrupt == corrupt && h.shortConfirmed == shortConfirmed;
    }

    @Override
    public int hashCode() {
      return Objects.hash(generation, length, state, corrupt, shortConfirmed);
    }
  }
}
