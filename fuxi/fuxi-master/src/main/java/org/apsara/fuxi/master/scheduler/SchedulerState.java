package org.apsara.fuxi.master.scheduler;

import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** The scheduler's mutable tables. Package-private; only {@link Scheduler} mutates them. */
final class SchedulerState {
  private SchedulerState() {}

  /**
   * Waiting order inside one queue: more urgent priority first, then the demand served least
   * recently (its sequence number is renewed each time it receives units: round-robin between the
   * applications and roles of equal priority).
   */
  static final Comparator<Demand> QUEUE_ORDER =
      Comparator.<Demand>comparingInt(d -> -d.role.priority)
          .thenComparingLong(d -> d.queueSeq)
          .thenComparingLong(d -> d.uid);

  static final Comparator<Demand> TIMER_ORDER =
      Comparator.<Demand>comparingLong(d -> d.deadlineNanos).thenComparingLong(d -> d.uid);

  /**
   * Preemption victims: least urgent first, then the youngest allocation. The victim lists of a
   * quota group ({@link VictimList}) yield exactly this order without comparing; planning on one
   * machine sorts that machine's few allocations with it.
   */
  static final Comparator<Allocation> VICTIM_ORDER =
      Comparator.<Allocation>comparingInt(a -> a.role.priority).thenComparingLong(a -> -a.uid);

  static final class Rack {
    final String id;
    final FitIndex<Machine> free = new FitIndex<>();
    final TreeSet<Demand> queue = new TreeSet<>(QUEUE_ORDER);

    Rack(String id) {
      this.id = id;
    }
  }

  static final class Machine {
    final String id;
    final Rack rack;
    final Resources capacity;
    long freeCpu;
    long freeMem;
    int clusterSlot;
    int capacitySlot;
    int rackSlot;
    boolean alive = true;
    final TreeSet<Demand> queue = new TreeSet<>(QUEUE_ORDER);

    /** The allocations on this machine, oldest first, linked through {@link Allocation}. */
    Allocation firstAllocation;

    Allocation lastAllocation;

    Machine(String id, Rack rack, Resources capacity) {
      this.id = id;
      this.rack = rack;
      this.capacity = capacity;
      this.freeCpu = capacity.cpuMillis();
      this.freeMem = capacity.memoryMiB();
    }

    Resources free() {
      return new Resources(freeCpu, freeMem);
    }

    void link(Allocation a) {
      a.prevOnMachine = lastAllocation;
      if (lastAllocation == null) {
        firstAllocation = a;
      } else {
        lastAllocation.nextOnMachine = a;
      }
      lastAllocation = a;
    }

    void unlink(Allocation a) {
      if (a.prevOnMachine == null) {
        firstAllocation = a.nextOnMachine;
      } else {
        a.prevOnMachine.nextOnMachine = a.nextOnMachine;
      }
      if (a.nextOnMachine == null) {
        lastAllocation = a.prevOnMachine;
      } else {
        a.nextOnMachine.prevOnMachine = a.prevOnMachine;
      }
      a.prevOnMachine = null;
      a.nextOnMachine = null;
    }
  }

  static final class QuotaGroup {
    final String name;
    /** Changed only by {@code Scheduler.updateQuotaGroup}, which keeps the derived state in step. */
    Resources min;

    Resources max;
    long usedCpu;
    long usedMem;

    /**
     * The applications registered in the group, in registration order: a group in use cannot be
     * removed, and a change of its bounds revisits their waiting demands.
     */
    final Set<Application> applications = new LinkedHashSet<>();

    /**
     * One victim list per priority of the group's roles, least urgent first. Entries are made when
     * a role is defined and kept (at most one per priority value), so that adding or removing an
     * allocation never touches this map.
     */
    final TreeMap<Integer, VictimList> victimLists = new TreeMap<>();

    QuotaGroup(String name, Resources min, Resources max) {
      this.name = name;
      this.min = min;
      this.max = max;
    }

    Resources used() {
      return new Resources(usedCpu, usedMem);
    }

    VictimList victimList(int priority) {
      return victimLists.computeIfAbsent(priority, VictimList::new);
    }

    /** Using more than its minimum in some dimension: part of its usage is borrowed. */
    boolean borrowing() {
      return usedCpu > min.cpuMillis() || usedMem > min.memoryMiB();
    }
  }

  static final class Application {
    final String id;
    final QuotaGroup group;
    final Map<String, Role> roles = new LinkedHashMap<>();

    Application(String id, QuotaGroup group) {
      this.id = id;
      this.group = group;
    }
  }

