package org.apsara.pangu.master.repair;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.apsara.pangu.api.v1.ReplicaState;
import org.apsara.pangu.master.chunks.ChunkServerView;
import org.apsara.pangu.master.chunks.ReplicaView;

/**
 * Decides which replicas the balancer moves, from the chunkservers' usage and a page of chunks
 * held by the fullest ones. A pure function like {@link RepairPlanner}: no clock, no calls, so
 * every rule is unit-tested on plain values.
 *
 * <p>Usage is a chunkserver's {@link ChunkServerView#usedFraction} (what it reported plus what
 * the master sent there or deleted since, minus what balancing moves under way will take off
 * it). Only live chunkservers that take new replicas and reported a capacity count. The
 * <b>spread</b> is the used fraction of the fullest of them minus that of the emptiest. While
 * it exceeds the threshold, the planner picks moves, one at a time, updating the usage it
 * projects after each:
 * <ul>
 *   <li>from the fullest chunkserver above the cluster's average that has a movable chunk, to
 *       the emptiest below the average that may take it;</li>
 *   <li>only chunks that are committed, exactly at their replication with every replica healthy,
 *       nothing to seal or delete, and no copy under way: a chunk that needs repair is left to
 *       repair, and an open chunk to its writer;</li>
 *   <li>the target holds no replica of the chunk, has room for it and a free copy slot, and
 *       after the move the chunk's replicas are on as many hosts and (when racks are configured)
 *       as many racks as before;</li>
 *   <li>the trimming of excess replicas ({@link RepairPlanner#excess}) would remove the replica
 *       on the source once the copy landed, so the move ends where it was meant to;</li>
 *   <li>the target is less full than the source after the move, so a move never swaps which of
 *       the two is fuller and the planner cannot oscillate;</li>
 *   <li>the data are copied from a holder with a free copy slot (the source first).</li>
 * </ul>
 * A move is a copy followed, once the copy has landed, by the ordinary trimming of the excess
 * replica: a chunk never has fewer healthy replicas than its replication because of a move.
 * Copy slots already taken (by repair, which runs first in a round) are not available, and at
 * most {@link Settings#movesMax} moves are under way at once.
 *
 * <p>Stateless.
 */
public final class BalancePlanner {
  private BalancePlanner() {}

  /**
   * How the balancer is paced. Immutable.
   *
   * @param thresholdFraction the spread tolerated, as a fraction (0.1 for 10 percentage points);
   *     0 turns the balancer off
   * @param movesMax balancing moves under way at a time in the cluster
   * @param copiesPerServerMax copies one chunkserver takes part in at a time
   * @param racksConfigured whether placement wants rack diversity
   */
  public record Settings(double thresholdFraction, int movesMax, int copiesPerServerMax,
      boolean racksConfigured) {}

  /**
   * A chunk the balancer may move, as repair judged it.
   *
   * @param plan what {@link RepairPlanner#plan} made of it
   * @param generation its committed generation
   * @param lengthBytes its committed length
   * @param copiesInFlight copies of it under way
   */
  public record Candidate(ChunkPlan plan, long generation, long lengthBytes, int copiesInFlight) {}

  /**
   * One move: {@code target} copies the chunk from {@code copySource}, then trimming removes the
   * replica on {@code from}. Immutable.
   *
   * @param wanted the chunk's replication: the move is over once it is back to this many
   */
  public record Move(long chunkId, long generation, long lengthBytes, int wanted,
      ChunkServerView copySource, ChunkServerView from, ChunkServerView target) {}

  /**
   * The balancer's decision for one round. Immutable.
   *
   * @param spread the spread before these moves, 0 when fewer than two chunkservers count
   * @param moves the moves to start, in order
   */
  public record BalancePlan(double spread, List<Move> moves) {
    public BalancePlan {
      moves = List.copyOf(moves);
    }
  }

  /**
   * The live chunkservers that take new replicas (not full, not decommissioning) and reported a
   * capacity: those balanced.
   */
  public static List<ChunkServerView> counted(List<ChunkServerView> servers) {
    List<ChunkServerView> counted = new ArrayList<>();
    for (ChunkServerView s : servers) {
      if (s.alive() && !s.full() && !s.decommissioning() && s.capacityBytes() > 0) {
        counted.add(s);
      }
    }
    return counted;
  }

  /**
   * The spread of used fractions over {@link #counted} chunkservers, with {@code leaving} bytes
   * (by chunkserver id) taken off; 0 when fewer than two count.
   */
  public static double spread(List<ChunkServerView> servers, Map<String, Long> leaving) {
    Usage usage = new Usage(counted(servers), leaving);
    return usage.spread();
  }

