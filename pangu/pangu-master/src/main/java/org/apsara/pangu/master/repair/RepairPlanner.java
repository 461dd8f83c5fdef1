package org.apsara.pangu.master.repair;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apsara.pangu.api.v1.ReplicaState;
import org.apsara.pangu.master.chunks.ChunkServerView;
import org.apsara.pangu.master.chunks.ReplicaView;
import org.apsara.pangu.master.namespace.ChunkOwnership;

/**
 * Decides, for one chunk, what the replication monitor should do, from what the namespace says
 * about the chunk and the replicas the chunk manager knows. A pure function: no clock, no calls,
 * so every rule is unit-tested on plain values.
 *
 * <p>For a committed chunk with generation G, length L and replication R, each replica on a live
 * chunkserver is
 * <ul>
 *   <li><b>corrupt</b> if a check failed on it or its metadata is unreadable;</li>
 *   <li><b>stale</b> if its generation is not G, or it is sealed at another length than L, or it
 *       is open and its chunkserver refused to seal it at L ({@link
 *       ReplicaView#shortConfirmed}: it holds fewer bytes);</li>
 *   <li><b>to seal</b> if it is open with generation G otherwise: the writer committed, and the
 *       master seals it at L (cutting any unacknowledged tail). Its reported length does not
 *       decide: a report built while the writer was still sending says fewer bytes than the
 *       replica holds once the writer commits, and taking it for stale would delete a good
 *       replica. A replica really shorter than L refuses the seal, which marks it.</li>
 *   <li><b>healthy</b> if it is sealed with generation G and length L.</li>
 * </ul>
 * A healthy replica on a decommissioning chunkserver is <b>leaving</b>: it is read and copied
 * from, but does not count toward replication, and is never trimmed as excess (it goes when its
 * chunkserver is taken out).
 * Corrupt and stale replicas are deleted only once a healthy replica exists, so the last copy of
 * anything is never deleted. Missing replicas are copied from a healthy one (counting copies
 * under way and replicas about to be sealed). Excess healthy replicas are trimmed only when
 * nothing is under way (no copy, seal or deletion of the chunk), keeping as many racks and hosts as possible and removing from the
 * fullest chunkserver (by used fraction) first: this is also how a balancing move ends. Replicas of garbage and orphan chunks are deleted; replicas of chunks
 * allocated after the namespace state read, and of chunks still being written, are left alone
 * (lease recovery owns the latter).
 *
 * <p>Stateless.
 */
public final class RepairPlanner {
  private RepairPlanner() {}

  /** A plan for a chunk with no seal or deletion under way. */
  public static ChunkPlan plan(ChunkOwnership ownership, List<ReplicaView> replicas,
      int copiesInFlight) {
    return plan(ownership, replicas, copiesInFlight, 0);
  }

  /**
   * A plan that leaves alone the replicas on the targets of copies under way, which count as
   * coming. A copy builds its replica open on the target, and a heartbeat may report it before
   * the copy ends: judged then, it would look short of the committed length, fail its seal and be
   * deleted as stale under the copy, and the chunk would fall a replica short when the move the
   * copy belongs to trims its source. The copy's end records the sealed replica; a failed copy
   * leaves its target to the next evaluation.
   *
   * @param copyTargets the chunkservers copies of it are under way to
   */
  public static ChunkPlan plan(ChunkOwnership ownership, List<ReplicaView> replicas,
      Set<String> copyTargets, int callsInFlight) {
    List<ReplicaView> judged = copyTargets.isEmpty() ? replicas : replicas.stream()
        .filter(r -> !copyTargets.contains(r.serverId())).toList();
    return plan(ownership, judged, copyTargets.size(), callsInFlight);
  }

  /**
   * @param ownership what the namespace says about the chunk
   * @param replicas every replica the chunk manager knows of it
   * @param copiesInFlight copies of it under way
   * @param callsInFlight seals and deletions of its replicas under way: excess replicas are
   *     trimmed only when there are none, since a replica being deleted still shows here and
   *     trimming again would remove a second one
   */
  public static ChunkPlan plan(ChunkOwnership ownership, List<ReplicaView> replicas,
      int copiesInFlight, int callsInFlight) {
    long chunkId = ownership.chunkId();
    List<RepairAction> actions = new ArrayList<>();
    if (ownership instanceof ChunkOwnership.InFile f) {
      if (!f.committed()) {
        return new ChunkPlan(chunkId, f.chunk().fileId(), false, 0, 0, f.replication(), 0,
            actions, 0, List.of());
      }
      return planCommitted(f, replicas, copiesInFlight, callsInFlight);
    }
    if (ownership instanceof ChunkOwnership.Garbage) {
      deleteAll(chunkId, replicas, RepairAction.Reason.GARBAGE, actions);
    } else if (ownership instanceof ChunkOwnership.Orphan) {
      deleteAll(chunkId, replicas, RepairAction.Reason.ORPHAN, actions);
    }
    // NotYetAllocated: a chunk of records this state has not applied; leave it alone.
    return new ChunkPlan(chunkId, 0, false, 0, 0, 0, 0, actions, 0, List.of());
  }

