package org.apsara.pangu.master.repair;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.api.v1.ReplicaState;
import org.apsara.pangu.master.chunks.ChunkServerView;
import org.apsara.pangu.master.chunks.ReplicaView;
import org.apsara.pangu.master.namespace.ChunkInfo;
import org.apsara.pangu.master.namespace.ChunkOwnership;
import org.apsara.pangu.master.namespace.GarbageChunkInfo;
import org.junit.jupiter.api.Test;

/** The repair rules on plain values. */
class RepairPlannerTest {
  static final long CHUNK = 9;
  static final long GEN = 3;
  static final long LEN = 1000;
  static final ReplicaState SEALED = ReplicaState.REPLICA_STATE_SEALED;
  static final ReplicaState OPEN = ReplicaState.REPLICA_STATE_OPEN;

  static ChunkOwnership.InFile committed(int replication) {
    return new ChunkOwnership.InFile(new ChunkInfo(5, 0, CHUNK, GEN, LEN, true), replication,
        64 << 20);
  }

  static ChunkServerView server(String id, String rack, long available) {
    return new ChunkServerView(id, HostPort.of("h" + id, 7100), rack, true, 0, 0, 0, available,
        false, 0);
  }

  static ReplicaView replica(String id, long generation, long length, ReplicaState state) {
    return new ReplicaView(server(id, "", 100), true, generation, length, state, false);
  }

  static List<String> deleted(ChunkPlan plan, RepairAction.Reason reason) {
    List<String> ids = new ArrayList<>();
    for (RepairAction a : plan.actions()) {
      if (a instanceof RepairAction.Delete d && d.reason() == reason) {
        ids.add(d.server().id());
      }
    }
    return ids;
  }

  @Test
  void aFullyReplicatedChunkNeedsNothing() {
    ChunkPlan plan = RepairPlanner.plan(committed(3), List.of(replica("a", GEN, LEN, SEALED),
        replica("b", GEN, LEN, SEALED), replica("c", GEN, LEN, SEALED)), 0);
    assertThat(plan.actions()).isEmpty();
    assertThat(plan.copiesWanted()).isZero();
    assertThat(plan.healthy()).isEqualTo(3);
    assertThat(plan.unhealthy()).isFalse();
  }

  @Test
  void missingReplicasAreCopiedFromHealthyOnesCountingCopiesUnderWay() {
    ChunkPlan one = RepairPlanner.plan(committed(3), List.of(replica("a", GEN, LEN, SEALED)), 0);
    assertThat(one.copiesWanted()).isEqualTo(2);
    assertThat(one.sources()).extracting(ChunkServerView::id).containsExactly("a");
    assertThat(one.unhealthy()).isTrue();
    ChunkPlan underWay = RepairPlanner.plan(committed(3),
        List.of(replica("a", GEN, LEN, SEALED)), 1);
    assertThat(underWay.copiesWanted()).isEqualTo(1);
    // A replica on a dead chunkserver counts for nothing.
    ReplicaView dead = new ReplicaView(server("d", "", 0), false, GEN, LEN, SEALED, false);
    assertThat(RepairPlanner.plan(committed(2), List.of(replica("a", GEN, LEN, SEALED), dead), 0)
        .copiesWanted()).isEqualTo(1);
  }

  static ReplicaView leaving(String id) {
    ChunkServerView decommissioning = new ChunkServerView(id, HostPort.of("h" + id, 7100), "",
        true, 0, 0, 0, 100, false, 0, 0, true);
    return new ReplicaView(decommissioning, true, GEN, LEN, SEALED, false);
  }

  @Test
  void aReplicaOnADecommissioningChunkServerIsCopiedFromButCountsForNothing() {
    ChunkPlan plan = RepairPlanner.plan(committed(3), List.of(replica("a", GEN, LEN, SEALED),
        replica("b", GEN, LEN, SEALED), leaving("x")), 0);
    assertThat(plan.healthy()).isEqualTo(2);
    assertThat(plan.leaving()).isEqualTo(1);
    assertThat(plan.copiesWanted()).isEqualTo(1);
    assertThat(plan.sources()).extracting(ChunkServerView::id).containsExactly("a", "b", "x");
    assertThat(plan.unhealthy()).isTrue();
    assertThat(plan.missing()).isFalse();
    assertThat(plan.reliesOnLeaving()).isTrue();
    assertThat(plan.actions()).isEmpty();
    // Which chunkservers' replicas it counted as staying: the decommissioning one's is not.
    assertThat(plan.countedInService("a")).isTrue();
    assertThat(plan.countedInService("x")).isFalse();
    // The same replicas as seen before x's heartbeat said it is leaving: x's counted.
    ChunkPlan before = RepairPlanner.plan(committed(3), List.of(replica("a", GEN, LEN, SEALED),
        replica("b", GEN, LEN, SEALED), replica("x", GEN, LEN, SEALED)), 0);
    assertThat(before.countedInService("x")).isTrue();
    assertThat(before.reliesOnLeaving()).isFalse();

    // Its only healthy replica is leaving: it is readable and copied from, not missing.
    ChunkPlan onlyLeaving = RepairPlanner.plan(committed(2), List.of(leaving("x")), 0);
    assertThat(onlyLeaving.copiesWanted()).isEqualTo(2);
    assertThat(onlyLeaving.missing()).isFalse();

    // Copied up: nothing relies on it, and it is never trimmed as an excess replica.
    ChunkPlan copied = RepairPlanner.plan(committed(3), List.of(replica("a", GEN, LEN, SEALED),
        replica("b", GEN, LEN, SEALED), replica("c", GEN, LEN, SEALED), leaving("x")), 0);
    assertThat(copied.copiesWanted()).isZero();
    assertThat(copied.reliesOnLeaving()).isFalse();
    assertThat(copied.unhealthy()).isFalse();
    assertThat(copied.actions()).isEmpty();
  }

