package org.apsara.nuwa.server.grpc;

import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.ResponseHeader;
import io.etcd.jetcd.api.WatchCancelRequest;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.api.NuwaLimits;
import org.apsara.nuwa.server.mvcc.MvccStore;

/**
 * One client's bidirectional watch stream and the watchers created on it.
 *
 * <p>Each watcher is drained by at most one task at a time (a work counter guarantees it), so
 * its events go out in revision order. Sending stops while gRPC's outbound buffer is full and
 * resumes when the transport is ready again: a slow client costs memory in the store's history,
 * which compaction bounds, never in an unbounded queue here.
 */
final class WatchStream implements StreamObserver<WatchRequest> {
  /** etcd's "no watch ID": responses to a progress request carry it. */
  private static final long NO_WATCH_ID = -1;
  /** Watchers one stream may hold. */
  private static final int WATCHERS_PER_STREAM_MAX = 10_000;
  /** How long a progress request waits for the watchers to catch up before answering anyway. */
  private static final Duration PROGRESS_WAIT_MAX = Duration.ofSeconds(5);
  private static final long PROGRESS_POLL_MS = 5;
  /** Field number of {@code WatchCreateRequest.watch_id} in etcd's API. */
  private static final int WATCH_ID_FIELD = 7;

  private final ServerContext ctx;
  private final ServerCallStreamObserver<WatchResponse> responses;
  private final Executor senders;
  private final Consumer<WatchStream> onClose;
  /** The token the stream was opened with: etcd judges every watch created on it by that token. */
  private final String token;
  private final Map<Long, Watcher> watchers = new ConcurrentHashMap<>();
  private final Object sendLock = new Object();
  private long nextWatchId;
  private volatile boolean closed;

  WatchStream(ServerContext ctx, ServerCallStreamObserver<WatchResponse> responses,
      Executor senders, Consumer<WatchStream> onClose) {
    this.ctx = ctx;
    this.responses = responses;
    this.senders = senders;
    this.onClose = onClose;
    this.token = AuthTokenInterceptor.currentToken();
    responses.setOnCancelHandler(this::close);
    responses.setOnReadyHandler(() -> watchers.values().forEach(this::schedule));
  }

  // ------------------------------------------------------------------ requests from the client

  @Override
  public void onNext(WatchRequest request) {
    switch (request.getRequestUnionCase()) {
      case CREATE_REQUEST -> create(request.getCreateRequest());
      case CANCEL_REQUEST -> cancel(request.getCancelRequest());
      case PROGRESS_REQUEST -> progress();
      default -> { }
    }
  }

  @Override
  public void onError(Throwable t) {
    close();
  }

  @Override
  public void onCompleted() {
    close();
    synchronized (sendLock) {
      try {
        responses.onCompleted();
      } catch (IllegalStateException | StatusRuntimeException alreadyClosed) {
        // The call ended first.
      }
    }
  }

  private synchronized void create(WatchCreateRequest request) {
    long id = requestedWatchId(request);
    if (id == 0) {
      while (watchers.containsKey(nextWatchId)) {
        nextWatchId++;
      }
      id = nextWatchId++;
    } else if (watchers.containsKey(id)) {
      send(WatchResponse.newBuilder().setHeader(ctx.header()).setWatchId(id).setCreated(true)
          .setCanceled(true).setCancelReason("mvcc: duplicate watch ID provided on the WatchStream")
          .build());
      return;
    }
    if (watchers.size() >= WATCHERS_PER_STREAM_MAX) {
      send(WatchResponse.newBuilder().setHeader(ctx.header()).setWatchId(id).setCreated(true)
          .setCanceled(true)
          .setCancelReason("etcdserver: too many watchers on one stream (limit "
              + WATCHERS_PER_STREAM_MAX + ")")
          .build());
      return;
    }
    if (request.getKey().isEmpty()) {
      send(WatchResponse.newBuilder().setHeader(ctx.header()).setWatchId(id).setCreated(true)
          .setCanceled(true).setCancelReason("etcdserver: key is not provided").build());
      return;
    }
    Status refused = permissionToWatch(request);
    if (refused != null) {
      // As etcd answers: created and canceled at once, with no watch ID, the reason naming the
      // gRPC status the way Go prints it (clients look for etcd's message inside).
      send(WatchResponse.newBuilder().setHeader(ctx.header()).setWatchId(NO_WATCH_ID)
          .setCreated(true).setCanceled(true).setCancelReason(asGoError(refused))
          .build());
      return;
    }
    MvccStore store = ctx.stateMachine.store();
    long current = store.revision();
    long start = request.getStartRevision() > 0 ? request.getStartRevision() : current + 1;
    boolean noPut = false;
    boolean noDelete = false;
    for (WatchCreateRequest.FilterType filter : request.getFiltersList()) {
      noPut |= filter == WatchCreateRequest.FilterType.NOPUT;
      noDelete |= filter == WatchCreateRequest.FilterType.NODELETE;
    }
    Watcher watcher = new Watcher(id, new KeyRange(request.getKey(), request.getRangeEnd()),
        request.getPrevKv(), noPut, noDelete, request.getProgressNotify(), start);
    ResponseHeader header = ctx.header(ResponseHeader.newBuilder().setRevision(current).build());
    watchers.put(id, watcher);
    send(WatchResponse.newBuilder().setHeader(header).setWatchId(id).setCreated(true).build());
    schedule(watcher);
  }

