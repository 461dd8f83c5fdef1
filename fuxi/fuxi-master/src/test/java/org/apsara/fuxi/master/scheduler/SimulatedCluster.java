package org.apsara.fuxi.master.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apsara.common.time.ManualClock;
import org.apsara.fuxi.master.scheduler.Decision.Grant;
import org.apsara.fuxi.master.scheduler.Decision.Revoke;
import org.apsara.fuxi.master.scheduler.Reports.HeldUnits;
import org.apsara.fuxi.master.scheduler.Reports.MachineReport;

/**
 * Drives a {@link Scheduler} and keeps an independent ledger of what every (application, role,
 * machine) holds, built only from the decisions the scheduler announced and the releases the test
 * sent. After every event it checks the scheduler's invariants against that ledger.
 */
final class SimulatedCluster {
  static final Duration MACHINE_WAIT = Duration.ofMillis(10);
  static final Duration RACK_WAIT = Duration.ofMillis(20);
  static final Duration PREEMPT_WAIT = Duration.ofMillis(40);

  record RoleInfo(String group, Resources shape, int priority) {}

  record QuotaInfo(Resources min, Resources max) {}

  final ManualClock clock = new ManualClock();
  final Scheduler scheduler =
      new Scheduler(clock, new SchedulerConfig(MACHINE_WAIT, RACK_WAIT, PREEMPT_WAIT));
  final Map<String, Resources> capacities = new LinkedHashMap<>();
  final Map<String, String> rackOf = new LinkedHashMap<>();
  final Map<String, QuotaInfo> groups = new LinkedHashMap<>();
  final Map<String, String> groupOfApp = new LinkedHashMap<>();

  /** "app/role" to its definition. */
  final Map<String, RoleInfo> roles = new LinkedHashMap<>();

  final Map<String, Set<String>> refusedMachines = new LinkedHashMap<>();
  final Map<String, Set<String>> refusedRacks = new LinkedHashMap<>();

  /** "app/role/machine" to units held, from decisions only. */
  final Map<String, Integer> ledger = new TreeMap<>();

  /** Every decision announced, in order. */
  final List<Decision> log = new ArrayList<>();

  long grantedUnits;
  long endedUnits;
  long releasedUnits;

  /** False after a rebuild, whose adopted units the scheduler's own counters do not include. */
  boolean countersFromStart = true;

  long preemptedUnits;

  /** The group whose bounds the decisions being applied changed, or null. */
  private String quotaUpdated;

  /** Priority of the last revocation of the quota update being applied (least urgent first). */
  private int lastUpdateVictimPriority;

  private boolean sawUpdateRevocation;

  long loweredMaxRevokedUnits;

  static String key(String app, String role) {
    return app + "/" + role;
  }

  // ------------------------------------------------------------------ events

  List<Decision> addMachine(String id, String rack, Resources capacity) {
    List<Decision> out = scheduler.addMachine(id, rack, capacity);
    capacities.put(id, capacity);
    rackOf.put(id, rack);
    return apply(out, Kind.OFFER);
  }

  List<Decision> removeMachine(String id) {
    List<Decision> out = scheduler.removeMachine(id);
    capacities.remove(id);
    rackOf.remove(id);
    return apply(out, Kind.MACHINE_REMOVAL);
  }

  void defineQuotaGroup(String name, Resources min, Resources max) {
    scheduler.defineQuotaGroup(name, min, max);
    groups.put(name, new QuotaInfo(min, max));
  }

  /** Changes a group's bounds; the decisions must bring it within the new maximum. */
  List<Decision> updateQuotaGroup(String name, Resources min, Resources max) {
    List<Decision> out = scheduler.updateQuotaGroup(name, min, max);
    groups.put(name, new QuotaInfo(min, max));
    quotaUpdated = name;
    sawUpdateRevocation = false;
    try {
      return apply(out, Kind.QUOTA_UPDATE);
    } finally {
      quotaUpdated = null;
    }
  }

