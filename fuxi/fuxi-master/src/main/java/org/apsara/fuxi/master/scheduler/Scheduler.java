package org.apsara.fuxi.master.scheduler;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import org.apsara.common.time.MonotonicClock;
import org.apsara.fuxi.master.scheduler.Decision.Grant;
import org.apsara.fuxi.master.scheduler.Decision.Revoke;
import org.apsara.fuxi.master.scheduler.Location.Level;
import org.apsara.fuxi.master.scheduler.Reports.ApplicationReport;
import org.apsara.fuxi.master.scheduler.Reports.HeldUnits;
import org.apsara.fuxi.master.scheduler.Reports.MachineReport;
import org.apsara.fuxi.master.scheduler.Reports.PendingDemand;
import org.apsara.fuxi.master.scheduler.Reports.RoleReport;
import org.apsara.fuxi.master.scheduler.SchedulerState.Allocation;
import org.apsara.fuxi.master.scheduler.SchedulerState.Application;
import org.apsara.fuxi.master.scheduler.SchedulerState.Demand;
import org.apsara.fuxi.master.scheduler.SchedulerState.Machine;
import org.apsara.fuxi.master.scheduler.SchedulerState.QuotaGroup;
import org.apsara.fuxi.master.scheduler.SchedulerState.Rack;
import org.apsara.fuxi.master.scheduler.SchedulerState.Role;
import org.apsara.fuxi.master.scheduler.SchedulerState.VictimList;

/**
 * FuxiMaster's incremental scheduler: machines offer cpu and memory, applications declare roles (a
 * unit shape and a priority) and then send only changes (more units at a location, releases,
 * refusals); every call answers with the changes it caused, as {@link Decision}s: grants and
 * revocations, counted per (application, role, machine).
 *
 * <p>Scheduling: a request is placed at once if its location has room and its quota group has
 * headroom; otherwise it waits in the queue of its machine, rack or the cluster, ordered by
 * priority then round-robin. A waiting request is relaxed from machine to rack after {@link
 * SchedulerConfig#machineLocalityWait()} and from rack to cluster after {@link
 * SchedulerConfig#rackLocalityWait()}. Capacity freed on a machine is offered to that machine's
 * queue, then its rack's, then the cluster's. A quota group may use up to its maximum; what it uses
 * beyond its minimum is borrowed, and a request that is within its own group's minimum and has
 * waited {@link SchedulerConfig#preemptionWait()} at cluster level takes borrowed units back
 * ({@link RevokeReason#PREEMPTED_FOR_QUOTA}); any request that has waited that long may take units
 * of strictly lower priority from its own group ({@link RevokeReason#PREEMPTED_FOR_PRIORITY}).
 *
 * <p>Threading: not thread-safe, by design. It is a deterministic single-threaded core: the same
 * calls with the same clock readings give the same decisions. It does no I/O, starts no thread and
 * reads time only from the injected clock (at each call, and in {@link #tick()}).
 *
 * <p>Errors: a refused call throws {@link SchedulerException} and changes nothing.
 */
public final class Scheduler {
  private final MonotonicClock clock;
  private final SchedulerConfig config;

  private final Map<String, Machine> machines = new LinkedHashMap<>();
  private final Map<String, Rack> racks = new LinkedHashMap<>();
  private final Map<String, QuotaGroup> groups = new LinkedHashMap<>();
  private final Map<String, Application> apps = new LinkedHashMap<>();
  private final FitIndex<Machine> clusterFree = new FitIndex<>();
  private final FitIndex<Machine> capacities = new FitIndex<>();
  private final TreeSet<Demand> clusterQueue = new TreeSet<>(SchedulerState.QUEUE_ORDER);
  private final TreeSet<Demand> timers = new TreeSet<>(SchedulerState.TIMER_ORDER);
  private final Set<QuotaGroup> borrowingGroups = new LinkedHashSet<>();
  private long clusterCpu;
  private long clusterMem;
  private long totalPendingUnits;
  private long grantedUnits;
  private long releasedUnits;
  private final long[] revokedUnits = new long[RevokeReason.values().length];
  private long nextUid = 1;
  private long nextQueueSeq = 1;

  /** Scratch list of {@link #offerFrom}, which never runs nested; kept to spare an allocation. */
  private final List<Demand> offerServed = new ArrayList<>();

