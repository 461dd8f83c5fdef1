package org.apsara.bench.fuxi;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.apsara.bench.report.MachineInfo;
import org.apsara.fuxi.master.scheduler.SchedulerConfig;
import org.apsara.fuxi.master.scheduler.SchedulerLimits;

/**
 * {@code apsara bench fuxi}: FuxiMaster's real scheduler core driven, in this JVM, by one thread
 * that plays the master's event loop for a simulated cluster: thousands of machines, a thousand
 * applications in several quota groups with mixed priorities, each keeping a target number of
 * short tasks running. Tasks run on the wall clock; when one ends its application releases the
 * unit and asks for another.
 *
 * <p>The run has two measured phases, each after its own warm-up: first the applications together
 * ask for {@link Options#belowSaturationLoad()} times the cluster's cpu (latency when there is
 * room), then for {@link Options#saturatedLoad()} times (the share of cpu the scheduler manages to
 * hand out when demand exceeds capacity, and the waits that queueing then adds). Each phase
 * reports granted units per second of wall time, the request-to-grant wait per unit (from the
 * request call until the call whose decisions grant it returns, queueing included; units still
 * waiting at the end count with their wait so far), the time spent inside scheduler calls, and the
 * allocated share of cpu sampled while units wait. The report adds the heap after garbage
 * collection and the part of it the scheduler holds.
 *
 * <p>Threading: {@link #run} runs the whole benchmark on the calling thread and returns when it
 * ends; it starts no thread and does no I/O but printing progress.
 */
public final class FuxiBenchmark {
  /** The goal: granted units per second. */
  public static final double GOAL_GRANTS_PER_SECOND = 100_000;

  /** The goal: request-to-grant p99, in milliseconds. */
  public static final double GOAL_P99_MILLIS = 10;

  /** The goal: share of the cluster's cpu allocated while demand exceeds capacity. */
  public static final double GOAL_SATURATED_CPU_SHARE = 0.95;

  public static final int CORES_PER_MACHINE_MAX =
      (int) (SchedulerLimits.MAX_MACHINE_CPU_MILLIS / 1_000);
  public static final int MEMORY_GIB_PER_MACHINE_MAX =
      (int) (SchedulerLimits.MAX_MACHINE_MEMORY_MIB / 1_024);
  public static final Duration PHASE_MAX = Duration.ofHours(1);
  public static final double LOAD_MAX = 10;

  private FuxiBenchmark() {}

  /**
   * What to run. Immutable, validated on construction.
   *
   * @param machines simulated machines, at most {@link SchedulerLimits#MAX_MACHINES}
   * @param coresPerMachine each machine's cpu, in cores
   * @param memoryGiBPerMachine each machine's memory, in GiB
   * @param applications concurrent applications, each with one role
   * @param quotaGroups quota groups the applications are spread over, round-robin
   * @param warmup unmeasured time before each measured phase
   * @param duration measured time of each phase
   * @param seed drives the workload (shapes, priorities, sizes) and the task durations
   * @param taskMin shortest task, on the wall clock; at least 1 ms
   * @param taskMax longest task; durations are uniform in [taskMin, taskMax]
   * @param belowSaturationLoad demand of the first phase, in multiples of the cluster's cpu
   * @param saturatedLoad demand of the second phase, more than 1 to saturate the cluster
   */
  public record Options(
      int machines,
      int coresPerMachine,
      int memoryGiBPerMachine,
      int applications,
      int quotaGroups,
      Duration warmup,
      Duration duration,
      long seed,
      Duration taskMin,
      Duration taskMax,
      double belowSaturationLoad,
      double saturatedLoad) {
    public Options {
      requireWithin("machines", machines, 1, SchedulerLimits.MAX_MACHINES);
      requireWithin("cores per machine", coresPerMachine, 1, CORES_PER_MACHINE_MAX);
      requireWithin("memory per machine (GiB)", memoryGiBPerMachine, 1, MEMORY_GIB_PER_MACHINE_MAX);
      requireWithin("applications", applications, 1, SchedulerLimits.MAX_APPLICATIONS);
      requireWithin("quota groups", quotaGroups, 1, SchedulerLimits.MAX_QUOTA_GROUPS);
      requireWithin("warm-up (ms)", Objects.requireNonNull(warmup, "warmup").toMillis(), 0,
          PHASE_MAX.toMillis());
      requireWithin("duration (ms)", Objects.requireNonNull(duration, "duration").toMillis(), 1,
          PHASE_MAX.toMillis());
      requireWithin("shortest task (ms)", Objects.requireNonNull(taskMin, "taskMin").toMillis(),
          1, CompletionWheel.MAX_HORIZON_MILLIS);
      requireWithin("longest task (ms)", Objects.requireNonNull(taskMax, "taskMax").toMillis(),
          taskMin.toMillis(), CompletionWheel.MAX_HORIZON_MILLIS);
      if (!(belowSaturationLoad > 0 && belowSaturationLoad <= LOAD_MAX)
          || !(saturatedLoad > 0 && saturatedLoad <= LOAD_MAX)) {
        throw new IllegalArgumentException(
            "loads must be in (0, " + LOAD_MAX + "]: " + belowSaturationLoad + ", "
                + saturatedLoad);
      }
      if (belowSaturationLoad > saturatedLoad) {
        throw new IllegalArgumentException(
            "the saturated load " + saturatedLoad + " is below the first phase's "
                + belowSaturationLoad);
      }
    }

    /**
     * The cluster: 10,000 machines of 32 cores and 128 GiB (320,000 cores), 1,000
     * applications in 4 quota groups, tasks of 1 to 4 s, demand at 0.9x then 1.1x the cluster's
     * cpu, 10 s of warm-up and 15 s measured per phase (about a minute in all).
     */
    public static Options defaults() {
      return new Options(10_000, 32, 128, 1_000, 4, Duration.ofSeconds(10),
          Duration.ofSeconds(15), 1L, Duration.ofSeconds(1), Duration.ofSeconds(4), 0.9, 1.1);
    }

    private static void requireWithin(String name, long value, long min, long max) {
      if (value < min || value > max) {
        throw new IllegalArgumentException(
            name + " " + value + " is outside [" + min + ", " + max + "]");
      }
    }
  }