  /**
   * Chooses the moves of one round.
   *
   * @param servers every known chunkserver
   * @param copiesOf copy slots each chunkserver uses now (repair's and balancing's), by id
   * @param underWay balancing moves started and not yet over: their bytes count as gone from
   *     their source, and they count against {@link Settings#movesMax}
   * @param candidates chunks held by the fullest chunkservers
   */
  public static BalancePlan plan(List<ChunkServerView> servers, Map<String, Integer> copiesOf,
      List<Move> underWay, List<Candidate> candidates, Settings settings) {
    Map<String, Long> leaving = new HashMap<>();
    Set<Long> moving = new HashSet<>();
    for (Move m : underWay) {
      leaving.merge(m.from().id(), m.lengthBytes(), Long::sum);
      moving.add(m.chunkId());
    }
    Usage usage = new Usage(counted(servers), leaving);
    double spread = usage.spread();
    List<Move> moves = new ArrayList<>();
    if (settings.thresholdFraction() <= 0 || spread <= settings.thresholdFraction()) {
      return new BalancePlan(spread, moves);
    }
    Map<String, Integer> slots = new HashMap<>(copiesOf);
    List<Candidate> movable = new ArrayList<>();
    for (Candidate c : candidates) {
      if (movable(c) && !moving.contains(c.plan().chunkId())) {
        movable.add(c);
      }
    }
    movable.sort(Comparator.comparingLong(c -> c.plan().chunkId()));
    int budget = settings.movesMax() - underWay.size();
    while (moves.size() < budget && usage.spread() > settings.thresholdFraction()) {
      Move next = nextMove(usage, slots, movable, settings);
      if (next == null) {
        break;
      }
      moves.add(next);
      movable.removeIf(c -> c.plan().chunkId() == next.chunkId());
      usage.move(next.from().id(), next.target().id(), next.lengthBytes());
      slots.merge(next.copySource().id(), 1, Integer::sum);
      slots.merge(next.target().id(), 1, Integer::sum);
    }
    return new BalancePlan(spread, moves);
  }

  /**
   * Committed, at its replication with every replica on a live chunkserver healthy and none on a
   * decommissioning one, nothing to seal or delete, no copy under way.
   */
  static boolean movable(Candidate c) {
    ChunkPlan p = c.plan();
    return p.inFile() && p.healthy() == p.wanted() && p.leaving() == 0 && p.corrupt() == 0
        && p.actions().isEmpty() && p.copiesWanted() == 0 && c.copiesInFlight() == 0;
  }

  private static Move nextMove(Usage usage, Map<String, Integer> slots, List<Candidate> movable,
      Settings settings) {
    double average = usage.average();
    List<ChunkServerView> sources = new ArrayList<>();
    List<ChunkServerView> targets = new ArrayList<>();
    for (ChunkServerView s : usage.servers) {
      if (usage.fraction(s.id()) > average) {
        sources.add(s);
      } else if (usage.fraction(s.id()) < average) {
        targets.add(s);
      }
    }
    sources.sort(Comparator.comparingDouble((ChunkServerView s) -> -usage.fraction(s.id()))
        .thenComparing(ChunkServerView::id));
    targets.sort(Comparator.comparingDouble((ChunkServerView s) -> usage.fraction(s.id()))
        .thenComparing(ChunkServerView::id));
    for (ChunkServerView from : sources) {
      for (Candidate c : movable) {
        List<ChunkServerView> holders = c.plan().sources();
        if (holders.stream().noneMatch(h -> h.id().equals(from.id()))) {
          continue;
        }
        ChunkServerView copySource = copySource(holders, from, slots, settings);
        if (copySource == null) {
          continue;
        }
        for (ChunkServerView target : targets) {
          if (fits(c, from, target, holders, usage, slots, settings)) {
            return new Move(c.plan().chunkId(), c.generation(), c.lengthBytes(),
                c.plan().wanted(), copySource, from, target);
          }
        }
      }
    }
    return null;
  }

  /** The holder to read from: the source if it has a free slot, else the least busy holder. */
  private static ChunkServerView copySource(List<ChunkServerView> holders, ChunkServerView from,
      Map<String, Integer> slots, Settings settings) {
    if (slots.getOrDefault(from.id(), 0) < settings.copiesPerServerMax()) {
      return from;
    }
    ChunkServerView best = null;
    for (ChunkServerView h : holders) {
      int used = slots.getOrDefault(h.id(), 0);
      if (h.alive() && used < settings.copiesPerServerMax() && (best == null
          || used < slots.getOrDefault(best.id(), 0))) {
        best = h;
      }
    }
    return best;
  }

