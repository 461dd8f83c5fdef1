package org.apsara.bench.cluster;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.locks.LockSupport;

/** Waits, bounded, until every member of a starting cluster answers a probe. */
final class StartupWait {
  /** Pause between two probes of a member that is not ready yet. */
  static final Duration PROBE_INTERVAL = Duration.ofMillis(100);

  /** Lines of a failed member's log quoted in the error. */
  static final int LOG_TAIL_LINES = 15;

  /** One bounded attempt to reach a member; true when it answered. */
  @FunctionalInterface
  interface Probe {
    boolean answers(int memberIndex) throws Exception;
  }

  private StartupWait() {}

  /**
   * Probes each member until it answers, failing fast if a member exits and with a {@link
   * ClusterStartException} naming the member and its log once {@code timeout} has passed.
   */
  static void untilAllAnswer(
      String system, List<MemberProcess> members, Duration timeout, String probeName, Probe probe) {
    long deadline = System.nanoTime() + timeout.toNanos();
    boolean[] ready = new boolean[members.size()];
    int readyCount = 0;
    Exception lastFailure = null;
    while (readyCount < members.size()) {
      for (int i = 0; i < members.size(); i++) {
        if (ready[i]) {
          continue;
        }
        MemberProcess member = members.get(i);
        if (!member.isAlive()) {
          throw new ClusterStartException(
              system,
              member.name() + " exited with code " + member.exitCodeOrMinusOne()
                  + " while starting; end of its log:\n" + member.logTail(LOG_TAIL_LINES),
              member.logFile(),
              null);
        }
        try {
          if (probe.answers(i)) {
            ready[i] = true;
            readyCount++;
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new ClusterStartException(system, "interrupted while starting", null, e);
        } catch (Exception e) {
          lastFailure = e;
        }
      }
      if (readyCount == members.size()) {
        return;
      }
      if (System.nanoTime() - deadline > 0) {
        MemberProcess laggard = members.get(firstNotReady(ready));
        throw new ClusterStartException(
            system,
            laggard.name() + " did not answer " + probeName + " within " + timeout.toSeconds()
                + " s" + describeProbeFailure(lastFailure) + "; end of its log:\n"
                + laggard.logTail(LOG_TAIL_LINES),
            laggard.logFile(),
            lastFailure);
      }
      LockSupport.parkNanos(PROBE_INTERVAL.toNanos());
      if (Thread.interrupted()) {
        Thread.currentThread().interrupt();
        throw new ClusterStartException(system, "interrupted while starting", null, null);
      }
    }
  }

  /**
   * Stops the members already started and deletes the cluster's directory after a failed start,
   * returning the error to throw; a failure of the clean-up is attached to it, not thrown instead.
   */
  static ClusterStartException abandon(
      String system, List<MemberProcess> members, Path directory, Exception failure) {
    ClusterStartException error =
        failure instanceof ClusterStartException start
            ? start
            : new ClusterStartException(system, "cannot start members: " + failure, null, failure);
    try {
      MemberProcess.closeAll(members);
    } catch (RuntimeException cleanup) {
      error.addSuppressed(cleanup);
    }
    try {
      TempDirectories.deleteRecursively(directory);
    } catch (RuntimeException cleanup) {
      error.addSuppressed(cleanup);
    }
    return error;
  }

  private static String describeProbeFailure(Exception failure) {
    if (failure == null) {
      return "";
    }
    Throwable cause = failure;
    while (cause instanceof ExecutionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return " (last probe: " + cause.getClass().getSimpleName()
        + (cause.getMessage() == null ? "" : ": " + cause.getMessage()) + ")";
  }

  private static int firstNotReady(boolean[] ready) {
    for (int i = 0; i < ready.length; i++) {
      if (!ready[i]) {
        return i;
      }
    }
    throw new IllegalStateException("all members are ready");
  }
}