  /** Removes a group; refused exactly when an application is registered in it. */
  void removeQuotaGroup(String name) {
    boolean inUse = groupOfApp.containsValue(name);
    try {
      scheduler.removeQuotaGroup(name);
    } catch (SchedulerException e) {
      assertThat(e.code())
          .isEqualTo(
              groups.containsKey(name)
                  ? SchedulerErrorCode.QUOTA_GROUP_IN_USE
                  : SchedulerErrorCode.UNKNOWN_QUOTA_GROUP);
      throw e;
    }
    assertThat(inUse).as("removed group " + name + " had applications").isFalse();
    groups.remove(name);
    checkInvariants();
  }

  void registerApplication(String app, String group) {
    scheduler.registerApplication(app, group);
    groupOfApp.put(app, group);
  }

  void defineRole(String app, String role, Resources shape, int priority) {
    scheduler.defineRole(app, role, shape, priority);
    roles.put(key(app, role), new RoleInfo(groupOfApp.get(app), shape, priority));
  }

  List<Decision> request(String app, String role, Location location, int count) {
    boolean expectLocal = false;
    RoleInfo info = roles.get(key(app, role));
    if (location.level() == Location.Level.MACHINE
        && info != null
        && capacities.containsKey(location.id())) {
      String m = location.id();
      expectLocal =
          info.shape().fitsIn(freeOn(m))
              && groupUsage(info.group()).plus(info.shape()).fitsIn(groups.get(info.group()).max())
              && !refusedMachines.getOrDefault(key(app, role), Set.of()).contains(m)
              && !refusedRacks.getOrDefault(key(app, role), Set.of()).contains(rackOf.get(m));
    }
    List<Decision> out = apply(scheduler.request(app, role, location, count), Kind.OFFER);
    if (expectLocal) {
      // Locality is honoured when the requested machine has room (and the group has headroom).
      assertThat(out).as("grant on the requested machine").isNotEmpty();
      assertThat(out.get(0)).isInstanceOf(Grant.class);
      assertThat(out.get(0).machineId()).isEqualTo(location.id());
      assertThat(out.get(0).appId()).isEqualTo(app);
    }
    return out;
  }

  List<Decision> release(String app, String role, String machine, int count) {
    List<Decision> out = scheduler.release(app, role, machine, count);
    String k = key(app, role) + "/" + machine;
    int held = ledger.getOrDefault(k, 0);
    assertThat(held).isGreaterThanOrEqualTo(count);
    put(k, held - count);
    endedUnits += count;
    releasedUnits += count;
    return apply(out, Kind.OFFER);
  }

  List<Decision> refuse(String app, String role, Location location) {
    List<Decision> out = scheduler.refuse(app, role, location);
    (location.level() == Location.Level.MACHINE ? refusedMachines : refusedRacks)
        .computeIfAbsent(key(app, role), x -> new LinkedHashSet<>())
        .add(location.id());
    return apply(out, Kind.OFFER);
  }

  List<Decision> unregister(String app) {
    List<Decision> out = scheduler.unregisterApplication(app);
    List<Decision> checked = apply(out, Kind.UNREGISTER);
    groupOfApp.remove(app);
    roles.keySet().removeIf(k -> k.startsWith(app + "/"));
    for (String k : ledger.keySet()) {
      assertThat(k).doesNotStartWith(app + "/");
    }
    return checked;
  }

  List<Decision> advance(Duration d) {
    clock.advance(d);
    return apply(scheduler.tick(), Kind.TICK);
  }

  // ------------------------------------------------------------------ ledger and invariants

  enum Kind {
    OFFER,
    MACHINE_REMOVAL,
    UNREGISTER,
    TICK,
    REBUILD,
    QUOTA_UPDATE
  }

