package org.apsara.fuxi.tubo.cgroup;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apsara.fuxi.tubo.WorkerClass;

/**
 * What both cgroup versions share: the layout, reading pids, killing by signal, freezing for a
 * kill and thawing, removing.
 */
abstract class AbstractCgroupDriver implements CgroupDriver {
  /** How often a kill looks again at the group it empties. */
  static final long KILL_POLL_MILLIS = 5;

  /** How often removing a group retries while the kernel still releases its last processes. */
  static final int REMOVE_ATTEMPTS_MAX = 100;

  /**
   * How a cgroup version freezes a worker's group: the file in the group (in {@code hierarchy})
   * and the values that freeze and thaw it.
   */
  record Freezer(Path hierarchy, String fileName, String frozen, String thawed) {}

  /** What a kill does while its group is frozen; gets the group's freeze file. */
  @FunctionalInterface
  interface FrozenStep {
    void run(Path freezeFile) throws IOException;
  }

  final CgroupFiles files;
  final String parentName;
  /** How this driver freezes a group, or null if it cannot. */
  private final Freezer freezer;

  /*
   * A group frozen by a kill is thawed by that kill, in a finally block, and a JVM that ends in
   * between (Tubo stopping on SIGTERM while it kills) never runs it: the group stays frozen, its
   * processes hang with their SIGKILL pending and keep their memory. So a stopping Tubo calls
   * stopFreezing, which waits for the kills in their frozen step and lets no kill freeze after
   * it. Only the frozen step is waited for: it lasts a second at most, whereas a whole kill may
   * signal for KILL_TIMEOUT and many may be queued; a kill cut short after its thaw leaves
   * running processes, which the next Tubo adopts or kills. Thawing from a shutdown hook instead
   * would thaw under a kill that has not signalled yet, letting its processes fork past it. A
   * Tubo that is killed outright runs none of this: the next one thaws what it left
   * (thawLeftFrozen).
   */
  private final Object freezeLock = new Object();
  // Guarded by freezeLock: the kills between freezing their group and thawing it, and whether
  // kills may still freeze.
  private int killsFrozen;
  private boolean freezingStopped;

  /**
   * @param freezer how this version freezes a group, or {@code null} if it cannot; kills then
   *     only signal
   */
  AbstractCgroupDriver(CgroupFiles files, String parentName, Freezer freezer) {
    this.files = files;
    this.parentName = CgroupDrivers.requireParentName(parentName);
    this.freezer = freezer;
  }

  /** The hierarchy roots this driver makes its groups in (one for v2, one per mount for v1). */
  abstract List<Path> hierarchies();

  /** The hierarchy whose {@code cgroup.procs} lists a worker's processes. */
  abstract Path primaryHierarchy();

  final Path tuboGroup(Path hierarchy) {
    return hierarchy.resolve(parentName);
  }

  final Path classGroup(Path hierarchy, WorkerClass workerClass) {
    return tuboGroup(hierarchy).resolve(workerClass.groupName());
  }

  final Path workerGroup(Path hierarchy, WorkerClass workerClass, String workerId) {
    return classGroup(hierarchy, workerClass).resolve(workerId);
  }

  @Override
  public boolean exists(WorkerClass workerClass, String workerId) {
    return files.exists(workerGroup(primaryHierarchy(), workerClass, workerId));
  }

  @Override
  public List<Long> pids(WorkerClass workerClass, String workerId) throws IOException {
    Path procs = workerGroup(primaryHierarchy(), workerClass, workerId).resolve("cgroup.procs");
    if (!files.exists(procs)) {
      return List.of();
    }
    return parsePids(files.read(procs));
  }

  static List<Long> parsePids(String procs) {
    List<Long> pids = new ArrayList<>();
    for (String line : procs.split("\n")) {
      String trimmed = line.trim();
      if (!trimmed.isEmpty()) {
        pids.add(Long.parseLong(trimmed));
      }
    }
    return pids;
  }

