package org.apsara.pangu.master.repair;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.api.v1.ReplicaState;
import org.apsara.pangu.master.chunks.ChunkServerView;
import org.apsara.pangu.master.chunks.ReplicaView;
import org.apsara.pangu.master.namespace.ChunkInfo;
import org.apsara.pangu.master.namespace.ChunkOwnership;
import org.apsara.pangu.master.repair.BalancePlanner.BalancePlan;
import org.apsara.pangu.master.repair.BalancePlanner.Candidate;
import org.apsara.pangu.master.repair.BalancePlanner.Move;
import org.apsara.pangu.master.repair.BalancePlanner.Settings;
import org.junit.jupiter.api.Test;

/** The balancer's decisions on plain values. */
class BalancePlannerTest {
  static final long GEN = 4;
  /** One chunk is 1% of a chunkserver's capacity. */
  static final long LEN = 1_000;
  static final long CAPACITY = 100 * LEN;
  static final ReplicaState SEALED = ReplicaState.REPLICA_STATE_SEALED;
  static final Settings TEN_PERCENT = new Settings(0.10, 4, 2, false);

  /** A live chunkserver on its own host, {@code percent} full. */
  static ChunkServerView server(String id, int percent) {
    return server(id, "h" + id, "", percent);
  }

  static ChunkServerView server(String id, String host, String rack, int percent) {
    long used = CAPACITY * percent / 100;
    return new ChunkServerView(id, HostPort.of(host, 7100), rack, true, 0, CAPACITY, used,
        CAPACITY - used, false, 0);
  }

  static ChunkOwnership.InFile committed(long chunkId, int replication) {
    return new ChunkOwnership.InFile(new ChunkInfo(5, 0, chunkId, GEN, LEN, true), replication,
        64 << 20);
  }

  static ReplicaView healthy(ChunkServerView s) {
    return new ReplicaView(s, true, GEN, LEN, SEALED, false);
  }

  /** A chunk with replication 3 and a healthy replica on each of {@code holders}. */
  static Candidate chunk(long chunkId, ChunkServerView... holders) {
    List<ReplicaView> replicas = new ArrayList<>();
    for (ChunkServerView h : holders) {
      replicas.add(healthy(h));
    }
    return candidate(committed(chunkId, 3), replicas, 0);
  }

  static Candidate candidate(ChunkOwnership.InFile f, List<ReplicaView> replicas, int copying) {
    return new Candidate(RepairPlanner.plan(f, replicas, copying), GEN, LEN, copying);
  }

  /** Chunks 1..count, each on the three holders. */
  static List<Candidate> chunks(int count, ChunkServerView... holders) {
    List<Candidate> chunks = new ArrayList<>();
    for (long id = 1; id <= count; id++) {
      chunks.add(chunk(id, holders));
    }
    return chunks;
  }

  static BalancePlan plan(List<ChunkServerView> servers, List<Candidate> candidates,
      Settings settings) {
    return BalancePlanner.plan(servers, Map.of(), List.of(), candidates, settings);
  }

  static List<String> targets(BalancePlan plan) {
    return plan.moves().stream().map(m -> m.target().id()).toList();
  }

  static List<String> sources(BalancePlan plan) {
    return plan.moves().stream().map(m -> m.from().id()).toList();
  }

  @Test
  void nothingMovesWhileTheSpreadIsWithinTheThreshold() {
    ChunkServerView a = server("a", 50);
    ChunkServerView b = server("b", 45);
    ChunkServerView c = server("c", 42);
    ChunkServerView d = server("d", 41);
    BalancePlan plan = plan(List.of(a, b, c, d), chunks(10, a, b, c), TEN_PERCENT);
    assertThat(plan.spread()).isCloseTo(0.09, within(1e-9));
    assertThat(plan.moves()).isEmpty();

    // The same cluster with a 5-point threshold moves from a to d.
    BalancePlan tighter = plan(List.of(a, b, c, d), chunks(10, a, b, c),
        new Settings(0.05, 4, 2, false));
    assertThat(tighter.moves()).isNotEmpty();
    assertThat(sources(tighter)).containsOnly("a");
    assertThat(targets(tighter)).containsOnly("d");
  }