  /** Applies decisions to the ledger in order, checking each one against the ledger state. */
  List<Decision> apply(List<Decision> out, Kind kind) {
    log.addAll(out);
    for (int i = 0; i < out.size(); i++) {
      Decision d = out.get(i);
      String k = key(d.appId(), d.role()) + "/" + d.machineId();
      assertThat(d.count()).isPositive();
      if (d instanceof Grant) {
        assertThat(roles).as("grant to a known role").containsKey(key(d.appId(), d.role()));
        assertThat(capacities).as("grant on a live machine").containsKey(d.machineId());
        assertThat(refusedMachines.getOrDefault(key(d.appId(), d.role()), Set.of()))
            .as("grant on a refused machine")
            .doesNotContain(d.machineId());
        assertThat(refusedRacks.getOrDefault(key(d.appId(), d.role()), Set.of()))
            .as("grant in a refused rack")
            .doesNotContain(rackOf.get(d.machineId()));
        put(k, ledger.getOrDefault(k, 0) + d.count());
        grantedUnits += d.count();
      } else {
        Revoke r = (Revoke) d;
        int held = ledger.getOrDefault(k, 0);
        assertThat(held).as("revoked units must be held: " + r).isGreaterThanOrEqualTo(r.count());
        switch (r.reason()) {
          case MACHINE_LOST -> assertThat(kind).isIn(Kind.MACHINE_REMOVAL, Kind.REBUILD);
          case APPLICATION_GONE -> assertThat(kind).isIn(Kind.UNREGISTER, Kind.REBUILD);
          case PREEMPTED_FOR_QUOTA -> {
            assertThat(kind).isIn(Kind.TICK, Kind.QUOTA_UPDATE);
            if (kind == Kind.TICK) {
              checkQuotaPreemption(r, beneficiary(out, i));
            } else {
              checkRevocationAboveMax(r);
            }
            preemptedUnits += r.count();
          }
          case PREEMPTED_FOR_PRIORITY -> {
            assertThat(kind).isEqualTo(Kind.TICK);
            checkPriorityPreemption(r, beneficiary(out, i));
            preemptedUnits += r.count();
          }
        }
        put(k, held - r.count());
        endedUnits += r.count();
      }
    }
    checkInvariants();
    return out;
  }

  private static Grant beneficiary(List<Decision> out, int revokeIndex) {
    for (int j = revokeIndex + 1; j < out.size(); j++) {
      if (out.get(j) instanceof Grant g) {
        return g;
      }
    }
    throw new AssertionError("a preemption without a grant after it: " + out);
  }

  /** Only over-quota units: the victim's group was over its minimum before each unit taken. */
  private void checkQuotaPreemption(Revoke r, Grant to) {
    RoleInfo victim = roles.get(key(r.appId(), r.role()));
    RoleInfo winner = roles.get(key(to.appId(), to.role()));
    QuotaInfo victimQuota = groups.get(victim.group());
    Resources beforeLast = groupUsage(victim.group()).minus(victim.shape().times(r.count() - 1));
    assertThat(beforeLast.exceedsInAny(victimQuota.min()))
        .as("quota preemption of %s took units within its group's minimum", r)
        .isTrue();
    assertThat(winner.group()).isNotEqualTo(victim.group());
    assertThat(to.machineId()).isEqualTo(r.machineId());
    assertThat(
            groupUsage(winner.group())
                .plus(winner.shape())
                .fitsIn(groups.get(winner.group()).min()))
        .as("quota preemption for a request beyond its group's minimum")
        .isTrue();
  }