  @Test
  void corruptAndStaleReplicasAreDeletedOnlyWhileAHealthyCopyExists() {
    ReplicaView corrupt = new ReplicaView(server("x", "", 0), true, GEN, LEN, SEALED, true);
    ReplicaView oldGeneration = replica("y", GEN - 1, LEN, SEALED);
    ReplicaView wrongLength = replica("z", GEN, LEN + 1, SEALED);
    ReplicaView tooShortToSeal =
        new ReplicaView(server("w", "", 100), true, GEN, LEN - 1, OPEN, false, true);
    List<ReplicaView> bad = List.of(corrupt, oldGeneration, wrongLength, tooShortToSeal);

    ChunkPlan alone = RepairPlanner.plan(committed(3), bad, 0);
    assertThat(alone.actions()).isEmpty();
    assertThat(alone.copiesWanted()).isZero(); // nothing healthy to copy from
    assertThat(alone.healthy()).isZero();
    assertThat(alone.corrupt()).isEqualTo(1);

    List<ReplicaView> withHealthy = new ArrayList<>(bad);
    withHealthy.add(replica("a", GEN, LEN, SEALED));
    ChunkPlan plan = RepairPlanner.plan(committed(3), withHealthy, 0);
    assertThat(deleted(plan, RepairAction.Reason.CORRUPT)).containsExactly("x");
    assertThat(deleted(plan, RepairAction.Reason.STALE)).containsExactlyInAnyOrder("y", "z", "w");
    assertThat(plan.copiesWanted()).isEqualTo(2);
  }

  @Test
  void theReplicaACopyIsBuildingIsNeitherSealedNorDeletedAndCountsAsComing() {
    // The target's heartbeat reported the copy's replica open and short, before the copy ended.
    ReplicaView building = replica("t", GEN, LEN / 2, OPEN);
    List<ReplicaView> replicas = List.of(replica("a", GEN, LEN, SEALED),
        replica("b", GEN, LEN, SEALED), replica("c", GEN, LEN, SEALED), building);

    ChunkPlan plan = RepairPlanner.plan(committed(3), replicas, Set.of("t"), 0);

    assertThat(plan.actions()).isEmpty();
    assertThat(plan.copiesWanted()).isZero();
    assertThat(plan.healthy()).isEqualTo(3);
    // Judged as if no copy were under way, it would be sealed (and, refused, deleted).
    assertThat(RepairPlanner.plan(committed(3), replicas, 1, 0).actions())
        .hasOnlyElementsOfType(RepairAction.Seal.class).hasSize(1);
  }

  @Test
  void openReplicasOfACommittedChunkAreSealedAtTheCommittedLength() {
    ChunkPlan plan = RepairPlanner.plan(committed(3), List.of(replica("a", GEN, LEN, OPEN),
        replica("b", GEN, LEN + 500, OPEN), replica("c", GEN, LEN, SEALED)), 0);
    assertThat(plan.actions()).containsExactlyInAnyOrder(
        new RepairAction.Seal(CHUNK, server("a", "", 100), GEN, LEN),
        new RepairAction.Seal(CHUNK, server("b", "", 100), GEN, LEN));
    assertThat(plan.copiesWanted()).isZero(); // the sealed ones will make three
  }

  @Test
  void anOpenReplicaReportedShortIsSealedNotDeletedUntilItsChunkServerConfirmsIt() {
    // The report of "b" was built while the writer was still sending: it says fewer bytes than
    // the replica holds now that the chunk is committed. Only a refused seal proves it short.
    ReplicaView reportedShort = replica("b", GEN, LEN / 2, OPEN);
    ChunkPlan plan = RepairPlanner.plan(committed(3), List.of(replica("a", GEN, LEN, SEALED),
        reportedShort, replica("c", GEN, LEN, SEALED)), 0);
    assertThat(plan.actions()).containsExactly(
        new RepairAction.Seal(CHUNK, server("b", "", 100), GEN, LEN));
    assertThat(plan.copiesWanted()).isZero();

    ReplicaView confirmedShort =
        new ReplicaView(server("b", "", 100), true, GEN, LEN / 2, OPEN, false, true);
    ChunkPlan confirmed = RepairPlanner.plan(committed(3), List.of(replica("a", GEN, LEN, SEALED),
        confirmedShort, replica("c", GEN, LEN, SEALED)), 0);
    assertThat(deleted(confirmed, RepairAction.Reason.STALE)).containsExactly("b");
    assertThat(confirmed.copiesWanted()).isEqualTo(1);
  }