  static final class Role {
    final Application app;
    final String name;
    final Resources shape;
    final int priority;
    final Map<String, Demand> machineDemands = new LinkedHashMap<>();
    final Map<String, Demand> rackDemands = new LinkedHashMap<>();
    Demand clusterDemand;
    long pendingUnits;
    final Set<String> refusedMachines = new LinkedHashSet<>();
    final Set<String> refusedRacks = new LinkedHashSet<>();
    /** The role's allocations by their machine's cluster slot (unique among live machines). */
    final SlotMap<Allocation> held = new SlotMap<>();

    /** The role's allocations, oldest first, linked through {@link Allocation}. */
    Allocation firstHeld;

    Allocation lastHeld;

    /** Its quota group's victim list for its priority, where its allocations go. */
    final VictimList victims;

    Role(Application app, String name, Resources shape, int priority) {
      this.app = app;
      this.name = name;
      this.shape = shape;
      this.priority = priority;
      this.victims = app.group.victimList(priority);
    }

    void link(Allocation a) {
      held.put(a.machine.clusterSlot, a);
      a.prevOfRole = lastHeld;
      if (lastHeld == null) {
        firstHeld = a;
      } else {
        lastHeld.nextOfRole = a;
      }
      lastHeld = a;
    }

    void unlink(Allocation a) {
      held.remove(a.machine.clusterSlot);
      if (a.prevOfRole == null) {
        firstHeld = a.nextOfRole;
      } else {
        a.prevOfRole.nextOfRole = a.nextOfRole;
      }
      if (a.nextOfRole == null) {
        lastHeld = a.prevOfRole;
      } else {
        a.nextOfRole.prevOfRole = a.prevOfRole;
      }
      a.prevOfRole = null;
      a.nextOfRole = null;
    }

    boolean refuses(Machine m) {
      // Most roles refuse nothing: skip hashing the ids for them.
      return (!refusedMachines.isEmpty() && refusedMachines.contains(m.id))
          || (!refusedRacks.isEmpty() && refusedRacks.contains(m.rack.id));
    }
  }

  /** Units one role waits for at one location; lives in that location's queue and the timers. */
  static final class Demand {
    final long uid;
    final Role role;
    final Location.Level level;
    final String locationId;

    /** The rack of the demand's machine or the demand's rack; null at cluster level. */
    final Rack rack;

    /** The queue of the demand's location, which it stays in while it has units. */
    final TreeSet<Demand> queue;

    /**
     * The role's unit shape, copied here because an offer tests it for every demand it probes: one
     * object fewer to reach per probe.
     */
    final long shapeCpu;

    final long shapeMem;

    int count;
    long queueSeq;
    long deadlineNanos;

    /**
     * At cluster level: the demand has waited the preemption wait and is being retried by {@code
     * tick()}. A raised quota minimum pulls the retry of such demands forward.
     */
    boolean starving;

    Demand(
        long uid,
        Role role,
        Location.Level level,
        String locationId,
        Rack rack,
        TreeSet<Demand> queue) {
      this.uid = uid;
      this.role = role;
      this.level = level;
      this.locationId = locationId;
      this.rack = rack;
      this.queue = queue;
      this.shapeCpu = role.shape.cpuMillis();
      this.shapeMem = role.shape.memoryMiB();
    }
  }

  /**
   * The allocations of one quota group at one priority, oldest at the head: new allocations are
   * appended and uids only grow, so walking from the tail gives the youngest first. Walking a
   * group's lists by ascending priority, each from its tail, is {@link #VICTIM_ORDER}; adding and
   * removing are O(1) pointer updates, with no comparison.
   */
  static final class VictimList {
    final int priority;
    Allocation oldest;
    Allocation youngest;

    VictimList(int priority) {
      this.priority = priority;
    }

    void link(Allocation a) {
      a.olderVictim = youngest;
      if (youngest == null) {
        oldest = a;
      } else {
        youngest.youngerVictim = a;
      }
      youngest = a;
    }

    void unlink(Allocation a) {
      if (a.olderVictim == null) {
        oldest = a.youngerVictim;
      } else {
        a.olderVictim.youngerVictim = a.youngerVictim;
      }
      if (a.youngerVictim == null) {
        youngest = a.olderVictim;
      } else {
        a.youngerVictim.olderVictim = a.olderVictim;
      }
      a.olderVictim = null;
      a.youngerVictim = null;
    }
  }

  /**
   * Units one role holds on one machine: the unit of accounting (counts, not per-unit ids). It is a
   * node of three intrusive doubly-linked lists (its machine's, its role's and its victim list), so
   * that creating or deleting one costs O(1) pointer updates and no hashing of the allocation.
   */
  static final class Allocation {
    final long uid;
    final Role role;
    final Machine machine;
    int count;
    Allocation prevOnMachine;
    Allocation nextOnMachine;
    Allocation prevOfRole;
    Allocation nextOfRole;
    Allocation olderVictim;
    Allocation youngerVictim;

    Allocation(long uid, Role role, Machine machine) {
      this.uid = uid;
      this.role = role;
      this.machine = machine;
    }
  }
}
