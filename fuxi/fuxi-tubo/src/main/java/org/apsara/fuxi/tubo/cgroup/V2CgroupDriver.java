package org.apsara.fuxi.tubo.cgroup;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apsara.fuxi.tubo.WorkerClass;

/**
 * cgroup v2: the layout of {@link CgroupDriver} in the unified hierarchy, with the cpu and memory
 * controllers enabled ({@code cgroup.subtree_control}) from the hierarchy's root down to the class
 * groups.
 *
 * <ul>
 *   <li>CPU: {@code cpu.max} ("quota period") and {@code cpu.weight} ({@link CpuWeights}); usage
 *       and throttling from {@code cpu.stat}.
 *   <li>Memory: {@code memory.max}; {@code memory.swap.max} = 0 where swap is accounted, so the
 *       limit cannot be escaped into swap; {@code memory.oom.group} = 1 where present, so that a
 *       memory kill takes the whole worker rather than leaving it half alive.
 *   <li>Memory kills: the {@code oom_kill} line of {@code memory.events}.
 *   <li>Killing: {@code cgroup.kill} (kernel 5.14 and later) kills the whole group at once;
 *       without it, the group is frozen ({@code cgroup.freeze}), every pid gets SIGKILL, and the
 *       group is thawed (once {@link #stopFreezing} was called, pids are signalled until the
 *       group is empty). A group left frozen by a Tubo that died mid-kill is thawed by {@link
 *       #thawLeftFrozen}.
 * </ul>
 */
final class V2CgroupDriver extends AbstractCgroupDriver {
  /** The controllers Tubo needs, enabled for the children of each group on the way down. */
  static final List<String> CONTROLLERS = List.of("cpu", "memory");

  private final Path root;

  V2CgroupDriver(CgroupFiles files, String parentName, Path root) {
    super(files, parentName, new Freezer(root, "cgroup.freeze", "1", "0"));
    this.root = root;
  }

  @Override
  public Enforcement enforcement() {
    return Enforcement.CGROUP_V2;
  }

  @Override
  public String describe() {
    return "cgroup v2, groups " + parentName + "/{latency,batch}/<worker> in " + root;
  }

  @Override
  List<Path> hierarchies() {
    return List.of(root);
  }

  @Override
  Path primaryHierarchy() {
    return root;
  }

  @Override
  public void prepare(int machineMillicores) throws IOException {
    Set<String> available = words(files.read(root.resolve("cgroup.controllers")));
    if (!available.containsAll(CONTROLLERS)) {
      throw new IOException("the cgroup v2 hierarchy at " + root + " offers controllers "
          + available + ", Tubo needs " + CONTROLLERS);
    }
    enableControllers(root);
    ensureLayout(root);
    files.write(tuboGroup(root).resolve("cpu.weight"),
        Long.toString(CpuWeights.v2TuboGroupWeight(machineMillicores)));
    for (WorkerClass workerClass : WorkerClass.values()) {
      Path classGroup = classGroup(root, workerClass);
      enableControllers(classGroup);
      files.write(classGroup.resolve("cpu.weight"), Long.toString(
          workerClass == WorkerClass.BATCH
              ? CpuWeights.V2_BATCH_CLASS_WEIGHT
              : CpuWeights.V2_LATENCY_CLASS_WEIGHT));
    }
  }

  @Override
  void afterTuboLevelMade(Path group) throws IOException {
    enableControllers(group);
  }

  private void enableControllers(Path group) throws IOException {
    Set<String> enabled = words(files.read(group.resolve("cgroup.subtree_control")));
    StringBuilder change = new StringBuilder();
    for (String controller : CONTROLLERS) {
      if (!enabled.contains(controller)) {
        change.append(change.length() == 0 ? "" : " ").append('+').append(controller);
      }
    }
    if (change.length() > 0) {
      files.write(group.resolve("cgroup.subtree_control"), change.toString());
    }
  }

  @Override
  public List<Path> createWorkerGroup(
      WorkerClass workerClass, String workerId, int cpuMillicores, long memoryMib)
      throws IOException {
    if (exists(workerClass, workerId)) {
      if (!pids(workerClass, workerId).isEmpty()) {
        throw new IOException("cgroup of worker " + workerId + " exists and has processes");
      }
      removeWorkerGroup(workerClass, workerId);
    }
    Path group = workerGroup(root, workerClass, workerId);
    try {
      files.mkdir(group);
      files.write(group.resolve("cpu.max"),
          CpuWeights.quotaUs(cpuMillicores) + " " + CpuWeights.CFS_PERIOD_US);
      files.write(group.resolve("cpu.weight"),
          Long.toString(CpuWeights.v2WorkerWeight(cpuMillicores)));
      files.write(group.resolve("memory.max"), Long.toString(memoryMib * 1024 * 1024));
      writeIfPresent(group.resolve("memory.swap.max"), "0");
      writeIfPresent(group.resolve("memory.oom.group"), "1");
    } catch (IOException e) {
      throw cleanUpAfter(e, workerClass, workerId);
    }
    return List.of(group.resolve("cgroup.procs"));
  }

  private void writeIfPresent(Path file, String value) throws IOException {
    if (files.exists(file)) {
      files.write(file, value);
    }
  }

  @Override
  public GroupUsage usage(WorkerClass workerClass, String workerId) throws IOException {
    Path group = workerGroup(root, workerClass, workerId);
    long usageUsec = readKeyed(group.resolve("cpu.stat"), "usage_usec");
    return new GroupUsage(
        Math.max(0, usageUsec) * 1000,
        Math.max(0, readLong(group.resolve("memory.current"))),
        Math.max(0, readKeyed(group.resolve("memory.events"), "oom_kill")),
        Math.max(0, readKeyed(group.resolve("cpu.stat"), "nr_throttled")));
  }

  @Override
  public void killAll(WorkerClass workerClass, String workerId) throws IOException {
    Path group = workerGroup(root, workerClass, workerId);
    if (!files.exists(group)) {
      return;
    }
    Path kill = group.resolve("cgroup.kill");
    if (files.exists(kill)) {
      files.write(kill, "1");
      awaitEmpty(workerClass, workerId);
      return;
    }
    whileFrozen(workerClass, workerId, freeze -> signalOnce(workerClass, workerId));
    signalUntilEmpty(workerClass, workerId);
  }

  private static Set<String> words(String s) {
    Set<String> words = new HashSet<>(Arrays.asList(s.trim().split("\\s+")));
    words.remove("");
    return words;
  }
}