  @Test
  void aZeroThresholdTurnsTheBalancerOff() {
    ChunkServerView a = server("a", 90);
    ChunkServerView d = server("d", 0);
    BalancePlan plan = plan(List.of(a, server("b", 90), server("c", 90), d),
        chunks(10, a, server("b", 90), server("c", 90)), new Settings(0, 4, 2, false));
    assertThat(plan.spread()).isCloseTo(0.9, within(1e-9));
    assertThat(plan.moves()).isEmpty();
  }

  @Test
  void movesGoFromTheFullestToTheEmptiestWithinTheCopyLimits() {
    ChunkServerView a = server("a", 80);
    ChunkServerView b = server("b", 60);
    ChunkServerView c = server("c", 60);
    ChunkServerView d = server("d", 0);
    List<ChunkServerView> servers = List.of(a, b, c, d);

    // Two copy slots per chunkserver: the emptiest, d, takes two copies.
    BalancePlan plan = plan(servers, chunks(10, a, b, c), TEN_PERCENT);
    assertThat(plan.spread()).isCloseTo(0.8, within(1e-9));
    assertThat(sources(plan)).containsExactly("a", "a");
    assertThat(targets(plan)).containsExactly("d", "d");
    assertThat(plan.moves()).extracting(Move::copySource).extracting(ChunkServerView::id)
        .containsExactly("a", "a");
    assertThat(plan.moves()).extracting(Move::chunkId).doesNotHaveDuplicates();

    // With slots to spare, the cluster-wide limit of four moves binds.
    BalancePlan roomy = plan(servers, chunks(10, a, b, c), new Settings(0.10, 4, 8, false));
    assertThat(roomy.moves()).hasSize(4);
    assertThat(sources(roomy)).containsOnly("a");
    assertThat(targets(roomy)).containsOnly("d");

    // Moves already under way count against that limit, and their bytes as gone from a.
    List<Move> underWay = roomy.moves().subList(0, 3);
    BalancePlan more = BalancePlanner.plan(servers, Map.of("a", 3, "d", 3), underWay,
        chunks(10, a, b, c), new Settings(0.10, 4, 8, false));
    assertThat(more.spread()).isCloseTo(0.77, within(1e-9));
    assertThat(more.moves()).singleElement().satisfies(m -> {
      assertThat(m.chunkId()).isEqualTo(4);
      assertThat(m.target().id()).isEqualTo("d");
    });
  }

  @Test
  void theReplicaTrimmedAfterTheCopyIsTheOneOnTheSource() {
    ChunkServerView a = server("a", 70);
    ChunkServerView b = server("b", 75);
    ChunkServerView c = server("c", 60);
    ChunkServerView d = server("d", 10);
    BalancePlan plan = plan(List.of(a, b, c, d), chunks(3, a, b, c), TEN_PERCENT);
    assertThat(plan.moves()).isNotEmpty();
    for (Move m : plan.moves()) {
      assertThat(m.from().id()).isEqualTo("b");
      // The copy lands on d, which then holds the chunk too: repair trims b's replica.
      List<ReplicaView> landed = new ArrayList<>();
      for (ChunkServerView s : List.of(a, b, c)) {
        landed.add(healthy(s));
      }
      landed.add(healthy(withPending(d, LEN)));
      ChunkPlan trim = RepairPlanner.plan(committed(m.chunkId(), 3), landed, 0);
      assertThat(trim.actions()).singleElement().isEqualTo(new RepairAction.Delete(
          m.chunkId(), b, GEN, RepairAction.Reason.EXCESS));
    }
  }