  @Test
  void excessReplicasAreTrimmedKeepingRacksAndFreeingTheFullestFirst() {
    List<ReplicaView> four = List.of(
        new ReplicaView(server("a", "r1", 500), true, GEN, LEN, SEALED, false),
        new ReplicaView(server("b", "r1", 100), true, GEN, LEN, SEALED, false),
        new ReplicaView(server("c", "r1", 300), true, GEN, LEN, SEALED, false),
        new ReplicaView(server("d", "r2", 10), true, GEN, LEN, SEALED, false));
    ChunkPlan plan = RepairPlanner.plan(committed(2), four, 0);
    // d is the fullest but the only one on r2; b then c are the fullest on r1.
    assertThat(deleted(plan, RepairAction.Reason.EXCESS)).containsExactly("b", "c");
    assertThat(RepairPlanner.plan(committed(2), four, 1).actions()).isEmpty();
    // A deletion under way still shows its replica: trimming again would remove one more.
    assertThat(RepairPlanner.plan(committed(2), four, 0, 1).actions()).isEmpty();
  }

  @Test
  void excessReplicasGoFromTheFullestByUsedFractionCountingPendingBytesKeepingHosts() {
    // a has less free space, but b is the fuller disk: 90% against 50%.
    ChunkServerView small = new ChunkServerView("a", HostPort.of("ha", 7100), "", true, 0, 1000,
        500, 500, false, 0);
    ChunkServerView large = new ChunkServerView("b", HostPort.of("hb", 7100), "", true, 0,
        10_000, 9_000, 1_000, false, 0);
    ChunkServerView empty = new ChunkServerView("c", HostPort.of("hc", 7100), "", true, 0,
        10_000, 0, 10_000, false, 0);
    List<ReplicaView> three = List.of(healthy(small), healthy(large), healthy(empty));
    assertThat(deleted(RepairPlanner.plan(committed(2), three, 0), RepairAction.Reason.EXCESS))
        .containsExactly("b");
    // Bytes the master sent to a since its report make it the fuller one: 95%.
    ChunkServerView filling = new ChunkServerView("a", HostPort.of("ha", 7100), "", true, 0,
        1000, 500, 500, false, 0, 450, false);
    assertThat(deleted(RepairPlanner.plan(committed(2), List.of(healthy(filling),
        healthy(large), healthy(empty)), 0), RepairAction.Reason.EXCESS)).containsExactly("a");
    // Two replicas on one host: one of those goes, though another chunkserver is fuller.
    ChunkServerView sameHost = new ChunkServerView("d", HostPort.of("hc", 7100), "", true, 0,
        10_000, 100, 9_900, false, 0);
    assertThat(deleted(RepairPlanner.plan(committed(3), List.of(healthy(small), healthy(large),
        healthy(empty), healthy(sameHost)), 0), RepairAction.Reason.EXCESS))
        .containsExactly("d");
  }

  static ReplicaView healthy(ChunkServerView server) {
    return new ReplicaView(server, true, GEN, LEN, SEALED, false);
  }

  @Test
  void garbageAndOrphansAreDeletedWhileNewAndOpenChunksAreLeftAlone() {
    List<ReplicaView> two = List.of(replica("a", 1, 0, OPEN), replica("b", 7, 10, SEALED));
    ChunkPlan garbage = RepairPlanner.plan(new ChunkOwnership.Garbage(
        new GarbageChunkInfo(CHUNK, 5, 1, 0)), two, 0);
    assertThat(garbage.actions()).containsExactly(
        new RepairAction.Delete(CHUNK, server("a", "", 100), 1, RepairAction.Reason.GARBAGE),
        new RepairAction.Delete(CHUNK, server("b", "", 100), 7, RepairAction.Reason.GARBAGE));
    assertThat(deleted(RepairPlanner.plan(new ChunkOwnership.Orphan(CHUNK), two, 0),
        RepairAction.Reason.ORPHAN)).containsExactly("a", "b");
    assertThat(RepairPlanner.plan(new ChunkOwnership.NotYetAllocated(CHUNK), two, 0).actions())
        .isEmpty();
    ChunkOwnership.InFile open = new ChunkOwnership.InFile(
        new ChunkInfo(5, 0, CHUNK, 1, 0, false), 3, 64 << 20);
    ChunkPlan writing = RepairPlanner.plan(open, two, 0);
    assertThat(writing.actions()).isEmpty();
    assertThat(writing.unhealthy()).isFalse();
  }
}
