package org.apsara.bench.fuxi;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apsara.common.time.MonotonicClock;
import org.apsara.fuxi.master.scheduler.Decision;
import org.apsara.fuxi.master.scheduler.Location;
import org.apsara.fuxi.master.scheduler.Reports.HeldUnits;
import org.apsara.fuxi.master.scheduler.Reports.MachineReport;
import org.apsara.fuxi.master.scheduler.Resources;
import org.apsara.fuxi.master.scheduler.Scheduler;
import org.apsara.fuxi.master.scheduler.SchedulerConfig;

/**
 * The benchmark's event loop: one thread drives the real {@link Scheduler} the way FuxiMaster's
 * event loop does, in wall-clock time. Every application keeps a target number of units running or
 * waiting; a task runs for a random duration on the wall clock, then its application releases the
 * unit and asks for a replacement at cluster level; units revoked by preemption are asked for
 * again at once. The scheduler's timers advance through {@link Scheduler#tick()} every {@link
 * #TICK_INTERVAL_NANOS}. All of the driver's own work (task bookkeeping, latency attribution)
 * happens on the same thread, so a scheduler that is too slow makes the loop lag, which shows as
 * fewer grants and longer waits: nothing is dropped or hidden.
 */
final class SchedulerDriver {
  /** How often the loop calls {@link Scheduler#tick()}: locality waits and preemption retries. */
  static final long TICK_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  /** How often the loop samples the allocated share of the cluster's cpu. */
  static final long SAMPLE_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  /** How often progress is printed. */
  static final long PROGRESS_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** Task completions handled before the loop looks at ticks and samples again. */
  static final int COMPLETIONS_PER_TURN = 2_048;

  /** How long the loop parks when nothing is due, so that an idle loop leaves the cpu to others. */
  static final long IDLE_PARK_NANOS = TimeUnit.MICROSECONDS.toNanos(100);

  private final FuxiBenchmark.Options options;
  private final ClusterWorkload workload;
  private final PrintStream progress;
  private final SplittableRandom random;
  private final Map<String, Integer> appIndex = new HashMap<>();
  private final Map<String, Integer> machineIndex = new HashMap<>();
  private final RequestLedger ledger;
  private final CompletionWheel wheel;
  /** Completions to skip per packed (role, machine): their units were revoked before they ended. */
  private final Map<Long, Integer> revokedSkips = new HashMap<>();
  private final long startNanos;
  private final long taskMinMillis;
  private final long taskSpanMillis;
  private final CompletionWheel.DueHandler completionHandler = this::completed;
  private final RequestLedger.WaitRecorder grantRecorder = this::recordGrant;
  private Scheduler scheduler;
  private PhaseMeter measuring;
  private long heldUnits;
  private long grantedTotal;

  SchedulerDriver(FuxiBenchmark.Options options, PrintStream progress) {
    this.options = options;
    this.workload = new ClusterWorkload(options);
    this.progress = progress;
    this.random = new SplittableRandom(options.seed() ^ 0x5DEECE66DL);
    this.ledger = new RequestLedger(options.applications());
    this.taskMinMillis = options.taskMin().toMillis();
    this.taskSpanMillis = options.taskMax().toMillis() - taskMinMillis + 1;
    this.startNanos = System.nanoTime();
    this.wheel = new CompletionWheel(options.taskMax().toMillis() + 1, 0);
  }

  FuxiBenchmark.Report run() {
    double loadBefore = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    setUp();
    PhaseMeter below =
        new PhaseMeter(
            "below saturation", options.belowSaturationLoad(), ClusterWorkload.PRIORITIES);
    PhaseMeter saturated =
        new PhaseMeter("saturated", options.saturatedLoad(), ClusterWorkload.PRIORITIES);
    long warmupNanos = options.warmup().toNanos();
    long measureNanos = options.duration().toNanos();

    progress.printf(
        Locale.ROOT,
        "fuxi: %,d applications ask for %.2fx the cluster's cpu; warming up for %.1f s%n",
        options.applications(),
        options.belowSaturationLoad(),
        options.warmup().toMillis() / 1e3);
    for (int a = 0; a < workload.appIds.length; a++) {
      request(a, workload.targetUnits(a, options.belowSaturationLoad()));
    }
    runUntil(System.nanoTime() + warmupNanos, null);
    runMeasured(below, measureNanos);

    progress.printf(
        Locale.ROOT,
        "fuxi: demand raised to %.2fx the cluster's cpu; settling for %.1f s%n",
        options.saturatedLoad(),
        options.warmup().toMillis() / 1e3);
    for (int a = 0; a < workload.appIds.length; a++) {
      int more =
          workload.targetUnits(a, options.saturatedLoad())
              - workload.targetUnits(a, options.belowSaturationLoad());
      if (more > 0) {
        request(a, more);
      }
    }
    runUntil(System.nanoTime() + warmupNanos, null);
    runMeasured(saturated, measureNanos);

    Invariants invariants = checkInvariants();
    double loadAfter = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    long heapWithScheduler = heapUsedAfterGc();
    // Drop the scheduler and measure again: the difference is what the scheduler's state itself
    // holds, apart from this driver's task bookkeeping.
    scheduler = null;
    long heapWithoutScheduler = heapUsedAfterGc();
    return new FuxiBenchmark.Report(
        options,
        workload.clusterCapacity().cpuMillis() / 1_000,
        workload.clusterCapacity().memoryMiB() / 1_024,
        List.of(below.result(), saturated.result()),
        heapWithScheduler,
        heapWithScheduler - heapWithoutScheduler,
        invariants.overAllocatedMachines,
        invariants.heldUnitsReported,
        heldUnits,
        loadBefore,
        loadAfter);
  }