  /**
   * A lowered maximum takes only units of the changed group, least urgent priority first, and only
   * while the group is still above the new maximum before each unit taken.
   */
  private void checkRevocationAboveMax(Revoke r) {
    RoleInfo victim = roles.get(key(r.appId(), r.role()));
    assertThat(victim.group()).isEqualTo(quotaUpdated);
    Resources beforeLast = groupUsage(victim.group()).minus(victim.shape().times(r.count() - 1));
    assertThat(beforeLast.exceedsInAny(groups.get(victim.group()).max()))
        .as("a lowered maximum revoked %s below the new maximum", r)
        .isTrue();
    if (!sawUpdateRevocation) {
      sawUpdateRevocation = true;
    } else {
      assertThat(victim.priority())
          .as("revocations for a lowered maximum go least urgent first")
          .isGreaterThanOrEqualTo(lastUpdateVictimPriority);
    }
    lastUpdateVictimPriority = victim.priority();
    loweredMaxRevokedUnits += r.count();
  }

  /** Only strictly lower priority of the same group. */
  private void checkPriorityPreemption(Revoke r, Grant to) {
    RoleInfo victim = roles.get(key(r.appId(), r.role()));
    RoleInfo winner = roles.get(key(to.appId(), to.role()));
    assertThat(winner.group()).isEqualTo(victim.group());
    assertThat(winner.priority()).isGreaterThan(victim.priority());
    assertThat(to.machineId()).isEqualTo(r.machineId());
  }

  private void put(String k, int v) {
    if (v == 0) {
      ledger.remove(k);
    } else {
      ledger.put(k, v);
    }
  }

  Resources freeOn(String machine) {
    Resources used = Resources.ZERO;
    for (Map.Entry<String, Integer> e : ledger.entrySet()) {
      String[] p = e.getKey().split("/");
      if (p[2].equals(machine)) {
        used = used.plus(roles.get(key(p[0], p[1])).shape().times(e.getValue()));
      }
    }
    return capacities.get(machine).minus(used);
  }

  Resources groupUsage(String group) {
    Resources used = Resources.ZERO;
    for (Map.Entry<String, Integer> e : ledger.entrySet()) {
      String[] p = e.getKey().split("/");
      RoleInfo info = roles.get(key(p[0], p[1]));
      if (info.group().equals(group)) {
        used = used.plus(info.shape().times(e.getValue()));
      }
    }
    return used;
  }

  /** What the machines run, flattened like the ledger. */
  static Map<String, Integer> flatten(List<MachineReport> reports) {
    Map<String, Integer> units = new TreeMap<>();
    for (MachineReport mr : reports) {
      for (HeldUnits h : mr.held()) {
        units.merge(key(h.appId(), h.role()) + "/" + mr.machineId(), h.count(), Integer::sum);
      }
    }
    return units;
  }

  void checkInvariants() {
    scheduler.checkConsistency();
    if (countersFromStart) {
      SchedulerStats stats = scheduler.stats();
      assertThat(stats.grantedUnits()).isEqualTo(grantedUnits);
      assertThat(stats.releasedUnits()).isEqualTo(releasedUnits);
      assertThat(stats.revokedUnits().values().stream().mapToLong(v -> v).sum())
          .isEqualTo(endedUnits - releasedUnits);
      assertThat(stats.machines()).isEqualTo(capacities.size());
    }
    // No unit lost or duplicated: the announced deltas add up to exactly what the scheduler holds.
    assertThat(flatten(scheduler.machineReports())).isEqualTo(ledger);
    assertThat(grantedUnits - endedUnits)
        .isEqualTo(ledger.values().stream().mapToLong(i -> i).sum());
    for (String m : capacities.keySet()) {
      Resources free = freeOn(m);
      assertThat(free.cpuMillis()).as("cpu of " + m).isNotNegative();
      assertThat(free.memoryMiB()).as("memory of " + m).isNotNegative();
    }
    for (Map.Entry<String, QuotaInfo> g : groups.entrySet()) {
      assertThat(groupUsage(g.getKey()).fitsIn(g.getValue().max()))
          .as("group " + g.getKey() + " within its max")
          .isTrue();
    }
  }

  List<String> heldKeys() {
    return new ArrayList<>(ledger.keySet());
  }
}
