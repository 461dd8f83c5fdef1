package org.apsara.nuwa.client;

import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchProgressRequest;
import io.etcd.jetcd.api.WatchRequest;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apsara.nuwa.api.NuwaErrors;

/**
 * One watch over its own bidirectional stream, which it re-opens after any failure.
 *
 * <p>Exactly-once delivery across reconnects rests on {@link #nextRevision}: every change below it
 * has been handed to the listener, so a new stream starts there. This relies on the server sending
 * all changes of one revision in one response (etcd does); it is advanced past a revision only when
 * that revision's changes arrived, or when the server's own progress notification for this watch
 * says everything up to a revision was sent. Changes older than it that a server sends anyway are
 * dropped, so no change is delivered twice.
 *
 * <p>With authentication, each stream carries the client's current token, attached when it opens.
 * A creation the server refuses because of the token (or as {@code "permission denied"}, which is
 * how etcd 3.4 refuses a stale token on a watch) renews the token once and opens a new stream;
 * refused again, the watch fails.
 *
 * <p>Each stream asks for one response at a time and the next only after the listener has taken the
 * previous one, so at most one response is queued per watch.
 */
final class WatchStream implements Watcher, ClientStream {
  static final Duration RECONNECT_BACKOFF_INITIAL = Duration.ofMillis(50);
  static final Duration RECONNECT_BACKOFF_MAX = Duration.ofSeconds(2);

  private final ClientContext context;
  private final KeyRange range;
  private final WatchOptions options;
  private final WatchListener listener;
  private final SequentialExecutor delivery;
  private final Backoff backoff = new Backoff(RECONNECT_BACKOFF_INITIAL, RECONNECT_BACKOFF_MAX);

  private final Object lock = new Object();
  private long nextRevision;
  private long watchId = -1;
  private boolean closed;
  private volatile boolean cancelledByCaller;
  private Attempt current;
  private int consecutiveFailures;

  /** Whether the token was renewed since the watch was last created, which is done once. */
  private boolean tokenRenewed;

  WatchStream(ClientContext context, KeyRange range, WatchOptions options, WatchListener listener) {
    this.context = context;
    this.range = range;
    this.options = options;
    this.listener = listener;
    this.delivery = new SequentialExecutor(options.executor().orElse(context.callbackExecutor()));
    this.nextRevision = options.startRevision();
  }

  void start() {
    synchronized (lock) {
      connect();
    }
  }

  @Override
  public void cancel() {
    synchronized (lock) {
      cancelledByCaller = true;
      if (closed) {
        return;
      }
      closed = true;
      stopCurrent("watch cancelled");
    }
    context.openStreams().remove(this);
  }

  @Override
  public void clientClosed() {
    synchronized (lock) {
      if (!closed) {
        fail(new NuwaException(Status.Code.CANCELLED, "the client was closed"));
      }
    }
  }

  @Override
  public boolean isClosed() {
    synchronized (lock) {
      return closed;
    }
  }

  @Override
  public long nextRevision() {
    synchronized (lock) {
      return nextRevision;
    }
  }

  @Override
  public void requestProgress() {
    synchronized (lock) {
      if (current != null && current.requests != null) {
        current.requests.onNext(
            WatchRequest.newBuilder()
                .setProgressRequest(WatchProgressRequest.getDefaultInstance())
                .build());
      }
    }
  }

  // Holds lock.
  private void connect() {
    if (closed) {
      return;
    }
    Attempt attempt = new Attempt();
    current = attempt;
    watchId = -1;
    ClientCall<WatchRequest, io.etcd.jetcd.api.WatchResponse> call =
        context
            .streamChannel()
            .newCall(
                WatchGrpc.getWatchMethod(),
                CallOptions.DEFAULT.withOption(AuthTokens.SENT_TOKEN, attempt.sentToken));
    attempt.call = call;
    ClientCalls.asyncBidiStreamingCall(call, attempt).onNext(createRequest());
  }

  private WatchRequest createRequest() {
    WatchCreateRequest.Builder create =
        WatchCreateRequest.newBuilder()
            .setKey(range.key())
            .setRangeEnd(range.rangeEnd())
            .setStartRevision(nextRevision)
            .setPrevKv(options.prevKv())
            .setProgressNotify(options.progressNotify());
    if (options.noPut()) {
      create.addFilters(WatchCreateRequest.FilterType.NOPUT);
    }
    if (options.noDelete()) {
      create.addFilters(WatchCreateRequest.FilterType.NODELETE);
    }
    return WatchRequest.newBuilder().setCreateRequest(create).build();
  }

  // Holds lock.
  private void stopCurrent(String why) {
    if (current != null) {
      current.call.cancel(why, null);
      current = null;
    }
  }