  @Test
  void racksAndHostsAreKeptAsDiverseAsBefore() {
    ChunkServerView a = server("a", "ha", "/r1", 70);
    ChunkServerView b = server("b", "hb", "/r1", 70);
    ChunkServerView c = server("c", "hc", "/r2", 90);
    // d is the emptiest, but on r1: moving c's replica there would leave the chunk on one rack.
    ChunkServerView d = server("d", "hd", "/r1", 0);
    ChunkServerView e = server("e", "he", "/r2", 5);
    Settings racks = new Settings(0.10, 1, 2, true);
    BalancePlan plan = plan(List.of(a, b, c, d, e), chunks(1, a, b, c), racks);
    assertThat(plan.moves()).singleElement().satisfies(m -> {
      assertThat(m.from().id()).isEqualTo("c");
      assertThat(m.target().id()).isEqualTo("e");
    });
    // Without a second rack to go to, c's replica stays; a's, on the rack that has two, goes.
    assertThat(sources(plan(List.of(a, b, c, d), chunks(1, a, b, c), racks)))
        .containsExactly("a");

    // g is as empty as f but on y's host: x's replica moving there would put two on one host.
    ChunkServerView x = server("x", "hx", "", 90);
    ChunkServerView y = server("y", "hy", "", 80);
    ChunkServerView z = server("z", "hz", "", 80);
    ChunkServerView f = server("f", "hx2", "", 0);
    ChunkServerView sameHostAsY = server("g", "hy", "", 0);
    BalancePlan hosts = plan(List.of(x, y, z, sameHostAsY, f), chunks(1, x, y, z),
        new Settings(0.10, 4, 2, false));
    assertThat(hosts.moves()).singleElement().satisfies(m -> {
      assertThat(m.from().id()).isEqualTo("x");
      assertThat(m.target().id()).isEqualTo("f");
    });
    // With only g, on y's host, to take it, x's replica stays: only y's may move there.
    assertThat(sources(plan(List.of(x, y, z, sameHostAsY), chunks(1, x, y, z), TEN_PERCENT)))
        .containsExactly("y");
  }

  @Test
  void repairHasPriorityOverTheCopySlots() {
    ChunkServerView a = server("a", 80);
    ChunkServerView b = server("b", 60);
    ChunkServerView c = server("c", 60);
    ChunkServerView d = server("d", 0);
    List<ChunkServerView> servers = List.of(a, b, c, d);
    // Repair took both of d's slots this round: no balancing copy goes there.
    assertThat(BalancePlanner.plan(servers, Map.of("d", 2), List.of(), chunks(10, a, b, c),
        TEN_PERCENT).moves()).isEmpty();
    // One slot left on d: one move.
    assertThat(BalancePlanner.plan(servers, Map.of("d", 1), List.of(), chunks(10, a, b, c),
        TEN_PERCENT).moves()).hasSize(1);
    // a's slots are taken: the copy is read from another holder, and a's replica still goes.
    BalancePlan fromOthers = BalancePlanner.plan(servers, Map.of("a", 2), List.of(),
        chunks(10, a, b, c), TEN_PERCENT);
    assertThat(sources(fromOthers)).containsOnly("a");
    assertThat(fromOthers.moves()).extracting(m -> m.copySource().id())
        .doesNotContain("a").isNotEmpty();
    // Every holder busy: nothing.
    assertThat(BalancePlanner.plan(servers, Map.of("a", 2, "b", 2, "c", 2), List.of(),
        chunks(10, a, b, c), TEN_PERCENT).moves()).isEmpty();
  }

  @Test
  void chunksThatAreUnderReplicatedOpenBusyOrUnhealthyNeverMove() {
    ChunkServerView a = server("a", 80);
    ChunkServerView b = server("b", 60);
    ChunkServerView c = server("c", 60);
    ChunkServerView d = server("d", 0);
    ChunkServerView e = server("e", 60);
    List<Candidate> unmovable = new ArrayList<>();
    // Under-replicated: two healthy of three.
    unmovable.add(candidate(committed(1, 3), List.of(healthy(a), healthy(b)), 0));
    // Open: a writer's chunk, not committed.
    unmovable.add(candidate(new ChunkOwnership.InFile(
        new ChunkInfo(5, 0, 2, GEN, 0, false), 3, 64 << 20),
        List.of(healthy(a), healthy(b), healthy(c)), 0));
    // A copy under way.
    unmovable.add(candidate(committed(3, 3), List.of(healthy(a), healthy(b), healthy(c)), 1));
    // A corrupt replica besides three healthy ones.
    unmovable.add(candidate(committed(4, 3), List.of(healthy(a), healthy(b), healthy(c),
        new ReplicaView(e, true, GEN, LEN, SEALED, true)), 0));
    // An open replica still to seal.
    unmovable.add(candidate(committed(5, 3), List.of(healthy(a), healthy(b),
        new ReplicaView(c, true, GEN, LEN, ReplicaState.REPLICA_STATE_OPEN, false)), 0));
    // Over-replicated: excess still to trim (a balancing move half done).
    unmovable.add(candidate(committed(6, 3), List.of(healthy(a), healthy(b), healthy(c),
        healthy(e)), 0));
    List<ChunkServerView> servers = List.of(a, b, c, d, e);
    assertThat(plan(servers, unmovable, TEN_PERCENT).moves()).isEmpty();

    // Only the healthy, fully replicated chunk moves.
    List<Candidate> withOne = new ArrayList<>(unmovable);
    withOne.add(chunk(7, a, b, c));
    assertThat(plan(servers, withOne, TEN_PERCENT).moves()).extracting(Move::chunkId)
        .containsExactly(7L);
    // Unless a move of it is already under way.
    Move underWay = plan(servers, withOne, TEN_PERCENT).moves().get(0);
    assertThat(BalancePlanner.plan(servers, Map.of(), List.of(underWay), withOne, TEN_PERCENT)
        .moves()).isEmpty();
  }

