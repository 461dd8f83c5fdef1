package org.apsara.fuxi.master.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.statistics.Statistics;
import org.apsara.fuxi.master.scheduler.Decision.Grant;
import org.apsara.fuxi.master.scheduler.Reports.ApplicationReport;
import org.apsara.fuxi.master.scheduler.Reports.MachineReport;
import org.apsara.fuxi.master.scheduler.Reports.PendingDemand;
import org.apsara.fuxi.master.scheduler.Reports.RoleReport;

/**
 * Random event sequences against the scheduler, with every invariant checked after every event by
 * {@link SimulatedCluster}: no machine over-allocated, every unit held or ended exactly once, no
 * group over its max (also right after its bounds change), preemption only of lower-priority or
 * over-quota units, locality honoured.
 */
class SchedulerPropertiesTest {
  static final Resources[] CAPACITIES = {
    Resources.of(4000, 8192),
    Resources.of(8000, 16384),
    Resources.of(2000, 8192),
    Resources.of(16000, 4096)
  };
  static final Resources[] SHAPES = {
    Resources.of(500, 1024),
    Resources.of(1000, 2048),
    Resources.of(2000, 4096),
    Resources.of(1000, 6000),
    Resources.of(3000, 1024)
  };

  /** One event; the fields pick targets among what exists when it runs. */
  record Op(int kind, int a, int b, int c) {}

  @Provide
  Arbitrary<List<Op>> events() {
    Arbitrary<Op> op =
        Combinators.combine(field(99), field(1_000), field(1_000), field(1_000)).as(Op::new);
    return op.list().ofMinSize(60).ofMaxSize(250);
  }

  /** Uniform rather than edge-biased: the fields pick among targets, edges mean nothing here. */
  private static Arbitrary<Integer> field(int max) {
    return Arbitraries.integers().between(0, max).withDistribution(RandomDistribution.uniform());
  }

  static SimulatedCluster startCluster() {
    SimulatedCluster c = new SimulatedCluster();
    for (int i = 0; i < 4; i++) {
      c.addMachine("m" + i, "r" + (i % 2), Resources.of(4000, 8192));
    }
    c.defineQuotaGroup("gold", Resources.of(6000, 12288), Resources.of(100_000, 200_000));
    c.defineQuotaGroup("silver", Resources.of(4000, 8192), Resources.of(12000, 24576));
    c.defineQuotaGroup("bronze", Resources.ZERO, Resources.of(8000, 16384));
    // A few applications from the start, so that short runs already compete for capacity.
    String[][] apps = {
      {"gold-a", "gold"}, {"gold-b", "gold"}, {"silver-a", "silver"}, {"bronze-a", "bronze"}
    };
    for (String[] app : apps) {
      c.registerApplication(app[0], app[1]);
      c.defineRole(app[0], "w0", SHAPES[1], 1);
      c.defineRole(app[0], "w1", SHAPES[0], 3);
    }
    return c;
  }

  static final String[] GROUPS = {"gold", "silver", "bronze"};

  /** A group that random events define, use and remove. */
  static final String SPARE = "spare";

