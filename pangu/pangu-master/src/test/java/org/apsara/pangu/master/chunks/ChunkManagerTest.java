package org.apsara.pangu.master.chunks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.apsara.common.time.ManualClock;
import org.apsara.pangu.api.v1.ChunkServerLocation;
import org.apsara.pangu.api.v1.HeartbeatRequest;
import org.apsara.pangu.api.v1.HeartbeatResponse;
import org.apsara.pangu.api.v1.ReplicaReport;
import org.apsara.pangu.api.v1.ReplicaState;
import org.apsara.pangu.api.v1.VolumeReport;
import org.junit.jupiter.api.Test;

/** The leader's soft state on a manual clock: heartbeats, liveness, placement, read order. */
class ChunkManagerTest {
  static final Duration HEARTBEAT = Duration.ofSeconds(3);
  static final Duration DEAD = Duration.ofSeconds(30);
  static final long CHUNK = 64L << 20;
  static final long ROOMY = 1L << 40;

  final ManualClock clock = new ManualClock();
  ChunkManager manager = newManager(42);

  ChunkManager newManager(long seed) {
    return new ChunkManager(new ChunkManagerConfig(HEARTBEAT, DEAD, 2), clock,
        Clock.systemUTC(), new SplittableRandom(seed));
  }

  static HeartbeatRequest.Builder beat(String id, String host, String rack, long availableBytes) {
    return HeartbeatRequest.newBuilder()
        .setLocation(ChunkServerLocation.newBuilder().setId(id).setAddress(host + ":7100")
            .setRack(rack))
        .addVolumes(VolumeReport.newBuilder().setDirectory("/v").setCapacityBytes(ROOMY)
            .setAvailableBytes(availableBytes).setFull(availableBytes < CHUNK));
  }

  static ReplicaReport replica(long chunkId, long generation, long length, ReplicaState state) {
    return ReplicaReport.newBuilder().setChunkId(chunkId).setGeneration(generation)
        .setLength(length).setState(state).build();
  }

  void register(ChunkManager m, String id, String host, String rack) {
    m.heartbeat(beat(id, host, rack, ROOMY).setFullReport(true).build());
  }

  @Test
  void aNewChunkServerIsAskedForAFullReportAndIncrementalReportsWaitForIt() {
    HeartbeatResponse first = manager.heartbeat(beat("cs1", "h1", "", ROOMY)
        .addReplicas(replica(7, 1, 10, ReplicaState.REPLICA_STATE_SEALED)).build());
    assertThat(first.getFullReportRequested()).isTrue();
    assertThat(first.getHeartbeatIntervalMs()).isEqualTo(3000);
    assertThat(manager.replicas(7)).isEmpty();
    assertThat(manager.fullyReported("cs1")).isFalse();

    HeartbeatResponse full = manager.heartbeat(beat("cs1", "h1", "", ROOMY).setFullReport(true)
        .addReplicas(replica(7, 1, 10, ReplicaState.REPLICA_STATE_SEALED))
        .addReplicas(replica(8, 1, 20, ReplicaState.REPLICA_STATE_OPEN)).build());
    assertThat(full.getFullReportRequested()).isFalse();
    assertThat(manager.fullyReported("cs1")).isTrue();
    assertThat(manager.replicas(7)).singleElement()
        .satisfies(r -> assertThat(r.lengthBytes()).isEqualTo(10));

    manager.heartbeat(beat("cs1", "h1", "", ROOMY)
        .addReplicas(replica(8, 1, 30, ReplicaState.REPLICA_STATE_SEALED))
        .addRemovedChunkIds(7).build());
    assertThat(manager.replicas(7)).isEmpty();
    assertThat(manager.replicas(8)).singleElement().satisfies(r -> {
      assertThat(r.lengthBytes()).isEqualTo(30);
      assertThat(r.state()).isEqualTo(ReplicaState.REPLICA_STATE_SEALED);
    });
    // A full report replaces what was known: chunk 8 is gone.
    manager.heartbeat(beat("cs1", "h1", "", ROOMY).setFullReport(true)
        .addReplicas(replica(9, 1, 1, ReplicaState.REPLICA_STATE_SEALED)).build());
    assertThat(manager.replicas(8)).isEmpty();
    assertThat(manager.drainAttention(100)).contains(7L, 8L, 9L);
  }