  @Test
  void aMoveNeverMakesTheTargetFullerThanTheSource() {
    // 12 points apart, but one chunk is 10% of a chunkserver: moving it would swap the two.
    long big = CAPACITY / 10;
    ChunkServerView a = server("a", 56);
    ChunkServerView b = server("b", 44);
    ChunkServerView c = server("c", 50);
    ChunkServerView d = server("d", 50);
    Candidate chunk = new Candidate(RepairPlanner.plan(new ChunkOwnership.InFile(
        new ChunkInfo(5, 0, 1, GEN, big, true), 3, 64 << 20), List.of(
        new ReplicaView(a, true, GEN, big, SEALED, false),
        new ReplicaView(c, true, GEN, big, SEALED, false),
        new ReplicaView(d, true, GEN, big, SEALED, false)), 0), GEN, big, 0);
    BalancePlan plan = plan(List.of(a, b, c, d), List.of(chunk), TEN_PERCENT);
    assertThat(plan.spread()).isCloseTo(0.12, within(1e-9));
    assertThat(plan.moves()).isEmpty();
  }

  @Test
  void usageCountsBytesOnTheirWayAndIgnoresDeadFullAndDecommissioningChunkServers() {
    ChunkServerView a = server("a", 50);
    ChunkServerView b = server("b", 50);
    ChunkServerView c = server("c", 50);
    // d reported 20%, but copies under way bring it to 45%: within the threshold.
    ChunkServerView d = withPending(server("d", 20), 25 * LEN);
    assertThat(plan(List.of(a, b, c, d), chunks(5, a, b, c), TEN_PERCENT).moves()).isEmpty();
    ChunkServerView dead = new ChunkServerView("x", HostPort.of("hx", 7100), "", false, 0,
        CAPACITY, 0, CAPACITY, false, 0);
    ChunkServerView full = new ChunkServerView("y", HostPort.of("hy", 7100), "", true, 0,
        CAPACITY, 0, 0, true, 0);
    // An empty chunkserver being decommissioned is no target: it takes no new replicas.
    ChunkServerView leaving = new ChunkServerView("z", HostPort.of("hz", 7100), "", true, 0,
        CAPACITY, 0, CAPACITY, false, 0, 0, true);
    BalancePlan plan = plan(List.of(a, b, c, d, dead, full, leaving), chunks(5, a, b, c),
        TEN_PERCENT);
    assertThat(plan.spread()).isCloseTo(0.05, within(1e-9));
    assertThat(plan.moves()).isEmpty();
    // Many moves in one round stop once the projected spread is within the threshold.
    ChunkServerView e = server("e", 30);
    Settings many = new Settings(0.10, 100, 100, false);
    Map<String, Long> used = new HashMap<>();
    BalancePlan evening = plan(List.of(a, b, c, e), chunks(50, a, b, c), many);
    for (Move m : evening.moves()) {
      used.merge(m.from().id(), -m.lengthBytes(), Long::sum);
      used.merge(m.target().id(), m.lengthBytes(), Long::sum);
    }
    // e goes from 30% to about 40% while the others give a few points each.
    assertThat(evening.moves()).isNotEmpty().allSatisfy(m ->
        assertThat(m.target().id()).isEqualTo("e"));
    assertThat(30 + used.get("e") * 100 / CAPACITY).isBetween(36L, 44L);
    assertThat(evening.moves().size()).isLessThan(14);
  }

  static ChunkServerView withPending(ChunkServerView s, long pendingBytes) {
    return new ChunkServerView(s.id(), s.address(), s.rack(), s.alive(), s.lastHeartbeatMs(),
        s.capacityBytes(), s.usedBytes(), s.availableBytes(), s.full(), s.replicas(),
        pendingBytes, s.decommissioning());
  }
}