  /** Runs one event; refused calls must leave everything unchanged. */
  static void run(SimulatedCluster c, Op op, int[] counter) {
    List<String> machines = new ArrayList<>(c.capacities.keySet());
    List<String> apps = new ArrayList<>(c.groupOfApp.keySet());
    List<String> roleKeys = new ArrayList<>(c.roles.keySet());
    String before = c.scheduler.machineReports().toString();
    try {
      int k = op.kind();
      if (k < 5) {
        c.addMachine(
            "m" + (++counter[0] + 100), "r" + op.a() % 3, CAPACITIES[op.b() % CAPACITIES.length]);
      } else if (k < 8) {
        if (!machines.isEmpty()) {
          c.removeMachine(machines.get(op.a() % machines.size()));
        }
      } else if (k < 14) {
        String group =
            op.b() % 4 == 0 && c.groups.containsKey(SPARE) ? SPARE : GROUPS[op.a() % GROUPS.length];
        c.registerApplication("app" + (++counter[0]), group);
      } else if (k < 22) {
        if (!apps.isEmpty()) {
          c.defineRole(
              apps.get(op.a() % apps.size()),
              "w" + op.b() % 3,
              SHAPES[op.c() % SHAPES.length],
              op.c() % 4);
        }
      } else if (k < 60) {
        if (!roleKeys.isEmpty()) {
          String[] ar = roleKeys.get(op.a() % roleKeys.size()).split("/");
          Location loc;
          int which = op.b() % 3;
          if (which == 0 && !machines.isEmpty()) {
            loc = Location.machine(machines.get(op.b() % machines.size()));
          } else if (which == 1 && !machines.isEmpty()) {
            loc = Location.rack(c.rackOf.get(machines.get(op.b() % machines.size())));
          } else {
            loc = Location.cluster();
          }
          c.request(ar[0], ar[1], loc, 1 + op.c() % 12);
        }
      } else if (k < 72) {
        List<String> held = c.heldKeys();
        if (!held.isEmpty()) {
          String[] p = held.get(op.a() % held.size()).split("/");
          int have = c.ledger.get(held.get(op.a() % held.size()));
          c.release(p[0], p[1], p[2], 1 + op.c() % have);
        }
      } else if (k < 76) {
        if (!roleKeys.isEmpty() && !machines.isEmpty()) {
          String[] ar = roleKeys.get(op.a() % roleKeys.size()).split("/");
          String m = machines.get(op.b() % machines.size());
          c.refuse(
              ar[0], ar[1], op.c() % 4 == 0 ? Location.rack(c.rackOf.get(m)) : Location.machine(m));
        }
      } else if (k < 79) {
        if (!apps.isEmpty()) {
          c.unregister(apps.get(op.a() % apps.size()));
        }
      } else if (k < 82) {
        // Deliberately bad input: errors must change nothing.
        c.request(apps.isEmpty() ? "none" : apps.get(0), "nosuchrole", Location.cluster(), 1);
      } else if (k < 86) {
        // New bounds for a group, often below its use or above the cluster (then refused).
        // Every group may have been removed by the branch below.
        List<String> groups = new ArrayList<>(c.groups.keySet());
        if (!groups.isEmpty()) {
          Resources min = Resources.of(op.b() % 5 * 2000L, op.b() / 5 % 5 * 4096L);
          Resources max = min.plus(Resources.of(op.c() % 6 * 2000L, op.c() / 6 % 6 * 4096L));
          c.updateQuotaGroup(groups.get(op.a() % groups.size()), min, max);
        }
      } else if (k < 88) {
        // The spare group comes and goes; the others are refused while they have applications.
        if (op.a() % 2 == 0 && !c.groups.containsKey(SPARE)) {
          c.defineQuotaGroup(SPARE, Resources.ZERO, Resources.of(8000, 16384));
        } else {
          List<String> groups = new ArrayList<>(c.groups.keySet());
          if (!groups.isEmpty()) {
            c.removeQuotaGroup(groups.get(op.b() % groups.size()));
          }
        }
      } else {
        c.advance(Duration.ofMillis(5 + op.a() % 36));
      }
    } catch (SchedulerException e) {
      assertThat(c.scheduler.machineReports().toString()).isEqualTo(before);
      c.checkInvariants();
    }
  }

  @Property(tries = 150)
  void invariantsHoldAfterEveryEvent(@ForAll("events") List<Op> ops) {
    SimulatedCluster c = startCluster();
    int[] counter = {0};
    for (Op op : ops) {
      run(c, op, counter);
    }
    // Shows in the report how much of the interesting behaviour the random runs reach.
    Statistics.label("granted").collect(c.grantedUnits > 0);
    Statistics.label("preempted").collect(c.preemptedUnits > 0);
    Statistics.label("revoked for a lowered max").collect(c.loweredMaxRevokedUnits > 0);
    long pending = 0;
    for (String rk : c.roles.keySet()) {
      String[] p = rk.split("/");
      pending += c.scheduler.pendingUnits(p[0], p[1]);
    }
    Statistics.label("pending at end").collect(pending > 0);
    Statistics.label("events").collect(ops.size() / 50);
    Statistics.label("elapsedMs").collect(c.clock.millis() / 100);
  }