  /**
   * Why the caller may not watch the requested keys (it needs read on all of them), or null if it
   * may. A token from before the latest auth change is refused as invalid rather than old: that is
   * the reason on which jetcd, whose watches otherwise fail for good, authenticates again and
   * retries.
   */
  private Status permissionToWatch(WatchCreateRequest request) {
    try {
      ctx.access.authenticate(token).checkRead(request.getKey(), request.getRangeEnd());
      return null;
    } catch (StatusRuntimeException e) {
      boolean old = java.util.Objects.equals(e.getStatus().getDescription(),
          NuwaErrors.AUTH_OLD_REVISION.getDescription());
      return old ? NuwaErrors.INVALID_AUTH_TOKEN : e.getStatus();
    }
  }

  /**
   * The watch ID the client chose, or 0 to let the server choose. etcd 3.4 added the field
   * ({@code watch_id = 7}) after the .proto files this build compiles against, so it arrives as
   * an unknown field; protobuf keeps those.
   */
  private static long requestedWatchId(WatchCreateRequest request) {
    var field = request.getUnknownFields().getField(WATCH_ID_FIELD);
    return field == null || field.getVarintList().isEmpty() ? 0 : field.getVarintList().get(0);
  }

  private void cancel(WatchCancelRequest request) {
    Watcher watcher = watchers.remove(request.getWatchId());
    if (watcher != null) {
      watcher.canceled = true;
      send(WatchResponse.newBuilder().setHeader(ctx.header()).setWatchId(watcher.id)
          .setCanceled(true).build());
    }
  }

  /**
   * Answers a progress request with a revision up to which every watcher on this stream has been
   * sent all its events: the latest revision at the time of the request, once every watcher has
   * caught up to it. The answer never overtakes the events it covers.
   */
  private void progress() {
    long target = ctx.stateMachine.store().revision();
    // A drain with nothing to send moves an idle watcher's next revision past the target too.
    watchers.values().forEach(this::schedule);
    awaitProgress(target, System.nanoTime() + PROGRESS_WAIT_MAX.toNanos());
  }

  private void awaitProgress(long target, long deadlineNanos) {
    long reached = target;
    for (Watcher watcher : watchers.values()) {
      reached = Math.min(reached, watcher.nextRevision - 1);
    }
    if (reached >= target || System.nanoTime() - deadlineNanos > 0 || closed) {
      // At the deadline (a client too slow to take its events), answer with what is true.
      send(WatchResponse.newBuilder()
          .setHeader(ctx.header(ResponseHeader.newBuilder().setRevision(reached).build()))
          .setWatchId(NO_WATCH_ID).build());
      return;
    }
    ctx.scheduler.schedule(() -> awaitProgress(target, deadlineNanos), PROGRESS_POLL_MS,
        TimeUnit.MILLISECONDS);
  }

  /** Sends the periodic notification to each caught-up watcher that asked for one. */
  void sendProgressNotifications() {
    long revision = ctx.stateMachine.store().revision();
    for (Watcher watcher : watchers.values()) {
      if (watcher.progressNotify && watcher.nextRevision > revision) {
        send(WatchResponse.newBuilder()
            .setHeader(ctx.header(ResponseHeader.newBuilder().setRevision(revision).build()))
            .setWatchId(watcher.id).build());
      }
    }
  }

  // ------------------------------------------------------------------ events to the client