  private void setUp() {
    scheduler = new Scheduler(MonotonicClock.SYSTEM, SchedulerConfig.DEFAULTS);
    for (int m = 0; m < workload.machineIds.length; m++) {
      machineIndex.put(workload.machineIds[m], m);
      scheduler.addMachine(workload.machineIds[m], workload.rackIds[m], workload.machineCapacity);
    }
    for (String group : workload.groupNames) {
      scheduler.defineQuotaGroup(group, workload.groupMin, workload.groupMax);
    }
    for (int a = 0; a < workload.appIds.length; a++) {
      appIndex.put(workload.appIds[a], a);
      scheduler.registerApplication(
          workload.appIds[a], workload.groupNames[workload.appGroup[a]]);
      scheduler.defineRole(
          workload.appIds[a],
          ClusterWorkload.ROLE,
          workload.appShape[a],
          workload.appPriority[a]);
    }
  }

  private void runMeasured(PhaseMeter meter, long measureNanos) {
    progress.printf(
        Locale.ROOT,
        "fuxi: measuring %s for %.1f s%n",
        meter.name,
        options.duration().toMillis() / 1e3);
    long begin = System.nanoTime();
    meter.start(begin, threadCpuNanos());
    measuring = meter;
    runUntil(begin + measureNanos, meter);
    long end = System.nanoTime();
    meter.end(end, threadCpuNanos());
    ledger.forEachWaiting(
        end,
        (app, waitNanos, units) ->
            meter.stillWaiting(workload.appPriorityClass[app], waitNanos, units));
    measuring = null;
  }

  /** The event loop proper, until {@code deadlineNanos}. */
  private void runUntil(long deadlineNanos, PhaseMeter meter) {
    long now = System.nanoTime();
    long nextTick = now;
    long nextSample = now;
    long nextProgress = now + PROGRESS_INTERVAL_NANOS;
    long grantedAtLastProgress = grantedTotal;
    while (now < deadlineNanos) {
      int completions =
          wheel.drainDue(millisSinceStart(now), COMPLETIONS_PER_TURN, completionHandler);
      boolean worked = completions > 0;
      now = System.nanoTime();
      if (now >= nextTick) {
        List<Decision> decisions = timed(() -> scheduler.tick());
        handle(decisions, System.nanoTime());
        nextTick = now + TICK_INTERVAL_NANOS;
        worked = true;
      }
      if (meter != null && now >= nextSample) {
        long pending = scheduler.stats().pendingUnits();
        meter.sample(pending > 0, allocatedCpuShare());
        nextSample = now + SAMPLE_INTERVAL_NANOS;
      }
      if (now >= nextProgress) {
        printProgress(now, grantedTotal - grantedAtLastProgress);
        grantedAtLastProgress = grantedTotal;
        nextProgress = now + PROGRESS_INTERVAL_NANOS;
      }
      if (!worked) {
        LockSupport.parkNanos(IDLE_PARK_NANOS);
      }
      now = System.nanoTime();
    }
  }

  private void printProgress(long now, long grantedLastSecond) {
    progress.printf(
        Locale.ROOT,
        "  t=%5.1fs  %,9d grants/s  cpu allocated %5.1f%%  running %,d units  waiting %,d units%n",
        (now - startNanos) / 1e9,
        grantedLastSecond,
        100 * allocatedCpuShare(),
        heldUnits,
        scheduler.stats().pendingUnits());
  }

  /** The scheduler's own figure: the sum of its quota groups' cpu usage over the cluster's cpu. */
  private double allocatedCpuShare() {
    long used = 0;
    for (String group : workload.groupNames) {
      used += scheduler.groupUsage(group).cpuMillis();
    }
    return used / (double) workload.clusterCapacity().cpuMillis();
  }