  private void received(Attempt attempt, io.etcd.jetcd.api.WatchResponse response) {
    synchronized (lock) {
      if (closed || attempt != current) {
        return;
      }
      if (response.getCompactRevision() != 0) {
        fail(
            new CompactedException(
                "watch from revision "
                    + nextRevision
                    + " needs history compacted at revision "
                    + response.getCompactRevision(),
                response.getCompactRevision(),
                null));
        return;
      }
      if (response.getCanceled()) {
        Status cancelled = Errors.watchCancelStatus(response.getCancelReason());
        boolean maybeStaleToken =
            Errors.isStaleToken(cancelled)
                || Errors.sameDescription(cancelled, NuwaErrors.PERMISSION_DENIED);
        if (maybeStaleToken && renewToken(attempt)) {
          return;
        }
        fail(Errors.toNuwaException(cancelled.asRuntimeException()));
        return;
      }
      ResponseHeader header = ResponseHeader.fromProto(response.getHeader());
      if (response.getCreated()) {
        watchId = response.getWatchId();
        consecutiveFailures = 0;
        tokenRenewed = false;
        if (nextRevision == 0) {
          // Watching "from now": the server starts right after the revision it reports here.
          nextRevision = header.revision() + 1;
        }
      }
      List<WatchEvent> fresh = new ArrayList<>(response.getEventsCount());
      for (Event event : response.getEventsList()) {
        if (event.getKv().getModRevision() >= nextRevision) {
          fresh.add(WatchEvent.fromProto(event));
        }
      }
      if (!fresh.isEmpty()) {
        nextRevision = fresh.get(fresh.size() - 1).revision() + 1;
        WatchResponse batch = new WatchResponse(header, fresh);
        deliver(attempt, () -> listener.onNext(batch));
      } else if (!response.getCreated() && response.getEventsCount() == 0) {
        if (watchId >= 0 && response.getWatchId() == watchId) {
          // A notification for this watch: etcd sends it only once the watch has caught up.
          nextRevision = Math.max(nextRevision, header.revision() + 1);
        }
        long revision = header.revision();
        deliver(attempt, () -> listener.onProgress(revision));
      } else {
        attempt.requestNext();
      }
    }
  }

  private void failed(Attempt attempt, Throwable error) {
    synchronized (lock) {
      if (closed || attempt != current) {
        return;
      }
      Status status = Status.fromThrowable(error);
      if (Errors.isStaleToken(status) && renewToken(attempt)) {
        return;
      }
      current = null;
      if (!isTransient(status)) {
        fail(Errors.toNuwaException(error));
        return;
      }
      consecutiveFailures++;
      context.rpc().nudgeReconnect();
      try {
        context
            .scheduler()
            .schedule(
                this::reconnect, backoff.delayNanos(consecutiveFailures), TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException e) {
        fail(new NuwaException(Status.Code.CANCELLED, "the client is closed", e));
      }
    }
  }

  /**
   * Holds lock. If the client has a user and this creation has not renewed the token yet, renews
   * the token {@code attempt} was sent with and opens a new stream, whose token waits for the
   * renewal. Returns whether it did.
   */
  private boolean renewToken(Attempt attempt) {
    if (context.auth() == null || tokenRenewed) {
      return false;
    }
    tokenRenewed = true;
    String sent = attempt.sentToken.get();
    stopCurrent("renewing the auth token");
    context.auth().renew(sent == null ? AuthTokens.NO_TOKEN : sent);
    connect();
    return true;
  }

  private void reconnect() {
    synchronized (lock) {
      if (current == null) {
        connect();
      }
    }
  }

  /** Failures a new stream, perhaps to another endpoint, can get past. */
  private static boolean isTransient(Status status) {
    return switch (status.getCode()) {
      case UNAVAILABLE, UNKNOWN, INTERNAL, CANCELLED, DEADLINE_EXCEEDED, ABORTED -> true;
      default -> false;
    };
  }

  // Holds lock. Ends the watch for good and tells the listener why.
  private void fail(NuwaException error) {
    closed = true;
    stopCurrent("watch failed");
    context.openStreams().remove(this);
    delivery.execute(
        () -> {
          if (!cancelledByCaller) {
            listener.onError(error);
          }
        });
  }

  private void deliver(Attempt attempt, Runnable callback) {
    delivery.execute(
        () -> {
          try {
            if (!cancelledByCaller) {
              callback.run();
            }
          } finally {
            attempt.requestNext();
          }
        });
  }

  private final class Attempt
      implements ClientResponseObserver<WatchRequest, io.etcd.jetcd.api.WatchResponse> {
    ClientCall<WatchRequest, io.etcd.jetcd.api.WatchResponse> call;
    ClientCallStreamObserver<WatchRequest> requests;
    final AtomicReference<String> sentToken = new AtomicReference<>();

    @Override
    public void beforeStart(ClientCallStreamObserver<WatchRequest> requestStream) {
      this.requests = requestStream;
      requestStream.disableAutoRequestWithInitial(1);
    }

    void requestNext() {
      requests.request(1);
    }

    @Override
    public void onNext(io.etcd.jetcd.api.WatchResponse response) {
      received(this, response);
    }

    @Override
    public void onError(Throwable t) {
      failed(this, t);
    }

    @Override
    public void onCompleted() {
      failed(
          this,
          Status.UNAVAILABLE
              .withDescription("the server closed the watch stream")
              .asRuntimeException());
    }
  }
}