  @Test
  void aSilentChunkServerIsDeclaredDeadAfterTheDeadIntervalAndItsReplicasForgotten() {
    register(manager, "cs1", "h1", "");
    manager.heartbeat(beat("cs2", "h2", "", ROOMY).setFullReport(true)
        .addReplicas(replica(5, 1, 10, ReplicaState.REPLICA_STATE_SEALED)).build());
    clock.advance(DEAD);
    manager.heartbeat(beat("cs1", "h1", "", ROOMY).build());
    assertThat(manager.declareDead()).isEmpty(); // exactly the dead interval: still alive
    assertThat(manager.server("cs2").alive()).isTrue();

    clock.advance(Duration.ofMillis(1));
    assertThat(manager.declareDead()).containsExactly("cs2");
    assertThat(manager.server("cs2").alive()).isFalse();
    assertThat(manager.replicas(5)).isEmpty();
    assertThat(manager.declareDead()).isEmpty();

    HeartbeatResponse back = manager.heartbeat(beat("cs2", "h2", "", ROOMY).build());
    assertThat(back.getFullReportRequested()).isTrue();
    assertThat(manager.server("cs2").alive()).isTrue();
    assertThat(manager.fullyReported("cs2")).isFalse();
  }

  @Test
  void placementUsesDistinctLiveChunkServersWithRoomAndNamesTheNumbersWhenShort()
      throws Exception {
    register(manager, "cs1", "h1", "");
    register(manager, "cs2", "h2", "");
    manager.heartbeat(beat("cs3", "h3", "", CHUNK - 1).setFullReport(true).build());
    register(manager, "cs4", "h4", "");
    clock.advance(DEAD.plusMillis(1));
    register(manager, "cs1", "h1", "");
    register(manager, "cs2", "h2", "");
    register(manager, "cs5", "h5", "");
    manager.heartbeat(beat("cs3", "h3", "", CHUNK - 1).build());
    // cs3 is full, cs4 silent too long.
    List<ChunkServerView> placed = manager.placeNewChunk(2, CHUNK, Set.of(), "");
    assertThat(placed).extracting(ChunkServerView::id).doesNotHaveDuplicates()
        .isSubsetOf("cs1", "cs2", "cs5");

    assertThatThrownBy(() -> manager.placeNewChunk(3, CHUNK, Set.of("cs2", "cs5"), ""))
        .isInstanceOfSatisfying(NotEnoughChunkServersException.class, e -> {
          assertThat(e.wanted()).isEqualTo(ChunkManagerConfig.DEFAULT_REPLICATION_MIN);
          assertThat(e.eligible()).isEqualTo(1);
          assertThat(e.getMessage()).contains("NOT_ENOUGH_CHUNKSERVERS", "replication 3",
              "at least 2", "only 1 qualify", "5 known", "4 alive", "2 of them excluded",
              "1 without room");
        });
  }

  @Test
  void tooFewChunkServersTakeANewChunkOnAsManyAsQualifyDownToTheMinimum() throws Exception {
    register(manager, "cs1", "h1", "");
    register(manager, "cs2", "h2", "");
    // A new leader may not have heard from every chunkserver yet: it wants all three.
    assertThatThrownBy(() -> manager.placeNewChunk(3, CHUNK, Set.of(), ""))
        .isInstanceOfSatisfying(NotEnoughChunkServersException.class,
            e -> assertThat(e.wanted()).isEqualTo(3));

    clock.advance(DEAD);
    register(manager, "cs1", "h1", "");
    register(manager, "cs2", "h2", "");
    assertThat(manager.placeNewChunk(3, CHUNK, Set.of(), ""))
        .extracting(ChunkServerView::id).containsExactlyInAnyOrder("cs1", "cs2");
    // A writer that lost a replica excludes it: one is left, fewer than the minimum of two.
    assertThatThrownBy(() -> manager.placeNewChunk(3, CHUNK, Set.of("cs2"), ""))
        .isInstanceOfSatisfying(NotEnoughChunkServersException.class, e -> {
          assertThat(e.wanted()).isEqualTo(2);
          assertThat(e.eligible()).isEqualTo(1);
        });
    // A file of replication 1 needs only its own one.
    assertThat(manager.placeNewChunk(1, CHUNK, Set.of("cs2"), ""))
        .extracting(ChunkServerView::id).containsExactly("cs1");

    ChunkManager strict = new ChunkManager(
        new ChunkManagerConfig(HEARTBEAT, DEAD, 2, 10, 4, 3), clock, Clock.systemUTC(),
        new SplittableRandom(1));
    clock.advance(DEAD);
    register(strict, "cs1", "h1", "");
    register(strict, "cs2", "h2", "");
    assertThatThrownBy(() -> strict.placeNewChunk(3, CHUNK, Set.of(), ""))
        .isInstanceOfSatisfying(NotEnoughChunkServersException.class,
            e -> assertThat(e.wanted()).isEqualTo(3));
  }