  /**
   * A task ended at {@code dueMillis}: its application releases the unit and asks for a
   * replacement. Both messages count as sent when the task ended; if the loop handles them late
   * (it lags behind the wall clock), the replacement's wait includes that lag, as a request would
   * wait in a real master's inbound queue.
   */
  private void completed(long entry, long dueMillis) {
    if (!revokedSkips.isEmpty()) {
      Integer skips = revokedSkips.get(entry);
      if (skips != null) {
        // This unit was revoked while the task ran; its replacement was already requested.
        if (skips == 1) {
          revokedSkips.remove(entry);
        } else {
          revokedSkips.put(entry, skips - 1);
        }
        return;
      }
    }
    int app = (int) (entry >>> 32);
    int machine = (int) entry;
    long endedNanos = startNanos + dueMillis * 1_000_000;
    if (measuring != null) {
      measuring.eventLag(System.nanoTime() - endedNanos);
    }
    heldUnits--;
    List<Decision> released =
        timed(
            () ->
                scheduler.release(
                    workload.appIds[app], ClusterWorkload.ROLE, workload.machineIds[machine], 1));
    handle(released, System.nanoTime());
    request(app, 1, endedNanos);
  }

  private void request(int app, int units) {
    request(app, units, System.nanoTime());
  }

  /** Asks for {@code units} more units of {@code app}'s role, sent at {@code sentNanos}. */
  private void request(int app, int units, long sentNanos) {
    ledger.requested(app, units, sentNanos);
    List<Decision> decisions =
        timed(
            () ->
                scheduler.request(
                    workload.appIds[app], ClusterWorkload.ROLE, Location.cluster(), units));
    handle(decisions, System.nanoTime());
  }

  private void handle(List<Decision> decisions, long atNanos) {
    if (decisions.isEmpty()) {
      return;
    }
    long nowMillis = millisSinceStart(atNanos);
    List<Decision.Revoke> revoked = null;
    for (Decision decision : decisions) {
      int app = appIndex.get(decision.appId());
      int machine = machineIndex.get(decision.machineId());
      long entry = ((long) app << 32) | machine;
      int units = decision.count();
      if (decision instanceof Decision.Grant) {
        ledger.granted(app, units, atNanos, grantRecorder);
        heldUnits += units;
        grantedTotal += units;
        for (int i = 0; i < units; i++) {
          wheel.schedule(entry, nowMillis + taskMinMillis + random.nextLong(taskSpanMillis));
        }
      } else {
        Decision.Revoke revoke = (Decision.Revoke) decision;
        heldUnits -= units;
        revokedSkips.merge(entry, units, Integer::sum);
        if (measuring != null) {
          measuring.revoked(units);
        }
        if (revoked == null) {
          revoked = new ArrayList<>();
        }
        revoked.add(revoke);
      }
    }
    if (revoked != null) {
      // The application master asks again for what preemption took, at once.
      for (Decision.Revoke revoke : revoked) {
        request(appIndex.get(revoke.appId()), revoke.count());
      }
    }
  }

  private void recordGrant(int app, long waitNanos, int units) {
    if (measuring != null) {
      measuring.granted(workload.appPriorityClass[app], waitNanos, units);
    }
  }

  private interface SchedulerCall {
    List<Decision> call();
  }

  private List<Decision> timed(SchedulerCall call) {
    long begin = System.nanoTime();
    List<Decision> decisions = call.call();
    if (measuring != null) {
      measuring.schedulerCall(System.nanoTime() - begin);
    }
    return decisions;
  }

  /** The loop thread's cpu time: on a shared machine, how much of a core the loop really got. */
  private static long threadCpuNanos() {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    return threads.isCurrentThreadCpuTimeSupported() ? threads.getCurrentThreadCpuTime() : 0;
  }

  private long millisSinceStart(long nanos) {
    return (nanos - startNanos) / 1_000_000;
  }

  private record Invariants(int overAllocatedMachines, long heldUnitsReported) {}

  /**
   * What every machine would report to a new master, checked against its capacity: the units held
   * there, times each role's shape, must fit in both dimensions.
   */
  private Invariants checkInvariants() {
    int overAllocated = 0;
    long held = 0;
    for (MachineReport report : scheduler.machineReports()) {
      Resources used = Resources.ZERO;
      for (HeldUnits units : report.held()) {
        used = used.plus(workload.appShape[appIndex.get(units.appId())].times(units.count()));
        held += units.count();
      }
      if (!used.fitsIn(report.capacity())
          || scheduler.freeCapacity(report.machineId()).cpuMillis() < 0
          || scheduler.freeCapacity(report.machineId()).memoryMiB() < 0) {
        overAllocated++;
      }
    }
    return new Invariants(overAllocated, held);
  }

  private static long heapUsedAfterGc() {
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    // Twice: objects with finalizers or references to clear need a second collection.
    memory.gc();
    memory.gc();
    return memory.getHeapMemoryUsage().getUsed();
  }
}