  /**
   * A request within its group's minimum is served within a bounded number of ticks when the
   * cluster can hold it, by taking back capacity another group borrowed.
   */
  @Property(tries = 100)
  void guaranteedRequestIsServedWithinBoundedTicks(
      @ForAll @Size(min = 1, max = 8) List<@IntRange(min = 0, max = 3) Integer> machineKinds,
      @ForAll @Size(min = 1, max = 4) List<@IntRange(min = 0, max = 4) Integer> borrowerShapes,
      @ForAll @IntRange(min = 0, max = 4) int ownerShape,
      @ForAll @IntRange(min = 0, max = 1_000) int seed) {
    SimulatedCluster c = new SimulatedCluster();
    Resources shape = SHAPES[ownerShape];
    long achievable = 0;
    Resources total = Resources.ZERO;
    for (int i = 0; i < machineKinds.size(); i++) {
      Resources cap = CAPACITIES[machineKinds.get(i)];
      c.addMachine("m" + i, "r" + (i % 3), cap);
      achievable += cap.unitsOf(shape);
      total = total.plus(cap);
    }
    if (achievable == 0) {
      return; // the owner's shape fits on no machine: nothing to guarantee
    }
    int units = (int) (1 + seed % Math.min(achievable, 150));
    c.defineQuotaGroup("owner", shape.times(units), total);
    c.defineQuotaGroup("borrower", Resources.ZERO, total);
    c.registerApplication("b", "borrower");
    for (int i = 0; i < borrowerShapes.size(); i++) {
      Resources bs = SHAPES[borrowerShapes.get(i)];
      if (total.unitsOf(bs) > 0 && anyFits(c, bs)) {
        c.defineRole("b", "w" + i, bs, (seed + i) % 4);
        c.request("b", "w" + i, Location.cluster(), 200);
      }
    }
    c.registerApplication("o", "owner");
    c.defineRole("o", "w", shape, 0);
    String target = "m" + seed % machineKinds.size();
    c.request("o", "w", Location.machine(target), units);

    Duration tick = Duration.ofMillis(5);
    long waits =
        SimulatedCluster.MACHINE_WAIT
            .plus(SimulatedCluster.RACK_WAIT)
            .plus(SimulatedCluster.PREEMPT_WAIT)
            .toMillis();
    // Relaxation, the preemption wait, then one preemption round per retry (every preemption
    // wait) of at most MAX_PREEMPTION_ROUNDS exchanges.
    int rounds =
        (units + SchedulerLimits.MAX_PREEMPTION_ROUNDS - 1) / SchedulerLimits.MAX_PREEMPTION_ROUNDS;
    long boundMs = waits + (rounds - 1) * SimulatedCluster.PREEMPT_WAIT.toMillis();
    int bound = (int) (boundMs / tick.toMillis()) + 1;
    int ticks = 0;
    while (c.scheduler.pendingUnits("o", "w") > 0 && ticks < bound) {
      c.advance(tick);
      ticks++;
    }
    assertThat(c.scheduler.pendingUnits("o", "w"))
        .as("owner still waits after %d ticks", ticks)
        .isZero();
    assertThat(c.scheduler.groupUsage("owner")).isEqualTo(shape.times(units));
    Statistics.label("owner needed preemption").collect(c.preemptedUnits > 0);
  }

  private static boolean anyFits(SimulatedCluster c, Resources shape) {
    return c.capacities.values().stream().anyMatch(shape::fitsIn);
  }

