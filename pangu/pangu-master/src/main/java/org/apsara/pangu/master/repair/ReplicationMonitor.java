package org.apsara.pangu.master.repair;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.pangu.api.ChunkServerLimits;
import org.apsara.pangu.api.v1.DeletionOutcome;
import org.apsara.pangu.api.v1.GetReplicaResponse;
import org.apsara.pangu.api.v1.ReplicaDeletionResult;
import org.apsara.pangu.api.v1.ReplicaState;
import org.apsara.pangu.api.v1.ReplicateReplicaResponse;
import org.apsara.pangu.master.chunks.ChunkManager;
import org.apsara.pangu.master.chunks.ChunkManagerConfig;
import org.apsara.pangu.master.chunks.ChunkServerCalls;
import org.apsara.pangu.master.chunks.ChunkServerView;
import org.apsara.pangu.master.chunks.ReplicaView;
import org.apsara.pangu.master.namespace.ChunkOwnership;
import org.apsara.pangu.master.namespace.GarbageChunkInfo;
import org.apsara.pangu.master.namespace.Namespace;
import org.apsara.pangu.master.namespace.NamespaceException;
import org.apsara.pangu.master.namespace.NamespaceLimits;
import org.apsara.pangu.master.raft.LeadershipObserver;
import org.apsara.pangu.master.raft.MasterNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader's repair loop: keeps every committed chunk at its file's replication and deletes
 * what should not be on the chunkservers, following {@link RepairPlanner}.
 *
 * <p>Each round, on the monitor's own thread:
 * <ol>
 *   <li>declares silent chunkservers dead ({@link ChunkManager#declareDead});</li>
 *   <li>evaluates the chunks that asked for attention (a changed replica, a commit, a bad
 *       read), those still waiting for copies, one page of the walk over every reported replica
 *       (orphans and stale replicas), one page of the walk over the namespace's chunks (chunks
 *       nobody reports, for the health counts), one page of garbage chunks, and a page of each
 *       decommissioning chunkserver's chunks (whose replicas there no longer count, so that they
 *       are copied to chunkservers in service; see {@link #chunksToMove});</li>
 *   <li>sends seals and batched deletions, and starts copies in order of fewest healthy
 *       replicas first (a chunk with one copy left before one with two), within {@link
 *       org.apsara.pangu.master.chunks.ChunkManagerConfig#copiesPerServerMax} copies per
 *       chunkserver;</li>
 *   <li>forgets garbage chunks no chunkserver holds once every live chunkserver has reported
 *       since this member took office. A chunkserver that was down then still holds its
 *       replica; when it returns, the replica is an orphan and the orphan rule deletes it;</li>
 *   <li>balances: when the spread of disk usage exceeds the threshold, starts moves chosen by
 *       {@link BalancePlanner} among chunks of the fullest chunkservers, with the copy slots
 *       repair left free, at most {@link ChunkManagerConfig#balanceCopiesMax} moves under way.
 *       A move is a copy; once it has landed, the next evaluation of the chunk trims the excess
 *       replica from the over-used chunkserver. A move is over when the chunk is back to its
 *       replication, or when its copy failed.</li>
 * </ol>
 * Calls on chunkservers run on two small pools (copies apart, as they take long), never under
 * the chunk manager's lock; each replica has at most one call under way.
 *
 * <p>Starts when this member becomes the ready leader (after resetting the chunk manager) and
 * stops when it loses leadership; each round checks the term it started in.
 */
public final class ReplicationMonitor implements LeadershipObserver, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ReplicationMonitor.class);

  /** Chunk ids one round evaluates per source (attention, each walk, garbage). */
  public static final int CHUNKS_PER_PAGE = NamespaceLimits.MAX_READ_ENTRIES;
  /** Unhealthy chunks remembered for reports; beyond it, only the counts grow. */
  public static final int UNHEALTHY_TRACKED_MAX = 100_000;
  /** Chunks waiting for copy slots at most; beyond it the walks find them again later. */
  public static final int COPY_BACKLOG_MAX = 100_000;
  /** Fullest chunkservers whose chunks one round offers the balancer. */
  static final int BALANCE_SOURCES_MAX = 4;
  /** Chunks of each of them one round offers the balancer. */
  static final int BALANCE_CHUNKS_PER_SOURCE = CHUNKS_PER_PAGE / BALANCE_SOURCES_MAX;
  /** Chunks of each decommissioning chunkserver one round evaluates, at least. */
  static final int DRAIN_CHUNKS_PER_SERVER_MIN = 16;
  /** Threads making copies; each waits for one whole chunk copy. */
  static final int COPY_THREADS = 8;
  /** Threads sending seals and deletions. */
  static final int CALL_THREADS = 4;
  private static final long STOP_WAIT_MS = 5_000;

  private final MasterNode node;
  private final ChunkManager manager;
  private final ChunkServerCalls calls;
  private final Duration interval;
  private final Duration requestTimeout;
  private final ScheduledExecutorService rounds;
  private final ExecutorService copies;
  private final ExecutorService adminCalls;
  private final Counter copiesStarted;
  private final Counter copiesFailed;
  private final Counter replicasDeleted;
  private final Counter replicasSealed;
  private final Counter garbageForgotten;
  private final Counter balanceCopiesStarted;
  private final Counter balanceCopiesSucceeded;
  private final Counter balanceCopiesFailed;
  /** Balancing copies under way now, and the most ever at once: read by metrics. */
  private final AtomicInteger balanceCopiesInFlight = new AtomicInteger();
  private final AtomicInteger balanceCopiesInFlightPeak = new AtomicInteger();
  /** The spread of used fractions the last round saw; read by metrics. */
  private volatile double usageSpread;
  private ScheduledFuture<?> running;
  // Round state: the monitor thread only.
  private long reportedCursor;
  private long namespaceCursor;
  private long garbageCursor;
  private final Set<Long> copyBacklog = new LinkedHashSet<>();
  /** Balancing moves started and not over, by chunk id. */
  private final Map<Long, BalancePlanner.Move> moves = new LinkedHashMap<>();
  /** Where the balancer's walk over each chunkserver's chunks stands, by chunkserver id. */
  private final Map<String, Long> balanceCursors = new HashMap<>();
  /** The walk over each decommissioning chunkserver's chunks, by chunkserver id. */
  private final Map<String, DrainWalk> drainWalks = new HashMap<>();
  /**
   * Chunks that still rely on each decommissioning chunkserver, as of the last complete walk over
   * its chunks, by chunkserver id; read by reports on other threads.
   */
  private final Map<String, Long> chunksToMove = new ConcurrentHashMap<>();
  /** Chunk id -> its plan, for unhealthy chunks; read by reports on other threads. */
  private final ConcurrentSkipListMap<Long, ChunkPlan> unhealthy = new ConcurrentSkipListMap<>();
  /** The term this member leads in and runs rounds for, or -1 while it does not lead. */
  private volatile long leaderTerm = -1;
  /** A round asked for by {@link #wake} is queued and has not started yet. */
  private final AtomicBoolean wakePending = new AtomicBoolean();

  public ReplicationMonitor(MasterNode node, ChunkManager manager, ChunkServerCalls calls,
      Duration interval, Duration requestTimeout, MeterRegistry registry) {
    this.node = node;
    this.manager = manager;
    this.calls = calls;
    this.interval = interval;
    this.requestTimeout = requestTimeout;
    this.rounds = Executors.newSingleThreadScheduledExecutor(threads("repair-monitor"));
    this.copies = Executors.newFixedThreadPool(COPY_THREADS, threads("repair-copy"));
    this.adminCalls = Executors.newFixedThreadPool(CALL_THREADS, threads("repair-call"));
    String prefix = "pangu.master.repair.";
    this.copiesStarted = registry.counter(prefix + "copies.started");
    this.copiesFailed = registry.counter(prefix + "copies.failed");
    this.replicasDeleted = registry.counter(prefix + "replicas.deleted");
    this.replicasSealed = registry.counter(prefix + "replicas.sealed");
    this.garbageForgotten = registry.counter(prefix + "garbage.forgotten");
    this.balanceCopiesStarted = registry.counter(prefix + "balance.copies.started");
    this.balanceCopiesSucceeded = registry.counter(prefix + "balance.copies.finished",
        "outcome", "ok");
    this.balanceCopiesFailed = registry.counter(prefix + "balance.copies.finished",
        "outcome", "failed");
    registry.gauge(prefix + "balance.copies.in.flight", balanceCopiesInFlight);
    registry.gauge(prefix + "balance.copies.in.flight.peak", balanceCopiesInFlightPeak);
    registry.gauge(prefix + "balance.spread", this, m -> m.usageSpread);
    manager.setAttentionListener(this::wake);
  }

  /**
   * Runs a round soon, on the monitor thread, when a chunk asks for attention (a commit, a bad
   * read): a committed chunk's replicas are then sealed and readable within milliseconds rather
   * than a round interval later. At most one such round waits at a time.
   */
  private void wake() {
    long term = leaderTerm;
    if (term < 0 || !wakePending.compareAndSet(false, true)) {
      return;
    }
    try {
      rounds.execute(() -> {
        wakePending.set(false);
        roundLogged(term);
      });
    } catch (RejectedExecutionException stopped) {
      wakePending.set(false);
    }
  }

  @Override
  public synchronized void leaderReady(long term) {
    cancel();
    manager.reset();
    if (rounds.isShutdown()) {
      return;
    }
    leaderTerm = term;
    running = rounds.scheduleWithFixedDelay(() -> roundLogged(term), interval.toMillis(),
        interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** A round whose failure is logged: the next round tries again. Monitor thread. */
  private void roundLogged(long term) {
    try {
      round(term);
    } catch (RuntimeException e) {
      LOG.atWarn().setCause(e).log("repair round failed; trying again next round");
    }
  }

  @Override
  public synchronized void leadershipLost() {
    leaderTerm = -1;
    cancel();
    manager.reset();
  }

  private void cancel() {
    if (running != null) {
      running.cancel(false);
      running = null;
    }
    if (!rounds.isShutdown()) {
      rounds.execute(() -> {
        reportedCursor = 0;
        namespaceCursor = 0;
        garbageCursor = 0;
        copyBacklog.clear();
        unhealthy.clear();
        moves.clear();
        balanceCursors.clear();
        drainWalks.clear();
        chunksToMove.clear();
      });
    }
  }

  /** The health counts and up to {@code limit} unhealthy chunks. Any thread. */
  public ClusterHealth health(int limit) {
    long under = 0;
    long missing = 0;
    long corrupt = 0;
    List<ChunkPlan> listed = new ArrayList<>();
    for (ChunkPlan plan : unhealthy.values()) {
      if (plan.healthy() < plan.wanted()) {
        under++;
      }
      if (plan.missing()) {
        missing++;
      }
      corrupt += plan.corrupt();
      if (listed.size() < limit) {
        listed.add(plan);
      }
    }
    return new ClusterHealth(under, missing, corrupt, listed);
  }

  /**
   * How many chunks still rely on a decommissioning chunkserver (fewer healthy replicas on the
   * chunkservers in service than their replication, or not yet committed), as of the last
   * complete walk over its chunks; empty until one completes, or if it is not decommissioning.
   * Any thread.
   */
  public OptionalLong chunksToMove(String chunkServerId) {
    Long count = chunksToMove.get(chunkServerId);
    return count == null ? OptionalLong.empty() : OptionalLong.of(count);
  }

  // ---------------------------------------------------------------- one round

  /** One round; returns the actions it started. Monitor thread. */
  int round(long term) {
    if (!node.leading(term)) {
      return 0;
    }
    for (String dead : manager.declareDead()) {
      LOG.atInfo().addKeyValue("chunkserver", dead).log("re-replicating a dead chunkserver's chunks");
    }
    Namespace namespace = node.namespace();
    Set<Long> ids = new LinkedHashSet<>(manager.drainAttention(CHUNKS_PER_PAGE));
    ids.addAll(copyBacklog);
    List<Long> reported = manager.reportedChunksAfter(reportedCursor, CHUNKS_PER_PAGE);
    reportedCursor = reported.size() < CHUNKS_PER_PAGE ? 0 : reported.get(reported.size() - 1);
    ids.addAll(reported);

    List<ChunkPlan> plans = new ArrayList<>();
    try {
      List<Long> all = new ArrayList<>(ids);
      for (int from = 0; from < all.size(); from += CHUNKS_PER_PAGE) {
        List<Long> batch = all.subList(from, Math.min(all.size(), from + CHUNKS_PER_PAGE));
        for (ChunkOwnership ownership : namespace.chunkOwnerships(batch)) {
          plans.add(evaluate(ownership));
        }
      }
      // Chunks no chunkserver reports show up only in the namespace: count them as missing,
      // but only once every live chunkserver has reported to this leader.
      List<ChunkOwnership.InFile> inFiles = manager.reportsSettled()
          ? namespace.chunksInFiles(namespaceCursor, CHUNKS_PER_PAGE) : List.of();
      namespaceCursor = inFiles.size() < CHUNKS_PER_PAGE ? 0
          : inFiles.get(inFiles.size() - 1).chunkId();
      for (ChunkOwnership.InFile f : inFiles) {
        if (!ids.contains(f.chunkId())) {
          evaluate(f);
        }
      }
      collectGarbage(term, namespace, plans);
      walkDecommissioning(namespace, plans);
    } catch (NamespaceException e) {
      throw new IllegalStateException("reads of the namespace cannot be refused here", e);
    }

    int started = 0;
    Map<String, List<RepairAction.Delete>> deletions = new LinkedHashMap<>();
    for (ChunkPlan plan : plans) {
      for (RepairAction action : plan.actions()) {
        if (!manager.beginCall(action.chunkId(), action.server().id())) {
          continue;
        }
        if (action instanceof RepairAction.Delete d) {
          deletions.computeIfAbsent(d.server().id(), k -> new ArrayList<>()).add(d);
        } else if (action instanceof RepairAction.Seal s) {
          submit(adminCalls, () -> seal(s), s);
        }
        started++;
      }
    }
    for (List<RepairAction.Delete> forServer : deletions.values()) {
      for (int from = 0; from < forServer.size(); from += ChunkServerLimits.DELETE_BATCH_MAX) {
        List<RepairAction.Delete> batch = List.copyOf(forServer.subList(from,
            Math.min(forServer.size(), from + ChunkServerLimits.DELETE_BATCH_MAX)));
        submit(adminCalls, () -> delete(batch), batch.toArray(new RepairAction[0]));
      }
    }
    // Repair first: balancing takes only the copy slots repair left free.
    started += scheduleCopies(plans);
    try {
      started += balance(namespace);
    } catch (NamespaceException e) {
      throw new IllegalStateException("reads of the namespace cannot be refused here", e);
    }
    return started;
  }

  private ChunkPlan evaluate(ChunkOwnership ownership) {
    long chunkId = ownership.chunkId();
    // A committed chunk's placements not reported yet count as open replicas: they are sealed
    // now, and a seal that succeeds records the replica, so readers find it at once instead of
    // a heartbeat later; until the seal answers, the placement counts as a replica being sealed.
    List<ReplicaView> replicas = ownership instanceof ChunkOwnership.InFile f && f.committed()
        ? manager.replicasOfCommitted(chunkId, f.chunk().generation(), f.chunk().lengthBytes())
        : manager.replicas(chunkId);
    ChunkPlan plan = RepairPlanner.plan(ownership, replicas, manager.copyTargets(chunkId),
        manager.callsInFlight(chunkId));
    if (plan.unhealthy()) {
      if (unhealthy.size() < UNHEALTHY_TRACKED_MAX || unhealthy.containsKey(chunkId)) {
        unhealthy.put(chunkId, plan);
      }
    } else {
      unhealthy.remove(chunkId);
    }
    if (plan.copiesWanted() == 0) {
      copyBacklog.remove(chunkId);
    }
    return plan;
  }

  /**
   * Evaluates the next page of each decommissioning chunkserver's chunks, so that its chunks are
   * copied to chunkservers in service, and counts those that still rely on it; a walk that
   * reaches the end publishes its count ({@link #chunksToMove}) and starts over. The pages share
   * one round's budget of {@link #CHUNKS_PER_PAGE}, at least {@value #DRAIN_CHUNKS_PER_SERVER_MIN}
   * chunks each.
   */
  private void walkDecommissioning(Namespace namespace, List<ChunkPlan> plans)
      throws NamespaceException {
    // One whose full report this leader has yet to take would count none of its chunks.
    List<String> leaving = manager.servers().stream()
        .filter(s -> s.alive() && s.decommissioning() && manager.fullyReported(s.id()))
        .map(ChunkServerView::id).toList();
    drainWalks.keySet().retainAll(leaving);
    chunksToMove.keySet().retainAll(leaving);
    if (leaving.isEmpty()) {
      return;
    }
    Map<Long, ChunkPlan> evaluated = new HashMap<>();
    plans.forEach(p -> evaluated.put(p.chunkId(), p));
    int page = Math.max(DRAIN_CHUNKS_PER_SERVER_MIN, CHUNKS_PER_PAGE / leaving.size());
    for (String id : leaving) {
      DrainWalk walk = drainWalks.computeIfAbsent(id, k -> new DrainWalk());
      List<Long> chunkIds = manager.chunksOn(id, walk.cursor, page);
      boolean exact = true;
      for (ChunkOwnership ownership : namespace.chunkOwnerships(chunkIds)) {
        ChunkPlan plan = evaluated.get(ownership.chunkId());
        if (plan == null) {
          plan = evaluate(ownership);
          evaluated.put(plan.chunkId(), plan);
          plans.add(plan);
        }
        // A plan made earlier in this round, before the heartbeat that said the chunkserver is
        // leaving (or one made after it returned to service), counts its replica as staying:
        // this pass would count too few, down to none. Start over next round instead.
        exact &= !plan.countedInService(id);
        if (plan.reliesOnLeaving()) {
          walk.relying++;
        }
      }
      if (!exact) {
        walk.restart();
      } else if (chunkIds.size() < page) {
        chunksToMove.put(id, walk.relying);
        walk.restart();
      } else {
        walk.cursor = chunkIds.get(chunkIds.size() - 1);
      }
    }
  }

  /** Where the walk over one decommissioning chunkserver's chunks stands. Monitor thread. */
  private static final class DrainWalk {
    long cursor;
    long relying;

    void restart() {
      cursor = 0;
      relying = 0;
    }
  }

  /**
   * Deletes the replicas of one page of garbage chunks and forgets those no chunkserver holds,
   * once every live chunkserver has reported since this member took office.
   */
  private void collectGarbage(long term, Namespace namespace, List<ChunkPlan> plans)
      throws NamespaceException {
    List<GarbageChunkInfo> garbage = namespace.garbageChunks(garbageCursor, CHUNKS_PER_PAGE);
    garbageCursor = garbage.size() < CHUNKS_PER_PAGE ? 0
        : garbage.get(garbage.size() - 1).chunkId();
    boolean settled = manager.reportsSettled();
    List<Long> forget = new ArrayList<>();
    for (GarbageChunkInfo g : garbage) {
      // A chunk of a file deleted while it was written: its placements stand for nothing now.
      manager.forgetExpected(g.chunkId());
      List<ReplicaView> replicas = manager.replicas(g.chunkId());
      if (replicas.isEmpty()) {
        if (settled) {
          forget.add(g.chunkId());
        }
      } else {
        plans.add(RepairPlanner.plan(new ChunkOwnership.Garbage(g), replicas, 0));
      }
    }
    if (forget.isEmpty() || !node.leading(term)) {
      return;
    }
    try {
      node.submit(p -> p.forgetGarbageChunks(forget))
          .get(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
      garbageForgotten.increment(forget.size());
    } catch (ExecutionException | TimeoutException e) {
      LOG.atInfo().addKeyValue("chunks", forget.size()).addKeyValue("error", String.valueOf(
          e.getCause())).log("forgetting garbage chunks failed; the next round tries again");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Starts copies, chunks with the fewest healthy replicas first. Returns copies started. */
  private int scheduleCopies(List<ChunkPlan> plans) {
    List<ChunkPlan> needing = new ArrayList<>();
    for (ChunkPlan plan : plans) {
      if (plan.copiesWanted() > 0) {
        needing.add(plan);
      }
    }
    needing.sort(Comparator.comparingInt(ChunkPlan::healthy)
        .thenComparingLong(ChunkPlan::chunkId));
    int started = 0;
    for (ChunkPlan plan : needing) {
      int made = 0;
      for (int i = 0; i < plan.copiesWanted(); i++) {
        if (!startCopy(plan)) {
          break;
        }
        made++;
      }
      started += made;
      if (made < plan.copiesWanted()) {
        if (copyBacklog.size() < COPY_BACKLOG_MAX) {
          copyBacklog.add(plan.chunkId());
        }
      } else {
        copyBacklog.remove(plan.chunkId());
      }
    }
    return started;
  }

  private boolean startCopy(ChunkPlan plan) {
    List<ChunkServerView> sources = new ArrayList<>(plan.sources());
    sources.sort(Comparator.comparingInt((ChunkServerView s) -> manager.copiesOf(s.id()))
        .thenComparing(ChunkServerView::id));
    ChunkServerView source = null;
    for (ChunkServerView s : sources) {
      if (manager.copiesOf(s.id()) < manager.config().copiesPerServerMax()) {
        source = s;
        break;
      }
    }
    if (source == null) {
      return false;
    }
    List<String> holders = plan.sources().stream().map(ChunkServerView::id).toList();
    List<ReplicaView> replicas = manager.replicas(plan.chunkId());
    long generation = -1;
    long length = 0;
    for (ReplicaView r : replicas) {
      if (r.serverId().equals(source.id())) {
        generation = r.generation();
        length = r.lengthBytes();
      }
    }
    ChunkServerView target = manager.chooseCopyTarget(plan.chunkId(), Math.max(1, length),
        holders);
    if (target == null || generation == -1
        || !manager.startCopy(plan.chunkId(), source.id(), target.id(), length)) {
      return false;
    }
    ChunkServerView from = source;
    long gen = generation;
    copiesStarted.increment();
    try {
      copies.execute(() -> copy(plan.chunkId(), from, target, gen, false));
    } catch (RejectedExecutionException stopped) {
      manager.copyFinished(plan.chunkId(), from.id(), target.id(), false, 0, 0);
      return false;
    }
    return true;
  }

  // ---------------------------------------------------------------- balancing

  /** Starts balancing moves if the spread of usage calls for them. Returns moves started. */
  private int balance(Namespace namespace) throws NamespaceException {
    ChunkManagerConfig config = manager.config();
    moves.values().removeIf(this::moveOver);
    Map<String, Long> leaving = new HashMap<>();
    for (BalancePlanner.Move m : moves.values()) {
      leaving.merge(m.from().id(), m.lengthBytes(), Long::sum);
    }
    List<ChunkServerView> servers = manager.servers();
    double spread = BalancePlanner.spread(servers, leaving);
    usageSpread = spread;
    // Copies of an earlier term may still run after a leadership change cleared the moves.
    int underWay = Math.max(moves.size(), balanceCopiesInFlight.get());
    // Usage is known only once every live chunkserver has reported to this leader.
    if (!config.balancing() || spread <= config.balanceThresholdFraction()
        || underWay >= config.balanceCopiesMax() || !manager.reportsSettled()) {
      return 0;
    }
    List<ChunkServerView> fullest = new ArrayList<>(BalancePlanner.counted(servers));
    fullest.sort(Comparator.comparingDouble((ChunkServerView s) -> -s.usedFraction())
        .thenComparing(ChunkServerView::id));
    Set<Long> ids = new LinkedHashSet<>();
    for (ChunkServerView s : fullest.subList(0, Math.min(BALANCE_SOURCES_MAX, fullest.size()))) {
      long cursor = balanceCursors.getOrDefault(s.id(), Long.MIN_VALUE);
      List<Long> page = manager.chunksOn(s.id(), cursor, BALANCE_CHUNKS_PER_SOURCE);
      balanceCursors.put(s.id(), page.size() < BALANCE_CHUNKS_PER_SOURCE ? Long.MIN_VALUE
          : page.get(page.size() - 1));
      ids.addAll(page);
    }
    ids.removeAll(moves.keySet());
    List<BalancePlanner.Candidate> candidates = new ArrayList<>();
    List<Long> all = new ArrayList<>(ids);
    for (int from = 0; from < all.size(); from += CHUNKS_PER_PAGE) {
      List<Long> batch = all.subList(from, Math.min(all.size(), from + CHUNKS_PER_PAGE));
      for (ChunkOwnership ownership : namespace.chunkOwnerships(batch)) {
        if (ownership instanceof ChunkOwnership.InFile f && f.committed()) {
          Set<String> copying = manager.copyTargets(f.chunkId());
          int calls = manager.callsInFlight(f.chunkId());
          if (calls > 0) {
            continue; // a seal or deletion is about to change its replicas
          }
          ChunkPlan plan = RepairPlanner.plan(f, manager.replicas(f.chunkId()), copying, 0);
          candidates.add(new BalancePlanner.Candidate(plan, f.chunk().generation(),
              f.chunk().lengthBytes(), copying.size()));
        }
      }
    }
    Map<String, Integer> copiesOf = new HashMap<>();
    for (ChunkServerView s : servers) {
      copiesOf.put(s.id(), manager.copiesOf(s.id()));
    }
    // The planner counts the moves it is given against its limit; leftover copies count too.
    BalancePlanner.Settings settings = new BalancePlanner.Settings(
        config.balanceThresholdFraction(), config.balanceCopiesMax() - underWay + moves.size(),
        config.copiesPerServerMax(), manager.racksConfigured());
    BalancePlanner.BalancePlan plan = BalancePlanner.plan(servers, copiesOf,
        List.copyOf(moves.values()), candidates, settings);
    int started = 0;
    for (BalancePlanner.Move m : plan.moves()) {
      if (balanceCopiesInFlight.get() >= config.balanceCopiesMax()) {
        throw new IllegalStateException("the balancer planned more than "
            + config.balanceCopiesMax() + " copies at once");
      }
      if (!manager.startCopy(m.chunkId(), m.copySource().id(), m.target().id(),
          m.lengthBytes())) {
        continue;
      }
      moves.put(m.chunkId(), m);
      balanceCopiesInFlightPeak.accumulateAndGet(balanceCopiesInFlight.incrementAndGet(),
          Math::max);
      balanceCopiesStarted.increment();
      LOG.atInfo().addKeyValue("chunk", Long.toUnsignedString(m.chunkId()))
          .addKeyValue("from", m.from().id()).addKeyValue("to", m.target().id())
          .addKeyValue("spread", String.format("%.3f", spread)).log("balancing: moving a replica");
      try {
        copies.execute(() -> copy(m.chunkId(), m.copySource(), m.target(), m.generation(), true));
      } catch (RejectedExecutionException stopped) {
        manager.copyFinished(m.chunkId(), m.copySource().id(), m.target().id(), false, 0, 0);
        balanceCopiesInFlight.decrementAndGet();
        moves.remove(m.chunkId());
        break;
      }
      started++;
    }
    return started;
  }

  /**
   * A move is over once no copy of its chunk is under way and either the copy did not land on
   * the target (it failed, or the replica is gone again) or the chunk is back to its
   * replication (the excess replica was trimmed).
   */
  private boolean moveOver(BalancePlanner.Move m) {
    if (manager.copiesInFlight(m.chunkId()) > 0) {
      return false;
    }
    boolean onTarget = false;
    int live = 0;
    for (ReplicaView r : manager.replicas(m.chunkId())) {
      if (r.serverAlive()) {
        live++;
        onTarget |= r.serverId().equals(m.target().id());
      }
    }
    return !onTarget || live <= m.wanted();
  }

  // ---------------------------------------------------------------- calls

  private void submit(ExecutorService pool, Runnable call, RepairAction... actions) {
    try {
      pool.execute(() -> {
        try {
          call.run();
        } finally {
          for (RepairAction a : actions) {
            manager.endCall(a.chunkId(), a.server().id());
          }
        }
      });
    } catch (RejectedExecutionException stopped) {
      for (RepairAction a : actions) {
        manager.endCall(a.chunkId(), a.server().id());
      }
    }
  }

  private void seal(RepairAction.Seal s) {
    try {
      long sealed = calls.seal(s.server(), s.chunkId(), s.generation(), s.lengthBytes());
      manager.replicaChanged(s.chunkId(), s.server().id(), s.generation(), sealed,
          ReplicaState.REPLICA_STATE_SEALED);
      replicasSealed.increment();
    } catch (StatusRuntimeException e) {
      LOG.atInfo().addKeyValue("chunk", Long.toUnsignedString(s.chunkId()))
          .addKeyValue("chunkserver", s.server().id()).addKeyValue("status", e.getStatus())
          .log("sealing a replica at the committed length failed");
      if (e.getStatus().getCode() == Status.Code.FAILED_PRECONDITION) {
        confirmShort(s);
      }
      // Otherwise (unreachable, busy) the next round tries again.
    } finally {
      manager.placementSettled(s.chunkId(), s.server().id());
    }
  }

  /**
   * After a refused seal: asks the replica what it holds, and marks it stale if it is open with
   * fewer bytes than the committed length (a writer that lost it went on without it).
   */
  private void confirmShort(RepairAction.Seal s) {
    try {
      GetReplicaResponse replica = calls.getReplica(s.server(), s.chunkId());
      if (replica.getState() == ReplicaState.REPLICA_STATE_OPEN
          && replica.getGeneration() == s.generation()
          && replica.getLength() < s.lengthBytes()) {
        manager.sealRefused(s.chunkId(), s.server().id(), replica.getGeneration(),
            replica.getLength());
      } else {
        manager.replicaChanged(s.chunkId(), s.server().id(), replica.getGeneration(),
            replica.getLength(), replica.getState());
      }
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
        manager.replicaRemoved(s.chunkId(), s.server().id());
      }
    }
  }

  private void delete(List<RepairAction.Delete> batch) {
    ChunkServerView server = batch.get(0).server();
    List<ChunkServerCalls.Deletion> deletions = new ArrayList<>();
    for (RepairAction.Delete d : batch) {
      deletions.add(new ChunkServerCalls.Deletion(d.chunkId(), d.generation()));
    }
    try {
      List<ReplicaDeletionResult> results = calls.deleteReplicas(server, deletions);
      for (int i = 0; i < results.size() && i < batch.size(); i++) {
        RepairAction.Delete d = batch.get(i);
        DeletionOutcome outcome = results.get(i).getOutcome();
        if (outcome == DeletionOutcome.DELETION_OUTCOME_DELETED
            || outcome == DeletionOutcome.DELETION_OUTCOME_NOT_FOUND) {
          manager.replicaRemoved(d.chunkId(), server.id());
          replicasDeleted.increment();
          LOG.atInfo().addKeyValue("chunk", Long.toUnsignedString(d.chunkId()))
              .addKeyValue("chunkserver", server.id()).addKeyValue("reason", d.reason())
              .log("replica deleted");
        } else {
          LOG.atInfo().addKeyValue("chunk", Long.toUnsignedString(d.chunkId()))
              .addKeyValue("chunkserver", server.id()).addKeyValue("outcome", outcome)
              .addKeyValue("message", results.get(i).getMessage())
              .log("replica not deleted; the next round tries again");
        }
      }
    } catch (StatusRuntimeException e) {
      LOG.atInfo().addKeyValue("chunkserver", server.id()).addKeyValue("replicas", batch.size())
          .addKeyValue("status", e.getStatus()).log("deleting replicas failed");
    }
  }

  /** Copies a replica; {@code balancing} for a balancing move rather than repair. */
  private void copy(long chunkId, ChunkServerView source, ChunkServerView target,
      long generation, boolean balancing) {
    boolean ok = false;
    long length = 0;
    try {
      ReplicateReplicaResponse copied = calls.replicate(target, source, chunkId, generation);
      ok = copied.getGeneration() == generation;
      length = copied.getLength();
      LOG.atInfo().addKeyValue("chunk", Long.toUnsignedString(chunkId))
          .addKeyValue("source", source.id()).addKeyValue("target", target.id())
          .addKeyValue("bytes", length).addKeyValue("balancing", balancing)
          .log("replica copied");
    } catch (StatusRuntimeException e) {
      copiesFailed.increment();
      LOG.atInfo().addKeyValue("chunk", Long.toUnsignedString(chunkId))
          .addKeyValue("source", source.id()).addKeyValue("target", target.id())
          .addKeyValue("status", e.getStatus()).log("replica copy failed");
    } finally {
      manager.copyFinished(chunkId, source.id(), target.id(), ok, generation, length);
      if (balancing) {
        balanceCopiesInFlight.decrementAndGet();
        (ok ? balanceCopiesSucceeded : balanceCopiesFailed).increment();
      }
      // The next evaluation trims the excess replica a balancing copy made.
      manager.noteAttention(chunkId);
    }
  }

  private static ThreadFactory threads(String prefix) {
    AtomicInteger count = new AtomicInteger();
    return r -> {
      Thread thread = new Thread(r, "pangu-master-" + prefix + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  @Override
  public void close() {
    synchronized (this) {
      if (running != null) {
        running.cancel(true);
      }
      rounds.shutdownNow();
    }
    copies.shutdownNow();
    adminCalls.shutdownNow();
    try {
      rounds.awaitTermination(STOP_WAIT_MS, TimeUnit.MILLISECONDS);
      copies.awaitTermination(STOP_WAIT_MS, TimeUnit.MILLISECONDS);
      adminCalls.awaitTermination(STOP_WAIT_MS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