  private static ChunkPlan planCommitted(ChunkOwnership.InFile f, List<ReplicaView> replicas,
      int copiesInFlight, int callsInFlight) {
    long chunkId = f.chunkId();
    long generation = f.chunk().generation();
    long length = f.chunk().lengthBytes();
    List<ReplicaView> healthy = new ArrayList<>();
    List<ReplicaView> leaving = new ArrayList<>();
    List<ReplicaView> corrupt = new ArrayList<>();
    List<ReplicaView> stale = new ArrayList<>();
    List<ReplicaView> toSeal = new ArrayList<>();
    for (ReplicaView r : replicas) {
      if (!r.serverAlive()) {
        continue;
      }
      if (r.corrupt() || r.state() == ReplicaState.REPLICA_STATE_UNREADABLE) {
        corrupt.add(r);
      } else if (r.generation() != generation) {
        stale.add(r);
      } else if (r.state() == ReplicaState.REPLICA_STATE_OPEN) {
        (r.shortConfirmed() ? stale : toSeal).add(r);
      } else if (r.lengthBytes() == length) {
        (r.server().decommissioning() ? leaving : healthy).add(r);
      } else {
        stale.add(r);
      }
    }
    List<RepairAction> actions = new ArrayList<>();
    for (ReplicaView r : toSeal) {
      actions.add(new RepairAction.Seal(chunkId, r.server(), generation, length));
    }
    boolean anyHealthy = !healthy.isEmpty() || !leaving.isEmpty();
    if (anyHealthy) {
      for (ReplicaView r : corrupt) {
        actions.add(new RepairAction.Delete(chunkId, r.server(), r.generation(),
            RepairAction.Reason.CORRUPT));
      }
      for (ReplicaView r : stale) {
        actions.add(new RepairAction.Delete(chunkId, r.server(), r.generation(),
            RepairAction.Reason.STALE));
      }
    }
    int wanted = f.replication();
    long sealingInService = toSeal.stream().filter(r -> !r.server().decommissioning()).count();
    int coming = healthy.size() + (int) sealingInService + copiesInFlight;
    int copiesWanted = anyHealthy ? Math.max(0, wanted - coming) : 0;
    if (healthy.size() > wanted && toSeal.isEmpty() && copiesInFlight == 0
        && callsInFlight == 0) {
      for (ReplicaView r : excess(healthy, healthy.size() - wanted)) {
        actions.add(new RepairAction.Delete(chunkId, r.server(), r.generation(),
            RepairAction.Reason.EXCESS));
      }
    }
    List<ChunkServerView> sources = new ArrayList<>();
    healthy.forEach(r -> sources.add(r.server()));
    leaving.forEach(r -> sources.add(r.server()));
    return new ChunkPlan(chunkId, f.chunk().fileId(), true, healthy.size(), leaving.size(),
        wanted, corrupt.size(), actions, copiesWanted, sources);
  }

  private static void deleteAll(long chunkId, List<ReplicaView> replicas,
      RepairAction.Reason reason, List<RepairAction> actions) {
    for (ReplicaView r : replicas) {
      if (r.serverAlive()) {
        actions.add(new RepairAction.Delete(chunkId, r.server(), r.generation(), reason));
      }
    }
  }

  /**
   * Which {@code count} healthy replicas to remove, one at a time: the one whose removal leaves
   * the most racks, then the most hosts (so no rack or host is emptied while another could give
   * a replica up), then the one on the fullest chunkserver by {@link
   * ChunkServerView#usedFraction} (counting what is pending there, as the balancer does, so that
   * a replica the balancer copied away from an over-used chunkserver is removed from that one),
   * then the least free space, ties by id.
   */
  static List<ReplicaView> excess(List<ReplicaView> healthy, int count) {
    List<ReplicaView> remaining = new ArrayList<>(healthy);
    List<ReplicaView> removed = new ArrayList<>();
    Comparator<ReplicaView> fullestFirst = Comparator
        .comparingDouble((ReplicaView r) -> -r.server().usedFraction())
        .thenComparingLong(r -> r.server().availableBytes())
        .thenComparing(ReplicaView::serverId);
    while (removed.size() < count && !remaining.isEmpty()) {
      ReplicaView victim = null;
      int bestRacks = -1;
      int bestHosts = -1;
      for (ReplicaView r : remaining) {
        Set<String> racks = new HashSet<>();
        Set<String> hosts = new HashSet<>();
        for (ReplicaView other : remaining) {
          if (other != r) {
            racks.add(other.server().rack());
            hosts.add(other.server().host());
          }
        }
        boolean better = racks.size() > bestRacks
            || (racks.size() == bestRacks && hosts.size() > bestHosts)
            || (racks.size() == bestRacks && hosts.size() == bestHosts
                && fullestFirst.compare(r, victim) < 0);
        if (better) {
          victim = r;
          bestRacks = racks.size();
          bestHosts = hosts.size();
        }
      }
      remaining.remove(victim);
      removed.add(victim);
    }
    return removed;
  }
}
