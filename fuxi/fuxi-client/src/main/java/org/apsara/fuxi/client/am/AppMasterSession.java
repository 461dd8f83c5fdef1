package org.apsara.fuxi.client.am;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apsara.common.net.HostPort;
import org.apsara.fuxi.api.v1.AllocateRequest;
import org.apsara.fuxi.api.v1.AllocateResponse;
import org.apsara.fuxi.api.v1.ChangeError;
import org.apsara.fuxi.api.v1.FuxiMasterGrpc;
import org.apsara.fuxi.api.v1.Grant;
import org.apsara.fuxi.api.v1.Location;
import org.apsara.fuxi.api.v1.Release;
import org.apsara.fuxi.api.v1.Request;
import org.apsara.fuxi.api.v1.Revoke;
import org.apsara.fuxi.api.v1.RoleDefinition;
import org.apsara.fuxi.api.v1.Withdraw;
import org.apsara.fuxi.client.Backoff;
import org.apsara.fuxi.client.FuxiErrorCode;
import org.apsara.fuxi.client.FuxiException;
import org.apsara.fuxi.client.MasterChannels;
import org.apsara.fuxi.api.v1.Refuse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An application master's session with the FuxiMaster primary over {@code FuxiMaster.Allocate}.
 *
 * <p><b>Protocol.</b> {@link #connect} opens the stream, says Hello and returns once a primary
 * welcomed it. Each change ({@link #defineRole}, {@link #request}, {@link #withdraw}, {@link
 * #release}, {@link #refuse}) travels at once in its own {@code Changes} message, so a refusal
 * ({@link AppMasterListener#onChangeError}) names exactly one change. Nothing is ever asked twice,
 * except once after a failover: when a primary answers {@code Welcome.sync_required}, the session
 * opens a new stream whose Hello carries a {@code Sync} of its {@link AllocationView} (roles, held
 * units, pending requests) and then sends its refusals again, which a Sync cannot carry.
 *
 * <p><b>Failover.</b> When the stream ends (the primary stepped down and named its successor, a new
 * primary is rebuilding, the connection broke, or the server simply ended it) the session
 * reconnects, following the primary a standby names, with jittered pauses, for up to {@link
 * AppMasterSettings#reconnectTimeout}. Changes made meanwhile are applied to the view and sent
 * once a primary welcomes the session (or carried by the Sync). A change written just before the
 * stream broke may be lost by an old primary that keeps its state; the master's decisions remain
 * authoritative.
 *
 * <p><b>Threading.</b> Thread-safe. The master's messages are applied to the view and delivered to
 * the {@link AppMasterListener} on one event thread owned by the session, in order. The change
 * methods may be called from any thread, the listener included; they never block on the network.
 * The session holds the current token ({@link #token}), renewed by the master.
 */
public final class AppMasterSession implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AppMasterSession.class);
  /** Changes kept while no primary has welcomed the session; more means something is wrong. */
  static final int OUTBOX_MAX = 100_000;
  /** Syncs in a row a primary may still answer sync_required to before the session gives up. */
  static final int SYNC_REFUSALS_MAX = 3;

  private final AppMasterSettings settings;
  private final AppMasterListener listener;
  private final MasterChannels channels;
  private final Backoff backoff;
  private final ScheduledExecutorService events;
  private final Object lock = new Object();
  private final CompletableFuture<Void> welcomed = new CompletableFuture<>();
  private final CompletableFuture<Boolean> finished = new CompletableFuture<>();
  private volatile Thread eventThread;
  private volatile String token;

  // Guarded by lock.
  private final AllocationTracker tracker = new AllocationTracker();
  private final List<AllocateRequest> outbox = new ArrayList<>();
  private Connection current;
  private AllocateRequest.Finish finish;
  private boolean everWelcomed;
  private int failuresInARow;
  private int syncRefusalsInARow;
  private long disconnectedSinceNanos = -1;
  private FuxiException lost;
  private boolean closed;

  private AppMasterSession(AppMasterSettings settings, AppMasterListener listener) {
    this.settings = settings;
    this.listener = listener;
    this.channels = new MasterChannels(settings.masters(), settings.tls());
    this.backoff = settings.backoff();
    this.token = settings.applicationToken();
    this.events = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "fuxi-am-events-" + settings.applicationId());
      t.setDaemon(true);
      eventThread = t;
      return t;
    });
  }

  /**
   * Opens the session and waits until a primary welcomed it (following standbys and retrying for
   * up to the reconnect timeout).
   *
   * @throws FuxiException the master's refusal of the Hello (a newer attempt runs, an unknown or
   *     ended application, a bad token), or {@code MASTER_UNAVAILABLE}
   */
  public static AppMasterSession connect(AppMasterSettings settings, AppMasterListener listener)
      throws FuxiException, InterruptedException {
    AppMasterSession session = new AppMasterSession(settings, listener);
    session.events.execute(() -> session.open(session.channels.primary(), false));
    try {
      session.welcomed.get();
      return session;
    } catch (ExecutionException e) {
      session.close();
      throw e.getCause() instanceof FuxiException f ? f
          : new FuxiException(FuxiErrorCode.UNCLASSIFIED, String.valueOf(e.getCause()),
              e.getCause());
    } catch (InterruptedException e) {
      session.close();
      throw e;
    }
  }

  public String applicationId() {
    return settings.applicationId();
  }

  public int attempt() {
    return settings.attempt();
  }

  /** The current application token: the latest the master renewed. */
  public String token() {
    return token;
  }

  /** A snapshot of the roles, held units and pending requests as this session believes them. */
  public AllocationView view() {
    synchronized (lock) {
      return tracker.view();
    }
  }

  /**
   * Defines a role: its unit shape, priority and worker class.
   *
   * @throws IllegalArgumentException for a role defined already or a name starting with "fuxi."
   * @throws IllegalStateException when the session is closed, lost or finishing
   */
  public void defineRole(RoleDefinition role) {
    synchronized (lock) {
      requireOpen();
      tracker.defineRole(role);
      send(changes(AllocateRequest.Changes.newBuilder().addDefineRoles(role)));
    }
  }

  /** Asks for {@code count} more units of {@code role} at {@code location}. */
  public void request(String role, Location location, int count) {
    synchronized (lock) {
      requireOpen();
      tracker.request(role, location, count);
      send(changes(AllocateRequest.Changes.newBuilder().addRequests(Request.newBuilder()
          .setRole(role).setLocation(location).setCount(count))));
    }
  }

  /** Takes back up to {@code count} units still waited for at {@code location}. */
  public void withdraw(String role, Location location, int count) {
    synchronized (lock) {
      requireOpen();
      tracker.withdraw(role, location, count);
      send(changes(AllocateRequest.Changes.newBuilder().addWithdrawals(Withdraw.newBuilder()
          .setRole(role).setLocation(location).setCount(count))));
    }
  }

  /**
   * Gives back {@code count} held units of {@code role} on {@code machineId}; their workers should
   * have ended.
   *
   * @throws IllegalArgumentException if fewer are held there
   */
  public void release(String role, String machineId, int count) {
    synchronized (lock) {
      requireOpen();
      tracker.release(role, machineId, count);
      send(changes(AllocateRequest.Changes.newBuilder().addReleases(Release.newBuilder()
          .setRole(role).setMachineId(machineId).setCount(count))));
    }
  }

  /** Asks never to be granted {@code role} at this machine or rack again. */
  public void refuse(String role, Location location) {
    synchronized (lock) {
      requireOpen();
      tracker.refuse(role, location);
      send(changes(AllocateRequest.Changes.newBuilder().addRefusals(Refuse.newBuilder()
          .setRole(role).setLocation(location))));
    }
  }

  /**
   * Ends the application: SUCCEEDED, or FAILED with {@code diagnostics}. Sends Finish (after
   * reconnecting, if need be) and waits until the master ended the stream. Must not be called on
   * the listener's thread.
   *
   * @return true once the master confirmed; false if it did not within {@code timeout} or the
   *     session was lost
   */
  public boolean finish(boolean succeeded, String diagnostics, Duration timeout)
      throws InterruptedException {
    if (Thread.currentThread() == eventThread) {
      throw new IllegalStateException("finish waits for the event thread; call it elsewhere");
    }
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("the session is closed");
      }
      if (finish == null && lost == null) {
        finish = AllocateRequest.Finish.newBuilder().setSucceeded(succeeded)
            .setDiagnostics(diagnostics == null ? "" : diagnostics).build();
        if (current != null && current.welcomed && !current.ended) {
          current.out.onNext(AllocateRequest.newBuilder().setFinish(finish).build());
        }
      }
    }
    try {
      return finished.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (ExecutionException | TimeoutException e) {
      return false;
    }
  }

  /** Ends the stream (without Finish) and stops the event thread; the application goes on. */
  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      if (current != null && !current.ended) {
        current.ended = true;
        current.cancel("the application master closed its session");
      }
    }
    finished.complete(false);
    welcomed.completeExceptionally(new FuxiException(FuxiErrorCode.UNCLASSIFIED,
        "the session was closed", null));
    events.shutdownNow();
    channels.close();
  }

  // ------------------------------------------------------------------ stream handling

  private static AllocateRequest changes(AllocateRequest.Changes.Builder changes) {
    return AllocateRequest.newBuilder().setChanges(changes).build();
  }

  private void requireOpen() {
    if (closed) {
      throw new IllegalStateException("the session is closed");
    }
    if (lost != null) {
      throw new IllegalStateException("the session was lost: " + lost.getMessage(), lost);
    }
    if (finish != null) {
      throw new IllegalStateException("the application master has finished");
    }
  }

  /** Sends now on a welcomed stream, or keeps it for the next one. Under lock. */
  private void send(AllocateRequest request) {
    if (current != null && current.welcomed && !current.ended) {
      current.out.onNext(request);
      return;
    }
    if (outbox.size() >= OUTBOX_MAX) {
      throw new IllegalStateException(OUTBOX_MAX + " changes wait for a primary already");
    }
    outbox.add(request);
  }

  /** Opens a stream to {@code target}; runs on the event thread. */
  private void open(HostPort target, boolean withSync) {
    synchronized (lock) {
      if (closed || lost != null) {
        return;
      }
      AllocateRequest.Hello.Builder hello = AllocateRequest.Hello.newBuilder()
          .setApplicationId(settings.applicationId())
          .setApplicationToken(token)
          .setAttempt(settings.attempt());
      if (withSync) {
        hello.setSync(tracker.toSync());
        // The Sync carries every change made so far except refusals: send those again after it.
        outbox.clear();
        for (Refuse refuse : tracker.refusals()) {
          outbox.add(changes(AllocateRequest.Changes.newBuilder().addRefusals(refuse)));
        }
      }
      Connection c = new Connection(target, withSync);
      current = c;
      try {
        c.out = (ClientCallStreamObserver<AllocateRequest>)
            FuxiMasterGrpc.newStub(channels.channel(target)).allocate(c);
        c.out.onNext(AllocateRequest.newBuilder().setHello(hello).build());
      } catch (RuntimeException e) {
        // The channel is closed or the call could not start: treat like a failed connection.
        c.ended = true;
        events.execute(() -> retry(target, Status.UNAVAILABLE.withCause(e)
            .withDescription("could not open a stream: " + e), null, false));
        return;
      }
      LOG.debug("Application {} attempt {}: opened a stream to {}{}", settings.applicationId(),
          settings.attempt(), target, withSync ? " with a sync" : "");
      events.schedule(() -> welcomeOverdue(c), settings.welcomeTimeout().toNanos(),
          TimeUnit.NANOSECONDS);
    }
  }

  private void welcomeOverdue(Connection c) {
    synchronized (lock) {
      if (c != current || c.welcomed || c.ended) {
        return;
      }
      c.ended = true;
      c.cancel("no Welcome within " + settings.welcomeTimeout());
    }
    retry(channels.next(c.target), Status.DEADLINE_EXCEEDED.withDescription(
        c.target + " sent no Welcome within " + settings.welcomeTimeout()), null, false);
  }

  private void onResponse(Connection c, AllocateResponse response) {
    switch (response.getKindCase()) {
      case WELCOME -> onWelcome(c, response.getWelcome());
      case DECISIONS -> onDecisions(c, response.getDecisions());
      case RENEWED_TOKEN -> {
        if (!isCurrent(c)) {
          return;
        }
        token = response.getRenewedToken();
        deliver(() -> listener.onTokenRenewed(response.getRenewedToken()));
      }
      case WORKER_EXIT -> {
        if (isCurrent(c)) {
          deliver(() -> listener.onWorkerExit(response.getWorkerExit()));
        }
      }
      default -> LOG.warn("Application {}: ignoring an empty or unknown message from the master",
          settings.applicationId());
    }
  }

  private boolean isCurrent(Connection c) {
    synchronized (lock) {
      return c == current && !c.ended && !closed;
    }
  }

  private void onWelcome(Connection c, AllocateResponse.Welcome welcome) {
    boolean reconnected;
    synchronized (lock) {
      if (c != current || c.ended || closed) {
        return;
      }
      if (welcome.getSyncRequired()) {
        if (c.withSync && ++syncRefusalsInARow > SYNC_REFUSALS_MAX) {
          c.ended = true;
          c.cancel("sync refused");
          sessionLost(new FuxiException(FuxiErrorCode.UNCLASSIFIED, c.target
              + " asked for a sync " + syncRefusalsInARow + " times in a row after one", null));
          return;
        }
        // A primary that never heard of this AM: start again with everything it must know.
        c.ended = true;
        c.out.onCompleted();
        open(c.target, true);
        return;
      }
      syncRefusalsInARow = 0;
      c.welcomed = true;
      channels.primaryIs(c.target);
      failuresInARow = 0;
      disconnectedSinceNanos = -1;
      for (AllocateRequest request : outbox) {
        c.out.onNext(request);
      }
      outbox.clear();
      if (finish != null) {
        c.out.onNext(AllocateRequest.newBuilder().setFinish(finish).build());
      }
      reconnected = everWelcomed;
      everWelcomed = true;
      LOG.info("Application {} attempt {}: welcomed by {}{}", settings.applicationId(),
          settings.attempt(), c.target, c.withSync ? " after a sync" : "");
    }
    welcomed.complete(null);
    if (reconnected) {
      deliver(() -> listener.onReconnected(c.withSync));
    }
  }

  private void onDecisions(Connection c, AllocateResponse.Decisions decisions) {
    synchronized (lock) {
      if (c != current || c.ended || closed) {
        return;
      }
      for (Grant g : decisions.getGrantsList()) {
        tracker.granted(g);
      }
      for (Revoke r : decisions.getRevocationsList()) {
        tracker.revoked(r);
      }
      for (ChangeError e : decisions.getErrorsList()) {
        tracker.refused(e);
      }
    }
    for (Grant g : decisions.getGrantsList()) {
      deliver(() -> listener.onGranted(g));
    }
    for (Revoke r : decisions.getRevocationsList()) {
      deliver(() -> listener.onRevoked(r));
    }
    for (ChangeError e : decisions.getErrorsList()) {
      LOG.warn("Application {}: the master refused {} of role '{}': {} {}",
          settings.applicationId(), e.getChange(), e.getRole(), e.getCode(), e.getMessage());
      deliver(() -> listener.onChangeError(e));
    }
  }

  private void onEnded(Connection c, Status status, Metadata trailers) {
    synchronized (lock) {
      if (c != current || c.ended || closed) {
        return;
      }
      c.ended = true;
    }
    FuxiException error = status.isOk() ? null : FuxiException.fromStatus(status, trailers, null);
    boolean finishing;
    synchronized (lock) {
      finishing = finish != null;
    }
    // After Finish, a clean end of a welcomed stream, or a master that says the application has
    // ended (the Finish landed before a reconnect), confirms it.
    if (finishing && (error == null ? c.welcomed
        : error.code() == FuxiErrorCode.APPLICATION_FINISHED)) {
      LOG.info("Application {}: the master confirmed the finish", settings.applicationId());
      finished.complete(true);
      return;
    }
    if (error == null) {
      // The server ended the stream (say, it is stepping down): connect again, where it may
      // name its successor.
      retry(c.target, Status.UNAVAILABLE.withDescription(c.target + " ended the stream"),
          null, false);
      return;
    }
    switch (error.code()) {
      case NOT_PRIMARY -> {
        HostPort named = MasterChannels.namedPrimary(trailers);
        HostPort next = channels.after(c.target, status.asRuntimeException(trailers));
        retry(next, status, trailers, named != null && !named.equals(c.target));
      }
      case REBUILDING -> retry(c.target, status, trailers, false);
      case UNCLASSIFIED -> {
        switch (status.getCode()) {
          case UNAVAILABLE, DEADLINE_EXCEEDED, UNKNOWN, ABORTED, CANCELLED, INTERNAL ->
              retry(channels.after(c.target, status.asRuntimeException(trailers)), status,
                  trailers, false);
          default -> sessionLost(error);
        }
      }
      default -> sessionLost(error);
    }
  }

  /** Connects again to {@code target}, now for a fresh primary hint, else after a pause. */
  private void retry(HostPort target, Status why, Metadata trailers, boolean now) {
    long delayNanos;
    synchronized (lock) {
      if (closed || lost != null) {
        return;
      }
      long nowNanos = System.nanoTime();
      if (disconnectedSinceNanos < 0) {
        disconnectedSinceNanos = nowNanos;
      } else if (nowNanos - disconnectedSinceNanos > settings.reconnectTimeout().toNanos()) {
        sessionLost(new FuxiException(FuxiErrorCode.MASTER_UNAVAILABLE, "no FuxiMaster primary"
            + " welcomed the application master within " + settings.reconnectTimeout()
            + "; last: " + why, null));
        return;
      }
      // Following a fresh hint needs no pause; hints that keep bouncing do.
      delayNanos = now && failuresInARow <= settings.masters().size() ? 0
          : backoff.pauseNanos(failuresInARow);
      failuresInARow++;
      LOG.info("Application {}: the stream ended ({}{}); connecting to {} in {} ms",
          settings.applicationId(), why.getCode(),
          why.getDescription() != null ? ": " + why.getDescription() : "", target,
          TimeUnit.NANOSECONDS.toMillis(delayNanos));
      // Under the lock: close() cannot shut the executor down between the check and this.
      events.schedule(() -> open(target, false), delayNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void sessionLost(FuxiException cause) {
    synchronized (lock) {
      if (lost != null || closed) {
        return;
      }
      lost = cause;
    }
    LOG.error("Application {} attempt {}: the session is lost: {}", settings.applicationId(),
        settings.attempt(), cause.toString());
    welcomed.completeExceptionally(cause);
    finished.complete(false);
    deliver(() -> listener.onSessionLost(cause));
  }

  /** Runs a listener callback; one that throws must not stop the event thread. */
  private void deliver(Runnable callback) {
    try {
      callback.run();
    } catch (RuntimeException e) {
      LOG.error("Application {}: the listener failed", settings.applicationId(), e);
    }
  }

  /** One Allocate stream; its callbacks move onto the event thread. */
  private final class Connection implements StreamObserver<AllocateResponse> {
    final HostPort target;
    final boolean withSync;
    ClientCallStreamObserver<AllocateRequest> out;
    // Guarded by lock.
    boolean welcomed;
    boolean ended;

    Connection(HostPort target, boolean withSync) {
      this.target = target;
      this.withSync = withSync;
    }

    void cancel(String why) {
      if (out != null) {
        out.cancel(why, null);
      }
    }

    @Override
    public void onNext(AllocateResponse response) {
      post(() -> onResponse(this, response));
    }

    @Override
    public void onError(Throwable t) {
      post(() -> onEnded(this, Status.fromThrowable(t), Status.trailersFromThrowable(t)));
    }

    @Override
    public void onCompleted() {
      post(() -> onEnded(this, Status.OK, null));
    }

    private void post(Runnable r) {
      try {
        events.execute(r);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        // The session is closed: nothing more to deliver.
      }
    }
  }
}