  /** Called on the apply thread with one revision's events: wakes the watchers they concern. */
  void changed(List<Event> events) {
    for (Watcher watcher : watchers.values()) {
      for (Event event : events) {
        if (watcher.range.contains(event.getKv().getKey())) {
          schedule(watcher);
          break;
        }
      }
    }
  }

  private void schedule(Watcher watcher) {
    if (watcher.work.getAndIncrement() == 0) {
      senders.execute(() -> drainLoop(watcher));
    }
  }

  private void drainLoop(Watcher watcher) {
    int seen;
    do {
      seen = watcher.work.get();
      drain(watcher);
    } while (watcher.work.addAndGet(-seen) != 0);
  }

  /** Sends the watcher every event from its next revision on, while the transport takes them. */
  private void drain(Watcher watcher) {
    MvccStore store = ctx.stateMachine.store();
    while (!closed && !watcher.canceled && responses.isReady()) {
      // Read the revision first: every event at or below it is already in the history.
      long revision = store.revision();
      if (watcher.nextRevision > revision) {
        return;
      }
      List<Event> events;
      try {
        events = store.events(watcher.nextRevision, watcher.range.start(), watcher.range.end(),
            watcher.prevKv, NuwaLimits.MAX_EVENTS_PER_WATCH_RESPONSE);
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() == Status.Code.OUT_OF_RANGE) {
          watchers.remove(watcher.id);
          watcher.canceled = true;
          send(WatchResponse.newBuilder().setHeader(ctx.header()).setWatchId(watcher.id)
              .setCanceled(true).setCompactRevision(store.compactRevision())
              .setCancelReason("mvcc: required revision has been compacted").build());
          return;
        }
        throw e;
      }
      if (events.isEmpty()) {
        watcher.nextRevision = revision + 1;
        return;
      }
      List<Event> filtered = new ArrayList<>(events.size());
      for (Event event : events) {
        boolean put = event.getType() == Event.EventType.PUT;
        if (put ? !watcher.noPut : !watcher.noDelete) {
          filtered.add(event);
        }
      }
      long last = events.get(events.size() - 1).getKv().getModRevision();
      if (!filtered.isEmpty()) {
        send(WatchResponse.newBuilder()
            .setHeader(ctx.header(ResponseHeader.newBuilder().setRevision(revision).build()))
            .setWatchId(watcher.id).addAllEvents(filtered).build());
      }
      // Not past "revision": a short batch may only mean that the next revision's events did not
      // fit; the next turn of the loop reads on, and an empty answer moves past the end.
      watcher.nextRevision = last + 1;
    }
  }

  private void send(WatchResponse response) {
    synchronized (sendLock) {
      if (closed) {
        return;
      }
      try {
        responses.onNext(response);
      } catch (IllegalStateException | StatusRuntimeException e) {
        close();
      }
    }
  }

  private void close() {
    closed = true;
    watchers.values().forEach(w -> w.canceled = true);
    onClose.accept(this);
  }

  void closeFromServer() {
    close();
    synchronized (sendLock) {
      try {
        responses.onError(Status.UNAVAILABLE.withDescription("etcdserver: server stopped")
            .asRuntimeException());
      } catch (IllegalStateException alreadyClosed) {
        // The call ended first.
      }
    }
  }

  /** One watcher; {@code nextRevision} is only touched by its single drain task. */
  private static final class Watcher {
    final long id;
    final KeyRange range;
    final boolean prevKv;
    final boolean noPut;
    final boolean noDelete;
    final boolean progressNotify;
    final AtomicInteger work = new AtomicInteger();
    volatile long nextRevision;
    volatile boolean canceled;

    Watcher(long id, KeyRange range, boolean prevKv, boolean noPut, boolean noDelete,
        boolean progressNotify, long nextRevision) {
      this.id = id;
      this.range = range;
      this.prevKv = prevKv;
      this.noPut = noPut;
      this.noDelete = noDelete;
      this.progressNotify = progressNotify;
      this.nextRevision = nextRevision;
    }
  }

  /**
   * The text Go's gRPC gives a status as an error ({@code rpc error: code = X desc = Y}): etcd puts
   * it in a watch's cancel reason, and clients look for etcd's message inside it.
   */
  static String asGoError(Status status) {
    StringBuilder code = new StringBuilder();
    for (String part : status.getCode().name().split("_")) {
      code.append(part.charAt(0)).append(part.substring(1).toLowerCase(java.util.Locale.ROOT));
    }
    return "rpc error: code = " + code + " desc = " + status.getDescription();
  }
}