  /**
   * One measured phase.
   *
   * @param load the demand, in multiples of the cluster's cpu
   * @param grantedUnits units granted during the phase (replacements after preemption included)
   * @param loopCpuShare the loop thread's cpu time over the phase's wall time: below 1 when the
   *     machine is shared or the loop idles
   * @param grantsPerLoopCpuSecond granted units per second of the loop thread's cpu time (NaN if
   *     the JVM cannot measure thread cpu time): the rate a dedicated core would sustain
   * @param latencyP50Millis request-to-grant wait per unit, median; queueing included
   * @param latencyMaxMillis the longest wait, or a lower bound when a unit was still waiting
   * @param unitsWaitingAtEnd units requested but not granted when the phase ended (their waits so
   *     far are in the percentiles)
   * @param eventLagP99Millis how late the loop handled task ends after they were due, p99: the
   *     time a message would wait in the master's inbound queue (included in the waits)
   * @param schedulerCalls calls of request, release and tick made in the phase
   * @param callP50Micros time of one scheduler call, median
   * @param schedulerBusyShare the share of the phase's wall time spent inside scheduler calls
   * @param revokedUnits units the scheduler took back by preemption
   * @param saturatedCpuShare allocated cpu over the cluster's cpu, averaged over the samples taken
   *     while units were waiting; NaN if there were none
   * @param saturatedCpuShareMin the lowest such sample
   * @param saturatedSampleShare the share of samples taken while units were waiting
   * @param waitsByPriority the waits per priority class, most urgent first
   */
  public record PhaseResult(
      String name,
      double load,
      double seconds,
      long grantedUnits,
      double grantsPerSecond,
      double loopCpuShare,
      double grantsPerLoopCpuSecond,
      double latencyP50Millis,
      double latencyP99Millis,
      double latencyMaxMillis,
      long unitsWaitingAtEnd,
      double eventLagP99Millis,
      long schedulerCalls,
      double callP50Micros,
      double callP99Micros,
      double schedulerBusyShare,
      long revokedUnits,
      double saturatedCpuShare,
      double saturatedCpuShareMin,
      double saturatedSampleShare,
      List<PriorityWait> waitsByPriority) {
    public PhaseResult {
      waitsByPriority = List.copyOf(waitsByPriority);
    }
  }

  /**
   * Request-to-grant waits of the units of one priority class in a phase (units still waiting at
   * its end included, with their wait so far).
   *
   * @param units units whose wait is counted
   */
  public record PriorityWait(int priority, long units, double p50Millis, double p99Millis) {}

