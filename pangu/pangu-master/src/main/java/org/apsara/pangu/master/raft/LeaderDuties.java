package org.apsara.pangu.master.raft;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apsara.pangu.master.namespace.Namespace;
import org.apsara.pangu.master.namespace.NamespaceErrorCode;
import org.apsara.pangu.master.namespace.NamespaceException;
import org.apsara.pangu.master.namespace.NamespaceReply;
import org.apsara.pangu.master.namespace.OpenFile;
import org.apsara.pangu.master.raft.MasterStateMachine.LeaderTerm;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The background work only the leader does: the lease monitor, which recovers leases that
 * expired, and the reclaim driver, which proposes {@code ReclaimDeleted} records while deleted
 * subtrees wait to be freed. Both run on one thread of their own, start when this member
 * becomes a ready leader and stop when it loses leadership (each round also checks that the
 * term it started in is still this member's).
 *
 * <p>Time: lease expiries are wall-clock times stamped by some earlier leader, whose clock may
 * have run behind this one's. So a new leader waits one lease duration, on the injected wall
 * clock, before it recovers anything: every writer has had a full lease period to renew with it.
 *
 * <p>Threading: {@link #leaderReady} and {@link #leadershipLost} may be called from any thread;
 * rounds run on the duties thread only.
 */
final class LeaderDuties implements MasterStateMachine.LeadershipListener, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LeaderDuties.class);

  /** The client name the monitor recovers leases as; no writer is called that. */
  static final String LEASE_MONITOR_CLIENT = "pangu-master-lease-monitor";
  /** Open files read per page of the lease scan. */
  static final int OPEN_FILES_PER_PAGE = 1000;
  /** Open files one monitor round looks at; the next round resumes where this one stopped. */
  static final int OPEN_FILES_PER_ROUND_MAX = 100_000;
  /** Leases one monitor round recovers at most, one record each. */
  static final int RECOVERIES_PER_ROUND_MAX = 100;
  /** Reclaim records one round proposes at most, so the thread gets back to the monitor. */
  static final int RECLAIM_RECORDS_PER_ROUND_MAX = 100;
  /** How long closing waits for a round in progress (it waits on at most one request). */
  private static final long STOP_WAIT_MS = 5_000;

  /** What the duties need of their node. */
  interface Leader {
    /** True while this member still leads in {@code term} and is ready. */
    boolean leading(long term);

    CompletableFuture<NamespaceReply> submit(MasterCommand command);

    Namespace namespace();

    /** The chunk-aware lease recovery, or null to drop uncommitted last chunks. */
    default LeaseRecovery leaseRecovery() {
      return null;
    }
  }

  private final Leader leader;
  private final Clock wallClock;
  private final Duration leaseGrace;
  private final Duration leaseMonitorInterval;
  private final Duration reclaimInterval;
  private final Duration requestTimeout;
  private final MasterMetrics metrics;
  private final ScheduledExecutorService executor;
  private final List<ScheduledFuture<?>> running = new ArrayList<>();
  /** Where the next lease scan starts; null for the beginning. Duties thread only. */
  private OpenFile leaseCursor;

  LeaderDuties(String memberId, Leader leader, Clock wallClock, Duration leaseGrace,
      Duration leaseMonitorInterval, Duration reclaimInterval, Duration requestTimeout,
      MasterMetrics metrics) {
    this.leader = leader;
    this.wallClock = wallClock;
    this.leaseGrace = leaseGrace;
    this.leaseMonitorInterval = leaseMonitorInterval;
    this.reclaimInterval = reclaimInterval;
    this.requestTimeout = requestTimeout;
    this.metrics = metrics;
    this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread thread = new Thread(r, "pangu-master-" + memberId + "-leader-duties");
      thread.setDaemon(true);
      return thread;
    });
  }

  @Override
  public synchronized void leaderReady(LeaderTerm term) {
    cancelRunning();
    if (executor.isShutdown()) {
      return;
    }
    running.add(executor.scheduleWithFixedDelay(() -> guarded(() -> leaseRound(term)),
        leaseMonitorInterval.toMillis(), leaseMonitorInterval.toMillis(), TimeUnit.MILLISECONDS));
    running.add(executor.scheduleWithFixedDelay(() -> guarded(() -> reclaimRound(term)),
        0, reclaimInterval.toMillis(), TimeUnit.MILLISECONDS));
  }

  @Override
  public synchronized void leadershipLost() {
    cancelRunning();
  }

  private void cancelRunning() {
    running.forEach(f -> f.cancel(false));
    running.clear();
    if (!executor.isShutdown()) {
      // A new term scans from the start.
      executor.execute(() -> leaseCursor = null);
    }
  }

  /** A failing round must not end the schedule (a thrown exception would). */
  private void guarded(Runnable round) {
    try {
      round.run();
    } catch (RuntimeException e) {
      LOG.atWarn().setCause(e).log("leader duty round failed; trying again next round");
    }
  }

  // ---------------------------------------------------------------- lease monitor

  /** One round of the lease monitor; returns the leases it recovered. Duties thread. */
  int leaseRound(LeaderTerm term) {
    try {
      if (!leader.leading(term.term())
          || wallClock.millis() - term.sinceWallMs() < leaseGrace.toMillis()) {
        return 0;
      }
      long nowMs = wallClock.millis();
      Namespace namespace = leader.namespace();
      List<OpenFile> expired = findExpired(namespace, nowMs);
      int recovered = 0;
      for (OpenFile file : expired) {
        if (!leader.leading(term.term())) {
          break;
        }
        if (recover(namespace, file)) {
          recovered++;
        }
      }
      return recovered;
    } finally {
      metrics.leaseMonitorTicks.increment();
    }
  }

  private List<OpenFile> findExpired(Namespace namespace, long nowMs) {
    List<OpenFile> expired = new ArrayList<>();
    int scanned = 0;
    try {
      while (scanned < OPEN_FILES_PER_ROUND_MAX && expired.size() < RECOVERIES_PER_ROUND_MAX) {
        List<OpenFile> page = namespace.openFiles(leaseCursor, OPEN_FILES_PER_PAGE);
        for (OpenFile file : page) {
          scanned++;
          leaseCursor = file;
          if (file.leaseExpiryMs() <= nowMs) {
            expired.add(file);
            if (expired.size() == RECOVERIES_PER_ROUND_MAX) {
              return expired;
            }
          }
        }
        if (page.size() < OPEN_FILES_PER_PAGE) {
          leaseCursor = null;
          break;
        }
      }
    } catch (NamespaceException e) {
      throw new IllegalStateException("listing open files cannot be refused", e);
    }
    return expired;
  }

  private boolean recover(Namespace namespace, OpenFile file) {
    String path;
    try {
      path = namespace.pathOf(file.fileId());
    } catch (NamespaceException e) {
      // Deleted meanwhile, or part of a deleted subtree: reclaiming it frees the lease.
      return false;
    }
    try {
      LeaseRecovery recovery = leader.leaseRecovery();
      boolean closed = recovery != null ? recovery.recover(path, LEASE_MONITOR_CLIENT)
          : dropUncommitted(path);
      if (closed) {
        metrics.leasesRecovered.increment();
        LOG.atInfo().addKeyValue("path", path).addKeyValue("holder", file.clientName())
            .addKeyValue("expiredAtMs", file.leaseExpiryMs()).log("recovered an expired lease");
      }
      return closed;
    } catch (NamespaceException refused) {
      if (refused.code() != NamespaceErrorCode.LEASE_HELD_BY_OTHER) {
        // LEASE_HELD_BY_OTHER: renewed since the scan, or the path now names another file.
        LOG.atInfo().addKeyValue("path", path).addKeyValue("error", refused.getMessage())
            .log("lease recovery refused; the next round tries again");
      }
      return false;
    } catch (RuntimeException e) {
      LOG.atInfo().addKeyValue("path", path).addKeyValue("error", e.toString())
          .log("lease recovery failed; the next round tries again");
      return false;
    }
  }

  /**
   * Without a chunk-aware {@link LeaseRecovery} no chunkserver can hold a replica, so an
   * uncommitted last chunk holds no byte and is dropped.
   */
  private boolean dropUncommitted(String path) throws NamespaceException {
    try {
      NamespaceReply reply = leader.submit(p -> p.recoverLeaseDroppingLastChunk(path,
          LEASE_MONITOR_CLIENT)).get(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
      return reply instanceof NamespaceReply.Status status && !status.status().open();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof NamespaceException refused) {
        throw refused;
      }
      throw new IllegalStateException(e.getCause());
    } catch (TimeoutException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  // ---------------------------------------------------------------- reclaim driver

  /** Proposes reclaim records while deleted subtrees wait. Duties thread. */
  int reclaimRound(LeaderTerm term) {
    int proposed = 0;
    while (proposed < RECLAIM_RECORDS_PER_ROUND_MAX && leader.leading(term.term())
        && leader.namespace().reclaimPending()) {
      try {
        NamespaceReply reply = leader.submit(p -> p.reclaimDeleted())
            .get(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
        proposed++;
        metrics.reclaimRecords.increment();
        if (reply instanceof NamespaceReply.Reclaimed reclaimed && reclaimed.done()) {
          break;
        }
      } catch (ExecutionException | TimeoutException e) {
        LOG.atInfo().addKeyValue("error", String.valueOf(e.getCause()))
            .log("reclaim record failed; the next round tries again");
        break;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    return proposed;
  }

  @Override
  public void close() {
    synchronized (this) {
      // Under the lock, so that leaderReady never schedules on a shut-down executor.
      running.forEach(f -> f.cancel(true));
      running.clear();
      executor.shutdownNow();
    }
    try {
      if (!executor.awaitTermination(STOP_WAIT_MS, TimeUnit.MILLISECONDS)) {
        LOG.warn("leader duties did not stop in time");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
