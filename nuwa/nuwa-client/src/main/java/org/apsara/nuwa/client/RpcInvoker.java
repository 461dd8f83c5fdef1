package org.apsara.nuwa.client;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientStreamTracer;
import io.grpc.ConnectivityState;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Sends unary requests with a deadline, retrying on another endpoint when that is safe.
 *
 * <p>The retry rule: a call that failed with {@code UNAVAILABLE} is sent again (the round-robin
 * balancer picks the next ready endpoint) if it is idempotent, or if it provably never reached a
 * server: no transport stream was ever created for it, or the server answered with an error it
 * gives before proposing anything ({@link Errors#provenNotApplied}). A write that may have reached
 * a server is never re-sent, because sending it twice could apply it twice (a second put creates a
 * second revision; a second txn may take the other branch). Retries stop at the call's deadline or
 * after {@link #MAX_ATTEMPTS} attempts, whichever comes first.
 *
 * <p>A call refused because of its auth token ({@link Errors#isStaleToken}) is sent again, after
 * the client authenticated again, whether idempotent or not: the server refuses a stale token
 * without applying anything. Every change of the server's users or roles makes every token stale,
 * so a burst of such changes can refuse a fresh token again; the call is renewed and re-sent up to
 * {@link #TOKEN_RENEWALS_MAX} times, so that a server that keeps refusing fresh tokens fails the
 * call rather than trap it in a loop.
 *
 * <p>An idempotent attempt also gets only {@link #IDEMPOTENT_ATTEMPT_SHARE} of the call's timeout,
 * so that a read stuck on a member that lost its leader (etcd holds such a read for its whole
 * internal request timeout) is abandoned in time to be retried on another member.
 */
final class RpcInvoker {
  /** Attempts per call at most, the first included. */
  static final int MAX_ATTEMPTS = 16;

  /** Token renewals per call at most; see the class comment. */
  static final int TOKEN_RENEWALS_MAX = 3;

  /** Share of the call's timeout that one attempt of an idempotent call may use. */
  static final double IDEMPOTENT_ATTEMPT_SHARE = 0.5;

  static final Duration RETRY_BACKOFF_INITIAL = Duration.ofMillis(25);
  static final Duration RETRY_BACKOFF_MAX = Duration.ofSeconds(1);

  private final Channel channel;
  private final ManagedChannel managedChannel;
  private final ScheduledExecutorService scheduler;
  private final Duration timeout;
  private final AuthTokens auth;
  private final Backoff backoff = new Backoff(RETRY_BACKOFF_INITIAL, RETRY_BACKOFF_MAX);

  /** Calls not yet completed, so that shutting down can fail those waiting for a retry. */
  private final Set<CompletableFuture<?>> unfinished = ConcurrentHashMap.newKeySet();

  private volatile boolean shutDown;

  RpcInvoker(
      Channel channel,
      ManagedChannel managedChannel,
      ScheduledExecutorService scheduler,
      Duration timeout,
      AuthTokens auth) {
    this.channel = channel;
    this.managedChannel = managedChannel;
    this.scheduler = scheduler;
    this.timeout = timeout;
    this.auth = auth;
  }

  /** Whether a request may be sent again after an ambiguous failure. */
  enum Idempotency {
    /** Reading only: sending it twice has the same effect as once. */
    IDEMPOTENT,
    /** Changes state: sent again only if the failure proves it was not applied. */
    NOT_IDEMPOTENT
  }

  <Q, R> CompletableFuture<R> call(
      MethodDescriptor<Q, R> method, Q request, Idempotency idempotency) {
    if (shutDown) {
      return CompletableFuture.failedFuture(clientClosed());
    }
    Attempts<Q, R> attempts =
        new Attempts<>(
            method, request, idempotency, Deadline.after(timeout.toNanos(), TimeUnit.NANOSECONDS));
    unfinished.add(attempts.result);
    attempts.result.whenComplete((r, e) -> unfinished.remove(attempts.result));
    attempts.start(1);
    return attempts.result;
  }

  /**
   * Fails every call not completed yet. Called when the client closes, after its timer stopped:
   * a call waiting there for its next attempt would otherwise never complete.
   */
  void shutdown() {
    shutDown = true;
    for (CompletableFuture<?> call : List.copyOf(unfinished)) {
      call.completeExceptionally(clientClosed());
    }
  }

  private static NuwaException clientClosed() {
    return new NuwaException(Status.Code.CANCELLED, "the client was closed");
  }

  /**
   * Kicks the channel into reconnecting now when every endpoint is down, instead of waiting out
   * gRPC's own reconnect backoff (up to two minutes); callers already pace their retries.
   */
  void nudgeReconnect() {
    if (managedChannel.getState(false) == ConnectivityState.TRANSIENT_FAILURE) {
      managedChannel.resetConnectBackoff();
    }
  }

  private final class Attempts<Q, R> {
    final MethodDescriptor<Q, R> method;
    final Q request;
    final Idempotency idempotency;
    final Deadline deadline;
    final CompletableFuture<R> result = new CompletableFuture<>();
    final AtomicReference<ClientCall<Q, R>> current = new AtomicReference<>();

    /** How often this call had its token renewed; attempts run one after another. */
    volatile int tokenRenewals;

    Attempts(MethodDescriptor<Q, R> method, Q request, Idempotency idempotency, Deadline deadline) {
      this.method = method;
      this.request = request;
      this.idempotency = idempotency;
      this.deadline = deadline;
      result.whenComplete(
          (r, e) -> {
            // Completed from outside (cancelled by the caller, or failed by shutdown()): stop the
            // attempt in flight. For an attempt that already ended this does nothing.
            ClientCall<Q, R> call = current.get();
            if (e != null && call != null) {
              call.cancel("call abandoned", null);
            }
          });
    }

    void start(int attempt) {
      if (result.isDone()) {
        return;
      }
      StreamCreated streamCreated = new StreamCreated();
      AtomicReference<String> sentToken = new AtomicReference<>();
      CallOptions options = CallOptions.DEFAULT;
      if (auth != null) {
        options = options.withOption(AuthTokens.SENT_TOKEN, sentToken);
      }
      Deadline attemptDeadline = deadline;
      if (idempotency == Idempotency.IDEMPOTENT) {
        long shareNanos = (long) (timeout.toNanos() * IDEMPOTENT_ATTEMPT_SHARE);
        attemptDeadline = deadline.minimum(Deadline.after(shareNanos, TimeUnit.NANOSECONDS));
      }
      ClientCall<Q, R> call;
      try {
        call =
            channel.newCall(
                method,
                options.withDeadline(attemptDeadline).withStreamTracerFactory(streamCreated));
      } catch (RuntimeException e) {
        result.completeExceptionally(Errors.toNuwaException(e));
        return;
      }
      current.set(call);
      try {
        startCall(call, attempt, streamCreated, sentToken);
      } catch (RuntimeException e) {
        // The call was cancelled while starting, because the caller or shutdown() completed the
        // result meanwhile; otherwise report the failure.
        result.completeExceptionally(Errors.toNuwaException(e));
      }
    }

    private void startCall(
        ClientCall<Q, R> call,
        int attempt,
        StreamCreated streamCreated,
        AtomicReference<String> sentToken) {
      ClientCalls.asyncUnaryCall(
          call,
          request,
          new StreamObserver<R>() {
            private R value;

            @Override
            public void onNext(R response) {
              value = response;
            }

            @Override
            public void onError(Throwable t) {
              failed(attempt, t, streamCreated.created.get(), sentToken.get());
            }

            @Override
            public void onCompleted() {
              result.complete(value);
            }
          });
    }

    private void failed(int attempt, Throwable t, boolean reachedTransport, String sentToken) {
      Status status = Status.fromThrowable(t);
      if (auth != null
          && sentToken != null
          && tokenRenewals < TOKEN_RENEWALS_MAX
          && attempt < MAX_ATTEMPTS
          && Errors.isStaleToken(status)) {
        tokenRenewals++;
        auth.renew(sentToken);
        // At once: the next attempt's token waits for the renewal, however it ends.
        start(attempt + 1);
        return;
      }
      boolean idempotent = idempotency == Idempotency.IDEMPOTENT;
      boolean safe =
          (status.getCode() == Status.Code.UNAVAILABLE && (idempotent || !reachedTransport))
              || (status.getCode() == Status.Code.DEADLINE_EXCEEDED && idempotent)
              || Errors.provenNotApplied(status);
      long delayNanos = backoff.delayNanos(attempt);
      if (!safe
          || attempt >= MAX_ATTEMPTS
          || deadline.timeRemaining(TimeUnit.NANOSECONDS) <= delayNanos) {
        result.completeExceptionally(Errors.toNuwaException(t));
        return;
      }
      nudgeReconnect();
      try {
        scheduler.schedule(() -> start(attempt + 1), delayNanos, TimeUnit.NANOSECONDS);
      } catch (RuntimeException rejected) {
        // The client is closing: report the failure we have rather than hang the caller.
        result.completeExceptionally(Errors.toNuwaException(t));
      }
    }
  }

  /** Records whether a call got as far as a stream on a real connection. */
  private static final class StreamCreated extends ClientStreamTracer.Factory {
    final AtomicBoolean created = new AtomicBoolean();

    @Override
    public ClientStreamTracer newClientStreamTracer(
        ClientStreamTracer.StreamInfo info, Metadata headers) {
      return new ClientStreamTracer() {
        @Override
        public void streamCreated(io.grpc.Attributes transportAttrs, Metadata headers) {
          created.set(true);
        }
      };
    }
  }
}
