package org.apsara.fuxi.tubo.cgroup;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apsara.fuxi.tubo.WorkerClass;

/**
 * No cgroups: limits are not enforced, memory kills are not detected, and the supervisor kills
 * the process tree it can see instead of a group (a process that detached from the tree escapes).
 * So that Tubo runs where it cannot write cgroups, such as a laptop; reported as {@link
 * Enforcement#UNENFORCED} so the master and operators know.
 */
final class UnenforcedCgroupDriver implements CgroupDriver {
  private final String why;

  UnenforcedCgroupDriver(String why) {
    this.why = why;
  }

  @Override
  public Enforcement enforcement() {
    return Enforcement.UNENFORCED;
  }

  @Override
  public String describe() {
    return "UNENFORCED (no cgroups: " + why + "): workers run without CPU or memory limits";
  }

  @Override
  public void prepare(int machineMillicores) {}

  @Override
  public List<Path> createWorkerGroup(
      WorkerClass workerClass, String workerId, int cpuMillicores, long memoryMib) {
    return List.of();
  }

  @Override
  public boolean exists(WorkerClass workerClass, String workerId) {
    return false;
  }

  @Override
  public List<Long> pids(WorkerClass workerClass, String workerId) {
    return List.of();
  }

  @Override
  public GroupUsage usage(WorkerClass workerClass, String workerId) {
    return GroupUsage.NONE;
  }

  @Override
  public void killAll(WorkerClass workerClass, String workerId) {}

  @Override
  public List<String> thawLeftFrozen() {
    return List.of();
  }

  @Override
  public boolean stopFreezing() {
    return true;
  }

  @Override
  public void removeWorkerGroup(WorkerClass workerClass, String workerId) {}

  @Override
  public Map<WorkerClass, List<String>> listWorkerGroups() {
    return Map.of(WorkerClass.LATENCY_SENSITIVE, List.of(), WorkerClass.BATCH, List.of());
  }

  @Override
  public boolean removeTuboGroups() {
    return true;
  }
}
