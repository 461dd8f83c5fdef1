package org.apsara.fuxi.tubo.cgroup;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apsara.fuxi.tubo.WorkerClass;

/**
 * cgroup v1: the layout of {@link CgroupDriver} repeated in the cpu, cpuacct and memory
 * hierarchies (once where controllers share a mount), and in the freezer hierarchy when it is
 * mounted.
 *
 * <ul>
 *   <li>CPU: {@code cpu.cfs_period_us}, {@code cpu.cfs_quota_us}, {@code cpu.shares} ({@link
 *       CpuWeights}); usage from {@code cpuacct.usage}, throttling from {@code cpu.stat}.
 *   <li>Memory: {@code memory.limit_in_bytes}, and {@code memory.memsw.limit_in_bytes} set to the
 *       same value where the kernel accounts swap, so the limit cannot be escaped into swap.
 *   <li>Memory kills: the {@code oom_kill} line of {@code memory.oom_control} (kernel 4.13 and
 *       later); older kernels lack it and {@code memory.failcnt} (times the limit was hit) stands
 *       in, which the supervisor trusts only together with a failed exit.
 *   <li>Killing: with the freezer, the group is frozen, every process gets SIGKILL, and the group
 *       is thawed: no process can fork while it is frozen, so none escapes. Without it (or once
 *       {@link #stopFreezing} was called), SIGKILL is sent to every pid until the group is empty.
 *       A frozen process takes its SIGKILL only once thawed; a group left {@code FROZEN} by a
 *       Tubo that died mid-kill is thawed by {@link #thawLeftFrozen}.
 * </ul>
 */
final class V1CgroupDriver extends AbstractCgroupDriver {
  /** How long a freeze may take before the kill goes on without it (a task stuck in the kernel). */
  static final long FREEZE_WAIT_MILLIS = 1000;

  private final Path cpu;
  private final Path cpuacct;
  private final Path memory;
  private final List<Path> hierarchies;
  private final boolean memswPresent;

  /**
   * @param freezerHierarchy the freezer hierarchy, or {@code null} if it is not mounted
   */
  V1CgroupDriver(CgroupFiles files, String parentName, Path cpu, Path cpuacct, Path memory,
      Path freezerHierarchy) {
    super(files, parentName, freezerHierarchy == null
        ? null
        : new Freezer(freezerHierarchy, "freezer.state", "FROZEN", "THAWED"));
    this.cpu = cpu;
    this.cpuacct = cpuacct;
    this.memory = memory;
    Set<Path> distinct = new LinkedHashSet<>(List.of(memory, cpu, cpuacct));
    if (freezerHierarchy != null) {
      distinct.add(freezerHierarchy);
    }
    this.hierarchies = List.copyOf(distinct);
    this.memswPresent = files.exists(memory.resolve("memory.memsw.limit_in_bytes"));
  }

  @Override
  public Enforcement enforcement() {
    return Enforcement.CGROUP_V1;
  }

  @Override
  public String describe() {
    return "cgroup v1, groups " + parentName + "/{latency,batch}/<worker> in " + hierarchies
        + (canFreeze() ? "" : " (no freezer: kills by repeated signals)")
        + (memswPresent ? "" : " (no swap accounting)");
  }

  @Override
  List<Path> hierarchies() {
    return hierarchies;
  }

  @Override
  Path primaryHierarchy() {
    return memory;
  }

  @Override
  public void prepare(int machineMillicores) throws IOException {
    for (Path hierarchy : hierarchies) {
      ensureLayout(hierarchy);
    }
    files.write(tuboGroup(cpu).resolve("cpu.shares"),
        Long.toString(CpuWeights.v1LatencyClassShares(machineMillicores)));
    files.write(classGroup(cpu, WorkerClass.LATENCY_SENSITIVE).resolve("cpu.shares"),
        Long.toString(CpuWeights.v1LatencyClassShares(machineMillicores)));
    files.write(classGroup(cpu, WorkerClass.BATCH).resolve("cpu.shares"),
        Long.toString(CpuWeights.V1_BATCH_CLASS_SHARES));
  }

  @Override
  public List<Path> createWorkerGroup(
      WorkerClass workerClass, String workerId, int cpuMillicores, long memoryMib)
      throws IOException {
    if (exists(workerClass, workerId)) {
      if (!pids(workerClass, workerId).isEmpty()) {
        throw new IOException("cgroup of worker " + workerId + " exists and has processes");
      }
      // A leftover empty group: start from a fresh one rather than from its old limits.
      removeWorkerGroup(workerClass, workerId);
    }
    List<Path> procsFiles = new ArrayList<>();
    try {
      for (Path hierarchy : hierarchies) {
        Path group = workerGroup(hierarchy, workerClass, workerId);
        files.mkdir(group);
        procsFiles.add(group.resolve("cgroup.procs"));
      }
      Path cpuGroup = workerGroup(cpu, workerClass, workerId);
      files.write(cpuGroup.resolve("cpu.cfs_period_us"), Long.toString(CpuWeights.CFS_PERIOD_US));
      files.write(cpuGroup.resolve("cpu.cfs_quota_us"),
          Long.toString(CpuWeights.quotaUs(cpuMillicores)));
      files.write(cpuGroup.resolve("cpu.shares"),
          Long.toString(CpuWeights.v1WorkerShares(cpuMillicores)));
      Path memoryGroup = workerGroup(memory, workerClass, workerId);
      String bytes = Long.toString(memoryMib * 1024 * 1024);
      // memsw may never be below the memory limit, so the memory limit goes first.
      files.write(memoryGroup.resolve("memory.limit_in_bytes"), bytes);
      if (memswPresent) {
        files.write(memoryGroup.resolve("memory.memsw.limit_in_bytes"), bytes);
      }
    } catch (IOException e) {
      throw cleanUpAfter(e, workerClass, workerId);
    }
    return List.copyOf(procsFiles);
  }

  @Override
  public GroupUsage usage(WorkerClass workerClass, String workerId) throws IOException {
    Path memoryGroup = workerGroup(memory, workerClass, workerId);
    return new GroupUsage(
        Math.max(0, readLong(workerGroup(cpuacct, workerClass, workerId).resolve("cpuacct.usage"))),
        Math.max(0, readLong(memoryGroup.resolve("memory.usage_in_bytes"))),
        oomKills(memoryGroup),
        Math.max(0, readKeyed(workerGroup(cpu, workerClass, workerId).resolve("cpu.stat"),
            "nr_throttled")));
  }

  private long oomKills(Path memoryGroup) throws IOException {
    long kills = readKeyed(memoryGroup.resolve("memory.oom_control"), "oom_kill");
    if (kills >= 0) {
      return kills;
    }
    return Math.max(0, readLong(memoryGroup.resolve("memory.failcnt")));
  }

  @Override
  public void killAll(WorkerClass workerClass, String workerId) throws IOException {
    if (!exists(workerClass, workerId)) {
      return;
    }
    // One round of SIGKILL to the frozen group: frozen processes cannot fork in between.
    whileFrozen(workerClass, workerId, state -> {
      awaitFrozen(state);
      signalOnce(workerClass, workerId);
    });
    signalUntilEmpty(workerClass, workerId);
  }

  private void awaitFrozen(Path state) throws IOException {
    long deadline = System.nanoTime() + FREEZE_WAIT_MILLIS * 1_000_000L;
    while (!files.read(state).trim().equals("FROZEN") && System.nanoTime() < deadline) {
      pause();
    }
  }
}
