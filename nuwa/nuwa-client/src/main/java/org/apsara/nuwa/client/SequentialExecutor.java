package org.apsara.nuwa.client;

import java.util.ArrayDeque;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * Runs tasks one at a time, in submission order, on a delegate executor. Each watcher and lease
 * keeper delivers to its listener through one of these, so that a listener never sees two callbacks
 * at once or out of order, while different listeners still run in parallel.
 *
 * <p>The queue has no bound of its own: its producers bound it (a watch fetches its next response
 * only after the listener took the previous one; a lease keeper renews a few times per TTL).
 */
final class SequentialExecutor implements Executor {
  private static final System.Logger LOG = System.getLogger(SequentialExecutor.class.getName());

  private final Executor delegate;
  private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
  private boolean draining;

  SequentialExecutor(Executor delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  @Override
  public void execute(Runnable task) {
    Objects.requireNonNull(task, "task");
    synchronized (queue) {
      queue.add(task);
      if (draining) {
        return;
      }
      draining = true;
    }
    try {
      delegate.execute(this::drain);
    } catch (RuntimeException e) {
      synchronized (queue) {
        draining = false;
        queue.clear();
      }
      throw e;
    }
  }

  private void drain() {
    while (true) {
      Runnable next;
      synchronized (queue) {
        next = queue.poll();
        if (next == null) {
          draining = false;
          return;
        }
      }
      try {
        next.run();
      } catch (RuntimeException | Error e) {
        // A listener that throws must not stop delivery to itself later, nor kill a pool thread.
        LOG.log(System.Logger.Level.WARNING, "listener callback failed", e);
      }
    }
  }
}
