package org.apsara.fuxi.master.server;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apsara.fuxi.api.FuxiTrailers;
import org.apsara.fuxi.api.v1.LaunchAppMaster;
import org.apsara.fuxi.api.v1.MachineGrant;
import org.apsara.fuxi.api.v1.Resources;
import org.apsara.fuxi.api.v1.RunningWorker;
import org.apsara.fuxi.api.v1.SequencedExit;
import org.apsara.fuxi.api.v1.TuboHeartbeatRequest;
import org.apsara.fuxi.api.v1.TuboHeartbeatResponse;
import org.apsara.fuxi.api.v1.TuboTrackerGrpc;
import org.apsara.fuxi.api.v1.WorkerExit;

/**
 * A Tubo as the master sees it, in test code: heartbeats every {@code intervalMillis} to whichever
 * master is primary (following {@code x-fuxi-primary}), starts the AMs it is told to launch,
 * reports exits until acknowledged, and enforces its grant table (kills workers beyond it) unless
 * the response says rebuilding. Workers are entries in a list, not processes.
 */
final class FakeTubo implements AutoCloseable {
  final String machineId;
  final String address;
  private final Resources capacity;
  private final List<String> masters;
  private final Map<String, ManagedChannel> channels = new LinkedHashMap<>();
  private final ScheduledExecutorService beats = Executors.newSingleThreadScheduledExecutor();
  // Guarded by this.
  private final List<RunningWorker> running = new ArrayList<>();
  private final List<SequencedExit> exits = new ArrayList<>();
  private long nextExitSequence = 1;
  private int target;
  private volatile TuboHeartbeatResponse last;
  final List<TuboHeartbeatResponse> responses = new CopyOnWriteArrayList<>();
  final List<LaunchAppMaster> launches = new CopyOnWriteArrayList<>();
  final List<String> killedApplications = new CopyOnWriteArrayList<>();

  FakeTubo(String machineId, long cpuMillis, long memoryMib, List<String> masters,
      long intervalMillis) {
    this.machineId = machineId;
    this.address = "127.0.0.1:" + (20000 + Math.abs(machineId.hashCode() % 10000));
    this.capacity = Resources.newBuilder().setCpuMillis(cpuMillis).setMemoryMib(memoryMib)
        .build();
    this.masters = List.copyOf(masters);
    for (String m : masters) {
      channels.put(m, NettyChannelBuilder.forTarget(m).usePlaintext().build());
    }
    beats.scheduleWithFixedDelay(this::beatQuietly, 0, intervalMillis, TimeUnit.MILLISECONDS);
  }

  /** Stops heartbeating, as a crashed machine does. */
  void stop() {
    beats.shutdownNow();
    try {
      beats.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  TuboHeartbeatResponse last() {
    return last;
  }

  synchronized void startWorker(String app, String role, String workerId) {
    running.add(RunningWorker.newBuilder().setApplicationId(app).setRole(role)
        .setWorkerId(workerId).build());
  }

  synchronized List<RunningWorker> running() {
    return List.copyOf(running);
  }

  synchronized boolean runs(String app, String workerId) {
    return running.stream().anyMatch(w -> w.getApplicationId().equals(app)
        && w.getWorkerId().equals(workerId));
  }

  /** The worker ends with {@code exitCode}; the exit is reported until acknowledged. */
  synchronized void exit(String app, String workerId, int exitCode) {
    RunningWorker w = running.stream().filter(r -> r.getApplicationId().equals(app)
        && r.getWorkerId().equals(workerId)).findFirst().orElseThrow();
    running.remove(w);
    exits.add(SequencedExit.newBuilder().setSequence(nextExitSequence++).setExit(
        WorkerExit.newBuilder().setApplicationId(app).setRole(w.getRole())
            .setWorkerId(workerId).setMachineId(machineId).setKind(WorkerExit.Kind.EXITED)
            .setExitCode(exitCode)).build());
  }

  /** The granted count of (app, role) in the last table, 0 when absent. */
  int granted(String app, String role) {
    TuboHeartbeatResponse r = last;
    if (r == null) {
      return 0;
    }
    return r.getGrantsList().stream()
        .filter(g -> g.getApplicationId().equals(app) && g.getRole().equals(role))
        .mapToInt(MachineGrant::getCount).sum();
  }

  private void beatQuietly() {
    try {
      beat();
    } catch (RuntimeException e) {
      // The next beat tries again, possibly another master.
    }
  }

  private void beat() {
    TuboHeartbeatRequest request;
    synchronized (this) {
      request = TuboHeartbeatRequest.newBuilder().setMachineId(machineId).setRack("rack-1")
          .setAddress(address).setCapacity(capacity).setEnforcement("unenforced")
          .addAllRunning(running).addAllExits(exits).build();
    }
    String master = masters.get(target % masters.size());
    TuboHeartbeatResponse response;
    try {
      response = TuboTrackerGrpc.newBlockingStub(channels.get(master))
          .withDeadlineAfter(5, TimeUnit.SECONDS).heartbeat(request);
    } catch (StatusRuntimeException e) {
      String primary = e.getTrailers() == null ? null : e.getTrailers().get(FuxiTrailers.PRIMARY);
      if (e.getStatus().getCode() == Status.Code.UNAVAILABLE && primary != null
          && masters.contains(primary)) {
        target = masters.indexOf(primary);
      } else {
        target++;
      }
      throw e;
    }
    synchronized (this) {
      exits.removeIf(x -> x.getSequence() <= response.getAcknowledgedExitSequence());
      for (LaunchAppMaster l : response.getLaunchAppMastersList()) {
        if (!runs(l.getApplicationId(), l.getWorkerId())
            && launches.stream().noneMatch(x -> x.getApplicationId().equals(l.getApplicationId())
                && x.getWorkerId().equals(l.getWorkerId()))) {
          launches.add(l);
          startWorker(l.getApplicationId(), "fuxi.am", l.getWorkerId());
        }
      }
      for (String app : response.getKillApplicationsList()) {
        killedApplications.add(app);
        running.removeIf(w -> w.getApplicationId().equals(app));
      }
      if (!response.getRebuilding()) {
        enforce(response);
      }
    }
    responses.add(response);
    last = response;
  }

  /** Kills the newest workers of each (app, role) above its granted count. */
  private void enforce(TuboHeartbeatResponse response) {
    Map<String, Integer> allowed = new LinkedHashMap<>();
    for (MachineGrant g : response.getGrantsList()) {
      allowed.put(g.getApplicationId() + "/" + g.getRole(), g.getCount());
    }
    Map<String, Integer> seen = new LinkedHashMap<>();
    List<RunningWorker> keep = new ArrayList<>();
    for (RunningWorker w : running) {
      String key = w.getApplicationId() + "/" + w.getRole();
      int n = seen.merge(key, 1, Integer::sum);
      if (n <= allowed.getOrDefault(key, 0)) {
        keep.add(w);
      }
    }
    running.clear();
    running.addAll(keep);
  }

  @Override
  public void close() {
    stop();
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
