package org.apsara.fuxi.tubo;

import java.io.File;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import org.apsara.fuxi.tubo.cgroup.CgroupDriver;
import org.apsara.fuxi.tubo.cgroup.CgroupDrivers;
import org.apsara.fuxi.tubo.cgroup.Enforcement;
import org.apsara.fuxi.tubo.cgroup.GroupUsage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the workers of one machine: launches each in its own sandbox directory and cgroup, watches
 * it, kills it on request or to free memory for services, reports every exit with its cause, and
 * cleans its sandbox up after a retention period.
 *
 * <h2>Guarantees</h2>
 *
 * <ul>
 *   <li>A worker's program runs inside its cgroup from its first instruction ({@link
 *       LaunchWrapper}); its CPU and memory limits are those of its {@link WorkerSpec}.
 *   <li>Every launched or adopted worker is reported exactly once to the {@link
 *       WorkerExitListener}, after its processes are gone and its cgroup removed, and after its
 *       resources are released (a launch right after the report is accepted).
 *   <li>A kill ends every process of the worker's cgroup, including children that detached from
 *       the process tree; unenforced, it ends the tree it can see.
 *   <li>Workers outlive Tubo: {@link #close()} stops supervision and leaves them running, and a
 *       supervisor started on the same sandbox root and cgroup parent adopts them (see {@link
 *       #start}).
 * </ul>
 *
 * <h2>Threading</h2>
 *
 * All public methods are thread-safe. {@link #launch} and {@link #kill} do their file and process
 * work on the calling thread (a kill returns once the worker's group is empty); exits are handled
 * on one supervision thread and reported on one notifier thread.
 */
public final class WorkerSupervisor implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WorkerSupervisor.class);

  /**
   * After a main process died of SIGKILL, how long the group's memory-kill counter is given to
   * show the kill: the kernel counts it next to sending the signal, but our reaper may be faster.
   */
  static final long OOM_EVENT_GRACE_MILLIS = 200;

  /** Exit status of a process ended by SIGKILL (128 + 9). */
  private static final int STATUS_SIGKILL = 137;

  /** Tolerance when comparing a recorded process start time with the one the kernel reports. */
  private static final long START_TIME_TOLERANCE_MILLIS = 1000;

  private static final long MIB = 1024L * 1024L;

  /** Rounds of "find the descendants, kill them" before the root of a tree is killed. */
  private static final int KILL_TREE_ROUNDS_MAX = 10;

  private final TuboConfig config;
  private final CgroupDriver driver;
  private final WorkerExitListener listener;
  private final SandboxJanitor janitor;
  private final ExecutorService supervision;
  private final ExecutorService notifier;

  private final Object lock = new Object();
  // Guarded by lock: the workers launched or adopted and not yet reported, and what they hold.
  private final Map<String, Worker> workers = new HashMap<>();
  private long nextLaunchSequence = 1;
  private long allocatedMillicores;
  private long allocatedMemoryMib;
  private boolean closed;

  /** One worker; the fields marked so are guarded by the supervisor's lock. */
  private static final class Worker {
    final WorkerSpec spec;
    final Sandbox sandbox;
    final long launchSequence;
    final boolean adopted;
    /** Serialises this worker's cgroup calls, as {@link CgroupDriver} asks. */
    final Object groupLock = new Object();
    // Guarded by the supervisor's lock:
    ProcessHandle handle;
    Process process;
    String killReason;
    String launchFailure;
    /** Found dead when a restarted Tubo looked for it: its exit was not seen. */
    boolean endedUnseen;

    Worker(WorkerSpec spec, Sandbox sandbox, long launchSequence, boolean adopted) {
      this.spec = spec;
      this.sandbox = sandbox;
      this.launchSequence = launchSequence;
      this.adopted = adopted;
    }
  }

  private WorkerSupervisor(TuboConfig config, CgroupDriver driver, WorkerExitListener listener) {
    this.config = config;
    this.driver = driver;
    this.listener = listener;
    this.janitor = new SandboxJanitor(
        config.sandboxesKept(), config.sandboxRetention(), config.clock());
    this.supervision = Executors.newSingleThreadExecutor(daemon("tubo-supervision"));
    this.notifier = Executors.newSingleThreadExecutor(daemon("tubo-exit-notifier"));
  }

  /**
   * Opens the cgroup driver the configuration asks for, then takes over what a previous Tubo on
   * this machine left:
   *
   * <ul>
   *   <li>a worker cgroup left frozen (a Tubo that died while it killed the worker) is thawed
   *       first, so that a SIGKILL sent before the freeze ended lands, and a worker it never
   *       reached runs on;
   *   <li>a sandbox whose record says the worker was running, and whose main process is still
   *       alive (same pid, same start time, and inside the worker's cgroup when enforced), is
   *       adopted: it is supervised again and counts against the machine's resources;
   *   <li>a worker that ended while no Tubo was watching is reported to {@code listener} as {@link
   *       ExitCause.Unobserved} (or {@link ExitCause.KilledForMemory} if its cgroup counted a
   *       memory kill), and its leftover processes killed;
   *   <li>a cgroup under Tubo's parent that belongs to no adopted worker is emptied and removed;
   *   <li>finished sandboxes enter the retention period anew.
   * </ul>
   *
   * @throws IOException if the sandbox root cannot be made or read, or a forced cgroup version
   *     is not usable
   */
  public static WorkerSupervisor start(TuboConfig config, WorkerExitListener listener)
      throws IOException {
    Files.createDirectories(config.sandboxRoot());
    CgroupDriver driver = CgroupDrivers.open(config.cgroupMode(), config.cgroupParent(),
        config.resources().cpuMillicores(), config.host());
    WorkerSupervisor supervisor = new WorkerSupervisor(config, driver, listener);
    supervisor.recover();
    return supervisor;
  }

  /** How this machine enforces limits; {@link Enforcement#UNENFORCED} must be shown to users. */
  public Enforcement enforcement() {
    return driver.enforcement();
  }

  /** One line describing the enforcement, for logs and health. */
  public String describeEnforcement() {
    return driver.describe();
  }

  /** What the machine offers to workers. */
  public MachineResources resources() {
    return config.resources();
  }

  /**
   * Launches a worker: makes its sandbox (replacing a finished one with the same id), its cgroup
   * with its limits, and starts its command in both. Returns once the process has started (or the
   * launch has failed); the worker's end is reported to the listener.
   *
   * <p>Everything that goes wrong after the checks below (the cgroup or the sandbox cannot be
   * made, the program cannot be started or is not found) is reported as {@link
   * ExitCause.LaunchFailed}, never thrown, so that a caller has one path for failures.
   *
   * @return the worker's sandbox directory
   * @throws IllegalStateException if a worker with this id runs, {@link TuboLimits#MAX_WORKERS}
   *     run, the machine's remaining CPU or memory is smaller than the spec's, or the supervisor
   *     is closed; nothing changes then
   */
  public Path launch(WorkerSpec spec) {
    Worker worker;
    synchronized (lock) {
      requireOpen();
      if (workers.containsKey(spec.workerId())) {
        throw new IllegalStateException("worker " + spec.workerId() + " already runs here");
      }
      if (workers.size() >= TuboLimits.MAX_WORKERS) {
        throw new IllegalStateException(workers.size() + " workers run, the limit is "
            + TuboLimits.MAX_WORKERS + "; cannot launch " + spec.workerId());
      }
      MachineResources machine = config.resources();
      if (allocatedMillicores + spec.cpuMillicores() > machine.cpuMillicores()) {
        throw new IllegalStateException("worker " + spec.workerId() + " asks for "
            + spec.cpuMillicores() + " millicores; " + (machine.cpuMillicores()
            - allocatedMillicores) + " of the machine's " + machine.cpuMillicores() + " are free");
      }
      if (allocatedMemoryMib + spec.memoryMib() > machine.memoryMib()) {
        throw new IllegalStateException("worker " + spec.workerId() + " asks for "
            + spec.memoryMib() + " MiB; " + (machine.memoryMib() - allocatedMemoryMib)
            + " MiB of the machine's " + machine.memoryMib() + " are free");
      }
      worker = new Worker(spec, new Sandbox(config.sandboxRoot().resolve(spec.workerId())),
          nextLaunchSequence++, false);
      workers.put(spec.workerId(), worker);
      allocatedMillicores += spec.cpuMillicores();
      allocatedMemoryMib += spec.memoryMib();
    }
    janitor.forget(spec.workerId());
    Process process;
    try {
      worker.sandbox.recreate();
      worker.sandbox.writeSpec(spec, worker.launchSequence);
      List<Path> procsFiles;
      synchronized (worker.groupLock) {
        procsFiles = driver.createWorkerGroup(
            spec.workerClass(), spec.workerId(), spec.cpuMillicores(), spec.memoryMib());
      }
      process = processBuilder(spec, worker.sandbox, procsFiles).start();
    } catch (IOException | RuntimeException e) {
      log.warn("cannot launch worker {}: {}", spec.workerId(), e.toString());
      synchronized (lock) {
        worker.launchFailure = truncate(e.getMessage() == null ? e.toString() : e.getMessage());
      }
      supervision.execute(() -> handleExit(worker));
      return worker.sandbox.dir();
    }
    String pendingKill;
    synchronized (lock) {
      worker.process = process;
      worker.handle = process.toHandle();
      pendingKill = worker.killReason;
    }
    try {
      worker.sandbox.writePid(process.pid(), startMillis(process.toHandle()));
    } catch (IOException e) {
      // Without its pid on disk a restarted Tubo could not adopt it: better not to run it.
      log.warn("cannot record the pid of worker {}: {}", spec.workerId(), e.toString());
      synchronized (lock) {
        worker.launchFailure = truncate("cannot record the worker's pid: " + e.getMessage());
      }
      pendingKill = "launch failed";
    }
    log.info("launched worker {} of {} ({}, {} millicores, {} MiB) as pid {}", spec.workerId(),
        spec.applicationId(), spec.workerClass(), spec.cpuMillicores(), spec.memoryMib(),
        process.pid());
    process.onExit().thenRunAsync(() -> handleExit(worker), supervision);
    if (pendingKill != null) {
      killProcesses(worker);
    }
    return worker.sandbox.dir();
  }

  private ProcessBuilder processBuilder(WorkerSpec spec, Sandbox sandbox, List<Path> procsFiles) {
    ProcessBuilder builder = new ProcessBuilder(
        LaunchWrapper.command(sandbox.launchErrorFile(), procsFiles, spec.command()))
        .directory(sandbox.dir().toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectOutput(sandbox.stdout().toFile())
        .redirectError(sandbox.stderr().toFile());
    Map<String, String> env = builder.environment();
    env.clear();
    env.put("PATH", config.defaultPath());
    env.putAll(spec.environment());
    env.put("HOME", sandbox.dir().toString());
    env.put("TUBO_WORKER_ID", spec.applicationWorkerId());
    env.put("TUBO_APPLICATION_ID", spec.applicationId());
    env.put("TUBO_SANDBOX", sandbox.dir().toString());
    return builder;
  }

  /**
   * Kills a worker: every process in its cgroup (unenforced: its process tree), then reports it
   * as {@link ExitCause.KilledByRequest} with {@code reason}. Returns once the processes are
   * gone. A worker still being launched is killed as soon as it has started. Killing a worker
   * already being killed keeps the first reason.
   *
   * @return whether the worker was known (running or being launched)
   */
  public boolean kill(String workerId, String reason) {
    Worker worker;
    synchronized (lock) {
      worker = workers.get(workerId);
      if (worker == null) {
        return false;
      }
      if (worker.killReason == null) {
        worker.killReason = truncate(reason == null ? "killed" : reason);
      }
      if (worker.handle == null) {
        return true;
      }
    }
    killProcesses(worker);
    return true;
  }

  /** Kills every worker; see {@link #kill}. Returns how many were known. */
  public int killAll(String reason) {
    List<String> ids;
    synchronized (lock) {
      ids = new ArrayList<>(workers.keySet());
    }
    int killed = 0;
    for (String id : ids) {
      if (kill(id, reason)) {
        killed++;
      }
    }
    return killed;
  }

  /**
   * Frees memory for services by killing batch workers, youngest first, until the workers killed
   * held at least {@code mibToFree}; called by the agent's loop when the machine runs short.
   *
   * <p>The rule: only {@link WorkerClass#BATCH} workers are evicted, never services. Youngest
   * (largest launch sequence) first, because a young worker has done the least work, and a batch
   * task is rerun from its start elsewhere; evicting the largest first would kill fewer workers
   * but throw away the most progress, and would starve big tasks under repeated pressure. What a
   * worker holds is its cgroup's current memory usage (its grant when unenforced or unreadable).
   * Each is reported as {@link ExitCause.KilledByRequest} with an "evicted" reason.
   *
   * @return the ids of the workers evicted, in order; fewer than needed if batch work ran out
   */
  public List<String> evictBatchUntilFree(long mibToFree) {
    if (mibToFree <= 0) {
      return List.of();
    }
    List<Worker> candidates = new ArrayList<>();
    synchronized (lock) {
      for (Worker worker : workers.values()) {
        if (worker.spec.workerClass() == WorkerClass.BATCH && worker.handle != null
            && worker.killReason == null) {
          candidates.add(worker);
        }
      }
    }
    candidates.sort(Comparator.comparingLong((Worker w) -> w.launchSequence).reversed());
    long freedBytes = 0;
    List<String> evicted = new ArrayList<>();
    for (Worker worker : candidates) {
      if (freedBytes >= mibToFree * MIB) {
        break;
      }
      long held = worker.spec.memoryMib() * MIB;
      if (driver.enforcement() != Enforcement.UNENFORCED) {
        try {
          long used = driver.usage(worker.spec.workerClass(), worker.spec.workerId())
              .memoryBytes();
          if (used > 0) {
            held = used;
          }
        } catch (IOException e) {
          log.debug("cannot read the memory of worker {}", worker.spec.workerId(), e);
        }
      }
      if (kill(worker.spec.workerId(), "evicted: the machine needs " + mibToFree
          + " MiB of memory for services")) {
        evicted.add(worker.spec.workerId());
        freedBytes += held;
      }
    }
    if (!evicted.isEmpty()) {
      log.warn("evicted batch workers {} to free {} MiB", evicted, mibToFree);
    }
    return evicted;
  }

  /**
   * The workers running now (started or adopted, not yet reported gone), youngest last: for the
   * agent's heartbeat and for rebuilding the master's state after a failover.
   */
  public List<RunningWorker> running() {
    List<RunningWorker> running = new ArrayList<>();
    synchronized (lock) {
      for (Worker worker : workers.values()) {
        if (worker.handle != null && !worker.endedUnseen) {
          running.add(new RunningWorker(worker.spec, worker.handle.pid(), worker.sandbox.dir(),
              worker.launchSequence, worker.adopted));
        }
      }
    }
    running.sort(Comparator.comparingLong(RunningWorker::launchSequence));
    return running;
  }

  /** What a running worker's cgroup has used; empty if no such worker runs. */
  public Optional<GroupUsage> usage(String workerId) throws IOException {
    Worker worker;
    synchronized (lock) {
      worker = workers.get(workerId);
    }
    if (worker == null) {
      return Optional.empty();
    }
    synchronized (worker.groupLock) {
      return Optional.of(driver.usage(worker.spec.workerClass(), workerId));
    }
  }

  /** Deletes the finished sandboxes past their retention; the agent's loop calls it now and then. */
  public void cleanUpSandboxes() {
    for (Path dir : janitor.expired()) {
      try {
        Sandbox.deleteRecursively(dir);
        log.debug("deleted sandbox {}", dir);
      } catch (IOException e) {
        log.warn("cannot delete sandbox {}: {}", dir, e.toString());
      }
    }
  }

  /**
   * Stops supervising: no more launches, exits are no longer handled or reported. Running workers
   * keep running, for the next Tubo to adopt; call {@link #killAll} first to end them. Returns
   * once no kill under way holds a worker's cgroup frozen (a few seconds at most), so that the
   * process may end right after; kills still running then go on without freezing.
   */
  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
    }
    supervision.shutdownNow();
    if (!driver.stopFreezing()) {
      log.error("a worker cgroup is still frozen by a kill after {}; if this process ends now,"
          + " the next Tubo thaws it", CgroupDrivers.STOP_FREEZING_WAIT);
    }
    notifier.shutdown();
    try {
      notifier.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** For tests and decommissioning: removes Tubo's cgroups if no worker group is left. */
  public boolean removeTuboCgroups() throws IOException {
    return driver.removeTuboGroups();
  }

  // ---------------------------------------------------------------------------------------------

  private void killProcesses(Worker worker) {
    ProcessHandle handle;
    synchronized (lock) {
      handle = worker.handle;
    }
    synchronized (worker.groupLock) {
      if (driver.enforcement() != Enforcement.UNENFORCED) {
        try {
          driver.killAll(worker.spec.workerClass(), worker.spec.workerId());
        } catch (IOException e) {
          log.error("cannot kill the cgroup of worker {}: {}", worker.spec.workerId(),
              e.toString());
        }
      }
      if (handle != null) {
        killTree(handle);
      }
    }
  }

  /**
   * Kills a process and the descendants it has now, and waits (at most {@link
   * CgroupDrivers#KILL_TIMEOUT}) until they are gone. The descendants go first, since once the
   * parent is gone its children are re-parented and can no longer be found from it; a process
   * that forks between the look and the kill is found by the next round. One that detached
   * (double fork, setsid) escapes: only a cgroup holds on to it.
   */
  private static void killTree(ProcessHandle root) {
    List<ProcessHandle> killed = new ArrayList<>();
    for (int round = 0; round < KILL_TREE_ROUNDS_MAX; round++) {
      List<ProcessHandle> descendants = root.descendants().toList();
      if (descendants.isEmpty()) {
        break;
      }
      descendants.forEach(ProcessHandle::destroyForcibly);
      killed.addAll(descendants);
    }
    root.destroyForcibly();
    killed.add(root);
    long deadline = System.nanoTime() + CgroupDrivers.KILL_TIMEOUT.toNanos();
    for (ProcessHandle handle : killed) {
      while (!isGone(handle) && System.nanoTime() < deadline) {
        try {
          TimeUnit.MILLISECONDS.sleep(5);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /** Ended: no longer alive, or a zombie (which the JDK still calls alive) waiting for its reaper. */
  private static boolean isGone(ProcessHandle handle) {
    if (!handle.isAlive()) {
      return true;
    }
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(handle.pid()), "stat"));
      // The state follows the command name, which is in parentheses and may contain spaces.
      int close = stat.lastIndexOf(')');
      return close > 0 && close + 2 < stat.length() && stat.charAt(close + 2) == 'Z';
    } catch (IOException e) {
      return true;
    }
  }

  /** Runs on the supervision thread once a worker's main process is gone (or never was). */
  private void handleExit(Worker worker) {
    WorkerSpec spec = worker.spec;
    ExitCause cause;
    synchronized (worker.groupLock) {
      cause = decideCause(worker);
      try {
        // Children may outlive the main process; they go with the group.
        driver.killAll(spec.workerClass(), spec.workerId());
        driver.removeWorkerGroup(spec.workerClass(), spec.workerId());
      } catch (IOException e) {
        log.error("cannot clean up the cgroup of worker {}: {}", spec.workerId(), e.toString());
      }
    }
    try {
      if (Files.isDirectory(worker.sandbox.dir())) {
        worker.sandbox.writeExit(cause);
      }
    } catch (IOException e) {
      log.warn("cannot record the exit of worker {}: {}", spec.workerId(), e.toString());
    }
    synchronized (lock) {
      workers.remove(spec.workerId());
      allocatedMillicores -= spec.cpuMillicores();
      allocatedMemoryMib -= spec.memoryMib();
    }
    log.info("worker {} of {} is gone: {}", spec.workerId(), spec.applicationId(), cause);
    janitor.finished(spec.workerId(), worker.sandbox.dir());
    cleanUpSandboxes();
    WorkerExit exit = new WorkerExit(spec, cause, worker.sandbox.dir());
    notifier.execute(() -> {
      try {
        listener.onExit(exit);
      } catch (RuntimeException e) {
        log.error("the exit listener failed on {}", exit, e);
      }
    });
  }

  private ExitCause decideCause(Worker worker) {
    Process process;
    String killReason;
    String launchFailure;
    boolean started;
    boolean endedUnseen;
    synchronized (lock) {
      process = worker.process;
      killReason = worker.killReason;
      launchFailure = worker.launchFailure;
      started = worker.handle != null;
      endedUnseen = worker.endedUnseen;
    }
    if (!started && !endedUnseen) {
      return new ExitCause.LaunchFailed(launchFailure == null ? "not started" : launchFailure);
    }
    if (killReason != null && launchFailure == null) {
      return new ExitCause.KilledByRequest(killReason);
    }
    if (launchFailure != null) {
      return new ExitCause.LaunchFailed(launchFailure);
    }
    try {
      Optional<String> wrapperError = worker.sandbox.launchError();
      if (wrapperError.isPresent()) {
        return new ExitCause.LaunchFailed(truncate(wrapperError.get()));
      }
    } catch (IOException e) {
      log.debug("cannot read the launch error of worker {}", worker.spec.workerId(), e);
    }
    OptionalInt status = process == null ? OptionalInt.empty() : OptionalInt.of(process.exitValue());
    if (driver.enforcement() != Enforcement.UNENFORCED && status.orElse(-1) != 0) {
      long oomKills = oomKills(worker);
      if (oomKills == 0 && status.orElse(-1) == STATUS_SIGKILL) {
        long deadline = System.nanoTime() + OOM_EVENT_GRACE_MILLIS * 1_000_000L;
        while (oomKills == 0 && System.nanoTime() < deadline) {
          try {
            TimeUnit.MILLISECONDS.sleep(10);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            break;
          }
          oomKills = oomKills(worker);
        }
      }
      if (oomKills > 0) {
        return new ExitCause.KilledForMemory(worker.spec.memoryMib());
      }
    }
    if (status.isEmpty()) {
      return new ExitCause.Unobserved();
    }
    int code = status.getAsInt();
    return code > 128 ? new ExitCause.KilledBySignal(code - 128) : new ExitCause.Exited(code);
  }

  private long oomKills(Worker worker) {
    try {
      return driver.usage(worker.spec.workerClass(), worker.spec.workerId()).oomKills();
    } catch (IOException e) {
      log.debug("cannot read the memory events of worker {}", worker.spec.workerId(), e);
      return 0;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Recovery after a Tubo restart.

  private void recover() throws IOException {
    // Before the workers are looked at: a frozen process looks alive and would be adopted, and
    // would hang on, holding its memory, while Tubo thinks it runs.
    for (String workerId : driver.thawLeftFrozen()) {
      log.warn("thawed the cgroup of worker {}, left frozen by a Tubo stopped while killing it",
          workerId);
    }
    List<Worker> endedUnseen = new ArrayList<>();
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(config.sandboxRoot())) {
      for (Path dir : dirs) {
        if (!Files.isDirectory(dir)) {
          continue;
        }
        Sandbox sandbox = new Sandbox(dir);
        Optional<Sandbox.Recorded> read = sandbox.read();
        if (read.isEmpty()) {
          continue;
        }
        Sandbox.Recorded recorded = read.get();
        WorkerSpec spec = recorded.spec();
        if (!spec.workerId().equals(dir.getFileName().toString())) {
          continue;
        }
        synchronized (lock) {
          nextLaunchSequence = Math.max(nextLaunchSequence, recorded.launchSequence() + 1);
        }
        if (recorded.finished()) {
          janitor.finished(spec.workerId(), dir);
          continue;
        }
        Optional<ProcessHandle> alive = aliveMainProcess(recorded);
        Worker worker = new Worker(spec, sandbox, recorded.launchSequence(), alive.isPresent());
        synchronized (lock) {
          workers.put(spec.workerId(), worker);
          allocatedMillicores += spec.cpuMillicores();
          allocatedMemoryMib += spec.memoryMib();
          if (alive.isPresent()) {
            worker.handle = alive.get();
          } else if (recorded.pid().isEmpty()) {
            worker.launchFailure = "Tubo restarted while launching the worker";
            worker.endedUnseen = true;
          } else {
            worker.endedUnseen = true;
          }
        }
        if (alive.isPresent()) {
          log.info("adopted worker {} of {} (pid {})", spec.workerId(), spec.applicationId(),
              alive.get().pid());
          alive.get().onExit().thenRunAsync(() -> handleExit(worker), supervision);
        } else {
          endedUnseen.add(worker);
        }
      }
    }
    synchronized (lock) {
      if (allocatedMillicores > config.resources().cpuMillicores()
          || allocatedMemoryMib > config.resources().memoryMib()) {
        log.warn("adopted workers hold {} millicores and {} MiB, more than the {} configured now",
            allocatedMillicores, allocatedMemoryMib, config.resources());
      }
    }
    for (Worker worker : endedUnseen) {
      supervision.execute(() -> handleExit(worker));
    }
    removeOrphanGroups();
  }

  /**
   * The worker's main process if it still runs: the recorded pid is alive, started when the
   * record says (a reused pid did not), and, when enforced, sits in the worker's cgroup.
   */
  private Optional<ProcessHandle> aliveMainProcess(Sandbox.Recorded recorded) throws IOException {
    if (recorded.pid().isEmpty()) {
      return Optional.empty();
    }
    long pid = recorded.pid().getAsLong();
    // A zombie is dead too: it waits for init to reap it now that its parent Tubo is gone.
    Optional<ProcessHandle> handle = ProcessHandle.of(pid).filter(h -> !isGone(h));
    if (handle.isEmpty()) {
      return Optional.empty();
    }
    OptionalLong startedNow = startMillis(handle.get());
    if (recorded.pidStartMillis().isPresent() && startedNow.isPresent()
        && Math.abs(recorded.pidStartMillis().getAsLong() - startedNow.getAsLong())
            > START_TIME_TOLERANCE_MILLIS) {
      return Optional.empty();
    }
    if (driver.enforcement() != Enforcement.UNENFORCED) {
      WorkerSpec spec = recorded.spec();
      if (!driver.pids(spec.workerClass(), spec.workerId()).contains(pid)) {
        return Optional.empty();
      }
    }
    return handle;
  }

  /** Groups under Tubo's parent that belong to no worker known now are emptied and removed. */
  private void removeOrphanGroups() throws IOException {
    for (Map.Entry<WorkerClass, List<String>> entry : driver.listWorkerGroups().entrySet()) {
      for (String workerId : entry.getValue()) {
        synchronized (lock) {
          if (workers.containsKey(workerId)) {
            continue;
          }
        }
        log.warn("removing the cgroup of unknown worker {} ({})", workerId, entry.getKey());
        driver.killAll(entry.getKey(), workerId);
        driver.removeWorkerGroup(entry.getKey(), workerId);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  private static OptionalLong startMillis(ProcessHandle handle) {
    Optional<Instant> start = handle.info().startInstant();
    return start.isPresent() ? OptionalLong.of(start.get().toEpochMilli()) : OptionalLong.empty();
  }

  private void requireOpen() {
    if (closed) {
      throw new IllegalStateException("the worker supervisor is closed");
    }
  }

  private static String truncate(String reason) {
    return reason.length() <= TuboLimits.MAX_REASON_CHARS
        ? reason
        : reason.substring(0, TuboLimits.MAX_REASON_CHARS);
  }

  private static ThreadFactory daemon(String name) {
    return runnable -> {
      Thread thread = new Thread(runnable, name);
      thread.setDaemon(true);
      return thread;
    };
  }
}
