package org.apsara.fuxi.tubo;

import org.awaitility.Awaitility;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** A listener that keeps every exit, for tests to await. */
final class Exits implements WorkerExitListener {
  /** Generous: the machine is shared and an adopted worker's exit is polled every few seconds. */
  static final Duration WAIT = Duration.ofSeconds(30);

  private final Map<String, WorkerExit> byWorker = new ConcurrentHashMap<>();
  private final List<String> order = new ArrayList<>();

  @Override
  public void onExit(WorkerExit exit) {
    WorkerExit previous = byWorker.putIfAbsent(exit.workerId(), exit);
    if (previous != null) {
      throw new AssertionError("reported twice: " + previous + " and " + exit);
    }
    synchronized (order) {
      order.add(exit.workerId());
    }
  }

  /** Waits for the worker's exit and returns it. */
  WorkerExit await(String workerId) {
    Awaitility.await().atMost(WAIT).until(() -> byWorker.containsKey(workerId));
    return byWorker.get(workerId);
  }

  ExitCause cause(String workerId) {
    return await(workerId).cause();
  }

  boolean has(String workerId) {
    return byWorker.containsKey(workerId);
  }

  List<String> order() {
    synchronized (order) {
      return List.copyOf(order);
    }
  }

  /** Forgets one worker's exit, so that a worker id can be launched and awaited again. */
  void forget(String workerId) {
    byWorker.remove(workerId);
  }
}