  /**
   * The outcome of a run.
   *
   * @param clusterCores the cluster's cpu, in cores
   * @param clusterMemoryGiB the cluster's memory
   * @param phases the phase below saturation, then the saturated one
   * @param heapUsedAfterGcBytes the JVM's heap after a full collection at the end of the run, with
   *     the scheduler and the driver's task bookkeeping live
   * @param schedulerHeapBytes how much less the heap holds once the scheduler is dropped: the
   *     master's scheduling state for this cluster
   * @param overAllocatedMachines machines whose reported units exceed their capacity: must be 0
   * @param heldUnitsReported units the machines report at the end
   * @param heldUnitsExpected units the simulated applications believe they hold: must be equal
   * @param loadAverageBefore the machine's 1-minute load average before the run (-1 if unknown)
   * @param loadAverageAfter the same after the run
   */
  public record Report(
      Options options,
      long clusterCores,
      long clusterMemoryGiB,
      List<PhaseResult> phases,
      long heapUsedAfterGcBytes,
      long schedulerHeapBytes,
      int overAllocatedMachines,
      long heldUnitsReported,
      long heldUnitsExpected,
      double loadAverageBefore,
      double loadAverageAfter) {
    public Report {
      phases = List.copyOf(phases);
    }

    public PhaseResult belowSaturation() {
      return phases.get(0);
    }

    public PhaseResult saturated() {
      return phases.get(1);
    }
  }

  /**
   * Runs the benchmark on the calling thread, printing progress (about one line a second) to
   * {@code progress}; returns the report. Takes about {@code 2 * (warmup + duration)} plus the
   * set-up of the cluster.
   */
  public static Report run(Options options, PrintStream progress) {
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(progress, "progress");
    return new SchedulerDriver(options, progress).run();
  }

