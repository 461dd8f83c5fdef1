package org.apsara.fuxi.client.examples;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import org.apsara.fuxi.api.v1.ChangeError;
import org.apsara.fuxi.api.v1.Grant;
import org.apsara.fuxi.api.v1.Location;
import org.apsara.fuxi.api.v1.Resources;
import org.apsara.fuxi.api.v1.Revoke;
import org.apsara.fuxi.api.v1.RoleDefinition;
import org.apsara.fuxi.api.v1.WorkerExit;
import org.apsara.fuxi.client.FuxiException;
import org.apsara.fuxi.client.am.AppMasterListener;
import org.apsara.fuxi.client.am.AppMasterSession;
import org.apsara.fuxi.client.am.AppMasterSettings;
import org.apsara.fuxi.client.am.TuboWorkers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An example application master: runs N instances of a command as workers of role {@value #ROLE}
 * and succeeds once every instance exited 0.
 *
 * <p>It asks for one unit per instance at cluster level, starts an instance's worker on every
 * granted unit, and releases the unit when that worker exits. A failed instance (a non-zero exit,
 * a signal, a launch failure, killed for memory) is started again until it has failed {@code
 * --max-failures-per-instance} times, which fails the application with diagnostics. A machine
 * where {@code --max-failures-per-machine} instances failed is refused for the rest of the run. An
 * instance whose unit is revoked is stopped and asked for again without counting as a failure, so
 * commands should tolerate being run more than once.
 *
 * <p>Run by FuxiMaster as an application's AM: {@code java ... CommandAppMaster [options] --
 * command args...}, with the {@code FUXI_*} variables in its environment. Each worker finds its
 * instance number in {@value #INSTANCE_ENV}. Exits 0 when the application succeeded, 1 when it
 * failed, 2 when the session with the master was lost (the master then starts another attempt).
 *
 * <p>Threading: every decision runs on one thread; listener callbacks and Tubo call results are
 * posted to it. Tubo calls run on a small pool so that a slow Tubo delays only its own start.
 */
public final class CommandAppMaster implements AppMasterListener {
  private static final Logger LOG = LoggerFactory.getLogger(CommandAppMaster.class);

  /** The role of the command's workers. */
  public static final String ROLE = "worker";
  /** The variable that tells each worker its instance number, from 0. */
  public static final String INSTANCE_ENV = "FUXI_EXAMPLE_INSTANCE";
  /** Concurrent Tubo calls: enough to start many workers at once, few threads for an AM. */
  static final int TUBO_CALL_THREADS = 4;
  /** How long the master has to confirm the Finish. */
  static final Duration FINISH_TIMEOUT = Duration.ofSeconds(60);
  /** Failure details kept in the diagnostics; the master shows them to people. */
  static final int DIAGNOSTICS_CHARS_MAX = 4_000;

  /** How the run ended. */
  public record Outcome(boolean succeeded, boolean sessionLost, String diagnostics) {
    public int exitCode() {
      return sessionLost ? 2 : succeeded ? 0 : 1;
    }
  }

  private enum State { WAITING, STARTING, RUNNING, SUCCEEDED }

  private static final class Instance {
    final int index;
    State state = State.WAITING;
    int failures;
    int runs;
    String workerId;
    String machineId;
    String tuboAddress;
    long launchSequence;
    String lastFailure = "";

    Instance(int index) {
      this.index = index;
    }
  }

  private final CommandOptions options;
  private final AppMasterSettings settings;
  private final ExecutorService decisions;
  private final ExecutorService tuboCalls;
  private final CompletableFuture<Outcome> outcome = new CompletableFuture<>();
  private final List<Instance> instances = new ArrayList<>();
  // Only touched on the decision thread.
  private final Deque<Instance> waiting = new ArrayDeque<>();
  private final Map<String, Instance> byWorker = new HashMap<>();
  private final Map<String, Integer> failuresByMachine = new HashMap<>();
  private final Set<String> refusedMachines = new HashSet<>();
  private long launches;
  private volatile AppMasterSession session;
  private volatile TuboWorkers tubo;

  public CommandAppMaster(CommandOptions options, AppMasterSettings settings) {
    this.options = options;
    this.settings = settings;
    this.decisions = Executors.newSingleThreadExecutor(r -> daemon(r, "command-am-decisions"));
    this.tuboCalls = Executors.newFixedThreadPool(TUBO_CALL_THREADS,
        r -> daemon(r, "command-am-tubo"));
    for (int i = 0; i < options.instances(); i++) {
      instances.add(new Instance(i));
    }
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  public static void main(String[] args) throws InterruptedException {
    CommandOptions options;
    AppMasterSettings settings;
    try {
      options = CommandOptions.parse(args);
      settings = AppMasterSettings.fromEnvironment(System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.exit(64);
      return;
    }
    Outcome result = new CommandAppMaster(options, settings).run();
    System.exit(result.exitCode());
  }

  /** Connects, runs every instance to its end, finishes the application; blocks until then. */
  public Outcome run() throws InterruptedException {
    try {
      return start().get();
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    } finally {
      shutdown();
    }
  }

  /**
   * Connects and starts asking for units; the future completes once the application finished or
   * the session was lost. Call {@link #shutdown} afterwards.
   */
  CompletableFuture<Outcome> start() throws InterruptedException {
    try {
      session = AppMasterSession.connect(settings, this);
    } catch (FuxiException e) {
      LOG.error("No session with the master: {}", e.toString());
      outcome.complete(new Outcome(false, true, "no session with the master: " + e.getMessage()));
      return outcome;
    }
    tubo = TuboWorkers.of(session, settings);
    post(() -> {
      session.defineRole(RoleDefinition.newBuilder().setRole(ROLE)
          .setShape(Resources.newBuilder().setCpuMillis(options.cpuMillis())
              .setMemoryMib(options.memoryMib()))
          .setPriority(options.priority()).setWorkerClass(options.workerClass()).build());
      waiting.addAll(instances);
      session.request(ROLE, cluster(), instances.size());
      LOG.info("Asked for {} units of {} ({} millicores, {} MiB) for: {}", instances.size(), ROLE,
          options.cpuMillis(), options.memoryMib(), options.command());
    });
    return outcome;
  }

  /** Stops the threads and closes the session and Tubo channels. */
  void shutdown() {
    decisions.shutdownNow();
    tuboCalls.shutdownNow();
    if (tubo != null) {
      tubo.close();
    }
    if (session != null) {
      session.close();
    }
  }

  private static Location cluster() {
    return Location.newBuilder().setLevel(Location.Level.CLUSTER).build();
  }

  private void post(Runnable decision) {
    try {
      decisions.execute(() -> {
        if (outcome.isDone()) {
          return;
        }
        try {
          decision.run();
        } catch (RuntimeException e) {
          LOG.error("A decision failed", e);
          end(false, "the application master failed: " + e);
        }
      });
    } catch (RejectedExecutionException e) {
      // Shut down: the outcome is decided.
    }
  }

  // ---------------------------------------------------------------- listener (any thread)

  @Override
  public void onGranted(Grant grant) {
    post(() -> granted(grant));
  }

  @Override
  public void onRevoked(Revoke revoke) {
    post(() -> revoked(revoke));
  }

  @Override
  public void onWorkerExit(WorkerExit exit) {
    post(() -> exited(exit));
  }

  @Override
  public void onChangeError(ChangeError error) {
    post(() -> refused(error));
  }

  @Override
  public void onSessionLost(FuxiException cause) {
    outcome.complete(new Outcome(false, true, "lost the session with the master: "
        + cause.getMessage()));
  }

  // ---------------------------------------------------------------- decisions (one thread)

  private void granted(Grant grant) {
    String machine = grant.getMachineId();
    for (int unit = 0; unit < grant.getCount(); unit++) {
      if (refusedMachines.contains(machine) || waiting.isEmpty()) {
        // A grant decided before the refusal arrived, or more than asked for: give it back.
        session.release(ROLE, machine, 1);
        if (!waiting.isEmpty()) {
          session.request(ROLE, cluster(), 1);
        }
        continue;
      }
      launch(waiting.poll(), machine, grant.getTuboAddress());
    }
  }

  private void launch(Instance instance, String machine, String tuboAddress) {
    instance.runs++;
    instance.state = State.STARTING;
    instance.machineId = machine;
    instance.tuboAddress = tuboAddress;
    instance.launchSequence = ++launches;
    instance.workerId = "worker-" + instance.index + "-a" + settings.attempt() + "-r"
        + instance.runs;
    byWorker.put(instance.workerId, instance);
    String workerId = instance.workerId;
    LOG.info("Starting instance {} as {} on {}", instance.index, workerId, machine);
    tuboCalls.execute(() -> {
      try {
        tubo.start(tuboAddress, ROLE, workerId, options.command(),
            Map.of(INSTANCE_ENV, Integer.toString(instance.index)));
        post(() -> started(instance, workerId));
      } catch (FuxiException e) {
        post(() -> launchFailed(instance, workerId, e));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
  }

  private void started(Instance instance, String workerId) {
    if (workerId.equals(instance.workerId) && instance.state == State.STARTING) {
      instance.state = State.RUNNING;
    }
  }

  private void launchFailed(Instance instance, String workerId, FuxiException e) {
    if (byWorker.remove(workerId) == null) {
      return;  // revoked meanwhile
    }
    LOG.warn("Could not start {} on {}: {}", workerId, instance.machineId, e.toString());
    releaseUnit(instance.machineId);
    failed(instance, "could not start on " + instance.machineId + ": " + e.getMessage());
  }

  private void exited(WorkerExit exit) {
    Instance instance = byWorker.remove(exit.getWorkerId());
    if (instance == null || !ROLE.equals(exit.getRole())) {
      return;  // a worker already given up (revoked) or of an earlier attempt
    }
    releaseUnit(exit.getMachineId());
    if (exit.getKind() == WorkerExit.Kind.EXITED && exit.getExitCode() == 0) {
      instance.state = State.SUCCEEDED;
      LOG.info("Instance {} succeeded on {}", instance.index, exit.getMachineId());
      if (instances.stream().allMatch(i -> i.state == State.SUCCEEDED)) {
        end(true, "all " + instances.size() + " instances exited 0");
      }
      return;
    }
    failed(instance, describe(exit));
  }

  /** An instance failed on its machine: count it there, then run it again or give up. */
  private void failed(Instance instance, String why) {
    instance.failures++;
    instance.lastFailure = why;
    String machine = instance.machineId;
    int onMachine = failuresByMachine.merge(machine, 1, Integer::sum);
    LOG.warn("Instance {} failed ({} of {}): {}", instance.index, instance.failures,
        options.maxFailuresPerInstance(), why);
    if (onMachine >= options.maxFailuresPerMachine() && refusedMachines.add(machine)) {
      LOG.warn("Refusing machine {}: {} instances failed there", machine, onMachine);
      session.refuse(ROLE, Location.newBuilder().setLevel(Location.Level.MACHINE)
          .setId(machine).build());
    }
    if (instance.failures >= options.maxFailuresPerInstance()) {
      end(false, "instance " + instance.index + " failed " + instance.failures
          + " times; last: " + why);
      return;
    }
    requeue(instance);
  }

  private void revoked(Revoke revoke) {
    // The units are gone: Tubo kills as many workers of the role there, newest first. Stop those
    // same workers now and ask for their instances again (not counted as failures).
    List<Instance> there = byWorker.values().stream()
        .filter(i -> revoke.getMachineId().equals(i.machineId))
        .sorted(Comparator.comparingLong((Instance i) -> i.launchSequence).reversed())
        .limit(revoke.getCount())
        .toList();
    for (Instance instance : there) {
      byWorker.remove(instance.workerId);
      String workerId = instance.workerId;
      String address = instance.tuboAddress;
      LOG.info("Unit of {} on {} revoked ({}); running it again elsewhere", workerId,
          revoke.getMachineId(), revoke.getReason());
      tuboCalls.execute(() -> {
        try {
          tubo.stop(address, workerId, "unit revoked: " + revoke.getReason());
        } catch (FuxiException e) {
          LOG.debug("Stopping {} after its revocation: {}", workerId, e.toString());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      requeue(instance);
    }
  }

  private void refused(ChangeError error) {
    switch (error.getChange()) {
      case "define_role", "request" -> {
        if (error.getChange().equals("define_role") && error.getCode().equals("ROLE_EXISTS")) {
          return;  // defined by an earlier attempt of this AM
        }
        end(false, "the master refused to " + error.getChange().replace('_', ' ') + " "
            + error.getRole() + ": " + error.getCode() + " " + error.getMessage());
      }
      default -> LOG.warn("The master refused a {} of {}: {} {}", error.getChange(),
          error.getRole(), error.getCode(), error.getMessage());
    }
  }

  private void requeue(Instance instance) {
    instance.state = State.WAITING;
    instance.workerId = null;
    waiting.add(instance);
    session.request(ROLE, cluster(), 1);
  }

  private void releaseUnit(String machine) {
    // A revocation the master sent first has taken the unit already.
    if (session.view().held(ROLE, machine) > 0) {
      session.release(ROLE, machine, 1);
    }
  }

  private void end(boolean succeeded, String diagnostics) {
    if (outcome.isDone()) {
      return;
    }
    String shown = diagnostics.length() > DIAGNOSTICS_CHARS_MAX
        ? diagnostics.substring(0, DIAGNOSTICS_CHARS_MAX) : diagnostics;
    LOG.info("Finishing: {} ({})", succeeded ? "SUCCEEDED" : "FAILED", shown);
    boolean confirmed;
    try {
      confirmed = session.finish(succeeded, shown, FINISH_TIMEOUT);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      confirmed = false;
    }
    if (!confirmed) {
      LOG.warn("The master did not confirm the finish within {}", FINISH_TIMEOUT);
    }
    outcome.complete(new Outcome(succeeded, false, shown));
  }

  private static String describe(WorkerExit exit) {
    String where = " on " + exit.getMachineId();
    return switch (exit.getKind()) {
      case EXITED -> exit.getWorkerId() + " exited " + exit.getExitCode() + where;
      case KILLED_BY_SIGNAL -> exit.getWorkerId() + " was killed by signal " + exit.getSignal()
          + where;
      case KILLED_FOR_MEMORY -> exit.getWorkerId() + " went above its memory limit" + where;
      default -> exit.getWorkerId() + " ended: " + exit.getKind()
          + (exit.getDetail().isEmpty() ? "" : " (" + exit.getDetail() + ")") + where;
    };
  }
}