  public Scheduler(MonotonicClock clock, SchedulerConfig config) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.config = Objects.requireNonNull(config, "config");
  }

  // ---------------------------------------------------------------- machines

  /** Adds a live machine; its capacity is offered to waiting requests at once. */
  public List<Decision> addMachine(String machineId, String rackId, Resources capacity) {
    checkId(machineId, "machine id");
    checkId(rackId, "rack id");
    checkMachineResources(capacity, "capacity of machine " + machineId);
    if (machines.containsKey(machineId)) {
      throw error(SchedulerErrorCode.DUPLICATE_MACHINE, "machine " + machineId + " already exists");
    }
    if (machines.size() >= SchedulerLimits.MAX_MACHINES) {
      throw error(
          SchedulerErrorCode.LIMIT_EXCEEDED,
          "cluster already has MAX_MACHINES=" + SchedulerLimits.MAX_MACHINES + " machines");
    }
    List<Decision> out = new ArrayList<>();
    insertMachine(machineId, rackId, capacity);
    offer(machines.get(machineId), out);
    return out;
  }

  private Machine insertMachine(String machineId, String rackId, Resources capacity) {
    Rack rack = racks.computeIfAbsent(rackId, Rack::new);
    Machine m = new Machine(machineId, rack, capacity);
    m.clusterSlot = clusterFree.add(m, capacity.cpuMillis(), capacity.memoryMiB());
    m.capacitySlot = capacities.add(m, capacity.cpuMillis(), capacity.memoryMiB());
    m.rackSlot = rack.free.add(m, capacity.cpuMillis(), capacity.memoryMiB());
    machines.put(machineId, m);
    clusterCpu += capacity.cpuMillis();
    clusterMem += capacity.memoryMiB();
    return m;
  }

  /**
   * Removes a dead or departing machine: every unit on it is revoked with {@link
   * RevokeReason#MACHINE_LOST}, and requests waiting for it (or for its rack, if it was the rack's
   * last machine) move to the next locality level.
   */
  public List<Decision> removeMachine(String machineId) {
    Machine m = machine(machineId);
    List<Decision> out = new ArrayList<>();
    m.alive = false;
    clusterFree.remove(m.clusterSlot);
    capacities.remove(m.capacitySlot);
    m.rack.free.remove(m.rackSlot);
    machines.remove(machineId);
    clusterCpu -= m.capacity.cpuMillis();
    clusterMem -= m.capacity.memoryMiB();
    for (Allocation a = m.firstAllocation, next; a != null; a = next) {
      next = a.nextOnMachine;
      revoke(a, a.count, RevokeReason.MACHINE_LOST, out);
    }
    Rack rack = m.rack;
    if (rack.free.size() == 0) {
      racks.remove(rack.id);
    }
    for (Demand d : new ArrayList<>(m.queue)) {
      relax(d, out);
    }
    if (!racks.containsKey(rack.id)) {
      for (Demand d : new ArrayList<>(rack.queue)) {
        relax(d, out);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- quota groups and applications

  /**
   * Defines a quota group: it is guaranteed {@code min} (taken back by preemption from groups that
   * borrowed it) and never holds more than {@code max}. The minimum must fit in the capacity of the
   * live machines at definition time.
   */
  public void defineQuotaGroup(String name, Resources min, Resources max) {
    checkGroupBounds(name, min, max, new Resources(clusterCpu, clusterMem));
    if (groups.containsKey(name)) {
      throw error(SchedulerErrorCode.DUPLICATE_QUOTA_GROUP, "quota group " + name + " exists");
    }
    if (groups.size() >= SchedulerLimits.MAX_QUOTA_GROUPS) {
      throw error(
          SchedulerErrorCode.LIMIT_EXCEEDED,
          "already MAX_QUOTA_GROUPS=" + SchedulerLimits.MAX_QUOTA_GROUPS + " quota groups");
    }
    groups.put(name, new QuotaGroup(name, min, max));
  }

  /**
   * Changes an existing quota group's bounds, validated as {@link #defineQuotaGroup} validates
   * them (bounds not negative, {@code min <= max} in both dimensions, {@code min} within the
   * capacity of the live machines); a refused change changes nothing.
   *
   * <p>A maximum lowered below the group's usage takes effect at once: units of the group are
   * revoked with {@link RevokeReason#PREEMPTED_FOR_QUOTA}, least urgent first (lowest priority,
   * then youngest allocation, as preemption chooses), until its usage fits in the new maximum in
   * both dimensions; every unit above the maximum is borrowed, since {@code min <= max}. The freed
   * machines are offered to waiting requests, and the group gets nothing more while it is at its
   * maximum. The returned decisions therefore never leave the group above its maximum.
   *
   * <p>A raised maximum is used at once: the group's waiting requests are placed where they fit
   * now, in queue order (priority, then round-robin). A raised minimum may make waiting requests
   * guaranteed: the group's requests that already waited the preemption wait at cluster level are
   * due again at once, so the next {@link #tick()} preempts for them; others become eligible when
   * their own wait runs out, as always.
   *
   * <p>Cost: O(the group's applications, roles and waiting demands, times log q) plus the
   * revocations, each O(1) and one offer of its machine. An administrative call, not on the
   * per-unit path.
   */
  public List<Decision> updateQuotaGroup(String name, Resources min, Resources max) {
    checkGroupBounds(name, min, max, new Resources(clusterCpu, clusterMem));
    QuotaGroup g = group(name);
    boolean minRaised =
        min.cpuMillis() > g.min.cpuMillis() || min.memoryMiB() > g.min.memoryMiB();
    g.min = min;
    g.max = max;
    updateBorrowing(g);
    List<Decision> out = new ArrayList<>();
    Set<Machine> touched = new LinkedHashSet<>();
    revokeAboveMax(g, touched, out);
    for (Machine m : touched) {
      offer(m, out);
    }
    List<Demand> waiting = new ArrayList<>();
    for (Application app : g.applications) {
      for (Role r : app.roles.values()) {
        waiting.addAll(allDemands(r));
      }
    }
    waiting.sort(SchedulerState.QUEUE_ORDER);
    for (Demand d : waiting) {
      // An earlier placement may not have touched d, but dropDemand zeroes a served demand.
      if (d.count > 0) {
        place(d, out);
      }
    }
    if (minRaised) {
      long now = clock.nanos();
      for (Demand d : waiting) {
        if (d.count > 0 && d.level == Level.CLUSTER && d.starving && d.deadlineNanos > now) {
          timers.remove(d);
          d.deadlineNanos = now;
          timers.add(d);
        }
      }
    }
    return out;
  }

  /** Revokes the group's units, least urgent first, until its usage fits in its maximum. */
  private void revokeAboveMax(QuotaGroup g, Set<Machine> touched, List<Decision> out) {
    for (VictimList list : g.victimLists.values()) {
      for (Allocation a = list.youngest, older; a != null && overMax(g); a = older) {
        older = a.olderVictim;
        Resources x = a.role.shape;
        long need =
            Math.max(
                ceilDiv(g.usedCpu - g.max.cpuMillis(), x.cpuMillis()),
                ceilDiv(g.usedMem - g.max.memoryMiB(), x.memoryMiB()));
        touched.add(a.machine);
        revoke(a, (int) Math.min(need, a.count), RevokeReason.PREEMPTED_FOR_QUOTA, out);
      }
      if (!overMax(g)) {
        return;
      }
    }
  }

  private static boolean overMax(QuotaGroup g) {
    return g.usedCpu > g.max.cpuMillis() || g.usedMem > g.max.memoryMiB();
  }

  /**
   * Removes a quota group that no registered application uses (it then holds nothing, so nothing
   * is revoked). Refused with {@link SchedulerErrorCode#QUOTA_GROUP_IN_USE} while any application
   * is registered in it. O(1).
   */
  public void removeQuotaGroup(String name) {
    QuotaGroup g = group(name);
    if (!g.applications.isEmpty()) {
      throw error(
          SchedulerErrorCode.QUOTA_GROUP_IN_USE,
          "quota group "
              + name
              + " has "
              + g.applications.size()
              + " registered applications, e.g. "
              + g.applications.iterator().next().id);
    }
    groups.remove(name);
    borrowingGroups.remove(g);
  }

  private static void checkGroupBounds(
      String name, Resources min, Resources max, Resources cluster) {
    checkId(name, "quota group name");
    Objects.requireNonNull(min, "min");
    Objects.requireNonNull(max, "max");
    if (min.cpuMillis() < 0 || min.memoryMiB() < 0 || max.cpuMillis() < 0 || max.memoryMiB() < 0) {
      throw error(
          SchedulerErrorCode.INVALID_RESOURCES,
          "quota group " + name + " bounds cannot be negative: min " + min + ", max " + max);
    }
    if (!min.fitsIn(max)) {
      throw error(
          SchedulerErrorCode.QUOTA_MIN_EXCEEDS_MAX,
          "quota group " + name + " min " + min + " exceeds its max " + max);
    }
    if (!min.fitsIn(cluster)) {
      throw error(
          SchedulerErrorCode.QUOTA_MIN_EXCEEDS_CLUSTER,
          "quota group " + name + " min " + min + " exceeds the cluster's capacity " + cluster);
    }
  }

  /** Registers an application in an existing quota group. */
  public void registerApplication(String appId, String quotaGroup) {
    checkId(appId, "application id");
    QuotaGroup g = group(quotaGroup);
    if (apps.containsKey(appId)) {
      throw error(SchedulerErrorCode.DUPLICATE_APPLICATION, "application " + appId + " exists");
    }
    if (apps.size() >= SchedulerLimits.MAX_APPLICATIONS) {
      throw error(
          SchedulerErrorCode.LIMIT_EXCEEDED,
          "already MAX_APPLICATIONS=" + SchedulerLimits.MAX_APPLICATIONS + " applications");
    }
    Application app = new Application(appId, g);
    apps.put(appId, app);
    g.applications.add(app);
  }

  /**
   * Declares a role: the shape of one unit and its priority (a larger value is more urgent). The
   * shape must fit on at least one live machine.
   */
  public void defineRole(String appId, String role, Resources shape, int priority) {
    Application app = app(appId);
    checkId(role, "role name");
    checkMachineResources(shape, "shape of role " + appId + "/" + role);
    if (priority < SchedulerLimits.MIN_PRIORITY || priority > SchedulerLimits.MAX_PRIORITY) {
      throw error(
          SchedulerErrorCode.PRIORITY_OUT_OF_RANGE,
          "priority "
              + priority
              + " of role "
              + appId
              + "/"
              + role
              + " is outside ["
              + SchedulerLimits.MIN_PRIORITY
              + ", "
              + SchedulerLimits.MAX_PRIORITY
              + "]");
    }
    if (app.roles.containsKey(role)) {
      throw error(SchedulerErrorCode.DUPLICATE_ROLE, "role " + appId + "/" + role + " exists");
    }
    if (app.roles.size() >= SchedulerLimits.MAX_ROLES_PER_APPLICATION) {
      throw error(
          SchedulerErrorCode.LIMIT_EXCEEDED,
          "application "
              + appId
              + " already has MAX_ROLES_PER_APPLICATION="
              + SchedulerLimits.MAX_ROLES_PER_APPLICATION
              + " roles");
    }
    if (capacities.find(shape.cpuMillis(), shape.memoryMiB(), m -> true) == null) {
      throw error(
          SchedulerErrorCode.SHAPE_LARGER_THAN_ANY_MACHINE,
          "shape " + shape + " of role " + appId + "/" + role + " fits on no live machine");
    }
    app.roles.put(role, new Role(app, role, shape, priority));
  }

  /**
   * The application is gone: its waiting requests are dropped, every unit it held is revoked with
   * {@link RevokeReason#APPLICATION_GONE} (so that Tubos stop its processes), and the freed
   * capacity is offered to others.
   */
  public List<Decision> unregisterApplication(String appId) {
    Application app = app(appId);
    List<Decision> out = new ArrayList<>();
    Set<Machine> touched = new LinkedHashSet<>();
    for (Role r : app.roles.values()) {
      for (Demand d : allDemands(r)) {
        dropDemand(d);
      }
      for (Allocation a = r.firstHeld, next; a != null; a = next) {
        next = a.nextOfRole;
        touched.add(a.machine);
        revoke(a, a.count, RevokeReason.APPLICATION_GONE, out);
      }
    }
    apps.remove(appId);
    app.group.applications.remove(app);
    for (Machine m : touched) {
      offer(m, out);
    }
    return out;
  }

  // ---------------------------------------------------------------- the incremental protocol

  /**
   * Asks for {@code count} more units of a role at a location. Units that fit now are granted in
   * the returned decisions; the rest wait.
   */
  public List<Decision> request(String appId, String role, Location location, int count) {
    Role r = role(appId, role);
    checkCount(count, "request of " + appId + "/" + role);
    if (r.pendingUnits + count > SchedulerLimits.MAX_PENDING_UNITS_PER_ROLE) {
      throw error(
          SchedulerErrorCode.TOO_MANY_PENDING_UNITS,
          "role "
              + appId
              + "/"
              + role
              + " has "
              + r.pendingUnits
              + " units pending; "
              + count
              + " more exceed MAX_PENDING_UNITS_PER_ROLE="
              + SchedulerLimits.MAX_PENDING_UNITS_PER_ROLE);
    }
    checkRequestable(r, location);
    List<Decision> out = new ArrayList<>();
    Demand d = demandAt(r, location.level(), location.id());
    d.count += count;
    r.pendingUnits += count;
    totalPendingUnits += count;
    place(d, out);
    return out;
  }

  /**
   * Withdraws up to {@code count} waiting units of a role at a location (never held ones); returns
   * how many were withdrawn, which may be fewer when some were granted meanwhile.
   */
  public int withdraw(String appId, String role, Location location, int count) {
    Role r = role(appId, role);
    checkCount(count, "withdrawal of " + appId + "/" + role);
    Objects.requireNonNull(location, "location");
    Demand d =
        switch (location.level()) {
          case MACHINE -> r.machineDemands.get(location.id());
          case RACK -> r.rackDemands.get(location.id());
          case CLUSTER -> r.clusterDemand;
        };
    if (d == null) {
      return 0;
    }
    int taken = Math.min(count, d.count);
    d.count -= taken;
    r.pendingUnits -= taken;
    totalPendingUnits -= taken;
    if (d.count == 0) {
      dropDemand(d);
    }
    return taken;
  }

  /**
   * Gives back {@code count} units a role holds on a machine; the capacity is offered to others.
   */
  public List<Decision> release(String appId, String role, String machineId, int count) {
    Role r = role(appId, role);
    checkCount(count, "release of " + appId + "/" + role);
    Machine m = machine(machineId);
    Allocation a = r.held.get(m.clusterSlot);
    int held = a == null ? 0 : a.count;
    if (count > held) {
      throw error(
          SchedulerErrorCode.RELEASE_EXCEEDS_HELD,
          "role "
              + appId
              + "/"
              + role
              + " holds "
              + held
              + " units on "
              + machineId
              + ", cannot release "
              + count);
    }
    List<Decision> out = new ArrayList<>();
    removeUnits(a, count);
    releasedUnits += count;
    offer(m, out);
    return out;
  }

  /**
   * The role refuses a machine or a rack from now on: nothing new is granted there, and units it
   * waits for there are moved to the next locality level. Held units stay until released.
   */
  public List<Decision> refuse(String appId, String role, Location location) {
    Role r = role(appId, role);
    Objects.requireNonNull(location, "location");
    switch (location.level()) {
      case MACHINE -> machine(location.id());
      case RACK -> rack(location.id());
      case CLUSTER ->
          throw error(
              SchedulerErrorCode.INVALID_ARGUMENT, "a role cannot refuse the whole cluster");
    }
    Set<String> set = location.level() == Level.MACHINE ? r.refusedMachines : r.refusedRacks;
    List<Decision> out = new ArrayList<>();
    if (set.contains(location.id())) {
      return out;
    }
    if (r.refusedMachines.size() + r.refusedRacks.size() >= SchedulerLimits.MAX_REFUSALS_PER_ROLE) {
      throw error(
          SchedulerErrorCode.LIMIT_EXCEEDED,
          "role "
              + appId
              + "/"
              + role
              + " already refuses MAX_REFUSALS_PER_ROLE="
              + SchedulerLimits.MAX_REFUSALS_PER_ROLE
              + " locations");
    }
    set.add(location.id());
    if (location.level() == Level.MACHINE) {
      Demand d = r.machineDemands.get(location.id());
      if (d != null) {
        relax(d, out);
      }
    } else {
      Demand d = r.rackDemands.get(location.id());
      if (d != null) {
        relax(d, out);
      }
      for (Demand md : new ArrayList<>(r.machineDemands.values())) {
        if (md.rack.id.equals(location.id())) {
          relax(md, out);
        }
      }
    }
    return out;
  }

  /**
   * Advances time-based work to the clock's present: relaxes the locality of requests whose wait
   * ran out, retries requests waiting at cluster level and preempts for them. Handles at most
   * {@link SchedulerLimits#MAX_TIMERS_PER_TICK} expired timers; the rest wait for the next tick.
   */
  public List<Decision> tick() {
    long now = clock.nanos();
    List<Decision> out = new ArrayList<>();
    int handled = 0;
    List<Demand> rearm = new ArrayList<>();
    while (!timers.isEmpty() && handled < SchedulerLimits.MAX_TIMERS_PER_TICK) {
      Demand d = timers.first();
      if (d.deadlineNanos > now) {
        break;
      }
      timers.pollFirst();
      handled++;
      if (d.level != Level.CLUSTER) {
        relax(d, out);
        continue;
      }
      d.starving = true;
      place(d, out);
      if (d.count > 0) {
        preempt(d, out);
      }
      if (d.count > 0) {
        rearm.add(d);
      }
    }
    // A starving request is retried (placement, then preemption) every preemption wait until it
    // is served or withdrawn; retrying on every tick would make a full, busy cluster cost
    // O(starving requests) per tick. Freed capacity still reaches it at once through offer().
    long retryNanos = Math.max(1, config.preemptionWait().toNanos());
    for (Demand d : rearm) {
      if (d.count > 0) {
        d.deadlineNanos = now + retryNanos;
        timers.add(d);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- failover

  /**
   * Rebuilds soft state after a master failover from what the Tubos and the application masters
   * report. Quota groups (configuration) must already be defined; machines and applications must
   * not. Units reported by machines are authoritative: they become the allocations, and the
   * returned decisions reconcile each application master's belief with them (a {@link Grant} for
   * units a machine runs but the master did not report, a {@link Revoke} with {@link
   * RevokeReason#MACHINE_LOST} for units no machine runs, a Revoke with {@link
   * RevokeReason#APPLICATION_GONE} for units of applications or roles nobody reported). Pending
   * demand is then requested again. The whole report is validated before anything changes.
   */
  public List<Decision> rebuild(
      List<MachineReport> machineReports, List<ApplicationReport> appReports) {
    return rebuild(List.of(), machineReports, appReports);
  }

  /**
   * {@link #rebuild(List, List)} that first defines quota groups, judging each minimum against the
   * capacity of the reported machines. A master that starts from configuration needs this form:
   * before any machine is known it cannot define a group with a positive minimum.
   */
  public List<Decision> rebuild(
      List<QuotaGroupSpec> quotaGroups,
      List<MachineReport> machineReports,
      List<ApplicationReport> appReports) {
    if (!machines.isEmpty() || !apps.isEmpty()) {
      throw error(
          SchedulerErrorCode.NOT_EMPTY,
          "rebuild needs an empty scheduler; it has "
              + machines.size()
              + " machines and "
              + apps.size()
              + " applications");
    }
    Objects.requireNonNull(quotaGroups, "quotaGroups");
    validateGroups(quotaGroups, machineReports);
    Map<String, QuotaGroup> added = new LinkedHashMap<>();
    for (QuotaGroupSpec spec : quotaGroups) {
      added.put(spec.name(), new QuotaGroup(spec.name(), spec.min(), spec.max()));
    }
    Map<String, QuotaGroup> saved = new LinkedHashMap<>(groups);
    groups.putAll(added);
    try {
      validateReports(machineReports, appReports);
    } catch (RuntimeException e) {
      groups.clear();
      groups.putAll(saved);
      throw e;
    }
    List<Decision> out = new ArrayList<>();
    for (MachineReport mr : machineReports) {
      insertMachine(mr.machineId(), mr.rack(), mr.capacity());
    }
    for (ApplicationReport ar : appReports) {
      Application app = new Application(ar.appId(), groups.get(ar.quotaGroup()));
      apps.put(ar.appId(), app);
      app.group.applications.add(app);
      for (RoleReport rr : ar.roles()) {
        app.roles.put(rr.role(), new Role(app, rr.role(), rr.shape(), rr.priority()));
      }
    }
    for (MachineReport mr : machineReports) {
      Machine m = machines.get(mr.machineId());
      for (HeldUnits h : mr.held()) {
        Application app = apps.get(h.appId());
        Role r = app == null ? null : app.roles.get(h.role());
        if (r == null) {
          out.add(new Revoke(h.appId(), h.role(), m.id, h.count(), RevokeReason.APPLICATION_GONE));
        } else {
          addUnits(r, m, h.count());
        }
      }
    }
    for (ApplicationReport ar : appReports) {
      Application app = apps.get(ar.appId());
      for (RoleReport rr : ar.roles()) {
        Role r = app.roles.get(rr.role());
        Set<String> seen = new LinkedHashSet<>();
        for (Map.Entry<String, Integer> e : sortedEntries(rr.heldByMachine())) {
          seen.add(e.getKey());
          Machine m = machines.get(e.getKey());
          Allocation a = m == null ? null : r.held.get(m.clusterSlot);
          int actual = a == null ? 0 : a.count;
          int believed = e.getValue();
          if (believed > actual) {
            out.add(
                new Revoke(
                    app.id, r.name, e.getKey(), believed - actual, RevokeReason.MACHINE_LOST));
          } else if (actual > believed) {
            out.add(new Grant(app.id, r.name, e.getKey(), actual - believed));
          }
        }
        for (Allocation a = r.firstHeld; a != null; a = a.nextOfRole) {
          if (!seen.contains(a.machine.id)) {
            out.add(new Grant(app.id, r.name, a.machine.id, a.count));
          }
        }
      }
    }
    for (ApplicationReport ar : appReports) {
      Application app = apps.get(ar.appId());
      for (RoleReport rr : ar.roles()) {
        Role r = app.roles.get(rr.role());
        for (PendingDemand p : rr.pending()) {
          Location loc = p.location();
          boolean known =
              switch (loc.level()) {
                case MACHINE -> machines.containsKey(loc.id());
                case RACK -> racks.containsKey(loc.id());
                case CLUSTER -> true;
              };
          // Demand for a machine or rack that did not come back is kept, one level up.
          Location target = known ? loc : Location.cluster();
          Demand d = demandAt(r, target.level(), target.id());
          d.count += p.count();
          r.pendingUnits += p.count();
          totalPendingUnits += p.count();
          place(d, out);
        }
      }
    }
    return out;
  }

  private void validateGroups(List<QuotaGroupSpec> specs, List<MachineReport> machineReports) {
    Objects.requireNonNull(machineReports, "machineReports");
    long cpu = 0;
    long mem = 0;
    for (MachineReport mr : machineReports) {
      checkMachineResources(mr.capacity(), "capacity of machine " + mr.machineId());
      cpu += mr.capacity().cpuMillis();
      mem += mr.capacity().memoryMiB();
    }
    Resources cluster = new Resources(cpu, mem);
    Set<String> names = new LinkedHashSet<>();
    if (groups.size() + specs.size() > SchedulerLimits.MAX_QUOTA_GROUPS) {
      throw error(
          SchedulerErrorCode.LIMIT_EXCEEDED,
          "more than MAX_QUOTA_GROUPS=" + SchedulerLimits.MAX_QUOTA_GROUPS + " quota groups");
    }
    for (QuotaGroupSpec spec : specs) {
      checkGroupBounds(spec.name(), spec.min(), spec.max(), cluster);
      if (groups.containsKey(spec.name()) || !names.add(spec.name())) {
        throw error(
            SchedulerErrorCode.DUPLICATE_QUOTA_GROUP, "quota group " + spec.name() + " exists");
      }
    }
  }

  private void validateReports(
      List<MachineReport> machineReports, List<ApplicationReport> appReports) {
    Objects.requireNonNull(machineReports, "machineReports");
    Objects.requireNonNull(appReports, "appReports");
    if (machineReports.size() > SchedulerLimits.MAX_MACHINES
        || appReports.size() > SchedulerLimits.MAX_APPLICATIONS) {
      throw error(SchedulerErrorCode.LIMIT_EXCEEDED, "too many machines or applications reported");
    }
    Map<String, Resources> shapes = new LinkedHashMap<>();
    Set<String> appIds = new LinkedHashSet<>();
    for (ApplicationReport ar : appReports) {
      checkId(ar.appId(), "application id");
      group(ar.quotaGroup());
      if (!appIds.add(ar.appId())) {
        throw error(
            SchedulerErrorCode.INVALID_REPORT, "application " + ar.appId() + " reported twice");
      }
      if (ar.roles().size() > SchedulerLimits.MAX_ROLES_PER_APPLICATION) {
        throw error(
            SchedulerErrorCode.LIMIT_EXCEEDED, "application " + ar.appId() + " has too many roles");
      }
      Set<String> roleNames = new LinkedHashSet<>();
      for (RoleReport rr : ar.roles()) {
        checkId(rr.role(), "role name");
        checkMachineResources(rr.shape(), "shape of role " + ar.appId() + "/" + rr.role());
        if (rr.priority() < SchedulerLimits.MIN_PRIORITY
            || rr.priority() > SchedulerLimits.MAX_PRIORITY) {
          throw error(
              SchedulerErrorCode.PRIORITY_OUT_OF_RANGE,
              "priority " + rr.priority() + " of role " + ar.appId() + "/" + rr.role());
        }
        if (!roleNames.add(rr.role())) {
          throw error(
              SchedulerErrorCode.INVALID_REPORT,
              "role " + ar.appId() + "/" + rr.role() + " reported twice");
        }
        shapes.put(ar.appId() + "\u0000" + rr.role(), rr.shape());
        long pending = 0;
        for (PendingDemand p : rr.pending()) {
          checkCount(p.count(), "pending demand of " + ar.appId() + "/" + rr.role());
          pending += p.count();
        }
        if (pending > SchedulerLimits.MAX_PENDING_UNITS_PER_ROLE) {
          throw error(
              SchedulerErrorCode.TOO_MANY_PENDING_UNITS, "role " + ar.appId() + "/" + rr.role());
        }
        for (Map.Entry<String, Integer> e : rr.heldByMachine().entrySet()) {
          if (e.getValue() < 0) {
            throw error(
                SchedulerErrorCode.INVALID_REPORT,
                "negative held count for " + ar.appId() + "/" + rr.role());
          }
        }
      }
    }
    Set<String> machineIds = new LinkedHashSet<>();
    for (MachineReport mr : machineReports) {
      checkId(mr.machineId(), "machine id");
      checkId(mr.rack(), "rack id");
      checkMachineResources(mr.capacity(), "capacity of machine " + mr.machineId());
      if (!machineIds.add(mr.machineId())) {
        throw error(
            SchedulerErrorCode.INVALID_REPORT, "machine " + mr.machineId() + " reported twice");
      }
      Resources used = Resources.ZERO;
      Set<String> units = new LinkedHashSet<>();
      for (HeldUnits h : mr.held()) {
        checkCount(h.count(), "units of " + h.appId() + "/" + h.role() + " on " + mr.machineId());
        if (!units.add(h.appId() + "\u0000" + h.role())) {
          throw error(
              SchedulerErrorCode.INVALID_REPORT,
              "machine " + mr.machineId() + " reports " + h.appId() + "/" + h.role() + " twice");
        }
        Resources shape = shapes.get(h.appId() + "\u0000" + h.role());
        if (shape != null) {
          used = used.plus(shape.times(h.count()));
        }
      }
      if (!used.fitsIn(mr.capacity())) {
        throw error(
            SchedulerErrorCode.INVALID_REPORT,
            "machine "
                + mr.machineId()
                + " reports "
                + used
                + " in use, more than its capacity "
                + mr.capacity());
      }
    }
  }

  private static List<Map.Entry<String, Integer>> sortedEntries(Map<String, Integer> map) {
    List<Map.Entry<String, Integer>> entries = new ArrayList<>(map.entrySet());
    entries.sort(Map.Entry.comparingByKey());
    return entries;
  }

  // ---------------------------------------------------------------- read-only views

  /** Units a role holds on a machine (0 when none, or unknown ids). */
  public int heldUnits(String appId, String role, String machineId) {
    Application app = apps.get(appId);
    Role r = app == null ? null : app.roles.get(role);
    Machine m = machineId == null ? null : machines.get(machineId);
    Allocation a = r == null || m == null ? null : r.held.get(m.clusterSlot);
    return a == null ? 0 : a.count;
  }

  /** Units a role waits for, over all locations. */
  public long pendingUnits(String appId, String role) {
    return role(appId, role).pendingUnits;
  }

  public Resources freeCapacity(String machineId) {
    return machine(machineId).free();
  }

  /** A quota group's current bounds. */
  public QuotaGroupSpec quotaGroup(String name) {
    QuotaGroup g = group(name);
    return new QuotaGroupSpec(g.name, g.min, g.max);
  }

  public Resources groupUsage(String quotaGroup) {
    return group(quotaGroup).used();
  }

  /**
   * What every live machine would report: its capacity and the units it runs, in the order the
   * machines were added. O(machines + allocations); for failover tests and diagnostics.
   */
  public List<MachineReport> machineReports() {
    List<MachineReport> reports = new ArrayList<>(machines.size());
    for (Machine m : machines.values()) {
      List<HeldUnits> held = new ArrayList<>();
      for (Allocation a = m.firstAllocation; a != null; a = a.nextOnMachine) {
        held.add(new HeldUnits(a.role.app.id, a.role.name, a.count));
      }
      reports.add(new MachineReport(m.id, m.rack.id, m.capacity, held));
    }
    return Collections.unmodifiableList(reports);
  }

  /**
   * Counters for metrics and health, read in O(1): sizes of the tables, units waiting, and units
   * granted, released and revoked (by reason) since this scheduler started (or was rebuilt; units
   * adopted from machine reports do not count as granted).
   */
  public SchedulerStats stats() {
    Map<RevokeReason, Long> revoked = new java.util.EnumMap<>(RevokeReason.class);
    for (RevokeReason reason : RevokeReason.values()) {
      revoked.put(reason, revokedUnits[reason.ordinal()]);
    }
    return new SchedulerStats(
        machines.size(),
        racks.size(),
        apps.size(),
        groups.size(),
        borrowingGroups.size(),
        timers.size(),
        totalPendingUnits,
        grantedUnits,
        releasedUnits,
        Map.copyOf(revoked));
  }

  /**
   * Recomputes every derived counter from the allocations and throws {@link IllegalStateException}
   * on any mismatch. O(everything): for tests and simulations, not for the event path.
   */
  void checkConsistency() {
    Map<QuotaGroup, Resources> groupUse = new LinkedHashMap<>();
    for (Machine m : machines.values()) {
      Resources used = Resources.ZERO;
      for (Allocation a = m.firstAllocation; a != null; a = a.nextOnMachine) {
        if (a.count <= 0 || a.machine != m || a.role.held.get(m.clusterSlot) != a) {
          throw new IllegalStateException("allocation bookkeeping broken on " + m.id);
        }
        Resources u = a.role.shape.times(a.count);
        used = used.plus(u);
        groupUse.merge(a.role.app.group, u, Resources::plus);
      }
      if (!used.plus(m.free()).equals(m.capacity) || m.freeCpu < 0 || m.freeMem < 0) {
        throw new IllegalStateException("machine " + m.id + " free " + m.free() + " used " + used);
      }
    }
    checkAllocationLists();
    for (QuotaGroup g : groups.values()) {
      Resources expected = groupUse.getOrDefault(g, Resources.ZERO);
      if (!expected.equals(g.used())) {
        throw new IllegalStateException(
            "group " + g.name + " used " + g.used() + " expected " + expected);
      }
      if (g.borrowing() != borrowingGroups.contains(g)) {
        throw new IllegalStateException("borrowing set wrong for " + g.name);
      }
      for (Application app : g.applications) {
        if (app.group != g || apps.get(app.id) != app) {
          throw new IllegalStateException("application list of group " + g.name + " broken");
        }
      }
    }
    long allPending = 0;
    for (Application app : apps.values()) {
      if (groups.get(app.group.name) != app.group || !app.group.applications.contains(app)) {
        throw new IllegalStateException("application " + app.id + " not in its group");
      }
      for (Role r : app.roles.values()) {
        allPending += r.pendingUnits;
        long pending = 0;
        for (Demand d : allDemands(r)) {
          if (d.count <= 0 || !d.queue.contains(d) || !timers.contains(d)) {
            throw new IllegalStateException(
                "demand bookkeeping broken for " + app.id + "/" + r.name);
          }
          pending += d.count;
        }
        if (pending != r.pendingUnits) {
          throw new IllegalStateException("pending of " + app.id + "/" + r.name);
        }
      }
    }
    if (allPending != totalPendingUnits) {
      throw new IllegalStateException(
          "total pending " + totalPendingUnits + " expected " + allPending);
    }
  }

  /**
   * The intrusive lists agree with each other: every allocation of a live machine is in its role's
   * list and map and in its group's victim list for its priority, each victim list runs from the
   * oldest to the youngest, and no list holds anything else.
   */
  private void checkAllocationLists() {
    long onMachines = 0;
    for (Machine m : machines.values()) {
      Allocation prev = null;
      for (Allocation a = m.firstAllocation; a != null; a = a.nextOnMachine) {
        if (a.prevOnMachine != prev) {
          throw new IllegalStateException("machine list of " + m.id + " broken");
        }
        prev = a;
        onMachines++;
      }
      if (m.lastAllocation != prev) {
        throw new IllegalStateException("machine list of " + m.id + " has a wrong tail");
      }
    }
    long ofRoles = 0;
    for (Application app : apps.values()) {
      for (Role r : app.roles.values()) {
        Allocation prev = null;
        int count = 0;
        for (Allocation a = r.firstHeld; a != null; a = a.nextOfRole) {
          if (a.prevOfRole != prev || a.role != r || r.held.get(a.machine.clusterSlot) != a) {
            throw new IllegalStateException("held list of " + app.id + "/" + r.name + " broken");
          }
          prev = a;
          count++;
        }
        if (r.lastHeld != prev || r.held.size() != count) {
          throw new IllegalStateException("held list of " + app.id + "/" + r.name + " is short");
        }
        ofRoles += count;
      }
    }
    long inVictimLists = 0;
    for (QuotaGroup g : groups.values()) {
      for (VictimList list : g.victimLists.values()) {
        Allocation older = null;
        for (Allocation a = list.oldest; a != null; a = a.youngerVictim) {
          if (a.olderVictim != older
              || a.role.victims != list
              || a.role.app.group != g
              || (older != null && older.uid >= a.uid)) {
            throw new IllegalStateException("victim list " + g.name + "/" + list.priority);
          }
          older = a;
          inVictimLists++;
        }
        if (list.youngest != older) {
          throw new IllegalStateException("victim list " + g.name + "/" + list.priority + " tail");
        }
      }
    }
    if (onMachines != ofRoles || onMachines != inVictimLists) {
      throw new IllegalStateException(
          "allocations: "
              + onMachines
              + " on machines, "
              + ofRoles
              + " held by roles, "
              + inVictimLists
              + " in victim lists");
    }
  }

  // ---------------------------------------------------------------- placement

  private void checkRequestable(Role r, Location location) {
    Objects.requireNonNull(location, "location");
    switch (location.level()) {
      case MACHINE -> {
        Machine m = machine(location.id());
        if (r.refuses(m)) {
          throw error(
              SchedulerErrorCode.LOCATION_REFUSED,
              "role " + r.app.id + "/" + r.name + " refuses " + location + " (or its rack)");
        }
      }
      case RACK -> {
        rack(location.id());
        if (r.refusedRacks.contains(location.id())) {
          throw error(
              SchedulerErrorCode.LOCATION_REFUSED,
              "role " + r.app.id + "/" + r.name + " refuses " + location);
        }
      }
      case CLUSTER -> {}
    }
  }

  /** The role's demand at a location, created (queued, timer armed) when absent. */
  private Demand demandAt(Role r, Level level, String id) {
    Demand d =
        switch (level) {
          case MACHINE -> r.machineDemands.get(id);
          case RACK -> r.rackDemands.get(id);
          case CLUSTER -> r.clusterDemand;
        };
    if (d != null) {
      return d;
    }
    long now = clock.nanos();
    switch (level) {
      case MACHINE -> {
        Machine m = machines.get(id);
        d = new Demand(nextUid++, r, level, id, m.rack, m.queue);
        d.deadlineNanos = now + config.machineLocalityWait().toNanos();
        r.machineDemands.put(id, d);
      }
      case RACK -> {
        Rack rack = racks.get(id);
        d = new Demand(nextUid++, r, level, id, rack, rack.queue);
        d.deadlineNanos = now + config.rackLocalityWait().toNanos();
        r.rackDemands.put(id, d);
      }
      case CLUSTER -> {
        d = new Demand(nextUid++, r, level, id, null, clusterQueue);
        d.deadlineNanos = now + config.preemptionWait().toNanos();
        r.clusterDemand = d;
      }
    }
    d.queueSeq = nextQueueSeq++;
    d.queue.add(d);
    timers.add(d);
    return d;
  }

  private void dropDemand(Demand d) {
    d.queue.remove(d);
    timers.remove(d);
    Role r = d.role;
    switch (d.level) {
      case MACHINE -> r.machineDemands.remove(d.locationId);
      case RACK -> r.rackDemands.remove(d.locationId);
      case CLUSTER -> r.clusterDemand = null;
    }
    r.pendingUnits -= d.count;
    totalPendingUnits -= d.count;
    d.count = 0;
  }

  private static List<Demand> allDemands(Role r) {
    List<Demand> all = new ArrayList<>(r.machineDemands.values());
    all.addAll(r.rackDemands.values());
    if (r.clusterDemand != null) {
      all.add(r.clusterDemand);
    }
    return all;
  }

  /** Moves a demand's units one locality level up (skipping a refused or vanished rack). */
  private void relax(Demand d, List<Decision> out) {
    Role r = d.role;
    int count = d.count;
    dropDemand(d);
    Demand next;
    if (d.level == Level.MACHINE
        && racks.get(d.rack.id) == d.rack
        && !r.refusedRacks.contains(d.rack.id)) {
      next = demandAt(r, Level.RACK, d.rack.id);
    } else {
      next = demandAt(r, Level.CLUSTER, Location.CLUSTER_ID);
    }
    next.count += count;
    r.pendingUnits += count;
    totalPendingUnits += count;
    place(next, out);
  }

  /** Grants what fits of a demand now, at its own location; drops it when fully served. */
  private void place(Demand d, List<Decision> out) {
    Role r = d.role;
    Resources s = r.shape;
    switch (d.level) {
      case MACHINE -> grantOn(d, machines.get(d.locationId), out);
      case RACK, CLUSTER -> {
        FitIndex<Machine> index = d.level == Level.RACK ? d.rack.free : clusterFree;
        while (d.count > 0 && quotaUnits(r.app.group, s) > 0) {
          Machine m = index.find(s.cpuMillis(), s.memoryMiB(), mm -> !r.refuses(mm));
          if (m == null || grantOn(d, m, out) == 0) {
            break;
          }
        }
      }
    }
    if (d.count == 0) {
      dropDemand(d);
    }
  }

  /** Grants as many of the demand's units on {@code m} as fit there and in its group's max. */
  private int grantOn(Demand d, Machine m, List<Decision> out) {
    // The machine's room is checked first, from the demand alone: it is what a probe of a full
    // cluster usually lacks.
    if (m.freeCpu < d.shapeCpu || m.freeMem < d.shapeMem || d.count <= 0) {
      return 0;
    }
    Role r = d.role;
    Resources s = r.shape;
    long k = Math.min(d.count, unitsOf(m.freeCpu, m.freeMem, s));
    k = Math.min(k, quotaUnits(r.app.group, s));
    if (k <= 0 || r.refuses(m)) {
      return 0;
    }
    addUnits(r, m, (int) k);
    d.count -= (int) k;
    r.pendingUnits -= k;
    totalPendingUnits -= k;
    out.add(new Grant(r.app.id, r.name, m.id, (int) k));
    grantedUnits += k;
    return (int) k;
  }

  private static long quotaUnits(QuotaGroup g, Resources shape) {
    return unitsOf(g.max.cpuMillis() - g.usedCpu, g.max.memoryMiB() - g.usedMem, shape);
  }

  /** {@link Resources#unitsOf} of an amount given as two longs, without building a record. */
  private static long unitsOf(long cpu, long mem, Resources shape) {
    if (cpu < 0 || mem < 0) {
      return 0;
    }
    return Math.min(cpu / shape.cpuMillis(), mem / shape.memoryMiB());
  }

  /**
   * Offers a machine's free capacity to the requests waiting for it, then for its rack, then for
   * any machine; each queue in priority then round-robin order, at most {@link
   * SchedulerLimits#MAX_OFFER_PROBES} demands per queue.
   */
  private void offer(Machine m, List<Decision> out) {
    if (!m.alive) {
      return;
    }
    offerFrom(m, m.queue, out);
    offerFrom(m, m.rack.queue, out);
    offerFrom(m, clusterQueue, out);
  }

  /**
   * Offers {@code m} to the first {@link SchedulerLimits#MAX_OFFER_PROBES} demands of one queue,
   * in queue order, stopping as soon as the machine is full in either dimension (no shape fits
   * then: every shape is at least 1 in each). Demands served are dropped or requeued only after the
   * walk, so the walk needs no copy of the queue and each demand is probed at most once.
   */
  private void offerFrom(Machine m, TreeSet<Demand> queue, List<Decision> out) {
    if (queue.isEmpty()) {
      return;
    }
    List<Demand> served = offerServed;
    int probes = 0;
    for (Demand d : queue) {
      if (probes++ == SchedulerLimits.MAX_OFFER_PROBES || m.freeCpu == 0 || m.freeMem == 0) {
        break;
      }
      if (grantOn(d, m, out) > 0) {
        served.add(d);
      }
    }
    for (int i = 0; i < served.size(); i++) {
      Demand d = served.get(i);
      if (d.count == 0) {
        dropDemand(d);
      } else {
        // Served: go to the back of the same priority (round-robin fairness).
        queue.remove(d);
        d.queueSeq = nextQueueSeq++;
        queue.add(d);
      }
    }
    served.clear();
  }

  // ---------------------------------------------------------------- preemption

  /** Units to revoke from one allocation. */
  private record Victim(Allocation allocation, int units) {}

  /** Revocations on one machine after which one more unit of the starving role fits there. */
  private record Plan(Machine machine, List<Victim> victims) {}

  /** A bounded amount of preemption for one starving cluster-level demand. */
  private void preempt(Demand d, List<Decision> out) {
    Role r = d.role;
    QuotaGroup g = r.app.group;
    Set<Machine> touched = new LinkedHashSet<>();
    int rounds = 0;
    while (d.count > 0
        && rounds++ < SchedulerLimits.MAX_PREEMPTION_ROUNDS
        && g.used().plus(r.shape).fitsIn(g.min)) {
      Plan plan = findQuotaPlan(r);
      if (plan == null) {
        break;
      }
      execute(plan, d, RevokeReason.PREEMPTED_FOR_QUOTA, touched, out);
    }
    while (d.count > 0 && rounds++ < 2 * SchedulerLimits.MAX_PREEMPTION_ROUNDS) {
      Plan plan = findPriorityPlan(r);
      if (plan == null) {
        break;
      }
      execute(plan, d, RevokeReason.PREEMPTED_FOR_PRIORITY, touched, out);
    }
    if (d.count == 0) {
      dropDemand(d);
    }
    for (Machine m : touched) {
      offer(m, out);
    }
  }

  private void execute(
      Plan plan, Demand d, RevokeReason reason, Set<Machine> touched, List<Decision> out) {
    for (Victim v : plan.victims()) {
      revoke(v.allocation(), v.units(), reason, out);
    }
    touched.add(plan.machine());
    // The freed room goes to the starving demand first, before offer() hands leftovers to others.
    if (grantOn(d, plan.machine(), out) == 0) {
      throw new IllegalStateException(
          reason + " on " + plan.machine().id + " left no room for " + d.role.name);
    }
  }

  /**
   * A plan that takes only units borrowed by other groups (each unit taken while its group is still
   * over its minimum), least urgent first, on the first machine (in the order of the least urgent
   * borrowed allocations) where that makes room for one unit of {@code r}.
   */
  private Plan findQuotaPlan(Role r) {
    QuotaGroup own = r.app.group;
    Set<Machine> tried = new LinkedHashSet<>();
    for (QuotaGroup h : borrowingGroups) {
      if (h == own) {
        continue;
      }
      int probes = 0;
      probing:
      for (VictimList list : h.victimLists.values()) {
        for (Allocation a = list.youngest; a != null; a = a.olderVictim) {
          if (probes++ >= SchedulerLimits.MAX_VICTIM_PROBES) {
            break probing;
          }
          if (!tried.add(a.machine) || r.refuses(a.machine)) {
            continue;
          }
          Plan plan = planOnMachine(a.machine, r, x -> x.role.app.group != own, true);
          if (plan != null) {
            return plan;
          }
        }
      }
    }
    return null;
  }

  /** A plan that takes only units of strictly lower priority from {@code r}'s own group. */
  private Plan findPriorityPlan(Role r) {
    QuotaGroup own = r.app.group;
    Set<Machine> tried = new LinkedHashSet<>();
    int probes = 0;
    for (VictimList list : own.victimLists.values()) {
      if (list.priority >= r.priority) {
        return null;
      }
      for (Allocation a = list.youngest; a != null; a = a.olderVictim) {
        if (probes++ >= SchedulerLimits.MAX_VICTIM_PROBES) {
          return null;
        }
        if (!tried.add(a.machine) || r.refuses(a.machine)) {
          continue;
        }
        Plan plan =
            planOnMachine(
                a.machine,
                r,
                x -> x.role.app.group == own && x.role.priority < r.priority,
                false);
        if (plan != null) {
          return plan;
        }
      }
    }
    return null;
  }

  /**
   * Chooses, among the eligible allocations on {@code m} (least urgent first), the fewest units
   * after which one unit of {@code r} fits; null if no such choice exists. In quota mode a unit is
   * only taken while its group is still borrowing; in priority mode the starving role's group must
   * stay within its maximum after the exchange.
   */
  private Plan planOnMachine(Machine m, Role r, Predicate<Allocation> eligible, boolean quotaMode) {
    Resources s = r.shape;
    if (!s.fitsIn(m.capacity)) {
      return null;
    }
    List<Allocation> candidates = new ArrayList<>();
    for (Allocation a = m.firstAllocation; a != null; a = a.nextOnMachine) {
      if (eligible.test(a)) {
        candidates.add(a);
      }
    }
    candidates.sort(SchedulerState.VICTIM_ORDER);
    long freeCpu = m.freeCpu;
    long freeMem = m.freeMem;
    Map<QuotaGroup, Resources> taken = new LinkedHashMap<>();
    List<Victim> victims = new ArrayList<>();
    for (Allocation a : candidates) {
      if (freeCpu >= s.cpuMillis() && freeMem >= s.memoryMiB()) {
        break;
      }
      Resources x = a.role.shape;
      long need =
          Math.max(
              ceilDiv(s.cpuMillis() - freeCpu, x.cpuMillis()),
              ceilDiv(s.memoryMiB() - freeMem, x.memoryMiB()));
      long units = Math.min(need, a.count);
      if (quotaMode) {
        QuotaGroup h = a.role.app.group;
        Resources used = h.used().minus(taken.getOrDefault(h, Resources.ZERO));
        units = Math.min(units, borrowedUnits(used, h.min, x));
        if (units <= 0) {
          continue;
        }
        taken.merge(h, x.times(units), Resources::plus);
      }
      victims.add(new Victim(a, (int) units));
      freeCpu += x.cpuMillis() * units;
      freeMem += x.memoryMiB() * units;
    }
    if (freeCpu < s.cpuMillis() || freeMem < s.memoryMiB() || victims.isEmpty()) {
      return null;
    }
    if (!quotaMode) {
      QuotaGroup g = r.app.group;
      Resources after = g.used().plus(s);
      for (Victim v : victims) {
        after = after.minus(v.allocation().role.shape.times(v.units()));
      }
      if (!after.fitsIn(g.max)) {
        return null;
      }
    }
    return new Plan(m, victims);
  }

  /** How many units of {@code x} can be taken one by one while usage still exceeds {@code min}. */
  private static long borrowedUnits(Resources used, Resources min, Resources x) {
    long byCpu =
        used.cpuMillis() > min.cpuMillis()
            ? ceilDiv(used.cpuMillis() - min.cpuMillis(), x.cpuMillis())
            : 0;
    long byMem =
        used.memoryMiB() > min.memoryMiB()
            ? ceilDiv(used.memoryMiB() - min.memoryMiB(), x.memoryMiB())
            : 0;
    return Math.max(byCpu, byMem);
  }

  private static long ceilDiv(long a, long b) {
    return a <= 0 ? 0 : (a + b - 1) / b;
  }

  // ---------------------------------------------------------------- accounting

  private void addUnits(Role r, Machine m, int k) {
    Allocation a = r.held.get(m.clusterSlot);
    QuotaGroup g = r.app.group;
    if (a == null) {
      a = new Allocation(nextUid++, r, m);
      r.link(a);
      m.link(a);
      r.victims.link(a);
    }
    a.count += k;
    m.freeCpu -= r.shape.cpuMillis() * k;
    m.freeMem -= r.shape.memoryMiB() * k;
    if (m.freeCpu < 0 || m.freeMem < 0) {
      throw new IllegalStateException("machine " + m.id + " over-allocated: free " + m.free());
    }
    g.usedCpu += r.shape.cpuMillis() * k;
    g.usedMem += r.shape.memoryMiB() * k;
    updateFree(m);
    updateBorrowing(g);
  }

  private void removeUnits(Allocation a, int k) {
    if (k <= 0 || k > a.count) {
      throw new IllegalStateException("removing " + k + " of " + a.count + " units");
    }
    Role r = a.role;
    Machine m = a.machine;
    QuotaGroup g = r.app.group;
    a.count -= k;
    if (a.count == 0) {
      r.unlink(a);
      m.unlink(a);
      r.victims.unlink(a);
    }
    m.freeCpu += r.shape.cpuMillis() * k;
    m.freeMem += r.shape.memoryMiB() * k;
    g.usedCpu -= r.shape.cpuMillis() * k;
    g.usedMem -= r.shape.memoryMiB() * k;
    if (m.alive) {
      updateFree(m);
    }
    updateBorrowing(g);
  }

  private void revoke(Allocation a, int k, RevokeReason reason, List<Decision> out) {
    removeUnits(a, k);
    out.add(new Revoke(a.role.app.id, a.role.name, a.machine.id, k, reason));
    revokedUnits[reason.ordinal()] += k;
  }

  private void updateFree(Machine m) {
    clusterFree.update(m.clusterSlot, m.freeCpu, m.freeMem);
    m.rack.free.update(m.rackSlot, m.freeCpu, m.freeMem);
  }

  private void updateBorrowing(QuotaGroup g) {
    if (g.borrowing()) {
      borrowingGroups.add(g);
    } else {
      borrowingGroups.remove(g);
    }
  }

  // ---------------------------------------------------------------- lookups and checks

  private Machine machine(String id) {
    Machine m = id == null ? null : machines.get(id);
    if (m == null) {
      throw error(SchedulerErrorCode.UNKNOWN_MACHINE, "no live machine " + id);
    }
    return m;
  }

  private Rack rack(String id) {
    Rack r = id == null ? null : racks.get(id);
    if (r == null) {
      throw error(SchedulerErrorCode.UNKNOWN_RACK, "no rack " + id + " with a live machine");
    }
    return r;
  }

  private QuotaGroup group(String name) {
    QuotaGroup g = name == null ? null : groups.get(name);
    if (g == null) {
      throw error(SchedulerErrorCode.UNKNOWN_QUOTA_GROUP, "no quota group " + name);
    }
    return g;
  }

  private Application app(String id) {
    Application a = id == null ? null : apps.get(id);
    if (a == null) {
      throw error(SchedulerErrorCode.UNKNOWN_APPLICATION, "no application " + id);
    }
    return a;
  }

  private Role role(String appId, String role) {
    Application a = app(appId);
    Role r = role == null ? null : a.roles.get(role);
    if (r == null) {
      throw error(SchedulerErrorCode.UNKNOWN_ROLE, "application " + appId + " has no role " + role);
    }
    return r;
  }

  private static void checkId(String id, String what) {
    if (id == null || id.isEmpty() || id.length() > SchedulerLimits.MAX_ID_LENGTH) {
      throw error(
          SchedulerErrorCode.INVALID_ARGUMENT,
          what
              + " must have 1 to MAX_ID_LENGTH="
              + SchedulerLimits.MAX_ID_LENGTH
              + " chars: "
              + id);
    }
  }

  private static void checkCount(int count, String what) {
    if (count < 1 || count > SchedulerLimits.MAX_UNITS_PER_CALL) {
      throw error(
          SchedulerErrorCode.COUNT_OUT_OF_RANGE,
          what
              + ": count "
              + count
              + " is outside [1, MAX_UNITS_PER_CALL="
              + SchedulerLimits.MAX_UNITS_PER_CALL
              + "]");
    }
  }

  private static void checkMachineResources(Resources r, String what) {
    if (r == null
        || r.cpuMillis() < 1
        || r.memoryMiB() < 1
        || r.cpuMillis() > SchedulerLimits.MAX_MACHINE_CPU_MILLIS
        || r.memoryMiB() > SchedulerLimits.MAX_MACHINE_MEMORY_MIB) {
      throw error(
          SchedulerErrorCode.INVALID_RESOURCES,
          what
              + " "
              + r
              + " must be at least 1 in each dimension and at most MAX_MACHINE_CPU_MILLIS="
              + SchedulerLimits.MAX_MACHINE_CPU_MILLIS
              + ", MAX_MACHINE_MEMORY_MIB="
              + SchedulerLimits.MAX_MACHINE_MEMORY_MIB);
    }
  }

  private static SchedulerException error(SchedulerErrorCode code, String message) {
    return new SchedulerException(code, message);
  }
}
