package org.apsara.fuxi.master.server;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apsara.common.net.HostPort;
import org.apsara.common.time.MonotonicClock;
import org.apsara.fuxi.api.AppMasterEnvironment;
import org.apsara.fuxi.api.FuxiNames;
import org.apsara.fuxi.api.v1.AllocateRequest;
import org.apsara.fuxi.api.v1.AllocateResponse;
import org.apsara.fuxi.api.v1.ApplicationStatus;
import org.apsara.fuxi.api.v1.ChangeError;
import org.apsara.fuxi.api.v1.LaunchAppMaster;
import org.apsara.fuxi.api.v1.ListApplicationsResponse;
import org.apsara.fuxi.api.v1.ListNodesResponse;
import org.apsara.fuxi.api.v1.DeleteQuotaGroupRequest;
import org.apsara.fuxi.api.v1.DeleteQuotaGroupResponse;
import org.apsara.fuxi.api.v1.ListQuotaGroupsResponse;
import org.apsara.fuxi.api.v1.MachineGrant;
import org.apsara.fuxi.api.v1.NodeStatus;
import org.apsara.fuxi.api.v1.QuotaGroupStatus;
import org.apsara.fuxi.api.v1.RoleDefinition;
import org.apsara.fuxi.api.v1.RoleStatus;
import org.apsara.fuxi.api.v1.RunningWorker;
import org.apsara.fuxi.api.v1.SequencedExit;
import org.apsara.fuxi.api.v1.SetQuotaGroupRequest;
import org.apsara.fuxi.api.v1.SubmitApplicationRequest;
import org.apsara.fuxi.api.v1.TuboHeartbeatRequest;
import org.apsara.fuxi.api.v1.TuboHeartbeatResponse;
import org.apsara.fuxi.api.v1.WorkerClass;
import org.apsara.fuxi.api.v1.WorkerExit;
import org.apsara.fuxi.master.scheduler.Decision;
import org.apsara.fuxi.master.scheduler.Location;
import org.apsara.fuxi.master.scheduler.QuotaGroupSpec;
import org.apsara.fuxi.master.scheduler.Reports.ApplicationReport;
import org.apsara.fuxi.master.scheduler.Reports.HeldUnits;
import org.apsara.fuxi.master.scheduler.Reports.MachineReport;
import org.apsara.fuxi.master.scheduler.Reports.PendingDemand;
import org.apsara.fuxi.master.scheduler.Reports.RoleReport;
import org.apsara.fuxi.master.scheduler.Resources;
import org.apsara.fuxi.master.scheduler.RevokeReason;
import org.apsara.fuxi.master.scheduler.Scheduler;
import org.apsara.fuxi.master.scheduler.SchedulerException;
import org.apsara.fuxi.master.scheduler.SchedulerLimits;
import org.apsara.fuxi.master.scheduler.SchedulerStats;
import org.apsara.fuxi.master.server.HardStateStore.DeposedException;
import org.apsara.fuxi.master.server.HardStateStore.StoredApplication;
import org.apsara.nuwa.client.NuwaException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The primary's state and its one thread: the {@link Scheduler}, the applications (hard state
 * mirrored from Nuwa), the machines (soft state from Tubo heartbeats), and the AM streams. gRPC
 * handlers and timers hand events to the scheduler thread with {@link #submit}; every field below
 * is touched only there, so the single-threaded Scheduler needs no lock, and every outbound AM
 * stream message is sent from that thread, in order.
 *
 * <p>Modes: STANDBY (not elected; every call answers NOT_PRIMARY), REBUILDING (elected; hard state
 * loaded; Tubo heartbeats and AM Hellos with sync are collected for {@code rebuild.window}, calls
 * answer REBUILDING, heartbeats answer rebuilding=true), SERVING.
 *
 * <p>Decisions of the scheduler go to the AM streams (grants with the Tubo address, revocations)
 * and into each machine's grant table mirror, which every heartbeat response carries whole. The
 * AM's own unit (role {@value #AM_ROLE}) is handled here: its grant launches the AM on that
 * machine's Tubo, its loss restarts the AM.
 *
 * <p>Finished applications are kept for {@code applications.finished.retention} and at most
 * {@code applications.finished.max} of them ({@link FinishedApplicationRetention}); the timer
 * purges the rest from Nuwa and then from memory, a bounded batch per tick.
 */
final class FuxiMasterCore implements AutoCloseable {
  /** The reserved role of every application's AM unit; AM-chosen roles may not use the prefix. */
  static final String AM_ROLE = FuxiNames.APP_MASTER_ROLE;
  static final String RESERVED_ROLE_PREFIX = FuxiNames.RESERVED_ROLE_PREFIX;
  static final String DEFAULT_QUOTA_GROUP = "default";
  /** The default group's maximum: the most a cluster within SchedulerLimits can have. */
  static final Resources UNLIMITED = new Resources(
      SchedulerLimits.MAX_MACHINE_CPU_MILLIS * SchedulerLimits.MAX_MACHINES,
      SchedulerLimits.MAX_MACHINE_MEMORY_MIB * SchedulerLimits.MAX_MACHINES);
  static final String DEFAULT_RACK = "default-rack";
  /** Longest wait for the scheduler thread to stop serving before the candidacy is resigned. */
  static final Duration STEP_DOWN_WAIT = Duration.ofSeconds(10);
  static final String TOKEN_OPERATION = "worker";
  static final String TOKEN_RESOURCE_PREFIX = "fuxi/application/";
  /** How long the purge of finished applications waits after Nuwa failed to take one. */
  static final Duration PURGE_RETRY_WAIT = Duration.ofSeconds(1);

  private static final Logger LOG = LoggerFactory.getLogger(FuxiMasterCore.class);

  enum Mode { STANDBY, REBUILDING, SERVING }

  /** Issues and checks application tokens; thread-safe. */
  interface Tokens {
    String issue(String applicationId);

    /** Whether {@code token} is a valid worker token of {@code applicationId}. */
    boolean verify(String token, String applicationId);
  }

  private record RoleInfo(Resources shape, int priority, WorkerClass workerClass) {}

  /** One AM's Allocate stream. */
  final class AmStream {
    final StreamObserver<AllocateResponse> out;
    String appId;
    int attempt;
    boolean welcomed;
    boolean ended;
    final List<AllocateRequest> beforeWelcome = new ArrayList<>();

    AmStream(StreamObserver<AllocateResponse> out) {
      this.out = out;
    }

    void send(AllocateResponse response) {
      if (!ended) {
        try {
          out.onNext(response);
        } catch (RuntimeException e) {
          ended = true;
        }
      }
    }

    void fail(StatusRuntimeException e) {
      if (!ended) {
        ended = true;
        try {
          out.onError(e);
        } catch (RuntimeException ignored) {
          // The call is already closed.
        }
      }
    }

    void complete() {
      if (!ended) {
        ended = true;
        try {
          out.onCompleted();
        } catch (RuntimeException ignored) {
          // The call is already closed.
        }
      }
    }
  }

  private static final class App {
    final SubmitApplicationRequest request;
    ApplicationStatus status;
    final Map<String, RoleInfo> roles = new LinkedHashMap<>();
    final Map<String, Map<String, Integer>> heldByRole = new LinkedHashMap<>();
    AmStream stream;
    /** An AM of this app may hold units this primary does not know of: it must sync first. */
    boolean needsSync;
    AllocateRequest.Sync sync;
    final ArrayDeque<AllocateResponse> undelivered = new ArrayDeque<>();
    long nextRenewNanos;

    App(SubmitApplicationRequest request, ApplicationStatus status) {
      this.request = request;
      this.status = status;
    }

    String id() {
      return status.getApplicationId();
    }

    boolean ended() {
      return isTerminal(status.getState());
    }

    String amWorkerId() {
      return "am-" + status.getAmAttempt();
    }
  }

  private static final class Machine {
    final String id;
    String rack;
    String address;
    Resources capacity;
    String enforcement = "";
    boolean alive;
    boolean inScheduler;
    long lastHeartbeatNanos;
    List<RunningWorker> running = List.of();
    long ackedExitSequence;
    /** (application, role) -> units granted here: the grant table Tubo enforces. */
    final Map<String, Map<String, Integer>> granted = new LinkedHashMap<>();
    final Map<String, LaunchAppMaster> launches = new LinkedHashMap<>();

    Machine(String id) {
      this.id = id;
    }
  }

  private final FuxiMasterConfig config;
  private final MonotonicClock clock;
  /** Submit and finish times: stored, so they must mean the same to the next primary. */
  private final Clock wallClock;
  private final HardStateStore store;
  private final Tokens tokens;
  private volatile String mastersEnv = "";
  private final Supplier<Optional<String>> primaryAddress;
  private final ThreadPoolExecutor loop;
  private final ScheduledExecutorService timer;

  // Everything below: scheduler thread only.
  private Mode mode = Mode.STANDBY;
  private long term;
  private CompletableFuture<Void> deposed = new CompletableFuture<>();
  private Scheduler scheduler;
  private final Map<String, App> apps = new LinkedHashMap<>();
  private final Map<String, String> requestIds = new LinkedHashMap<>();
  private final Map<String, QuotaGroupStatus> groups = new LinkedHashMap<>();
  /** Groups whose minimum did not fit the cluster yet; defined when machines join. */
  private final Set<String> deferredGroups = new LinkedHashSet<>();
  private final Map<String, Machine> machines = new LinkedHashMap<>();
  private final FinishedApplicationRetention retention;
  private long nextPurgeNanos;
  private long nextApplicationNumber = 1;
  private long rebuildDeadlineNanos;
  private volatile Mode publishedMode = Mode.STANDBY;
  private volatile SchedulerStats publishedStats;

  FuxiMasterCore(FuxiMasterConfig config, MonotonicClock clock, Clock wallClock,
      HardStateStore store, Tokens tokens, Supplier<Optional<String>> primaryAddress) {
    this.config = config;
    this.clock = clock;
    this.wallClock = wallClock;
    this.retention = new FinishedApplicationRetention(config.finishedApplicationsMax(),
        config.finishedApplicationsRetention());
    this.store = store;
    this.tokens = tokens;
    this.primaryAddress = primaryAddress;
    this.loop = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
        new ArrayBlockingQueue<>(FuxiMasterLimits.MAX_QUEUED_EVENTS),
        r -> daemon(r, "fuxi-master-scheduler"));
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "fuxi-master-timer"));
    long tickMillis = config.tickInterval().toMillis();
    timer.scheduleWithFixedDelay(() -> {
      if (loop.getQueue().isEmpty()) { // a busy loop skips ticks rather than queueing them
        tryExecute(this::onTimer);
      }
    }, tickMillis, tickMillis, TimeUnit.MILLISECONDS);
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** Every member's address, for the AMs' FUXI_MASTERS; set once the port is bound. */
  void setMasters(List<HostPort> masters) {
    this.mastersEnv = masters.stream().map(HostPort::toString).collect(Collectors.joining(","));
  }

  // ------------------------------------------------------------------ threading

  /** Runs {@code task} on the scheduler thread; a full queue fails it with TOO_MANY. */
  void submit(Runnable task, Consumer<StatusRuntimeException> onRejected) {
    try {
      loop.execute(() -> {
        try {
          task.run();
        } catch (RuntimeException e) {
          LOG.atError().setCause(e).log("scheduler thread task failed");
        }
      });
    } catch (RejectedExecutionException e) {
      onRejected.accept(FuxiErrors.tooMany("the scheduler thread has MAX_QUEUED_EVENTS="
          + FuxiMasterLimits.MAX_QUEUED_EVENTS + " events waiting"));
    }
  }

  /** Answers a unary call from the scheduler thread with {@code body}'s result or error. */
  <T> void call(StreamObserver<T> response, Supplier<T> body) {
    submit(() -> {
      T result;
      try {
        result = body.get();
      } catch (StatusRuntimeException e) {
        response.onError(e);
        return;
      } catch (SchedulerException e) {
        response.onError(FuxiErrors.fromScheduler(e));
        return;
      } catch (DeposedException e) {
        stepDown(e);
        response.onError(FuxiErrors.notPrimary(primaryAddress.get()));
        return;
      } catch (NuwaException e) {
        response.onError(FuxiErrors.error(Status.Code.UNAVAILABLE, "UNAVAILABLE",
            "Nuwa could not store the change: " + e.getMessage()));
        return;
      } catch (RuntimeException e) {
        LOG.atError().setCause(e).log("call failed");
        response.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
        return;
      }
      response.onNext(result);
      response.onCompleted();
    }, response::onError);
  }

  private void tryExecute(Runnable task) {
    try {
      loop.execute(task);
    } catch (RejectedExecutionException e) {
      // Shutting down, or the queue is full: the next timer run tries again.
    }
  }

  Mode mode() {
    return publishedMode;
  }

  Optional<SchedulerStats> stats() {
    return Optional.ofNullable(publishedStats);
  }

  @Override
  public void close() {
    timer.shutdownNow();
    tryExecute(() -> becomeStandbyNow("the master is closing"));
    loop.shutdown();
    try {
      loop.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    loop.shutdownNow();
  }

  // ------------------------------------------------------------------ leadership

  /**
   * This member was elected: load hard state and start the rebuild window. Returns a future that
   * completes when this term ends by a failed guarded write (another member leads).
   */
  CompletableFuture<Void> becomePrimary(ByteString electionKey, long electionRevision) {
    CompletableFuture<Void> result = new CompletableFuture<>();
    CompletableFuture<Void> loaded = new CompletableFuture<>();
    tryExecute(() -> {
      try {
        becomeStandbyNow("a new term starts");
        term++;
        deposed = result;
        store.guard(electionKey, electionRevision);
        loadHardState();
        mode = Mode.REBUILDING;
        publishedMode = mode;
        rebuildDeadlineNanos = clock.nanos() + config.rebuildWindow().toNanos();
        boolean anyLive = apps.values().stream().anyMatch(a -> !a.ended());
        LOG.atInfo().addKeyValue("applications", apps.size()).addKeyValue("live", anyLive)
            .log("elected FuxiMaster primary; rebuilding");
        if (!anyLive) {
          // Nothing can be running for an application: no soft state to collect.
          finishRebuild();
        }
        loaded.complete(null);
      } catch (DeposedException e) {
        stepDown(e);
        loaded.complete(null);
      } catch (RuntimeException e) {
        LOG.atWarn().setCause(e).log("taking office failed");
        becomeStandbyNow("taking office failed");
        result.complete(null);
        loaded.complete(null);
      }
    });
    loaded.join();
    return result;
  }

  /**
   * This member no longer leads: stop serving, and wait (even if interrupted, at most {@link
   * #STEP_DOWN_WAIT}) until the scheduler thread has done so, since the caller resigns next.
   */
  void becomeStandby(String why) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    tryExecute(() -> {
      becomeStandbyNow(why);
      done.complete(null);
    });
    boolean interrupted = false;
    long deadline = System.nanoTime() + STEP_DOWN_WAIT.toNanos();
    while (!done.isDone() && !loop.isTerminated() && System.nanoTime() < deadline) {
      try {
        done.get(10, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        interrupted = true;
      } catch (Exception e) {
        // Timed out this round; check again.
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private void stepDown(DeposedException e) {
    LOG.atWarn().setCause(e).log("deposed");
    becomeStandbyNow("deposed: " + e.getMessage());
  }

  private void becomeStandbyNow(String why) {
    if (mode != Mode.STANDBY) {
      LOG.atInfo().addKeyValue("reason", why).log("FuxiMaster primary steps down");
    }
    for (App app : apps.values()) {
      if (app.stream != null) {
        app.stream.fail(FuxiErrors.notPrimary(primaryAddress.get()));
      }
    }
    mode = Mode.STANDBY;
    publishedMode = mode;
    publishedStats = null;
    apps.clear();
    requestIds.clear();
    groups.clear();
    deferredGroups.clear();
    machines.clear();
    retention.clear();
    scheduler = null;
    deposed.complete(null);
  }

  private void loadHardState() {
    HardStateStore.Loaded loaded = store.load();
    scheduler = new Scheduler(clock, config.scheduler());
    for (QuotaGroupStatus g : loaded.quotaGroups()) {
      groups.put(g.getName(), g);
    }
    if (!groups.containsKey(DEFAULT_QUOTA_GROUP)) {
      QuotaGroupStatus g = QuotaGroupStatus.newBuilder().setName(DEFAULT_QUOTA_GROUP)
          .setMin(toProto(Resources.ZERO)).setMax(toProto(UNLIMITED)).build();
      store.putQuotaGroup(g);
      groups.put(DEFAULT_QUOTA_GROUP, g);
    }
    for (StoredApplication s : loaded.applications().values()) {
      App app = new App(s.request(), s.status());
      apps.put(app.id(), app);
      // Only an AM that ran under the previous primary can hold units this one does not know.
      app.needsSync = s.status().getState() == ApplicationStatus.State.RUNNING;
      if (app.ended()) {
        retention.add(app.id(), app.status.getFinishTimeMillis());
      }
    }
    requestIds.putAll(loaded.requestIds());
    nextApplicationNumber = loaded.nextApplicationNumber();
  }

  // ------------------------------------------------------------------ timer

  private void onTimer() {
    try {
      if (mode == Mode.REBUILDING) {
        if (clock.nanos() >= rebuildDeadlineNanos) {
          finishRebuild();
        }
        return;
      }
      if (mode != Mode.SERVING) {
        return;
      }
      route(scheduler.tick(), null);
      long now = clock.nanos();
      long deadNanos = config.deadInterval().toNanos();
      for (Machine m : new ArrayList<>(machines.values())) {
        if (m.alive && now - m.lastHeartbeatNanos > deadNanos) {
          declareDead(m);
        }
      }
      for (App app : apps.values()) {
        if (app.stream != null && app.stream.welcomed && now >= app.nextRenewNanos) {
          renewToken(app);
        }
      }
      publishedStats = scheduler.stats();
      if (now >= nextPurgeNanos) {
        purgeFinishedApplications();
      }
    } catch (DeposedException e) {
      stepDown(e);
    } catch (RuntimeException e) {
      LOG.atError().setCause(e).log("timer work failed");
    }
  }

  /**
   * Purges the finished applications {@link FinishedApplicationRetention#due} names, at most
   * {@link HardStateStore#PURGE_BATCH_MAX} in one guarded Nuwa transaction: from Nuwa first, then
   * from memory, so that a failed write leaves them in both and the next attempt (after {@link
   * #PURGE_RETRY_WAIT}) tries again, and a new primary never loads a purged one. It runs on the
   * scheduler thread like every other hard-state write: one transaction of deletes costs what a
   * submit costs, and the timer queues a tick only when no call waits, so a backlog (after an
   * upgrade, or a lowered limit) is worked off one batch per idle tick. Primary only (SERVING).
   */
  void purgeFinishedApplications() {
    if (mode != Mode.SERVING) {
      return;
    }
    List<String> due = retention.due(wallClock.millis(), HardStateStore.PURGE_BATCH_MAX);
    if (due.isEmpty()) {
      return;
    }
    List<StoredApplication> purged = new ArrayList<>(due.size());
    for (String id : due) {
      App app = apps.get(id);
      if (app == null || !app.ended()) {
        throw new IllegalStateException("the retention index names application " + id
            + (app == null ? ", which is not loaded" : ", which is " + app.status.getState()));
      }
      purged.add(new StoredApplication(app.request, app.status));
    }
    try {
      store.purgeApplications(purged);
    } catch (NuwaException e) {
      nextPurgeNanos = clock.nanos() + PURGE_RETRY_WAIT.toNanos();
      LOG.atWarn().setCause(e).addKeyValue("applications", due.size())
          .log("Nuwa could not purge finished applications; retrying later");
      return;
    }
    for (String id : due) {
      App app = apps.remove(id);
      requestIds.remove(app.request.getRequestId(), id);
      retention.remove(id);
    }
    LOG.atInfo().addKeyValue("applications", due.size()).addKeyValue("first", due.get(0))
        .addKeyValue("kept", retention.size()).log("purged finished applications");
  }

  private void declareDead(Machine m) {
    LOG.atWarn().addKeyValue("machine", m.id).log("Tubo missed heartbeats; machine is dead");
    m.alive = false;
    m.launches.clear();
    if (m.inScheduler) {
      m.inScheduler = false;
      route(scheduler.removeMachine(m.id), null);
    }
    m.granted.clear();
  }

  private void renewToken(App app) {
    app.stream.send(AllocateResponse.newBuilder().setRenewedToken(tokens.issue(app.id())).build());
    app.nextRenewNanos = clock.nanos() + config.tokenRenewInterval().toNanos();
  }

  // ------------------------------------------------------------------ rebuild

  private void finishRebuild() {
    List<QuotaGroupSpec> specs = new ArrayList<>();
    long cpu = 0;
    long mem = 0;
    for (Machine m : machines.values()) {
      cpu += m.capacity.cpuMillis();
      mem += m.capacity.memoryMiB();
    }
    Resources cluster = new Resources(cpu, mem);
    for (QuotaGroupStatus g : groups.values()) {
      Resources min = fromProto(g.getMin());
      if (min.fitsIn(cluster)) {
        specs.add(new QuotaGroupSpec(g.getName(), min, fromProto(g.getMax())));
      } else {
        deferredGroups.add(g.getName());
      }
    }
    List<MachineReport> machineReports = new ArrayList<>();
    for (Machine m : machines.values()) {
      machineReports.add(new MachineReport(m.id, m.rack, m.capacity, heldOnMachine(m)));
    }
    List<ApplicationReport> appReports = new ArrayList<>();
    for (App app : apps.values()) {
      if (!app.ended() && !deferredGroups.contains(app.status.getQuotaGroup())) {
        appReports.add(appReport(app));
      }
    }
    List<Decision> decisions;
    try {
      decisions = scheduler.rebuild(specs, machineReports, appReports);
    } catch (SchedulerException e) {
      // A report the scheduler cannot accept (a machine running more than its capacity, say)
      // must not keep the cluster without a primary: start from the AMs' own units only.
      LOG.atWarn().setCause(e).log("rebuild from reports refused; keeping only AM units");
      scheduler = new Scheduler(clock, config.scheduler());
      List<MachineReport> bare = new ArrayList<>();
      for (Machine m : machines.values()) {
        bare.add(new MachineReport(m.id, m.rack, m.capacity, List.of()));
      }
      List<ApplicationReport> amOnly = new ArrayList<>();
      for (App app : apps.values()) {
        if (!app.ended() && !deferredGroups.contains(app.status.getQuotaGroup())) {
          app.sync = null;
          amOnly.add(appReport(app));
        }
      }
      decisions = scheduler.rebuild(specs, bare, amOnly);
    }
    for (Machine m : machines.values()) {
      m.inScheduler = true;
      m.alive = true;
      m.granted.clear();
    }
    for (MachineReport r : scheduler.machineReports()) {
      Machine m = machines.get(r.machineId());
      for (HeldUnits h : r.held()) {
        m.granted.computeIfAbsent(h.appId(), k -> new LinkedHashMap<>()).put(h.role(), h.count());
        App app = apps.get(h.appId());
        if (app != null) {
          app.heldByRole.computeIfAbsent(h.role(), k -> new LinkedHashMap<>())
              .put(m.id, h.count());
        }
      }
    }
    for (App app : apps.values()) {
      if (app.sync != null) {
        app.needsSync = false;
      }
    }
    mode = Mode.SERVING;
    publishedMode = mode;
    LOG.atInfo().addKeyValue("machines", machines.size())
        .addKeyValue("applications", appReports.size()).log("rebuilt; serving");
    route(decisions, null);
    for (App app : apps.values()) {
      app.sync = null;
      AmStream s = app.stream;
      if (s != null && !s.welcomed) {
        if (app.needsSync) {
          app.stream = null;
          s.send(welcome(true));
          s.complete();
        } else {
          welcome(app, s);
          List<AllocateRequest> buffered = new ArrayList<>(s.beforeWelcome);
          s.beforeWelcome.clear();
          for (AllocateRequest r : buffered) {
            onAllocateRequest(s, r);
          }
        }
      }
    }
    publishedStats = scheduler.stats();
  }

  /** What a machine runs, as units per (application, role) of live applications. */
  private List<HeldUnits> heldOnMachine(Machine m) {
    Map<String, Map<String, Integer>> counts = new LinkedHashMap<>();
    for (RunningWorker w : m.running) {
      App app = apps.get(w.getApplicationId());
      if (app == null || app.ended()) {
        continue;
      }
      if (w.getRole().equals(AM_ROLE)
          && (!w.getWorkerId().equals(app.amWorkerId())
              || !m.id.equals(app.status.getAmMachineId()))) {
        continue; // only the current attempt's AM holds the AM unit
      }
      counts.computeIfAbsent(w.getApplicationId(), k -> new LinkedHashMap<>())
          .merge(w.getRole(), 1, Integer::sum);
    }
    List<HeldUnits> held = new ArrayList<>();
    counts.forEach((app, roles) -> roles.forEach((role, n) -> held.add(new HeldUnits(app, role, n))));
    return held;
  }

  private ApplicationReport appReport(App app) {
    List<RoleReport> roles = new ArrayList<>();
    app.roles.clear();
    RoleInfo am = amRole(app);
    app.roles.put(AM_ROLE, am);
    boolean running = app.status.getState() == ApplicationStatus.State.RUNNING
        && !app.status.getAmMachineId().isEmpty();
    roles.add(new RoleReport(AM_ROLE, am.shape(), am.priority(),
        running ? Map.of(app.status.getAmMachineId(), 1) : Map.of(),
        running ? List.of() : List.of(new PendingDemand(Location.cluster(), 1))));
    if (app.sync != null) {
      Map<String, Map<String, Integer>> held = new LinkedHashMap<>();
      for (AllocateRequest.Held h : app.sync.getHeldList()) {
        held.computeIfAbsent(h.getRole(), k -> new LinkedHashMap<>())
            .merge(h.getMachineId(), h.getCount(), Integer::sum);
      }
      Map<String, List<PendingDemand>> pending = new LinkedHashMap<>();
      for (org.apsara.fuxi.api.v1.Request p : app.sync.getPendingList()) {
        pending.computeIfAbsent(p.getRole(), k -> new ArrayList<>())
            .add(new PendingDemand(toLocation(p.getLocation()), p.getCount()));
      }
      for (RoleDefinition d : app.sync.getRolesList()) {
        RoleInfo info = new RoleInfo(fromProto(d.getShape()), d.getPriority(),
            workerClass(d.getWorkerClass()));
        app.roles.put(d.getRole(), info);
        roles.add(new RoleReport(d.getRole(), info.shape(), info.priority(),
            held.getOrDefault(d.getRole(), Map.of()),
            pending.getOrDefault(d.getRole(), List.of())));
      }
    } else if (running) {
      // The AM has not synced within the window (it may still be looking for this primary):
      // keep the units its workers run, as the machines report them, at the lowest priority
      // until its sync names the roles. Revoking them would kill running work for a late AM.
      roles.addAll(rolesFromRunningWorkers(app));
    }
    return new ApplicationReport(app.id(), app.status.getQuotaGroup(), roles);
  }

  /** The roles an application's workers run on the machines, their shapes from those workers. */
  private List<RoleReport> rolesFromRunningWorkers(App app) {
    Map<String, Map<String, Integer>> held = new LinkedHashMap<>();
    Map<String, RunningWorker> sample = new LinkedHashMap<>();
    for (Machine m : machines.values()) {
      for (RunningWorker w : m.running) {
        if (w.getApplicationId().equals(app.id()) && !w.getRole().equals(AM_ROLE)) {
          held.computeIfAbsent(w.getRole(), k -> new LinkedHashMap<>())
              .merge(m.id, 1, Integer::sum);
          sample.putIfAbsent(w.getRole(), w);
        }
      }
    }
    List<RoleReport> roles = new ArrayList<>();
    sample.forEach((role, w) -> {
      RoleInfo info = new RoleInfo(fromProto(w.getResources()), SchedulerLimits.MIN_PRIORITY,
          workerClass(w.getWorkerClass()));
      app.roles.put(role, info);
      roles.add(new RoleReport(role, info.shape(), info.priority(), held.get(role), List.of()));
    });
    return roles;
  }

  private RoleInfo amRole(App app) {
    return new RoleInfo(fromProto(app.request.getAmResources()), SchedulerLimits.MAX_PRIORITY,
        workerClass(app.request.getAmClass()));
  }

  // ------------------------------------------------------------------ routing decisions

  /**
   * Applies decisions to the grant-table mirrors and sends them to the AMs, one Decisions message
   * per application; {@code extraErrors} are added to that application's message. Handles the AM
   * units' grants (launch) and losses (restart) after the others.
   */
  private void route(List<Decision> decisions, String silencedApp) {
    route(decisions, silencedApp, null, List.of());
  }

  private void route(List<Decision> decisions, String silencedApp, App errorsFor,
      List<ChangeError> errors) {
    Map<String, AllocateResponse.Decisions.Builder> outbox = new LinkedHashMap<>();
    List<Decision.Grant> amGrants = new ArrayList<>();
    List<App> amLost = new ArrayList<>();
    for (Decision d : decisions) {
      Machine m = machines.get(d.machineId());
      App app = apps.get(d.appId());
      int delta = d instanceof Decision.Grant ? d.count() : -d.count();
      if (m != null) {
        adjust(m.granted, d.appId(), d.role(), delta);
      }
      if (app != null) {
        adjust(app.heldByRole, d.role(), d.machineId(), delta);
      }
      if (app == null || app.ended() || d.appId().equals(silencedApp)) {
        continue;
      }
      if (d.role().equals(AM_ROLE)) {
        if (d instanceof Decision.Grant g) {
          amGrants.add(g);
        } else if (!amLost.contains(app)) {
          amLost.add(app);
        }
        continue;
      }
      AllocateResponse.Decisions.Builder b =
          outbox.computeIfAbsent(d.appId(), k -> AllocateResponse.Decisions.newBuilder());
      if (d instanceof Decision.Grant g) {
        b.addGrants(org.apsara.fuxi.api.v1.Grant.newBuilder().setRole(g.role())
            .setMachineId(g.machineId()).setTuboAddress(m == null ? "" : m.address)
            .setCount(g.count()));
      } else if (d instanceof Decision.Revoke r) {
        b.addRevocations(org.apsara.fuxi.api.v1.Revoke.newBuilder().setRole(r.role())
            .setMachineId(r.machineId()).setCount(r.count()).setReason(toProto(r.reason())));
      }
    }
    if (errorsFor != null && !errors.isEmpty()) {
      outbox.computeIfAbsent(errorsFor.id(), k -> AllocateResponse.Decisions.newBuilder())
          .addAllErrors(errors);
    }
    outbox.forEach((appId, b) ->
        deliver(apps.get(appId), AllocateResponse.newBuilder().setDecisions(b).build()));
    for (Decision.Grant g : amGrants) {
      launchAppMaster(apps.get(g.appId()), machines.get(g.machineId()));
    }
    for (App app : amLost) {
      if (!app.ended()) {
        amEnded(app, "the application master's machine was lost");
      }
    }
  }

  private static void adjust(Map<String, Map<String, Integer>> table, String outer, String inner,
      int delta) {
    Map<String, Integer> row = table.computeIfAbsent(outer, k -> new LinkedHashMap<>());
    int n = row.getOrDefault(inner, 0) + delta;
    if (n > 0) {
      row.put(inner, n);
    } else {
      row.remove(inner);
      if (row.isEmpty()) {
        table.remove(outer);
      }
    }
  }

  private void deliver(App app, AllocateResponse message) {
    if (app.stream != null && app.stream.welcomed && !app.stream.ended) {
      app.stream.send(message);
      return;
    }
    if (app.undelivered.size() >= FuxiMasterLimits.MAX_UNDELIVERED_MESSAGES) {
      app.undelivered.pollFirst();
      LOG.atWarn().addKeyValue("application", app.id())
          .log("dropping an undelivered AM message: MAX_UNDELIVERED_MESSAGES reached");
    }
    app.undelivered.addLast(message);
  }

  // ------------------------------------------------------------------ AM lifecycle

  private void launchAppMaster(App app, Machine m) {
    if (m == null) {
      return;
    }
    app.needsSync = false; // this attempt starts under this primary
    app.status = app.status.toBuilder().setState(ApplicationStatus.State.RUNNING)
        .setAmMachineId(m.id).build();
    store.updateStatus(app.status);
    Map<String, String> env = new LinkedHashMap<>(app.request.getAmEnvironmentMap());
    env.put(AppMasterEnvironment.APPLICATION_ID, app.id());
    env.put(AppMasterEnvironment.ATTEMPT, Integer.toString(app.status.getAmAttempt()));
    env.put(AppMasterEnvironment.MASTERS, mastersEnv);
    env.put(AppMasterEnvironment.APPLICATION_TOKEN, tokens.issue(app.id()));
    env.put(AppMasterEnvironment.MACHINE_ID, m.id);
    RoleInfo am = amRole(app);
    m.launches.put(app.id(), LaunchAppMaster.newBuilder().setApplicationId(app.id())
        .setWorkerId(app.amWorkerId()).addAllCommand(app.request.getAmCommandList())
        .putAllEnvironment(env).setResources(toProto(am.shape()))
        .setWorkerClass(am.workerClass()).build());
    LOG.atInfo().addKeyValue("application", app.id()).addKeyValue("attempt",
        app.status.getAmAttempt()).addKeyValue("machine", m.id).log("launching AM");
  }

  /** The current AM ended without Finish: start the next attempt, or fail the application. */
  private void amEnded(App app, String why) {
    int attempt = app.status.getAmAttempt();
    int max = maxAttempts(app.request);
    if (attempt >= max) {
      endApplication(app, ApplicationStatus.State.FAILED,
          "the application master failed " + attempt + " times (max_am_attempts=" + max
              + "); last: " + why);
      return;
    }
    LOG.atInfo().addKeyValue("application", app.id()).addKeyValue("attempt", attempt)
        .addKeyValue("reason", why).log("AM ended; restarting");
    dropFromScheduler(app);
    app.status = app.status.toBuilder().setState(ApplicationStatus.State.SUBMITTED)
        .setAmAttempt(attempt + 1).setAmMachineId("")
        .setDiagnostics("attempt " + attempt + " ended: " + why).build();
    store.updateStatus(app.status);
    if (app.stream != null) {
      app.stream.fail(FuxiErrors.error(Status.Code.FAILED_PRECONDITION, "INVALID_ARGUMENT",
          "attempt " + attempt + " of the application master ended"));
      app.stream = null;
    }
    app.undelivered.clear();
    registerWithAmRequest(app);
  }

  private void dropFromScheduler(App app) {
    for (Machine m : machines.values()) {
      m.launches.remove(app.id(), m.launches.get(app.id()));
    }
    try {
      route(scheduler.unregisterApplication(app.id()), app.id());
    } catch (SchedulerException e) {
      // Not registered (its group was deferred): nothing held.
    }
    app.roles.clear();
    app.heldByRole.clear();
  }

  private void registerWithAmRequest(App app) {
    scheduler.registerApplication(app.id(), app.status.getQuotaGroup());
    RoleInfo am = amRole(app);
    try {
      scheduler.defineRole(app.id(), AM_ROLE, am.shape(), am.priority());
    } catch (SchedulerException e) {
      route(scheduler.unregisterApplication(app.id()), app.id());
      throw e;
    }
    app.roles.put(AM_ROLE, am);
    route(scheduler.request(app.id(), AM_ROLE, Location.cluster(), 1), null);
  }

  private void endApplication(App app, ApplicationStatus.State state, String diagnostics) {
    app.status = app.status.toBuilder().setState(state).setDiagnostics(diagnostics)
        .setFinishTimeMillis(wallClock.millis()).build();
    // Indexed before the write: should it fail, the application has ended here all the same.
    retention.add(app.id(), app.status.getFinishTimeMillis());
    store.updateStatus(app.status);
    LOG.atInfo().addKeyValue("application", app.id()).addKeyValue("state", state)
        .addKeyValue("diagnostics", diagnostics).log("application ended");
    dropFromScheduler(app);
    app.undelivered.clear();
    if (app.stream != null) {
      app.stream.complete();
      app.stream = null;
    }
  }

  static int maxAttempts(SubmitApplicationRequest r) {
    return r.getMaxAmAttempts() == 0 ? FuxiMasterLimits.DEFAULT_AM_ATTEMPTS : r.getMaxAmAttempts();
  }

  static boolean isTerminal(ApplicationStatus.State s) {
    return s == ApplicationStatus.State.SUCCEEDED || s == ApplicationStatus.State.FAILED
        || s == ApplicationStatus.State.KILLED;
  }

  // ------------------------------------------------------------------ client calls

  private void requireServing() {
    switch (mode) {
      case STANDBY -> throw FuxiErrors.notPrimary(primaryAddress.get());
      case REBUILDING -> throw FuxiErrors.rebuilding();
      case SERVING -> { }
    }
  }

  String submit(SubmitApplicationRequest r) {
    requireServing();
    requireBytes("request_id", r.getRequestId(), FuxiMasterLimits.MAX_REQUEST_ID_BYTES, true);
    if (r.getRequestId().contains("/")) {
      throw FuxiErrors.invalid("request_id must not contain '/'");
    }
    String existing = requestIds.get(r.getRequestId());
    if (existing != null) {
      App earlier = apps.get(existing);
      if (earlier != null && !earlier.status.getTenant().equals(r.getTenant())) {
        // Request ids are the clients' own (random) choice: a match across tenants is no retry,
        // and answering it would tell one tenant another's application id.
        throw FuxiErrors.invalid("request_id " + r.getRequestId()
            + " was already used by a submit for another tenant");
      }
      return existing;
    }
    requireBytes("name", r.getName(), FuxiMasterLimits.MAX_NAME_BYTES, false);
    requireBytes("tenant", r.getTenant(), FuxiMasterLimits.MAX_NAME_BYTES, false);
    String group = r.getQuotaGroup().isEmpty() ? DEFAULT_QUOTA_GROUP : r.getQuotaGroup();
    if (!groups.containsKey(group)) {
      throw FuxiErrors.error(Status.Code.NOT_FOUND, "UNKNOWN_QUOTA_GROUP",
          "quota_group " + group + " does not exist");
    }
    if (deferredGroups.contains(group)) {
      throw FuxiErrors.error(Status.Code.FAILED_PRECONDITION, "QUOTA_EXCEEDS_CLUSTER",
          "quota_group " + group + " has a minimum larger than the live machines");
    }
    if (r.getAmCommandCount() == 0 || r.getAmCommand(0).isEmpty()) {
      throw FuxiErrors.invalid("am_command must name a program");
    }
    if (r.getAmCommandCount() > FuxiMasterLimits.MAX_AM_COMMAND_ARGS) {
      throw FuxiErrors.invalid("am_command has more than MAX_AM_COMMAND_ARGS="
          + FuxiMasterLimits.MAX_AM_COMMAND_ARGS + " arguments");
    }
    if (r.getAmEnvironmentCount() > FuxiMasterLimits.MAX_AM_ENVIRONMENT_ENTRIES) {
      throw FuxiErrors.invalid("am_environment has more than MAX_AM_ENVIRONMENT_ENTRIES="
          + FuxiMasterLimits.MAX_AM_ENVIRONMENT_ENTRIES + " entries");
    }
    requireShape("am_resources", r.getAmResources());
    QuotaGroupStatus quota = groups.get(group);
    if (r.getAmResources().getCpuMillis() > quota.getMax().getCpuMillis()
        || r.getAmResources().getMemoryMib() > quota.getMax().getMemoryMib()) {
      // It would wait for ever: the group may never hold even the application master.
      throw FuxiErrors.error(Status.Code.FAILED_PRECONDITION, "SHAPE_TOO_LARGE",
          "the application master's unit (" + r.getAmResources().getCpuMillis() + "m, "
              + r.getAmResources().getMemoryMib() + " MiB) is larger than quota group " + group
              + "'s maximum (" + quota.getMax().getCpuMillis() + "m, "
              + quota.getMax().getMemoryMib() + " MiB)");
    }
    if (r.getMaxAmAttempts() < 0 || r.getMaxAmAttempts() > FuxiMasterLimits.MAX_AM_ATTEMPTS) {
      throw FuxiErrors.invalid("max_am_attempts " + r.getMaxAmAttempts() + " is outside 0.."
          + FuxiMasterLimits.MAX_AM_ATTEMPTS);
    }
    String id = applicationId(nextApplicationNumber);
    SubmitApplicationRequest stored = r.toBuilder().setQuotaGroup(group).build();
    ApplicationStatus status = ApplicationStatus.newBuilder().setApplicationId(id)
        .setName(r.getName()).setTenant(r.getTenant()).setQuotaGroup(group)
        .setState(ApplicationStatus.State.SUBMITTED).setAmAttempt(1)
        .setSubmitTimeMillis(wallClock.millis()).build();
    App app = new App(stored, status);
    // Registering first checks the shape against the machines before anything is stored.
    apps.put(id, app);
    try {
      scheduler.registerApplication(id, group);
      RoleInfo am = amRole(app);
      scheduler.defineRole(id, AM_ROLE, am.shape(), am.priority());
      app.roles.put(AM_ROLE, am);
      store.createApplication(stored, status, nextApplicationNumber + 1);
    } catch (RuntimeException e) {
      apps.remove(id);
      try {
        scheduler.unregisterApplication(id);
      } catch (SchedulerException ignored) {
        // It was not registered.
      }
      throw e;
    }
    nextApplicationNumber++;
    requestIds.put(r.getRequestId(), id);
    LOG.atInfo().addKeyValue("application", id).addKeyValue("name", r.getName())
        .log("application submitted");
    route(scheduler.request(id, AM_ROLE, Location.cluster(), 1), null);
    return id;
  }

  /** The id of the {@code number}th application submitted to this cluster. */
  static String applicationId(long number) {
    return String.format("app-%08d", number);
  }

  /**
   * NOT_FOUND for an application this primary does not hold. Ids are handed out in order and only
   * a purge removes an application, so an id below the next one to be given was purged.
   */
  private StatusRuntimeException unknownApplication(String appId) {
    if (appId.startsWith("app-")) {
      try {
        long number = Long.parseLong(appId.substring("app-".length()));
        if (number >= 1 && number < nextApplicationNumber && appId.equals(applicationId(number))) {
          return FuxiErrors.purgedApplication(appId, config.finishedApplicationsMax(),
              config.finishedApplicationsRetention());
        }
      } catch (NumberFormatException e) {
        // Not an id this master made.
      }
    }
    return FuxiErrors.unknownApplication(appId);
  }

  /** One application's status, if {@code check} allows the caller to see it. */
  ApplicationStatus getApplication(String appId, MasterAccess.ApplicationCheck check) {
    requireServing();
    App app = apps.get(appId);
    if (app == null) {
      throw unknownApplication(appId);
    }
    check.require(app.status.getTenant(), appId);
    return view(app);
  }

  /** The applications in {@code states} (all if empty) of the tenants {@code visible} admits. */
  ListApplicationsResponse listApplications(List<ApplicationStatus.State> states,
      Predicate<String> visible) {
    requireServing();
    ListApplicationsResponse.Builder b = ListApplicationsResponse.newBuilder();
    for (App app : apps.values()) {
      if ((states.isEmpty() || states.contains(app.status.getState()))
          && visible.test(app.status.getTenant())) {
        b.addApplications(view(app));
      }
    }
    return b.build();
  }

  /** Kills an application, if {@code check} allows the caller to. */
  ApplicationStatus killApplication(String appId, String reason,
      MasterAccess.ApplicationCheck check) {
    requireServing();
    App app = apps.get(appId);
    if (app == null) {
      throw unknownApplication(appId);
    }
    check.require(app.status.getTenant(), appId);
    if (!app.ended()) {
      endApplication(app, ApplicationStatus.State.KILLED,
          "killed" + (reason.isEmpty() ? "" : ": " + reason));
    }
    return view(app);
  }

  private ApplicationStatus view(App app) {
    ApplicationStatus.Builder b = app.status.toBuilder().clearRoles();
    Resources allocated = Resources.ZERO;
    long pendingTotal = 0;
    if (!app.ended()) {
      for (Map.Entry<String, RoleInfo> e : app.roles.entrySet()) {
        long held = app.heldByRole.getOrDefault(e.getKey(), Map.of()).values().stream()
            .mapToLong(Integer::longValue).sum();
        long pending = 0;
        try {
          pending = scheduler.pendingUnits(app.id(), e.getKey());
        } catch (SchedulerException ignored) {
          // Not in the scheduler (a deferred quota group).
        }
        allocated = allocated.plus(e.getValue().shape().times(held));
        pendingTotal += pending;
        b.addRoles(RoleStatus.newBuilder().setRole(e.getKey())
            .setShape(toProto(e.getValue().shape())).setPriority(e.getValue().priority())
            .setHeldUnits(held).setPendingUnits(pending));
      }
    }
    return b.setAllocated(toProto(allocated)).setPendingUnits(pendingTotal).build();
  }

  ListNodesResponse listNodes() {
    requireServing();
    long now = clock.nanos();
    ListNodesResponse.Builder b = ListNodesResponse.newBuilder();
    for (Machine m : machines.values()) {
      Resources allocated = Resources.ZERO;
      for (Map.Entry<String, Map<String, Integer>> e : m.granted.entrySet()) {
        App app = apps.get(e.getKey());
        for (Map.Entry<String, Integer> r : e.getValue().entrySet()) {
          RoleInfo info = app == null ? null : app.roles.get(r.getKey());
          if (info != null) {
            allocated = allocated.plus(info.shape().times(r.getValue()));
          }
        }
      }
      b.addNodes(NodeStatus.newBuilder().setMachineId(m.id).setRack(m.rack)
          .setAddress(m.address).setState(m.alive ? NodeStatus.State.ALIVE : NodeStatus.State.DEAD)
          .setCapacity(toProto(m.capacity)).setAllocated(toProto(allocated))
          .setRunningWorkers(m.running.size())
          .setLastHeartbeatMillisAgo(Duration.ofNanos(now - m.lastHeartbeatNanos).toMillis())
          .setEnforcement(m.enforcement));
    }
    return b.build();
  }

  /**
   * Creates a quota group or changes an existing one's bounds. Bounds are checked here as the
   * scheduler checks them, so that the scheduler cannot refuse after Nuwa has the new bounds, and
   * the minimums of all groups together must fit in the live machines ({@link
   * #requireMinimumsFit}); a refusal changes nothing, in memory or in Nuwa. The decisions of a
   * change (revocations for a lowered maximum, grants for a raised one) are routed to the AMs and
   * the machines' grant tables like any other.
   */
  QuotaGroupStatus setQuotaGroup(SetQuotaGroupRequest r) {
    requireServing();
    String name = requireGroupName(r.getName());
    Resources min = fromProto(r.getMin());
    Resources max = fromProto(r.getMax());
    QuotaGroupStatus g = QuotaGroupStatus.newBuilder().setName(name).setMin(toProto(min))
        .setMax(toProto(max)).build();
    QuotaGroupStatus existing = groups.get(name);
    if (existing != null
        && existing.getMin().equals(g.getMin()) && existing.getMax().equals(g.getMax())) {
      return groupView(existing);
    }
    if (existing == null && groups.size() >= SchedulerLimits.MAX_QUOTA_GROUPS) {
      throw FuxiErrors.tooMany("already MAX_QUOTA_GROUPS=" + SchedulerLimits.MAX_QUOTA_GROUPS
          + " quota groups");
    }
    if (min.cpuMillis() < 0 || min.memoryMiB() < 0 || max.cpuMillis() < 0
        || max.memoryMiB() < 0 || !min.fitsIn(max)) {
      throw FuxiErrors.invalid("quota group " + name + " needs 0 <= min <= max in cpu and"
          + " memory: min " + min + ", max " + max);
    }
    Resources cluster = Resources.ZERO;
    for (Machine m : machines.values()) {
      if (m.inScheduler) {
        cluster = cluster.plus(m.capacity);
      }
    }
    if (!min.fitsIn(cluster)) {
      throw FuxiErrors.error(Status.Code.FAILED_PRECONDITION, "QUOTA_EXCEEDS_CLUSTER",
          "quota group " + name + " min " + min + " exceeds the live machines' " + cluster);
    }
    requireMinimumsFit(name, min, existing == null ? Resources.ZERO : fromProto(existing.getMin()),
        cluster);
    store.putQuotaGroup(g);
    groups.put(name, g);
    if (existing == null) {
      scheduler.defineQuotaGroup(name, min, max);
    } else if (deferredGroups.contains(name)) {
      // Its new minimum fits the live machines (checked above): the scheduler can have it now.
      defineDeferredGroups();
    } else {
      route(scheduler.updateQuotaGroup(name, min, max), null);
    }
    LOG.atInfo().addKeyValue("group", name).addKeyValue("min", min).addKeyValue("max", max)
        .log(existing == null ? "quota group defined" : "quota group changed");
    return groupView(g);
  }

  /**
   * Refuses a minimum that would take the sum of all groups' minimums (deferred groups included:
   * they keep theirs) above the live machines' capacity in a dimension where this change raises
   * it. A dimension already above capacity (machines left, or a new primary has not heard from
   * them all yet) is not a reason to refuse a change that does not add to it: lowering a minimum,
   * or changing only the maximum, must stay possible, or the overcommitment could not be undone.
   */
  private void requireMinimumsFit(String name, Resources min, Resources oldMin,
      Resources cluster) {
    Resources others = Resources.ZERO;
    for (QuotaGroupStatus other : groups.values()) {
      if (!other.getName().equals(name)) {
        others = others.plus(fromProto(other.getMin()));
      }
    }
    Resources sum = others.plus(min);
    boolean cpuOver = min.cpuMillis() > oldMin.cpuMillis() && sum.cpuMillis() > cluster.cpuMillis();
    boolean memoryOver =
        min.memoryMiB() > oldMin.memoryMiB() && sum.memoryMiB() > cluster.memoryMiB();
    if (cpuOver || memoryOver) {
      String dimensions = cpuOver && memoryOver ? "cpu and memory" : cpuOver ? "cpu" : "memory";
      throw FuxiErrors.error(Status.Code.FAILED_PRECONDITION, "QUOTA_EXCEEDS_CLUSTER",
          "quota group " + name + " min " + min + " would bring the sum of all quota groups'"
              + " minimums to " + sum + ", above the live machines' capacity " + cluster + " in "
              + dimensions + " (the other groups' minimums add up to " + others + ")");
    }
  }

  /**
   * Deletes a quota group that no application still running (or waiting to run) belongs to.
   * Ended applications keep the name in their status; a group of the same name may be created
   * again later.
   */
  DeleteQuotaGroupResponse deleteQuotaGroup(DeleteQuotaGroupRequest r) {
    requireServing();
    String name = requireGroupName(r.getName());
    if (name.equals(DEFAULT_QUOTA_GROUP)) {
      throw FuxiErrors.invalid("the quota group " + DEFAULT_QUOTA_GROUP
          + " cannot be deleted: applications that name no group use it");
    }
    if (!groups.containsKey(name)) {
      throw FuxiErrors.error(Status.Code.NOT_FOUND, "UNKNOWN_QUOTA_GROUP",
          "quota group " + name + " does not exist");
    }
    for (App app : apps.values()) {
      if (!app.ended() && app.status.getQuotaGroup().equals(name)) {
        throw FuxiErrors.error(Status.Code.FAILED_PRECONDITION, "QUOTA_GROUP_IN_USE",
            "quota group " + name + " is in use by application " + app.id()
                + " (and maybe others); kill them or wait for them to end");
      }
    }
    store.deleteQuotaGroup(name);
    groups.remove(name);
    if (!deferredGroups.remove(name)) {
      // Applications leave the scheduler when they end, so none is registered in the group.
      scheduler.removeQuotaGroup(name);
    }
    LOG.atInfo().addKeyValue("group", name).log("quota group deleted");
    return DeleteQuotaGroupResponse.getDefaultInstance();
  }

  private static String requireGroupName(String name) {
    if (name.isEmpty() || name.contains("/") || name.length() > SchedulerLimits.MAX_ID_LENGTH) {
      throw FuxiErrors.invalid("name must be 1.." + SchedulerLimits.MAX_ID_LENGTH
          + " characters without '/'");
    }
    return name;
  }

  ListQuotaGroupsResponse listQuotaGroups() {
    requireServing();
    ListQuotaGroupsResponse.Builder b = ListQuotaGroupsResponse.newBuilder();
    groups.values().forEach(g -> b.addGroups(groupView(g)));
    return b.build();
  }

  private QuotaGroupStatus groupView(QuotaGroupStatus g) {
    Resources used = deferredGroups.contains(g.getName()) ? Resources.ZERO
        : scheduler.groupUsage(g.getName());
    return g.toBuilder().setUsed(toProto(used)).build();
  }

  // ------------------------------------------------------------------ Tubo heartbeats

  TuboHeartbeatResponse heartbeat(TuboHeartbeatRequest r) {
    if (mode == Mode.STANDBY) {
      throw FuxiErrors.notPrimary(primaryAddress.get());
    }
    if (r.getMachineId().isEmpty() || r.getMachineId().length() > SchedulerLimits.MAX_ID_LENGTH) {
      throw FuxiErrors.invalid("machine_id must be 1.." + SchedulerLimits.MAX_ID_LENGTH
          + " characters");
    }
    requireShape("capacity", r.getCapacity());
    if (r.getRunningCount() > FuxiMasterLimits.MAX_WORKERS_PER_HEARTBEAT
        || r.getExitsCount() > FuxiMasterLimits.MAX_EXITS_PER_HEARTBEAT) {
      throw FuxiErrors.tooMany("a heartbeat carries at most MAX_WORKERS_PER_HEARTBEAT="
          + FuxiMasterLimits.MAX_WORKERS_PER_HEARTBEAT + " workers and MAX_EXITS_PER_HEARTBEAT="
          + FuxiMasterLimits.MAX_EXITS_PER_HEARTBEAT + " exits");
    }
    Machine m = machines.computeIfAbsent(r.getMachineId(), Machine::new);
    m.rack = r.getRack().isEmpty() ? DEFAULT_RACK : r.getRack();
    m.address = r.getAddress();
    if (m.capacity == null || !m.inScheduler) {
      m.capacity = fromProto(r.getCapacity());
    }
    m.enforcement = r.getEnforcement();
    m.lastHeartbeatNanos = clock.nanos();
    m.running = List.copyOf(r.getRunningList());
    TuboHeartbeatResponse.Builder out = TuboHeartbeatResponse.newBuilder()
        .setHeartbeatIntervalMillis(config.heartbeatInterval().toMillis());
    if (mode == Mode.REBUILDING) {
      m.alive = true;
      return out.setRebuilding(true).setAcknowledgedExitSequence(m.ackedExitSequence).build();
    }
    if (!m.inScheduler) {
      m.alive = true;
      m.inScheduler = true;
      m.granted.clear();
      try {
        route(scheduler.addMachine(m.id, m.rack, m.capacity), null);
      } catch (SchedulerException e) {
        m.inScheduler = false;
        m.alive = false;
        throw e;
      }
      defineDeferredGroups();
    }
    for (SequencedExit e : r.getExitsList()) {
      if (e.getSequence() > m.ackedExitSequence) {
        onExit(m, e.getExit());
        m.ackedExitSequence = e.getSequence();
      }
    }
    // A launch is repeated until the Tubo reports the AM running (or its exit), so a lost
    // response does not lose an AM; Tubo ignores a worker id it already started.
    Set<String> runningIds = new HashSet<>();
    Set<String> kill = new LinkedHashSet<>();
    for (RunningWorker w : m.running) {
      runningIds.add(w.getApplicationId() + "/" + w.getWorkerId());
      App app = apps.get(w.getApplicationId());
      if (app == null || app.ended()) {
        kill.add(w.getApplicationId());
      }
    }
    m.launches.values().removeIf(l ->
        runningIds.contains(l.getApplicationId() + "/" + l.getWorkerId()));
    out.addAllLaunchAppMasters(m.launches.values()).addAllKillApplications(kill)
        .setAcknowledgedExitSequence(m.ackedExitSequence);
    m.granted.forEach((appId, roles) -> {
      App app = apps.get(appId);
      roles.forEach((role, count) -> {
        RoleInfo info = app == null ? null : app.roles.get(role);
        MachineGrant.Builder g = MachineGrant.newBuilder().setApplicationId(appId).setRole(role)
            .setCount(count);
        if (info != null) {
          g.setShape(toProto(info.shape())).setWorkerClass(info.workerClass());
        }
        out.addGrants(g);
      });
    });
    return out.build();
  }

  private void defineDeferredGroups() {
    for (String name : new ArrayList<>(deferredGroups)) {
      QuotaGroupStatus g = groups.get(name);
      try {
        scheduler.defineQuotaGroup(name, fromProto(g.getMin()), fromProto(g.getMax()));
        deferredGroups.remove(name);
      } catch (SchedulerException e) {
        // Still larger than the live machines.
      }
    }
  }

  private void onExit(Machine m, WorkerExit exit) {
    App app = apps.get(exit.getApplicationId());
    if (app == null || app.ended()) {
      return;
    }
    if (exit.getRole().equals(AM_ROLE)) {
      LaunchAppMaster l = m.launches.get(app.id());
      if (l != null && l.getWorkerId().equals(exit.getWorkerId())) {
        m.launches.remove(app.id());
      }
      if (exit.getWorkerId().equals(app.amWorkerId())
          && m.id.equals(app.status.getAmMachineId())) {
        amEnded(app, describe(exit));
      }
      return;
    }
    deliver(app, AllocateResponse.newBuilder().setWorkerExit(exit).build());
  }

  private static String describe(WorkerExit e) {
    return switch (e.getKind()) {
      case EXITED -> "exited with code " + e.getExitCode();
      case KILLED_BY_SIGNAL -> "killed by signal " + e.getSignal();
      case KILLED_FOR_MEMORY -> "killed for going above its memory limit";
      default -> e.getKind().name().toLowerCase().replace('_', ' ')
          + (e.getDetail().isEmpty() ? "" : ": " + e.getDetail());
    } + " on " + e.getMachineId();
  }

  // ------------------------------------------------------------------ the Allocate stream

  AmStream newStream(StreamObserver<AllocateResponse> out) {
    return new AmStream(out);
  }

  /** An AM message, on the scheduler thread. */
  void onAllocateRequest(AmStream s, AllocateRequest r) {
    if (s.ended) {
      return;
    }
    try {
      if (s.appId == null) {
        if (!r.hasHello()) {
          throw FuxiErrors.invalid("the first message of Allocate must be a Hello");
        }
        hello(s, r.getHello());
        return;
      }
      App app = apps.get(s.appId);
      if (app == null || app.stream != s) {
        throw FuxiErrors.error(Status.Code.FAILED_PRECONDITION, "INVALID_ARGUMENT",
            "this stream was replaced by a newer Hello of application " + s.appId);
      }
      if (!s.welcomed) {
        if (s.beforeWelcome.size() >= FuxiMasterLimits.MAX_CHANGES_BEFORE_WELCOME) {
          throw FuxiErrors.tooMany("more than MAX_CHANGES_BEFORE_WELCOME="
              + FuxiMasterLimits.MAX_CHANGES_BEFORE_WELCOME + " messages before the Welcome");
        }
        s.beforeWelcome.add(r);
        return;
      }
      switch (r.getKindCase()) {
        case HELLO -> throw FuxiErrors.invalid("Hello is only the first message of a stream");
        case CHANGES -> changes(app, r.getChanges());
        case FINISH -> {
          AllocateRequest.Finish f = r.getFinish();
          endApplication(app, f.getSucceeded() ? ApplicationStatus.State.SUCCEEDED
              : ApplicationStatus.State.FAILED, f.getDiagnostics());
        }
        default -> throw FuxiErrors.invalid("an empty AllocateRequest");
      }
    } catch (StatusRuntimeException e) {
      dropStream(s);
      s.fail(e);
    } catch (SchedulerException e) {
      dropStream(s);
      s.fail(FuxiErrors.fromScheduler(e));
    } catch (DeposedException e) {
      stepDown(e);
    } catch (NuwaException e) {
      dropStream(s);
      s.fail(FuxiErrors.error(Status.Code.UNAVAILABLE, "UNAVAILABLE",
          "Nuwa could not store the change: " + e.getMessage()));
    }
  }

  /** The AM closed its side, or the call broke. */
  void onStreamEnd(AmStream s, boolean completedByPeer) {
    dropStream(s);
    if (completedByPeer) {
      s.complete();
    } else {
      s.ended = true;
    }
  }

  private void dropStream(AmStream s) {
    App app = s.appId == null ? null : apps.get(s.appId);
    if (app != null && app.stream == s) {
      app.stream = null;
    }
  }

  private void hello(AmStream s, AllocateRequest.Hello h) {
    if (mode == Mode.STANDBY) {
      throw FuxiErrors.notPrimary(primaryAddress.get());
    }
    App app = apps.get(h.getApplicationId());
    if (app == null) {
      throw unknownApplication(h.getApplicationId());
    }
    if (!tokens.verify(h.getApplicationToken(), app.id())) {
      throw FuxiErrors.error(Status.Code.PERMISSION_DENIED, "BAD_APPLICATION_TOKEN",
          "the application token is missing, expired or not for " + app.id());
    }
    if (app.ended()) {
      throw FuxiErrors.error(Status.Code.FAILED_PRECONDITION, "APPLICATION_FINISHED",
          "application " + app.id() + " ended " + app.status.getState());
    }
    if (h.getAttempt() != app.status.getAmAttempt()) {
      throw FuxiErrors.error(Status.Code.FAILED_PRECONDITION, "INVALID_ARGUMENT",
          "attempt " + h.getAttempt() + " is not the current attempt "
              + app.status.getAmAttempt() + " of " + app.id());
    }
    if (h.hasSync()) {
      validateSync(h.getSync());
    }
    s.appId = app.id();
    s.attempt = h.getAttempt();
    if (app.stream != null && app.stream != s) {
      app.stream.fail(FuxiErrors.error(Status.Code.FAILED_PRECONDITION, "INVALID_ARGUMENT",
          "a newer Hello of " + app.id() + " replaced this stream"));
    }
    app.stream = s;
    if (mode == Mode.REBUILDING) {
      if (h.hasSync()) {
        app.sync = h.getSync();
        return; // welcomed when the rebuild ends
      }
      if (!app.needsSync) {
        return; // SUBMITTED under the old primary: nothing to sync, welcomed after the rebuild
      }
      app.stream = null;
      s.send(welcome(true));
      s.complete();
      return;
    }
    if (app.needsSync) {
      if (!h.hasSync()) {
        app.stream = null;
        s.send(welcome(true));
        s.complete();
        return;
      }
      lateSync(app, s, h.getSync());
      return;
    }
    welcome(app, s);
  }

  private void welcome(App app, AmStream s) {
    s.welcomed = true;
    s.send(welcome(false));
    renewToken(app);
    while (!app.undelivered.isEmpty() && !s.ended) {
      s.send(app.undelivered.pollFirst());
    }
  }

  private static AllocateResponse welcome(boolean syncRequired) {
    return AllocateResponse.newBuilder().setWelcome(
        AllocateResponse.Welcome.newBuilder().setSyncRequired(syncRequired)).build();
  }

  /**
   * A sync after the rebuild. The rebuild kept the units the application's workers run (see
   * {@link #rolesFromRunningWorkers}); what the AM believes beyond them is revoked (no worker runs
   * there), what it does not know of is granted, so that both agree. Roles the rebuild did not
   * learn are defined, and the pending demand is requested.
   */
  private void lateSync(App app, AmStream s, AllocateRequest.Sync sync) {
    app.needsSync = false;
    welcome(app, s);
    AllocateRequest.Changes.Builder c = AllocateRequest.Changes.newBuilder()
        .addAllRequests(sync.getPendingList());
    for (RoleDefinition d : sync.getRolesList()) {
      if (!app.roles.containsKey(d.getRole())) {
        c.addDefineRoles(d);
      }
    }
    Map<String, Map<String, Integer>> believed = new LinkedHashMap<>();
    for (AllocateRequest.Held held : sync.getHeldList()) {
      believed.computeIfAbsent(held.getRole(), k -> new LinkedHashMap<>())
          .merge(held.getMachineId(), held.getCount(), Integer::sum);
    }
    AllocateResponse.Decisions.Builder reconcile = AllocateResponse.Decisions.newBuilder();
    believed.forEach((role, byMachine) -> byMachine.forEach((machine, count) -> {
      int actual = app.heldByRole.getOrDefault(role, Map.of()).getOrDefault(machine, 0);
      if (count > actual) {
        reconcile.addRevocations(org.apsara.fuxi.api.v1.Revoke.newBuilder().setRole(role)
            .setMachineId(machine).setCount(count - actual)
            .setReason(org.apsara.fuxi.api.v1.RevokeReason.MACHINE_LOST));
      }
    }));
    app.heldByRole.forEach((role, byMachine) -> byMachine.forEach((machine, actual) -> {
      int count = believed.getOrDefault(role, Map.of()).getOrDefault(machine, 0);
      Machine m = machines.get(machine);
      if (!role.equals(AM_ROLE) && actual > count) {
        reconcile.addGrants(org.apsara.fuxi.api.v1.Grant.newBuilder().setRole(role)
            .setMachineId(machine).setTuboAddress(m == null ? "" : m.address)
            .setCount(actual - count));
      }
    }));
    if (reconcile.getRevocationsCount() > 0 || reconcile.getGrantsCount() > 0) {
      s.send(AllocateResponse.newBuilder().setDecisions(reconcile).build());
    }
    changes(app, c.build());
  }

  private void validateSync(AllocateRequest.Sync sync) {
    Set<String> names = new HashSet<>();
    for (RoleDefinition d : sync.getRolesList()) {
      validateRole(d);
      if (!names.add(d.getRole())) {
        throw FuxiErrors.invalid("sync defines role " + d.getRole() + " twice");
      }
    }
    for (AllocateRequest.Held h : sync.getHeldList()) {
      if (!names.contains(h.getRole()) || h.getCount() < 0 || h.getMachineId().isEmpty()) {
        throw FuxiErrors.invalid("sync holds " + h.getCount() + " units of role " + h.getRole()
            + " on '" + h.getMachineId() + "': an undefined role, a bad count or machine");
      }
    }
    for (org.apsara.fuxi.api.v1.Request p : sync.getPendingList()) {
      if (!names.contains(p.getRole()) || p.getCount() < 1) {
        throw FuxiErrors.invalid("sync waits for " + p.getCount() + " units of role "
            + p.getRole() + ": an undefined role or a bad count");
      }
      toLocation(p.getLocation());
    }
  }

  private static void validateRole(RoleDefinition d) {
    requireRoleName(d.getRole());
    requireShape("shape of role " + d.getRole(), d.getShape());
    if (d.getPriority() < SchedulerLimits.MIN_PRIORITY
        || d.getPriority() > SchedulerLimits.MAX_PRIORITY) {
      throw FuxiErrors.invalid("priority " + d.getPriority() + " of role " + d.getRole()
          + " is outside " + SchedulerLimits.MIN_PRIORITY + ".." + SchedulerLimits.MAX_PRIORITY);
    }
  }

  private static void requireRoleName(String role) {
    if (!FuxiNames.ROLE_PATTERN.matcher(role).matches()) {
      throw FuxiErrors.invalid("role '" + role + "' does not match "
          + FuxiNames.ROLE_PATTERN.pattern() + " (a role names workers' cgroups on the machines)");
    }
    if (role.startsWith(RESERVED_ROLE_PREFIX)) {
      throw FuxiErrors.invalid("role " + role + " is reserved: roles starting with '"
          + RESERVED_ROLE_PREFIX + "' belong to FuxiMaster");
    }
  }

  private void changes(App app, AllocateRequest.Changes c) {
    int items = c.getDefineRolesCount() + c.getRequestsCount() + c.getWithdrawalsCount()
        + c.getReleasesCount() + c.getRefusalsCount();
    if (items > FuxiMasterLimits.MAX_CHANGE_ITEMS) {
      throw FuxiErrors.tooMany("a Changes message carries at most MAX_CHANGE_ITEMS="
          + FuxiMasterLimits.MAX_CHANGE_ITEMS + " items, not " + items);
    }
    String id = app.id();
    List<Decision> decisions = new ArrayList<>();
    List<ChangeError> errors = new ArrayList<>();
    for (RoleDefinition d : c.getDefineRolesList()) {
      apply(errors, "define_role", d.getRole(), () -> {
        validateRole(d);
        scheduler.defineRole(id, d.getRole(), fromProto(d.getShape()), d.getPriority());
        app.roles.put(d.getRole(), new RoleInfo(fromProto(d.getShape()), d.getPriority(),
            workerClass(d.getWorkerClass())));
      });
    }
    for (org.apsara.fuxi.api.v1.Request q : c.getRequestsList()) {
      apply(errors, "request", q.getRole(), () -> {
        requireRoleName(q.getRole());
        requireCount(q.getCount());
        decisions.addAll(scheduler.request(id, q.getRole(), toLocation(q.getLocation()),
            q.getCount()));
      });
    }
    for (org.apsara.fuxi.api.v1.Withdraw w : c.getWithdrawalsList()) {
      apply(errors, "withdraw", w.getRole(), () -> {
        requireRoleName(w.getRole());
        requireCount(w.getCount());
        scheduler.withdraw(id, w.getRole(), toLocation(w.getLocation()), w.getCount());
      });
    }
    for (org.apsara.fuxi.api.v1.Release rel : c.getReleasesList()) {
      apply(errors, "release", rel.getRole(), () -> {
        requireRoleName(rel.getRole());
        requireCount(rel.getCount());
        List<Decision> out = scheduler.release(id, rel.getRole(), rel.getMachineId(),
            rel.getCount());
        Machine m = machines.get(rel.getMachineId());
        if (m != null) {
          adjust(m.granted, id, rel.getRole(), -rel.getCount());
        }
        adjust(app.heldByRole, rel.getRole(), rel.getMachineId(), -rel.getCount());
        decisions.addAll(out);
      });
    }
    for (org.apsara.fuxi.api.v1.Refuse f : c.getRefusalsList()) {
      apply(errors, "refuse", f.getRole(), () -> {
        requireRoleName(f.getRole());
        decisions.addAll(scheduler.refuse(id, f.getRole(), toLocation(f.getLocation())));
      });
    }
    route(decisions, null, app, errors);
  }

  private static void apply(List<ChangeError> errors, String change, String role, Runnable r) {
    try {
      r.run();
    } catch (StatusRuntimeException e) {
      errors.add(FuxiErrors.changeError(change, role, e));
    } catch (SchedulerException e) {
      errors.add(FuxiErrors.changeError(change, role, FuxiErrors.fromScheduler(e)));
    } catch (IllegalArgumentException e) {
      errors.add(FuxiErrors.changeError(change, role, FuxiErrors.invalid(e.getMessage())));
    }
  }

  // ------------------------------------------------------------------ conversions and checks

  private static void requireCount(int count) {
    if (count < 1 || count > SchedulerLimits.MAX_UNITS_PER_CALL) {
      throw FuxiErrors.invalid("count " + count + " is outside 1.."
          + SchedulerLimits.MAX_UNITS_PER_CALL);
    }
  }

  private static void requireShape(String field, org.apsara.fuxi.api.v1.Resources r) {
    if (r.getCpuMillis() <= 0 || r.getMemoryMib() <= 0
        || r.getCpuMillis() > SchedulerLimits.MAX_MACHINE_CPU_MILLIS
        || r.getMemoryMib() > SchedulerLimits.MAX_MACHINE_MEMORY_MIB) {
      throw FuxiErrors.invalid(field + " must be positive in cpu_millis and memory_mib and at"
          + " most one machine's limits: " + r.getCpuMillis() + "m, " + r.getMemoryMib() + "MiB");
    }
  }

  private static void requireBytes(String field, String value, int max, boolean required) {
    int bytes = value.getBytes(StandardCharsets.UTF_8).length;
    if ((required && bytes == 0) || bytes > max) {
      throw FuxiErrors.invalid(field + " must be " + (required ? "1" : "0") + ".." + max
          + " bytes, not " + bytes);
    }
  }

  static Location toLocation(org.apsara.fuxi.api.v1.Location l) {
    return switch (l.getLevel()) {
      case MACHINE -> {
        if (l.getId().isEmpty()) {
          throw FuxiErrors.invalid("a MACHINE location needs a machine id");
        }
        yield Location.machine(l.getId());
      }
      case RACK -> {
        if (l.getId().isEmpty()) {
          throw FuxiErrors.invalid("a RACK location needs a rack id");
        }
        yield Location.rack(l.getId());
      }
      case CLUSTER, LEVEL_UNSPECIFIED -> Location.cluster();
      default -> throw FuxiErrors.invalid("unknown location level " + l.getLevelValue());
    };
  }

  static WorkerClass workerClass(WorkerClass c) {
    return c == WorkerClass.WORKER_CLASS_UNSPECIFIED || c == WorkerClass.UNRECOGNIZED
        ? WorkerClass.BATCH : c;
  }

  static Resources fromProto(org.apsara.fuxi.api.v1.Resources r) {
    return new Resources(r.getCpuMillis(), r.getMemoryMib());
  }

  static org.apsara.fuxi.api.v1.Resources toProto(Resources r) {
    return org.apsara.fuxi.api.v1.Resources.newBuilder().setCpuMillis(r.cpuMillis())
        .setMemoryMib(r.memoryMiB()).build();
  }

  static org.apsara.fuxi.api.v1.RevokeReason toProto(RevokeReason r) {
    return switch (r) {
      case MACHINE_LOST -> org.apsara.fuxi.api.v1.RevokeReason.MACHINE_LOST;
      case PREEMPTED_FOR_QUOTA -> org.apsara.fuxi.api.v1.RevokeReason.PREEMPTED_FOR_QUOTA;
      case PREEMPTED_FOR_PRIORITY -> org.apsara.fuxi.api.v1.RevokeReason.PREEMPTED_FOR_PRIORITY;
      case APPLICATION_GONE -> org.apsara.fuxi.api.v1.RevokeReason.APPLICATION_ENDED;
    };
  }

  /** For tests: run {@code task} on the scheduler thread and wait. */
  <T> T inLoop(Supplier<T> task) {
    CompletableFuture<T> f = new CompletableFuture<>();
    tryExecute(() -> {
      try {
        f.complete(task.get());
      } catch (RuntimeException e) {
        f.completeExceptionally(e);
      }
    });
    return f.join();
  }
}