  /**
   * After a failover, the rebuilt scheduler holds exactly what the machines reported; the decisions
   * it returns bring every application master's (possibly wrong) belief to that, and no unit is
   * lost or duplicated.
   */
  @Property(tries = 60)
  void rebuildLosesAndDuplicatesNothing(
      @ForAll("events") List<Op> ops, @ForAll @IntRange(min = 0, max = 1_000) int noise) {
    SimulatedCluster old = startCluster();
    int[] counter = {0};
    for (Op op : ops) {
      run(old, op, counter);
    }
    List<MachineReport> machines = old.scheduler.machineReports();

    // Each application master reports its view: mostly right, sometimes missing or inventing units.
    Map<String, Map<String, Integer>> believed = new LinkedHashMap<>();
    int i = 0;
    for (Map.Entry<String, Integer> e : old.ledger.entrySet()) {
      String[] p = e.getKey().split("/");
      int v = e.getValue();
      int twist = (noise + i++) % 5;
      v = twist == 0 ? 0 : twist == 1 ? v + 1 : v;
      if (v > 0) {
        believed.computeIfAbsent(p[0] + "/" + p[1], x -> new LinkedHashMap<>()).put(p[2], v);
      }
    }
    believed
        .computeIfAbsent(
            old.roles.isEmpty() ? "none/none" : old.roles.keySet().iterator().next(),
            x -> new LinkedHashMap<>())
        .merge("ghost-machine", 2, Integer::sum);
    List<ApplicationReport> apps = new ArrayList<>();
    // One application is not reported at all (say its master died too): its units must be revoked.
    String dropped =
        noise % 3 == 0 && !old.groupOfApp.isEmpty()
            ? old.groupOfApp.keySet().iterator().next()
            : null;
    for (Map.Entry<String, String> app : old.groupOfApp.entrySet()) {
      if (app.getKey().equals(dropped)) {
        continue;
      }
      List<RoleReport> roles = new ArrayList<>();
      for (Map.Entry<String, SimulatedCluster.RoleInfo> r : old.roles.entrySet()) {
        String[] p = r.getKey().split("/");
        if (!p[0].equals(app.getKey())) {
          continue;
        }
        long pending = old.scheduler.pendingUnits(p[0], p[1]);
        List<PendingDemand> demand =
            pending == 0
                ? List.of()
                : List.of(new PendingDemand(Location.cluster(), (int) pending));
        roles.add(
            new RoleReport(
                p[1],
                r.getValue().shape(),
                r.getValue().priority(),
                believed.getOrDefault(r.getKey(), Map.of()),
                demand));
      }
      apps.add(new ApplicationReport(app.getKey(), app.getValue(), roles));
    }

    SimulatedCluster fresh = new SimulatedCluster();
    List<QuotaGroupSpec> groups = new ArrayList<>();
    old.groups.forEach((name, q) -> groups.add(new QuotaGroupSpec(name, q.min(), q.max())));
    // The new master's ledger starts from what each application master believes it holds.
    for (ApplicationReport ar : apps) {
      fresh.groupOfApp.put(ar.appId(), ar.quotaGroup());
      for (RoleReport rr : ar.roles()) {
        fresh.roles.put(
            SimulatedCluster.key(ar.appId(), rr.role()),
            new SimulatedCluster.RoleInfo(ar.quotaGroup(), rr.shape(), rr.priority()));
        rr.heldByMachine()
            .forEach(
                (m, n) ->
                    fresh.ledger.put(SimulatedCluster.key(ar.appId(), rr.role()) + "/" + m, n));
      }
    }
    old.groups.forEach((name, q) -> fresh.groups.put(name, q));
    for (MachineReport mr : machines) {
      fresh.capacities.put(mr.machineId(), mr.capacity());
      fresh.rackOf.put(mr.machineId(), mr.rack());
    }
    List<Decision> out = fresh.scheduler.rebuild(groups, machines, apps);

    // Apply the reconciling decisions to the masters' beliefs: the result must be the truth.
    Map<String, Integer> view = new java.util.TreeMap<>(fresh.ledger);
    Map<String, Integer> tuboKills = new java.util.TreeMap<>();
    for (Decision d : out) {
      String k = SimulatedCluster.key(d.appId(), d.role()) + "/" + d.machineId();
      if (d instanceof Grant) {
        view.merge(k, d.count(), Integer::sum);
      } else if (((Decision.Revoke) d).reason() == RevokeReason.APPLICATION_GONE) {
        tuboKills.merge(k, d.count(), Integer::sum);
      } else {
        int left = view.getOrDefault(k, 0) - d.count();
        assertThat(left).as("revoked more than believed for " + k).isNotNegative();
        view.put(k, left);
      }
    }
    view.values().removeIf(v -> v == 0);
    Map<String, Integer> truth = SimulatedCluster.flatten(fresh.scheduler.machineReports());
    assertThat(view).isEqualTo(truth);
    // Units the machines reported are either held again (a reported role) or killed as gone (an
    // unreported one), never both or neither; more can be held where pending demand was placed.
    Map<String, Integer> reported = SimulatedCluster.flatten(machines);
    fresh.scheduler.checkConsistency();
    for (Map.Entry<String, Integer> e : reported.entrySet()) {
      String[] p = e.getKey().split("/");
      if (fresh.roles.containsKey(SimulatedCluster.key(p[0], p[1]))) {
        assertThat(truth.getOrDefault(e.getKey(), 0)).isGreaterThanOrEqualTo(e.getValue());
        assertThat(tuboKills).doesNotContainKey(e.getKey());
      } else {
        assertThat(tuboKills.get(e.getKey())).isEqualTo(e.getValue());
        assertThat(truth).doesNotContainKey(e.getKey());
      }
    }
    assertThat(reported.keySet()).containsAll(tuboKills.keySet());
    if (dropped != null) {
      assertThat(truth.keySet()).noneMatch(k -> k.startsWith(dropped + "/"));
    }
    // Keep going on the rebuilt scheduler: every invariant still holds.
    fresh.ledger.clear();
    fresh.ledger.putAll(truth);
    fresh.grantedUnits = truth.values().stream().mapToLong(v -> v).sum();
    fresh.endedUnits = 0;
    fresh.countersFromStart = false;
    for (Op op : ops.subList(0, Math.min(30, ops.size()))) {
      run(fresh, op, counter);
    }
  }

  /** Same events at the same clock readings, same decisions: a standby or a replay agrees. */
  @Property(tries = 30)
  void decisionsAreDeterministic(@ForAll("events") List<Op> ops) {
    SimulatedCluster first = startCluster();
    SimulatedCluster second = startCluster();
    int[] c1 = {0};
    int[] c2 = {0};
    for (Op op : ops) {
      run(first, op, c1);
      run(second, op, c2);
    }
    assertThat(second.log).isEqualTo(first.log);
    assertThat(second.scheduler.machineReports()).isEqualTo(first.scheduler.machineReports());
  }
}
