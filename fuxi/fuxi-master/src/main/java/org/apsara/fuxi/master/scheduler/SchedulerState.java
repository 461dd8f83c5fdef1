package org.apsara.fuxi.master.scheduler;

import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
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

  /** Preemption victims: least urgent first, then the youngest allocation. */
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
    final Set<Allocation> allocations = new LinkedHashSet<>();

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
  }

  static final class QuotaGroup {
    final String name;
    final Resources min;
    final Resources max;
    long usedCpu;
    long usedMem;
    final TreeSet<Allocation> victims = new TreeSet<>(VICTIM_ORDER);

    QuotaGroup(String name, Resources min, Resources max) {
      this.name = name;
      this.min = min;
      this.max = max;
    }

    Resources used() {
      return new Resources(usedCpu, usedMem);
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
    final Map<String, Allocation> held = new LinkedHashMap<>();

    Role(Application app, String name, Resources shape, int priority) {
      this.app = app;
      this.name = name;
      this.shape = shape;
      this.priority = priority;
    }

    boolean refuses(Machine m) {
      return refusedMachines.contains(m.id) || refusedRacks.contains(m.rack.id);
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

    int count;
    long queueSeq;
    long deadlineNanos;

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
    }
  }

  /** Units one role holds on one machine: the unit of accounting (counts, not per-unit ids). */
  static final class Allocation {
    final long uid;
    final Role role;
    final Machine machine;
    int count;

    Allocation(long uid, Role role, Machine machine) {
      this.uid = uid;
      this.role = role;
      this.machine = machine;
    }
  }
}
