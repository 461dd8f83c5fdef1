package org.apsara.nuwa.client;

import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.LeaseKeepAliveRequest;
import io.etcd.jetcd.api.LeaseKeepAliveResponse;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Keeps one lease alive over a keep-alive stream until closed or until the lease is lost.
 * Thread-safe. Obtained from {@link LeaseClient#keepAlive}.
 *
 * <p>It renews every third of the lease's TTL, so that two renewals in a row can fail before the
 * lease expires. When the stream fails it opens a new one, to any endpoint. It keeps its own
 * estimate of when the lease expires (the TTL counted from when the last acknowledged renewal was
 * <em>sent</em>, which is never later than the server's), and declares the lease lost once that
 * moment passes without a renewal. Closing the keeper stops renewing but does not revoke the lease;
 * it then expires after its TTL.
 *
 * <p>With authentication, each stream carries the client's token as of when it opens. A stream
 * refused because of its token renews the token once before the next stream; and if a new stream
 * cannot be opened because the server no longer accepts the client's user or password, the lease
 * is lost at once, with {@link NuwaAuthenticationException}.
 */
public final class LeaseKeeper implements AutoCloseable {
  /** How often to renew before the first answer tells the lease's TTL. */
  static final Duration INITIAL_RENEW_INTERVAL = Duration.ofMillis(500);

  /** Renewals never come closer together than this, whatever the TTL. */
  static final Duration MIN_RENEW_INTERVAL = Duration.ofMillis(100);

  /** Unanswered renewals on one stream at most; beyond that the stream is presumed stuck. */
  static final int MAX_UNANSWERED_RENEWALS = 4;

  static final Duration RECONNECT_BACKOFF_INITIAL = Duration.ofMillis(50);
  static final Duration RECONNECT_BACKOFF_MAX = Duration.ofSeconds(1);

  private final ClientContext context;
  private final long leaseId;
  private final LeaseKeepAliveListener listener;
  private final SequentialExecutor delivery;
  private final Backoff backoff = new Backoff(RECONNECT_BACKOFF_INITIAL, RECONNECT_BACKOFF_MAX);

  private final Object lock = new Object();
  private boolean closed;
  private boolean lost;
  private long ttlSeconds;
  private long expiresAtNanos;
  private Stream current;
  private int consecutiveFailures;
  private ScheduledFuture<?> nextTick;

  /** Whether the token was renewed since the server last answered, which is done once. */
  private boolean tokenRenewed;

  /** Registered with the client, which ends this keeper when it closes. */
  private final ClientStream registration = this::clientClosed;

  LeaseKeeper(ClientContext context, long leaseId, LeaseKeepAliveListener listener) {
    this.context = context;
    this.leaseId = leaseId;
    this.listener = listener;
    this.delivery = new SequentialExecutor(context.callbackExecutor());
  }

  void start() {
    context.openStreams().add(registration);
    synchronized (lock) {
      // Until the server first answers, the TTL is unknown; give it one request timeout.
      expiresAtNanos = context.clock().nanos() + context.requestTimeout().toNanos();
      tick();
    }
  }

  public long leaseId() {
    return leaseId;
  }

  /** The TTL the server last renewed the lease with; {@code 0} before its first answer. */
  public long ttlSeconds() {
    synchronized (lock) {
      return ttlSeconds;
    }
  }

  /** Whether the keeper is still running and has not lost the lease. */
  public boolean isAlive() {
    synchronized (lock) {
      return !closed && !lost;
    }
  }

  /** Stops renewing. The lease is not revoked. Idempotent. */
  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      stop("keep-alive closed");
    }
    context.openStreams().remove(registration);
  }

  /** Nothing will renew the lease any more, so it must be assumed lost. */
  private void clientClosed() {
    synchronized (lock) {
      if (!closed && !lost) {
        lose(
            new NuwaException(
                io.grpc.Status.Code.CANCELLED,
                "the client was closed; lease " + Long.toHexString(leaseId) + " is not renewed"));
      }
    }
  }

  // Holds lock.
  private void stop(String why) {
    if (nextTick != null) {
      nextTick.cancel(false);
      nextTick = null;
    }
    if (current != null) {
      current.call.cancel(why, null);
      current = null;
    }
  }

  private void tick() {
    synchronized (lock) {
      if (closed || lost) {
        return;
      }
      if (context.clock().nanos() - expiresAtNanos >= 0) {
        lose(
            new NuwaUnavailableException(
                "lease "
                    + Long.toHexString(leaseId)
                    + " could not be renewed before its TTL ran out",
                null));
        return;
      }
      send();
      schedule(this::tick, renewIntervalNanos());
    }
  }

  // Holds lock.
  private void send() {
    if (current == null) {
      Stream stream = new Stream();
      ClientCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse> call =
          context
              .streamChannel()
              .newCall(
                  LeaseGrpc.getLeaseKeepAliveMethod(),
                  CallOptions.DEFAULT.withOption(AuthTokens.SENT_TOKEN, stream.sentToken));
      stream.call = call;
      current = stream;
      ClientCalls.asyncBidiStreamingCall(call, stream);
    }
    if (current.sentAtNanos.size() >= MAX_UNANSWERED_RENEWALS) {
      // The server is not answering on this stream; start over on a fresh one.
      current.call.cancel("keep-alive stream stopped answering", null);
      current = null;
      send();
      return;
    }
    current.sentAtNanos.add(context.clock().nanos());
    current.requests.onNext(LeaseKeepAliveRequest.newBuilder().setID(leaseId).build());
  }

  private long renewIntervalNanos() {
    if (ttlSeconds <= 0) {
      return INITIAL_RENEW_INTERVAL.toNanos();
    }
    return Math.max(MIN_RENEW_INTERVAL.toNanos(), TimeUnit.SECONDS.toNanos(ttlSeconds) / 3);
  }

  // Holds lock.
  private void schedule(Runnable task, long delayNanos) {
    try {
      nextTick = context.scheduler().schedule(task, delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      closed = true;
      stop("client closed");
    }
  }

  private void answered(Stream stream, LeaseKeepAliveResponse response) {
    synchronized (lock) {
      if (closed || lost || stream != current) {
        return;
      }
      Long sentAt = stream.sentAtNanos.poll();
      if (response.getTTL() <= 0) {
        lose(
            new LeaseNotFoundException(
                "lease " + Long.toHexString(leaseId) + " has expired or was revoked", null));
        return;
      }
      consecutiveFailures = 0;
      tokenRenewed = false;
      ttlSeconds = response.getTTL();
      if (sentAt != null) {
        long expiry = sentAt + TimeUnit.SECONDS.toNanos(ttlSeconds);
        if (expiry - expiresAtNanos > 0) {
          expiresAtNanos = expiry;
        }
      }
      long ttl = ttlSeconds;
      delivery.execute(() -> listener.onRenewed(leaseId, ttl));
    }
  }

  /** The stream ended: with {@code error}, or with none if the server closed it. */
  private void broken(Stream stream, Throwable error) {
    synchronized (lock) {
      if (closed || lost || stream != current) {
        return;
      }
      if (error != null) {
        Status status = Status.fromThrowable(error);
        if (Errors.isStaleToken(status) && context.auth() != null && !tokenRenewed) {
          // The next stream, opened below, waits for the new token.
          tokenRenewed = true;
          String sent = stream.sentToken.get();
          context.auth().renew(sent == null ? AuthTokens.NO_TOKEN : sent);
        } else if (Errors.toNuwaException(error) instanceof NuwaAuthenticationException refused) {
          // No later stream would be accepted either: say why now rather than when the TTL ends.
          lose(refused);
          return;
        }
      }
      current = null;
      consecutiveFailures++;
      context.rpc().nudgeReconnect();
      long retryNanos = Math.min(backoff.delayNanos(consecutiveFailures), renewIntervalNanos());
      if (nextTick != null) {
        nextTick.cancel(false);
      }
      schedule(this::tick, retryNanos);
    }
  }

  // Holds lock.
  private void lose(NuwaException cause) {
    lost = true;
    stop("lease lost");
    context.openStreams().remove(registration);
    delivery.execute(() -> listener.onLost(leaseId, cause));
  }

  private final class Stream
      implements ClientResponseObserver<LeaseKeepAliveRequest, LeaseKeepAliveResponse> {
    final ArrayDeque<Long> sentAtNanos = new ArrayDeque<>();
    ClientCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse> call;
    ClientCallStreamObserver<LeaseKeepAliveRequest> requests;
    final AtomicReference<String> sentToken = new AtomicReference<>();

    @Override
    public void beforeStart(ClientCallStreamObserver<LeaseKeepAliveRequest> requestStream) {
      this.requests = requestStream;
    }

    @Override
    public void onNext(LeaseKeepAliveResponse response) {
      answered(this, response);
    }

    @Override
    public void onError(Throwable t) {
      broken(this, t);
    }

    @Override
    public void onCompleted() {
      broken(this, null);
    }
  }
}