  /**
   * Sends SIGKILL to every pid in the group, again and again, until the group is empty. A
   * process that forks between the read and the kill leaves a child behind, which the next round
   * finds; {@link CgroupDrivers#KILL_TIMEOUT} bounds a fork bomb.
   */
  final void signalUntilEmpty(WorkerClass workerClass, String workerId) throws IOException {
    long deadline = System.nanoTime() + CgroupDrivers.KILL_TIMEOUT.toNanos();
    while (true) {
      List<Long> pids = signalOnce(workerClass, workerId);
      if (pids.isEmpty()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IOException("group of worker " + workerId + " still has processes " + pids
            + " after " + CgroupDrivers.KILL_TIMEOUT);
      }
      pause();
    }
  }

  /** Sends SIGKILL once to every pid in the group but Tubo's own; returns the pids found. */
  final List<Long> signalOnce(WorkerClass workerClass, String workerId) throws IOException {
    long self = ProcessHandle.current().pid();
    List<Long> pids = pids(workerClass, workerId);
    for (long pid : pids) {
      if (pid != self) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
    return pids;
  }

  /** Whether this driver can freeze a group for a kill. */
  final boolean canFreeze() {
    return freezer != null;
  }

  /**
   * Runs {@code step} with the worker's group frozen, and thaws the group after it, whatever
   * happens. Does nothing if this driver cannot freeze, the group has no freeze file, or {@link
   * #stopFreezing} was called: the caller kills without freezing then.
   */
  final void whileFrozen(WorkerClass workerClass, String workerId, FrozenStep step)
      throws IOException {
    if (freezer == null) {
      return;
    }
    Path file = freezeFile(workerClass, workerId);
    if (!files.exists(file)) {
      return;
    }
    synchronized (freezeLock) {
      if (freezingStopped) {
        return;
      }
      killsFrozen++;
    }
    try {
      try {
        files.write(file, freezer.frozen());
        step.run(file);
      } finally {
        // Frozen processes die of their pending SIGKILL only once thawed.
        thaw(file);
      }
    } finally {
      synchronized (freezeLock) {
        killsFrozen--;
        freezeLock.notifyAll();
      }
    }
  }

  /**
   * Thaws a group, also on a thread being interrupted (the supervisor's close interrupts its
   * thread, which may be killing): interruptible file I/O would refuse the write, so the
   * interrupt is set aside for it.
   */
  private void thaw(Path freezeFile) throws IOException {
    boolean interrupted = Thread.interrupted();
    try {
      files.write(freezeFile, freezer.thawed());
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private Path freezeFile(WorkerClass workerClass, String workerId) {
    return workerGroup(freezer.hierarchy(), workerClass, workerId).resolve(freezer.fileName());
  }

  @Override
  public final List<String> thawLeftFrozen() throws IOException {
    if (freezer == null) {
      return List.of();
    }
    List<String> thawed = new ArrayList<>();
    for (WorkerClass workerClass : WorkerClass.values()) {
      for (String workerId : files.childGroups(classGroup(freezer.hierarchy(), workerClass))) {
        Path file = freezeFile(workerClass, workerId);
        // v1 also has FREEZING, for a freeze that has not taken yet: anything but thawed thaws.
        if (files.exists(file) && !files.read(file).trim().equals(freezer.thawed())) {
          thaw(file);
          thawed.add(workerId);
        }
      }
    }
    return thawed;
  }

  @Override
  public final boolean stopFreezing() {
    long deadline = System.nanoTime() + CgroupDrivers.STOP_FREEZING_WAIT.toNanos();
    boolean interrupted = false;
    boolean thawed;
    synchronized (freezeLock) {
      freezingStopped = true;
      while (killsFrozen > 0 && deadline - System.nanoTime() > 0) {
        try {
          TimeUnit.NANOSECONDS.timedWait(freezeLock, deadline - System.nanoTime());
        } catch (InterruptedException e) {
          // Waiting on is the point: a group left frozen outlives this process.
          interrupted = true;
        }
      }
      thawed = killsFrozen == 0;
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    return thawed;
  }

  /** Waits until the group has no process; after a kill the kernel takes a moment. */
  final void awaitEmpty(WorkerClass workerClass, String workerId) throws IOException {
    long deadline = System.nanoTime() + CgroupDrivers.KILL_TIMEOUT.toNanos();
    while (!pids(workerClass, workerId).isEmpty()) {
      if (System.nanoTime() > deadline) {
        throw new IOException("group of worker " + workerId + " still has processes "
            + pids(workerClass, workerId) + " after " + CgroupDrivers.KILL_TIMEOUT);
      }
      pause();
    }
  }

  static void pause() throws IOException {
    try {
      TimeUnit.MILLISECONDS.sleep(KILL_POLL_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  @Override
  public void removeWorkerGroup(WorkerClass workerClass, String workerId) throws IOException {
    for (Path hierarchy : hierarchies()) {
      removeGroup(workerGroup(hierarchy, workerClass, workerId));
    }
  }

  /**
   * rmdir of a group fails with EBUSY while the kernel still counts a just-killed process in it;
   * that lasts microseconds to milliseconds, so a few bounded retries.
   */
  final void removeGroup(Path group) throws IOException {
    for (int attempt = 1; ; attempt++) {
      if (!files.exists(group)) {
        return;
      }
      try {
        files.rmdir(group);
        return;
      } catch (IOException e) {
        if (attempt >= REMOVE_ATTEMPTS_MAX) {
          throw new IOException("cannot remove cgroup " + group + ": " + e.getMessage(), e);
        }
        pause();
      }
    }
  }

  @Override
  public Map<WorkerClass, List<String>> listWorkerGroups() throws IOException {
    Map<WorkerClass, List<String>> groups = new LinkedHashMap<>();
    for (WorkerClass workerClass : WorkerClass.values()) {
      groups.put(workerClass, files.childGroups(classGroup(primaryHierarchy(), workerClass)));
    }
    return groups;
  }

  @Override
  public boolean removeTuboGroups() throws IOException {
    for (List<String> workers : listWorkerGroups().values()) {
      if (!workers.isEmpty()) {
        return false;
      }
    }
    for (Path hierarchy : hierarchies()) {
      for (WorkerClass workerClass : WorkerClass.values()) {
        removeGroup(classGroup(hierarchy, workerClass));
      }
      // A nested parent such as a/b: remove b, then a if nothing else lives in it.
      Path group = tuboGroup(hierarchy);
      while (!group.equals(hierarchy)) {
        if (files.exists(group) && !files.childGroups(group).isEmpty()) {
          break;
        }
        removeGroup(group);
        group = group.getParent();
      }
    }
    return true;
  }

  /** Makes a directory unless it exists. */
  final void ensureDir(Path dir) throws IOException {
    if (!files.exists(dir)) {
      files.mkdir(dir);
    }
  }

  /** Makes Tubo's group (and the parents of a nested name) and the class groups. */
  final void ensureLayout(Path hierarchy) throws IOException {
    Path group = hierarchy;
    for (Path part : Path.of(parentName)) {
      group = group.resolve(part.toString());
      ensureDir(group);
      afterTuboLevelMade(group);
    }
    for (WorkerClass workerClass : WorkerClass.values()) {
      ensureDir(classGroup(hierarchy, workerClass));
    }
  }

  /** v2 enables controllers for the children of every group on the way down. */
  void afterTuboLevelMade(Path group) throws IOException {}

  /** Reads "key value" lines (cpu.stat, memory.events, memory.oom_control) for one key; -1 if absent. */
  final long readKeyed(Path file, String key) throws IOException {
    if (!files.exists(file)) {
      return -1;
    }
    for (String line : files.read(file).split("\n")) {
      String[] parts = line.trim().split("\\s+");
      if (parts.length == 2 && parts[0].equals(key)) {
        return Long.parseLong(parts[1]);
      }
    }
    return -1;
  }

  final long readLong(Path file) throws IOException {
    if (!files.exists(file)) {
      return -1;
    }
    return Long.parseLong(files.read(file).trim());
  }

  /** Removes a half-made worker group after a failure, keeping the first error. */
  final IOException cleanUpAfter(IOException failure, WorkerClass workerClass, String workerId) {
    try {
      removeWorkerGroup(workerClass, workerId);
    } catch (IOException e) {
      failure.addSuppressed(e);
    }
    return failure;
  }
}