  /** The report as Markdown: the machine, the workload, one table row per phase, the goals. */
  public static String toMarkdown(Report report) {
    Options o = report.options();
    MachineInfo machine = MachineInfo.describe(Path.of(System.getProperty("java.io.tmpdir")));
    StringBuilder md = new StringBuilder();
    md.append("## Fuxi scheduler: ").append(String.format(Locale.ROOT, "%,d", o.machines()))
        .append(" simulated machines\n\n");
    md.append(String.format(Locale.ROOT,
        "Machine: %d cores (%s), %.1f GiB memory, %s, %s; load average %.2f before, %.2f after%n%n",
        machine.cores(), machine.cpuModel(), machine.memoryBytes() / (1024.0 * 1024 * 1024),
        machine.jvm(), machine.operatingSystem(), report.loadAverageBefore(),
        report.loadAverageAfter()));
    md.append(String.format(Locale.ROOT,
        "Cluster: %,d machines x %d cores, %d GiB (%,d cores, %,d GiB); %,d applications in %d"
            + " quota groups (each guaranteed %.0f%% of the cluster / %d, allowed all of it),"
            + " priorities %s, one role each; tasks of %d to %d ms on the wall clock; seed %d.%n%n",
        o.machines(), o.coresPerMachine(), o.memoryGiBPerMachine(), report.clusterCores(),
        report.clusterMemoryGiB(), o.applications(), o.quotaGroups(),
        100 * ClusterWorkload.QUOTA_MIN_SHARE, o.quotaGroups(),
        java.util.Arrays.toString(ClusterWorkload.PRIORITIES), o.taskMin().toMillis(),
        o.taskMax().toMillis(), o.seed()));
    md.append("| phase | demand | grants/s | loop cpu | grants/cpu-s | wait p50 | wait p99"
        + " | wait max | waiting at end | loop lag p99 | call p50 | call p99 | in scheduler"
        + " | revoked | cpu allocated while saturated |\n");
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (PhaseResult p : report.phases()) {
      md.append(String.format(Locale.ROOT,
          "| %s | %.2fx | %,.0f | %.0f%% | %,.0f | %.3f ms | %.3f ms | %,.1f ms | %,d | %.3f ms"
              + " | %.1f us | %.1f us | %.0f%% | %,d | %s |%n",
          p.name(), p.load(), p.grantsPerSecond(), 100 * p.loopCpuShare(),
          p.grantsPerLoopCpuSecond(), p.latencyP50Millis(), p.latencyP99Millis(),
          p.latencyMaxMillis(), p.unitsWaitingAtEnd(), p.eventLagP99Millis(), p.callP50Micros(),
          p.callP99Micros(),
          100 * p.schedulerBusyShare(), p.revokedUnits(), share(p)));
    }
    md.append("\nWaits by priority class (p50 / p99):\n\n");
    for (PhaseResult p : report.phases()) {
      md.append("- ").append(p.name()).append(':');
      for (PriorityWait w : p.waitsByPriority()) {
        md.append(String.format(Locale.ROOT, " priority %d: %.3f / %.3f ms (%,d units);",
            w.priority(), w.p50Millis(), w.p99Millis(), w.units()));
      }
      md.setLength(md.length() - 1);
      md.append('\n');
    }
    md.append(String.format(Locale.ROOT,
        "%nHeap after full GC: %.0f MiB, of which the scheduler's state %.0f MiB."
            + " Invariants: %d over-allocated machines; machines report %,d units held,"
            + " applications hold %,d.%n%n",
        report.heapUsedAfterGcBytes() / (1024.0 * 1024), report.schedulerHeapBytes() / (1024.0
            * 1024), report.overAllocatedMachines(), report.heldUnitsReported(),
        report.heldUnitsExpected()));
    PhaseResult below = report.belowSaturation();
    PhaseResult saturated = report.saturated();
    md.append(String.format(Locale.ROOT,
        "Goals: >= %,.0f grants/s: %s (%,.0f below saturation, %,.0f saturated); p99 <= %.0f ms"
            + " below saturation: %s (%.3f ms); >= %.0f%% of cpu allocated while saturated: %s"
            + " (%s).%n%n",
        GOAL_GRANTS_PER_SECOND,
        met(Math.max(below.grantsPerSecond(), saturated.grantsPerSecond())
            >= GOAL_GRANTS_PER_SECOND),
        below.grantsPerSecond(), saturated.grantsPerSecond(), GOAL_P99_MILLIS,
        met(below.latencyP99Millis() <= GOAL_P99_MILLIS), below.latencyP99Millis(),
        100 * GOAL_SATURATED_CPU_SHARE,
        met(saturated.saturatedCpuShare() >= GOAL_SATURATED_CPU_SHARE), share(saturated)));
    SchedulerConfig config = SchedulerConfig.DEFAULTS;
    md.append(String.format(Locale.ROOT,
        "One thread plays FuxiMaster's event loop: it calls the real Scheduler (default timing:"
            + " preemption wait %d ms) for each task end (release, then a request for a"
            + " replacement at cluster level), for each preemption (a request for what was"
            + " taken) and every %d ms for tick(); the time of the driver's own bookkeeping counts"
            + " against the rate. A wait runs from the moment the request is sent (a replacement"
            + " is sent when its task ends, so a loop that lags adds its lag) to the return of the"
            + " call whose decisions grant the unit (the role's oldest waiting units are granted"
            + " first); units still waiting at the end of a phase count with their wait so far."
            + " \"loop cpu\" is the loop thread's cpu time over wall time (less than 100%% when"
            + " the machine is shared or the loop idles); grants/cpu-s divides the grants by it:"
            + " what one dedicated core would sustain. While the loop keeps up, grants/s is set by"
            + " the workload (running units / mean task duration), not by the scheduler."
            + " \"in scheduler\" is the share of wall time inside scheduler calls (time the"
            + " thread was descheduled during a call counts too). cpu allocated"
            + " is the scheduler's own usage figure, sampled every %d ms while units wait (mean,"
            + " lowest, and the share of samples that qualified).%n",
        config.preemptionWait().toMillis(),
        SchedulerDriver.TICK_INTERVAL_NANOS / 1_000_000,
        SchedulerDriver.SAMPLE_INTERVAL_NANOS / 1_000_000));
    return md.toString();
  }

  /** Prints {@link #toMarkdown} to {@code out}. */
  public static void printTable(Report report, PrintStream out) {
    out.println();
    out.print(toMarkdown(report));
  }

  private static String share(PhaseResult p) {
    if (Double.isNaN(p.saturatedCpuShare())) {
      return "never saturated";
    }
    return String.format(Locale.ROOT, "%.1f%% (lowest %.1f%%, in %.0f%% of samples)",
        100 * p.saturatedCpuShare(), 100 * p.saturatedCpuShareMin(),
        100 * p.saturatedSampleShare());
  }

  private static String met(boolean met) {
    return met ? "met" : "NOT met";
  }
}
