package org.apsara.fuxi.tubo.agent;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apsara.fuxi.api.FuxiNames;
import org.apsara.fuxi.api.v1.LaunchAppMaster;
import org.apsara.fuxi.api.v1.MachineGrant;
import org.apsara.fuxi.api.v1.Resources;
import org.apsara.fuxi.api.v1.TuboHeartbeatResponse;
import org.apsara.fuxi.api.v1.WorkerExit;
import org.apsara.fuxi.tubo.ExitCause;
import org.apsara.fuxi.tubo.RunningWorker;
import org.apsara.fuxi.tubo.TuboLimits;
import org.apsara.fuxi.tubo.WorkerClass;
import org.apsara.fuxi.tubo.WorkerSpec;
import org.apsara.fuxi.tubo.WorkerSupervisor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's core: the workers of this machine held to the master's grant table. It applies
 * heartbeat answers (the grant table, application-master launches, ended applications), admits
 * worker starts within the table, and turns the supervisor's exit reports into sequenced exits for
 * the master.
 *
 * <h2>Rules</h2>
 *
 * <ul>
 *   <li>Workers run under machine-wide ids {@link WorkerSpec#machineWorkerId} (application id,
 *       dot, the application's worker id), since two applications may use the same worker id.
 *   <li>A start of (application, role) is admitted while fewer of its workers run than the table
 *       grants; the worker gets the grant's shape and class. A start the table does not cover
 *       triggers one heartbeat at once and is checked again before it is refused.
 *   <li>For an enforceable table ({@link GrantTable#enforceable}), running workers of an
 *       (application, role) above its count are killed newest first with reason {@value
 *       #REVOKED}; an (application, role) absent from the table counts as granted 0.
 *   <li>An application-master launch is idempotent: a worker id already launched here (running or
 *       ended) is not launched again.
 * </ul>
 *
 * <h2>Threading</h2>
 *
 * Thread-safe. Admission decisions, launches and table changes are serialised by one lock, so a
 * start and a table change never interleave; kills run on the {@code killer} executor, outside
 * it (a kill waits for the processes to be gone). Exit reports arrive on the supervisor's
 * notifier thread.
 */
final class TuboAgent {
  /** The reserved role of an application master, as the master defines it. */
  static final String APP_MASTER_ROLE = FuxiNames.APP_MASTER_ROLE;
  /** Roles an AM may not start workers of: the master reserves them. */
  static final String RESERVED_ROLE_PREFIX = FuxiNames.RESERVED_ROLE_PREFIX;
  /** The kill reason of a worker the grant table no longer covers. */
  static final String REVOKED = "revoked";
  /** The kill reason of a worker of an application the master says has ended. */
  static final String APPLICATION_ENDED = "application ended";

  private static final Logger LOG = LoggerFactory.getLogger(TuboAgent.class);

  private final String machineId;
  private final PendingExits exits;
  private final TuboMetrics metrics;
  private final ExecutorService killer;

  private final Object lock = new Object();
  // Guarded by lock:
  private WorkerSupervisor supervisor;
  private Supplier<CompletableFuture<Void>> heartbeatNow;
  private GrantTable table = GrantTable.UNKNOWN;
  /** Machine worker ids being killed by this agent: no longer counted against their grant. */
  private final Set<String> killing = new HashSet<>();
  private final Map<String, String> workerEnvironment;
  /** "application/worker id" of the AM launches seen, oldest first (bounded). */
  private final Map<String, Boolean> appMasterLaunches = new LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
      return size() > AgentLimits.REMEMBERED_AM_LAUNCHES_MAX;
    }
  };

  /**
   * @param workerEnvironment added to every worker's environment (over what the application
   *     asked for): what this machine tells all workers, such as the cluster's CA certificate
   */
  TuboAgent(String machineId, Map<String, String> workerEnvironment, PendingExits exits,
      TuboMetrics metrics, ExecutorService killer) {
    this.machineId = Objects.requireNonNull(machineId, "machineId");
    this.workerEnvironment = Map.copyOf(workerEnvironment);
    this.exits = Objects.requireNonNull(exits, "exits");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.killer = Objects.requireNonNull(killer, "killer");
  }

  /**
   * Connects the supervisor (whose exit listener is {@link #onExit}) and the trigger of an
   * immediate heartbeat; call once, before any other method but {@link #onExit}. The AMs the
   * supervisor adopted count as launched.
   */
  void attach(WorkerSupervisor workerSupervisor,
      Supplier<CompletableFuture<Void>> heartbeatTrigger) {
    synchronized (lock) {
      supervisor = Objects.requireNonNull(workerSupervisor, "workerSupervisor");
      heartbeatNow = Objects.requireNonNull(heartbeatTrigger, "heartbeatTrigger");
      for (RunningWorker worker : supervisor.running()) {
        if (worker.spec().role().equals(APP_MASTER_ROLE)) {
          appMasterLaunches.put(launchKey(worker.spec().applicationId(),
              worker.spec().applicationWorkerId()), Boolean.TRUE);
        }
      }
    }
  }

  /** The workers running now, oldest first. */
  List<RunningWorker> running() {
    return supervisor().running();
  }

  /** The exits not yet acknowledged. */
  PendingExits exits() {
    return exits;
  }

  /** The grant table last received. */
  GrantTable table() {
    synchronized (lock) {
      return table;
    }
  }

  // -----------------------------------------------------------------------------------------
  // Heartbeat answers.

  /**
   * Applies a heartbeat answer: forgets the acknowledged exits, takes the grant table and
   * enforces it unless the master is rebuilding, stops the workers of ended applications, and
   * launches the application masters asked for.
   */
  void apply(TuboHeartbeatResponse answer) {
    exits.acknowledge(answer.getAcknowledgedExitSequence());
    List<RunningWorker> revoked = new ArrayList<>();
    List<RunningWorker> ended = new ArrayList<>();
    synchronized (lock) {
      table = GrantTable.of(answer.getGrantsList(), answer.getRebuilding());
      if (table.enforceable()) {
        revoked.addAll(beyondGrants());
      }
      Set<String> endedApplications = Set.copyOf(answer.getKillApplicationsList());
      if (!endedApplications.isEmpty()) {
        for (RunningWorker worker : supervisor.running()) {
          if (endedApplications.contains(worker.spec().applicationId())
              && !killing.contains(worker.workerId())) {
            ended.add(worker);
          }
        }
      }
      revoked.forEach(w -> killing.add(w.workerId()));
      ended.forEach(w -> killing.add(w.workerId()));
    }
    for (RunningWorker worker : revoked) {
      LOG.info("killing worker {} of {} (role {}): {} units granted here are fewer than the"
          + " workers running", worker.spec().applicationWorkerId(),
          worker.spec().applicationId(), worker.spec().role(),
          table().count(worker.spec().applicationId(), worker.spec().role()));
      metrics.workerRevoked();
      kill(worker.workerId(), REVOKED);
    }
    for (RunningWorker worker : ended) {
      LOG.info("killing worker {} of ended application {}", worker.spec().applicationWorkerId(),
          worker.spec().applicationId());
      kill(worker.workerId(), APPLICATION_ENDED);
    }
    for (LaunchAppMaster launch : answer.getLaunchAppMastersList()) {
      launchAppMaster(launch);
    }
  }

  /** Running workers above their (application, role)'s count, newest first within each. */
  private List<RunningWorker> beyondGrants() {
    Map<GrantTable.Key, List<RunningWorker>> byRole = new LinkedHashMap<>();
    for (RunningWorker worker : supervisor.running()) {
      if (!killing.contains(worker.workerId())) {
        byRole.computeIfAbsent(new GrantTable.Key(worker.spec().applicationId(),
            worker.spec().role()), k -> new ArrayList<>()).add(worker);
      }
    }
    List<RunningWorker> beyond = new ArrayList<>();
    for (Map.Entry<GrantTable.Key, List<RunningWorker>> entry : byRole.entrySet()) {
      int granted = table.count(entry.getKey().applicationId(), entry.getKey().role());
      List<RunningWorker> workers = entry.getValue();
      if (workers.size() > granted) {
        workers.sort(Comparator.comparingLong(RunningWorker::launchSequence).reversed());
        beyond.addAll(workers.subList(0, workers.size() - granted));
      }
    }
    return beyond;
  }

  private void kill(String machineWorkerId, String reason) {
    killer.execute(() -> {
      try {
        supervisor().kill(machineWorkerId, reason);
      } catch (RuntimeException e) {
        LOG.error("cannot kill worker {}", machineWorkerId, e);
      }
    });
  }

  private void launchAppMaster(LaunchAppMaster launch) {
    String applicationId = launch.getApplicationId();
    String workerId = launch.getWorkerId();
    synchronized (lock) {
      String key = launchKey(applicationId, workerId);
      if (appMasterLaunches.containsKey(key)) {
        return; // running or ended: the master repeats a launch until it sees the AM
      }
      appMasterLaunches.put(key, Boolean.TRUE);
      WorkerSpec spec;
      try {
        String id = WorkerSpec.machineWorkerId(applicationId, workerId);
        if (isRunning(id)) {
          return;
        }
        spec = new WorkerSpec(id, applicationId, APP_MASTER_ROLE, launch.getCommandList(),
            withMachineEnvironment(launch.getEnvironmentMap()), workerClass(launch.getWorkerClass()),
            cpuMillicores(launch.getResources()), launch.getResources().getMemoryMib());
      } catch (IllegalArgumentException e) {
        launchFailed(applicationId, APP_MASTER_ROLE, workerId, e.getMessage());
        return;
      }
      try {
        supervisor.launch(spec);
        metrics.appMasterLaunched();
        LOG.info("launched application master {} of {}", workerId, applicationId);
      } catch (IllegalStateException e) {
        launchFailed(applicationId, APP_MASTER_ROLE, workerId, e.getMessage());
      }
    }
  }

  /** Reports a launch refused before any process ran, as the supervisor would report one. */
  private void launchFailed(String applicationId, String role, String workerId, String why) {
    LOG.warn("cannot launch worker {} of {}: {}", workerId, applicationId, why);
    WorkerExit exit = WorkerExit.newBuilder()
        .setApplicationId(applicationId)
        .setRole(role)
        .setWorkerId(workerId)
        .setMachineId(machineId)
        .setKind(WorkerExit.Kind.LAUNCH_FAILED)
        .setDetail(truncate(why))
        .build();
    metrics.workerExited(exit.getKind().name());
    exits.add(exit);
  }

  private static String launchKey(String applicationId, String workerId) {
    return applicationId + "/" + workerId;
  }

  // -----------------------------------------------------------------------------------------
  // Exits.

  /** The supervisor's exit listener: queues the exit for the master. */
  void onExit(org.apsara.fuxi.tubo.WorkerExit exit) {
    WorkerSpec spec = exit.spec();
    WorkerExit.Builder report = WorkerExit.newBuilder()
        .setApplicationId(spec.applicationId())
        .setRole(spec.role())
        .setWorkerId(spec.applicationWorkerId())
        .setMachineId(machineId);
    ExitCause cause = exit.cause();
    if (cause instanceof ExitCause.Exited exited) {
      report.setKind(WorkerExit.Kind.EXITED).setExitCode(exited.code());
    } else if (cause instanceof ExitCause.KilledForMemory memory) {
      report.setKind(WorkerExit.Kind.KILLED_FOR_MEMORY)
          .setDetail("went above its memory limit of " + memory.memoryLimitMib() + " MiB");
    } else if (cause instanceof ExitCause.KilledByRequest request) {
      report.setKind(WorkerExit.Kind.KILLED_BY_REQUEST).setDetail(request.reason());
    } else if (cause instanceof ExitCause.KilledBySignal signal) {
      report.setKind(WorkerExit.Kind.KILLED_BY_SIGNAL).setSignal(signal.signal());
    } else if (cause instanceof ExitCause.LaunchFailed failed) {
      report.setKind(WorkerExit.Kind.LAUNCH_FAILED).setDetail(failed.message());
    } else {
      report.setKind(WorkerExit.Kind.UNOBSERVED)
          .setDetail("ended while no Tubo watched it; its exit status is unknown");
    }
    long sequence = exits.add(report.build());
    synchronized (lock) {
      killing.remove(spec.workerId());
    }
    metrics.workerExited(report.getKind().name());
    LOG.debug("exit {} of worker {}: {}", sequence, spec.workerId(), cause);
  }

  // -----------------------------------------------------------------------------------------
  // The Tubo service's operations (the token is already checked).

  /**
   * Starts a worker of (application, role) within the grant table, heartbeating once at once if
   * the table does not cover it yet.
   *
   * @param waitNanosMax how long the extra heartbeat may be waited for (the call's deadline)
   * @return the worker's sandbox
   * @throws StatusRuntimeException the refusal, with its error code
   */
  Path start(String applicationId, String role, String workerId, List<String> command,
      Map<String, String> environment, long waitNanosMax) {
    if (role.startsWith(RESERVED_ROLE_PREFIX)) {
      throw TuboErrors.invalidArgument("role '" + role + "' is reserved: roles starting with '"
          + RESERVED_ROLE_PREFIX + "' are the master's own");
    }
    String id = machineWorkerId(applicationId, workerId);
    requireId(role, "role");
    Admission first = admit(id, applicationId, role, command, environment);
    if (first.sandbox != null) {
      return first.sandbox;
    }
    // The AM may have heard of its grant before this Tubo did: ask the master now.
    long waitNanos = Math.min(waitNanosMax, AgentLimits.GRANT_RECHECK_WAIT.toNanos());
    try {
      heartbeatTrigger().get().get(waitNanos, TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw Status.CANCELLED.withDescription("interrupted").asRuntimeException();
    } catch (ExecutionException | TimeoutException e) {
      LOG.debug("the heartbeat for the start of {} did not complete: {}", id, e.toString());
    }
    Admission second = admit(id, applicationId, role, command, environment);
    if (second.sandbox != null) {
      return second.sandbox;
    }
    if (second.rebuilding) {
      throw TuboErrors.error(Status.Code.UNAVAILABLE, TuboErrors.REBUILDING, "the master is"
          + " rebuilding its state and has not confirmed a unit of role " + role + " of "
          + applicationId + " on machine " + machineId + "; retry shortly");
    }
    throw TuboErrors.error(Status.Code.FAILED_PRECONDITION, TuboErrors.NOT_GRANTED,
        "application " + applicationId + " holds " + second.granted + " units of role " + role
            + " on machine " + machineId + " and " + second.running
            + " of its workers run here; worker " + workerId + " would be one more");
  }

  private Map<String, String> withMachineEnvironment(Map<String, String> asked) {
    if (workerEnvironment.isEmpty()) {
      return asked;
    }
    Map<String, String> environment = new LinkedHashMap<>(asked);
    environment.putAll(workerEnvironment);
    return environment;
  }

  /** What one admission attempt found: a sandbox if it launched, else why not. */
  private record Admission(Path sandbox, int granted, int running, boolean rebuilding) {}

  private Admission admit(String id, String applicationId, String role, List<String> command,
      Map<String, String> environment) {
    synchronized (lock) {
      List<RunningWorker> running = supervisor.running();
      int ofRole = 0;
      for (RunningWorker worker : running) {
        if (worker.workerId().equals(id)) {
          throw TuboErrors.error(Status.Code.ALREADY_EXISTS, TuboErrors.WORKER_EXISTS,
              "worker " + worker.spec().applicationWorkerId() + " of " + applicationId
                  + " already runs on machine " + machineId);
        }
        if (worker.spec().applicationId().equals(applicationId)
            && worker.spec().role().equals(role) && !killing.contains(worker.workerId())) {
          ofRole++;
        }
      }
      MachineGrant grant = table.grant(applicationId, role).orElse(null);
      if (grant == null || ofRole >= grant.getCount()) {
        return new Admission(null, grant == null ? 0 : grant.getCount(), ofRole,
            table.rebuilding() || !table.known());
      }
      WorkerSpec spec;
      try {
        spec = new WorkerSpec(id, applicationId, role, command, withMachineEnvironment(environment),
            workerClass(grant.getWorkerClass()), cpuMillicores(grant.getShape()),
            grant.getShape().getMemoryMib());
      } catch (IllegalArgumentException e) {
        throw TuboErrors.invalidArgument(e.getMessage());
      }
      Path sandbox;
      try {
        sandbox = supervisor.launch(spec);
      } catch (IllegalStateException e) {
        // The grant covers it but the machine cannot: adopted workers hold more than the
        // capacity configured now, or the supervisor's worker limit is reached.
        throw TuboErrors.error(Status.Code.RESOURCE_EXHAUSTED, TuboErrors.TOO_MANY,
            e.getMessage());
      }
      metrics.workerStarted();
      LOG.info("started worker {} of {} (role {})", id, applicationId, role);
      return new Admission(sandbox, grant.getCount(), ofRole + 1, false);
    }
  }

  /**
   * Stops a worker of the application.
   *
   * @return whether it ran (false: it had already ended, or never ran here)
   */
  boolean stop(String applicationId, String workerId, String reason) {
    String id = machineWorkerId(applicationId, workerId);
    synchronized (lock) {
      if (!isRunning(id)) {
        return false;
      }
      killing.add(id);
    }
    return supervisor().kill(id, reason.isEmpty() ? "stopped by the application master"
        : truncate(reason));
  }

  /** The application's running workers, oldest first. */
  List<RunningWorker> list(String applicationId) {
    return supervisor().running().stream()
        .filter(w -> w.spec().applicationId().equals(applicationId))
        .toList();
  }

  // -----------------------------------------------------------------------------------------

  private boolean isRunning(String id) {
    for (RunningWorker worker : supervisor.running()) {
      if (worker.workerId().equals(id)) {
        return true;
      }
    }
    return false;
  }

  private WorkerSupervisor supervisor() {
    synchronized (lock) {
      if (supervisor == null) {
        throw new IllegalStateException("the agent is not attached to a supervisor yet");
      }
      return supervisor;
    }
  }

  private Supplier<CompletableFuture<Void>> heartbeatTrigger() {
    synchronized (lock) {
      return heartbeatNow;
    }
  }

  static String machineWorkerId(String applicationId, String workerId) {
    try {
      return WorkerSpec.machineWorkerId(applicationId, workerId);
    } catch (IllegalArgumentException | NullPointerException e) {
      throw TuboErrors.invalidArgument(e.getMessage());
    }
  }

  private static void requireId(String value, String field) {
    if (!TuboLimits.ID_PATTERN.matcher(value).matches()) {
      throw TuboErrors.invalidArgument(field + " '" + value + "' does not match "
          + TuboLimits.ID_PATTERN.pattern());
    }
  }

  /** The supervisor's class for the contract's; unspecified is batch, the cheaper guess. */
  static WorkerClass workerClass(org.apsara.fuxi.api.v1.WorkerClass workerClass) {
    return workerClass == org.apsara.fuxi.api.v1.WorkerClass.LATENCY_SENSITIVE
        ? WorkerClass.LATENCY_SENSITIVE : WorkerClass.BATCH;
  }

  static org.apsara.fuxi.api.v1.WorkerClass workerClass(WorkerClass workerClass) {
    return workerClass == WorkerClass.LATENCY_SENSITIVE
        ? org.apsara.fuxi.api.v1.WorkerClass.LATENCY_SENSITIVE
        : org.apsara.fuxi.api.v1.WorkerClass.BATCH;
  }

  /** The shape's CPU as the supervisor takes it; out of its range fails the spec's check. */
  private static int cpuMillicores(Resources shape) {
    long cpu = shape.getCpuMillis();
    return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, cpu));
  }

  /** A running worker as the contract reports it. */
  static org.apsara.fuxi.api.v1.RunningWorker toProto(RunningWorker worker) {
    WorkerSpec spec = worker.spec();
    return org.apsara.fuxi.api.v1.RunningWorker.newBuilder()
        .setApplicationId(spec.applicationId())
        .setRole(spec.role())
        .setWorkerId(spec.applicationWorkerId())
        .setResources(Resources.newBuilder()
            .setCpuMillis(spec.cpuMillicores())
            .setMemoryMib(spec.memoryMib()))
        .setWorkerClass(workerClass(spec.workerClass()))
        .build();
  }

  private static String truncate(String text) {
    String value = text == null ? "" : text;
    return value.length() <= TuboLimits.MAX_REASON_CHARS
        ? value : value.substring(0, TuboLimits.MAX_REASON_CHARS);
  }
}