  private static boolean fits(Candidate c, ChunkServerView from, ChunkServerView target,
      List<ChunkServerView> holders, Usage usage, Map<String, Integer> slots, Settings settings) {
    long length = c.lengthBytes();
    if (holders.stream().anyMatch(h -> h.id().equals(target.id()))
        || slots.getOrDefault(target.id(), 0) >= settings.copiesPerServerMax()
        || usage.room(target.id()) < Math.max(1, length)) {
      return false;
    }
    // After the move the target must still be less full than the source: no swap, no churn.
    if (usage.fractionAfter(target.id(), length) >= usage.fractionAfter(from.id(), -length)) {
      return false;
    }
    List<ChunkServerView> after = new ArrayList<>();
    for (ChunkServerView h : holders) {
      if (!h.id().equals(from.id())) {
        after.add(h);
      }
    }
    after.add(target);
    if (distinct(after, ChunkServerView::host) < distinct(holders, ChunkServerView::host)) {
      return false;
    }
    if (settings.racksConfigured()
        && distinct(after, ChunkServerView::rack) < distinct(holders, ChunkServerView::rack)) {
      return false;
    }
    // Once the copy has landed, trimming must take the replica off the source, not another.
    List<ReplicaView> landed = new ArrayList<>();
    for (ChunkServerView h : holders) {
      landed.add(healthy(usage.projected(h), c));
    }
    landed.add(healthy(usage.projectedWith(target, length), c));
    return RepairPlanner.excess(landed, 1).get(0).serverId().equals(from.id());
  }

  private static ReplicaView healthy(ChunkServerView server, Candidate c) {
    return new ReplicaView(server, true, c.generation(), c.lengthBytes(),
        ReplicaState.REPLICA_STATE_SEALED, false);
  }

  private static int distinct(List<ChunkServerView> servers,
      Function<ChunkServerView, String> key) {
    Set<String> values = new HashSet<>();
    servers.forEach(s -> values.add(key.apply(s)));
    return values.size();
  }

  /** The usage the planner projects, changed by the moves it chose so far. */
  private static final class Usage {
    final List<ChunkServerView> servers;
    final Map<String, ChunkServerView> byId = new HashMap<>();
    /** Bytes added to (or, negative, taken off) each chunkserver by moves; by id. */
    final Map<String, Long> delta = new HashMap<>();

    Usage(List<ChunkServerView> servers, Map<String, Long> leaving) {
      this.servers = servers;
      for (ChunkServerView s : servers) {
        byId.put(s.id(), s);
        delta.put(s.id(), -leaving.getOrDefault(s.id(), 0L));
      }
    }

    long used(String id) {
      return Math.max(0, byId.get(id).projectedUsedBytes() + delta.get(id));
    }

    double fraction(String id) {
      return (double) used(id) / byId.get(id).capacityBytes();
    }

    double fractionAfter(String id, long bytes) {
      return (double) Math.max(0, used(id) + bytes) / byId.get(id).capacityBytes();
    }

    /** Free space that takes new replicas, less what is headed there. */
    long room(String id) {
      ChunkServerView s = byId.get(id);
      return s.availableBytes() - Math.max(0, s.pendingBytes()) - Math.max(0, delta.get(id));
    }

    double average() {
      long used = 0;
      long capacity = 0;
      for (ChunkServerView s : servers) {
        used += used(s.id());
        capacity += s.capacityBytes();
      }
      return capacity == 0 ? 0 : (double) used / capacity;
    }

    double spread() {
      if (servers.size() < 2) {
        return 0;
      }
      double max = 0;
      double min = Double.MAX_VALUE;
      for (ChunkServerView s : servers) {
        max = Math.max(max, fraction(s.id()));
        min = Math.min(min, fraction(s.id()));
      }
      return max - min;
    }

    void move(String from, String to, long bytes) {
      delta.merge(from, -bytes, Long::sum);
      delta.merge(to, bytes, Long::sum);
    }

    /** The chunkserver as its projected usage shows it, for the trimming rule. */
    ChunkServerView projected(ChunkServerView s) {
      return projectedWith(s, 0);
    }

    ChunkServerView projectedWith(ChunkServerView s, long extraBytes) {
      long delta = byId.containsKey(s.id()) ? this.delta.get(s.id()) : 0;
      return new ChunkServerView(s.id(), s.address(), s.rack(), s.alive(), s.lastHeartbeatMs(),
          s.capacityBytes(), s.usedBytes(), s.availableBytes(), s.full(), s.replicas(),
          s.pendingBytes() + delta + extraBytes, s.decommissioning());
    }
  }
}