  @Test
  void decommissioningIsAskedForInHeartbeatAnswersUntilAHeartbeatReportsIt() throws Exception {
    clock.advance(DEAD);
    for (String id : List.of("cs1", "cs2", "cs3", "cs4")) {
      register(manager, id, "h" + id, "");
    }
    var confirmed = manager.requestDecommission("cs4", true);
    assertThat(confirmed).isNotDone();
    HeartbeatResponse asked = manager.heartbeat(beat("cs4", "hcs4", "", ROOMY).build());
    assertThat(asked.hasDecommission()).isTrue();
    assertThat(asked.getDecommission()).isTrue();
    assertThat(confirmed).isNotDone();

    HeartbeatResponse after = manager.heartbeat(beat("cs4", "hcs4", "", ROOMY)
        .setDecommissioning(true).build());
    assertThat(after.hasDecommission()).isFalse();
    assertThat(confirmed.get().decommissioning()).isTrue();
    assertThat(manager.server("cs4").decommissioning()).isTrue();

    // It takes no new chunk and no copy, and is read from last.
    for (int i = 0; i < 20; i++) {
      assertThat(manager.placeNewChunk(3, CHUNK, Set.of(), ""))
          .extracting(ChunkServerView::id).doesNotContain("cs4");
    }
    assertThat(manager.chooseCopyTarget(77, CHUNK, List.of("cs1", "cs2"))).isNotNull()
        .satisfies(t -> assertThat(t.id()).isEqualTo("cs3"));
    assertThatThrownBy(() -> manager.placeNewChunk(3, CHUNK, Set.of("cs1", "cs2"), ""))
        .isInstanceOf(NotEnoughChunkServersException.class)
        .hasMessageContaining("only 1 qualify")
        .hasMessageContaining("1 decommissioning");

    // Already so: answered at once. Unknown or dead: refused.
    assertThat(manager.requestDecommission("cs4", true)).isDone();
    assertThatThrownBy(() -> manager.requestDecommission("cs9", true))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cs9");

    // Asked back to service, then a new leader's reset: the waiting call fails.
    var back = manager.requestDecommission("cs4", false);
    manager.reset();
    assertThat(back).isCompletedExceptionally();
  }

