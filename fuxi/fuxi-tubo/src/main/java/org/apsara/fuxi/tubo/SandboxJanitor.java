package org.apsara.fuxi.tubo;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.apsara.common.time.MonotonicClock;

/**
 * Decides which finished sandboxes go: the oldest first, once more than {@code kept} are kept or
 * once one has been finished for longer than {@code retention}. Thread-safe; deleting is left to
 * the caller so that no lock is held during slow file work.
 */
final class SandboxJanitor {
  private record Finished(String workerId, Path dir, long finishedAtNanos) {}

  private final int kept;
  private final long retentionNanos;
  private final MonotonicClock clock;
  private final Deque<Finished> finished = new ArrayDeque<>();

  SandboxJanitor(int kept, Duration retention, MonotonicClock clock) {
    this.kept = kept;
    this.retentionNanos = retention.toNanos();
    this.clock = clock;
  }

  /** A sandbox whose worker is gone, from now on. */
  synchronized void finished(String workerId, Path dir) {
    forget(workerId);
    finished.addLast(new Finished(workerId, dir, clock.nanos()));
  }

  /** A worker id is launched again: its old sandbox is replaced, not expired. */
  synchronized void forget(String workerId) {
    finished.removeIf(f -> f.workerId().equals(workerId));
  }

  /** The sandboxes to delete now, oldest first; they are no longer tracked. */
  synchronized List<Path> expired() {
    long now = clock.nanos();
    List<Path> expired = new ArrayList<>();
    while (!finished.isEmpty()
        && (finished.size() > kept || now - finished.peekFirst().finishedAtNanos() > retentionNanos)) {
      expired.add(finished.pollFirst().dir());
    }
    return expired;
  }

  synchronized int size() {
    return finished.size();
  }
}
