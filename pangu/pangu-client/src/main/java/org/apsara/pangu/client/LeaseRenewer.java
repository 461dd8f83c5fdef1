package org.apsara.pangu.client;

import static org.apsara.pangu.api.v1.PanguMasterGrpc.getRenewLeaseMethod;

import java.io.IOException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.apsara.pangu.api.v1.RenewLeaseRequest;
import org.apsara.pangu.api.v1.RenewLeaseResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the writer leases of one client alive: while at least one of its output streams is open,
 * it renews every {@link PanguClientConfig#leaseRenewInterval}. One RenewLease covers every lease
 * the client holds, so one renewer serves all its streams.
 *
 * <p>Thread-safe. Its thread is a daemon and exists only while streams are open.
 */
final class LeaseRenewer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LeaseRenewer.class);

  private final MasterCaller master;
  private final String clientName;
  private final long intervalNanos;
  private int openStreams;
  private ScheduledExecutorService executor;
  private ScheduledFuture<?> task;
  private boolean closed;

  LeaseRenewer(MasterCaller master, PanguClientConfig config) {
    this.master = master;
    this.clientName = config.clientName();
    this.intervalNanos = config.leaseRenewInterval().toNanos();
  }

  /** A stream opened: renew until it and every other one closed. */
  synchronized void streamOpened() {
    if (closed) {
      throw new IllegalStateException("the Pangu client is closed");
    }
    if (openStreams++ == 0) {
      if (executor == null) {
        executor = Executors.newSingleThreadScheduledExecutor(r -> {
          Thread t = new Thread(r, "pangu-lease-renewer-" + clientName);
          t.setDaemon(true);
          return t;
        });
      }
      task = executor.scheduleWithFixedDelay(this::renew, intervalNanos, intervalNanos,
          TimeUnit.NANOSECONDS);
    }
  }

  synchronized void streamClosed() {
    if (openStreams > 0 && --openStreams == 0 && task != null) {
      task.cancel(false);
      task = null;
    }
  }

  synchronized int openStreams() {
    return openStreams;
  }

  /** Renews now (the scheduled task; tests may call it directly). */
  void renew() {
    try {
      RenewLeaseResponse response = master.call("renew lease", "", MasterCaller.Retry.IDEMPOTENT,
          getRenewLeaseMethod(), RenewLeaseRequest.newBuilder().setClientName(clientName).build());
      if (response.getExpired() > 0) {
        LOG.warn("{} lease(s) of client {} had already expired; writes to those files will fail",
            response.getExpired(), clientName);
      }
    } catch (IOException | RuntimeException e) {
      // The next round tries again; a lease lasts three intervals.
      LOG.warn("Renewing the leases of client {} failed: {}", clientName, e.toString());
    }
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (executor != null) {
      executor.shutdownNow();
    }
  }
}