  @Test
  void theMinimumReplicationIsBetweenOneAndTheMostAFileMayAskFor() {
    assertThatThrownBy(() -> new ChunkManagerConfig(HEARTBEAT, DEAD, 2, 10, 4, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside 1..16");
    assertThatThrownBy(() -> new ChunkManagerConfig(HEARTBEAT, DEAD, 2, 10, 4, 17))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside 1..16");
    assertThat(new ChunkManagerConfig(HEARTBEAT, DEAD, 2, 10, 4, 2).replicasRequired(1))
        .isEqualTo(1);
  }

  @Test
  void placementPrefersTheWritersHostThenDistinctHostsThenTwoRacks() throws Exception {
    register(manager, "a1", "ha", "r1");
    register(manager, "a2", "ha", "r1");
    register(manager, "b1", "hb", "r1");
    register(manager, "c1", "hc", "r2");
    for (int i = 0; i < 50; i++) {
      List<ChunkServerView> placed = manager.placeNewChunk(3, 1, Set.of(), "ha");
      assertThat(placed.get(0).host()).isEqualTo("ha");
      assertThat(placed).extracting(ChunkServerView::host).doesNotHaveDuplicates();
      assertThat(placed).extracting(ChunkServerView::rack).contains("r1", "r2");
    }
    // With fewer hosts than replicas, chunkservers on one host still make up the count.
    List<ChunkServerView> four = manager.placeNewChunk(4, 1, Set.of(), "");
    assertThat(four).extracting(ChunkServerView::id)
        .containsExactlyInAnyOrder("a1", "a2", "b1", "c1");
  }

  @Test
  void placementIsReproducibleFromTheSeed() throws Exception {
    List<List<String>> runs = new ArrayList<>();
    for (int run = 0; run < 2; run++) {
      ChunkManager m = newManager(7);
      for (int i = 0; i < 10; i++) {
        register(m, "cs" + i, "h" + i, "");
      }
      List<String> order = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        m.placeNewChunk(3, 1, Set.of(), "").forEach(s -> order.add(s.id()));
      }
      runs.add(order);
    }
    assertThat(runs.get(0)).isEqualTo(runs.get(1));
    assertThat(new HashSet<>(runs.get(0))).hasSizeGreaterThan(5); // spread, not one favourite
  }

  @Test
  void readLocationsAreNearestFirstAndLeaveOutStaleCorruptAndDeadReplicas() {
    manager.heartbeat(beat("near", "client", "r1", ROOMY).setFullReport(true)
        .addReplicas(replica(1, 2, 100, ReplicaState.REPLICA_STATE_SEALED)).build());
    manager.heartbeat(beat("rack", "h2", "r1", ROOMY).setFullReport(true)
        .addReplicas(replica(1, 2, 100, ReplicaState.REPLICA_STATE_SEALED)).build());
    manager.heartbeat(beat("far", "h3", "r2", ROOMY).setFullReport(true)
        .addReplicas(replica(1, 2, 100, ReplicaState.REPLICA_STATE_SEALED)).build());
    manager.heartbeat(beat("stale", "h4", "r2", ROOMY).setFullReport(true)
        .addReplicas(replica(1, 1, 100, ReplicaState.REPLICA_STATE_SEALED)).build());
    manager.heartbeat(beat("bad", "h5", "r2", ROOMY).setFullReport(true)
        .addReplicas(replica(1, 2, 100, ReplicaState.REPLICA_STATE_SEALED)).build());
    assertThat(manager.markCorrupt(1, "bad", 2)).isTrue();
    assertThat(manager.markCorrupt(1, "far", 1)).isFalse(); // another generation's fault

    assertThat(manager.readLocations(1, 2, true, 100, "client"))
        .extracting(ChunkServerView::id).containsExactly("near", "rack", "far");
    assertThat(manager.readLocations(1, 2, true, 100, ""))
        .extracting(ChunkServerView::id).containsExactlyInAnyOrder("near", "rack", "far");
  }

  @Test
  void copiesAreBoundedPerChunkServer() {
    register(manager, "a", "ha", "");
    register(manager, "b", "hb", "");
    register(manager, "c", "hc", "");
    assertThat(manager.startCopy(1, "a", "b", 100)).isTrue();
    assertThat(manager.startCopy(2, "a", "c", 100)).isTrue();
    assertThat(manager.startCopy(3, "a", "b", 100)).isFalse(); // a is in two copies already
    assertThat(manager.copiesInFlight(1)).isEqualTo(1);
    manager.copyFinished(1, "a", "b", true, 4, 100);
    assertThat(manager.copiesOf("a")).isEqualTo(1);
    assertThat(manager.replicas(1)).singleElement().satisfies(r -> {
      assertThat(r.serverId()).isEqualTo("b");
      assertThat(r.generation()).isEqualTo(4);
      assertThat(r.state()).isEqualTo(ReplicaState.REPLICA_STATE_SEALED);
    });
    assertThat(manager.startCopy(3, "a", "b", 100)).isTrue();
  }

  @Test
  void copiesAndDeletionsCountInTheUsageUntilTheNextReport() {
    register(manager, "a", "ha", "");
    register(manager, "b", "hb", "");
    manager.heartbeat(beat("a", "ha", "", ROOMY).setFullReport(true)
        .addReplicas(replica(1, 4, 100, ReplicaState.REPLICA_STATE_SEALED))
        .addReplicas(replica(2, 4, 300, ReplicaState.REPLICA_STATE_SEALED)).build());
    assertThat(manager.startCopy(1, "a", "b", 100)).isTrue();
    assertThat(manager.server("b").pendingBytes()).isEqualTo(100);
    // A report during the copy does not include it: it still counts.
    register(manager, "b", "hb", "");
    assertThat(manager.server("b").pendingBytes()).isEqualTo(100);
    manager.copyFinished(1, "a", "b", true, 4, 100);
    assertThat(manager.server("b").pendingBytes()).isEqualTo(100);
    manager.replicaRemoved(2, "a");
    assertThat(manager.server("a").pendingBytes()).isEqualTo(-300);
    // The next reports include both.
    register(manager, "a", "ha", "");
    register(manager, "b", "hb", "");
    assertThat(manager.server("a").pendingBytes()).isZero();
    assertThat(manager.server("b").pendingBytes()).isZero();
    // A failed copy gives its bytes back at once.
    assertThat(manager.startCopy(1, "a", "b", 100)).isTrue();
    assertThat(manager.startCopy(1, "a", "b", 100)).isFalse(); // one copy per target
    manager.copyFinished(1, "a", "b", false, 0, 0);
    assertThat(manager.server("b").pendingBytes()).isZero();
  }

  @Test
  void aReplicaTheMasterDeletedIsNotTakenBackFromReportsBuiltBeforeTheDeletion() {
    HeartbeatRequest holding = beat("a", "ha", "", ROOMY).setFullReport(true)
        .addReplicas(replica(1, 4, 100, ReplicaState.REPLICA_STATE_SEALED)).build();
    manager.heartbeat(holding);
    manager.replicaRemoved(1, "a");
    // Two heartbeats may have been built before the deletion: they do not bring it back.
    manager.heartbeat(holding);
    assertThat(manager.replicas(1)).isEmpty();
    manager.heartbeat(beat("a", "ha", "", ROOMY)
        .addReplicas(replica(1, 4, 100, ReplicaState.REPLICA_STATE_SEALED)).build());
    assertThat(manager.replicas(1)).isEmpty();
    // A later report is the truth again.
    manager.heartbeat(holding);
    assertThat(manager.replicas(1)).singleElement()
        .satisfies(r -> assertThat(r.serverId()).isEqualTo("a"));
    // A copy the master makes there counts at once.
    register(manager, "b", "hb", "");
    manager.replicaRemoved(1, "a");
    assertThat(manager.startCopy(1, "b", "a", 100)).isTrue();
    manager.copyFinished(1, "b", "a", true, 4, 100);
    manager.heartbeat(holding);
    assertThat(manager.replicas(1)).extracting(ReplicaView::serverId).containsExactly("a");
  }

  @Test
  void aCommittedChunksPlacementsStandUntilReportedSettledByASealOrTheirChunkServerDies() {
    for (String id : List.of("a", "b", "c")) {
      register(manager, id, "h" + id, "");
    }
    manager.expectReplicas(5, List.of("a", "b", "c"));
    assertThat(manager.unreportedPlacements(5)).extracting(ChunkServerView::id)
        .containsExactly("a", "b", "c");
    // Asked again while the seals are under way, the placements still stand.
    assertThat(manager.unreportedPlacements(5)).extracting(ChunkServerView::id)
        .containsExactly("a", "b", "c");

    // a reports its replica; b's seal answers, failed, so only reports speak for b now.
    manager.heartbeat(beat("a", "ha", "", ROOMY)
        .addReplicas(replica(5, 1, 100, ReplicaState.REPLICA_STATE_SEALED)).build());
    manager.placementSettled(5, "b");
    assertThat(manager.unreportedPlacements(5)).extracting(ChunkServerView::id)
        .containsExactly("c");
    // Once a is gone again (deleted as excess, say), its old placement does not come back.
    manager.replicaRemoved(5, "a");
    assertThat(manager.unreportedPlacements(5)).extracting(ChunkServerView::id)
        .containsExactly("c");
    assertThat(manager.everPlacedOrReported(5)).isTrue();

    // c dies: its placement goes, and with it the chunk's last one.
    clock.advance(DEAD.plusMillis(1));
    for (String id : List.of("a", "b")) {
      manager.heartbeat(beat(id, "h" + id, "", ROOMY).build());
    }
    assertThat(manager.unreportedPlacements(5)).isEmpty();
    assertThat(manager.everPlacedOrReported(5)).isFalse();
  }

  @Test
  void aChunkServersChunksAreListedInPages() {
    register(manager, "a", "ha", "");
    HeartbeatRequest.Builder full = beat("a", "ha", "", ROOMY).setFullReport(true);
    for (long id = 1; id <= 5; id++) {
      full.addReplicas(replica(id * 10, 1, 1, ReplicaState.REPLICA_STATE_SEALED));
    }
    manager.heartbeat(full.build());
    assertThat(manager.chunksOn("a", Long.MIN_VALUE, 3)).containsExactly(10L, 20L, 30L);
    assertThat(manager.chunksOn("a", 30, 3)).containsExactly(40L, 50L);
    assertThat(manager.chunksOn("nobody", Long.MIN_VALUE, 3)).isEmpty();
  }

  @Test
  void resetForgetsEverythingAndReportsSettleAfterOneDeadInterval() {
    register(manager, "a", "ha", "");
    manager.reset();
    assertThat(manager.servers()).isEmpty();
    assertThat(manager.reportsSettled()).isFalse();
    clock.advance(DEAD);
    assertThat(manager.reportsSettled()).isTrue();
  }
}
