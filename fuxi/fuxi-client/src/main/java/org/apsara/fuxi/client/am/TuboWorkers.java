package org.apsara.fuxi.client.am;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apsara.common.net.HostPort;
import org.apsara.fuxi.api.v1.ListWorkersRequest;
import org.apsara.fuxi.api.v1.RunningWorker;
import org.apsara.fuxi.api.v1.StartWorkerRequest;
import org.apsara.fuxi.api.v1.StopWorkerRequest;
import org.apsara.fuxi.api.v1.TuboGrpc;
import org.apsara.fuxi.api.v1.TuboGrpc.TuboBlockingStub;
import org.apsara.fuxi.client.Backoff;
import org.apsara.fuxi.client.FuxiErrorCode;
import org.apsara.fuxi.client.FuxiException;
import org.apsara.fuxi.client.MasterChannels;

/**
 * Starts, stops and lists an application's workers on the Tubos of the machines where it holds
 * units, with its application token (read from {@code token} at each call, so a renewed token is
 * used as soon as the session has it). One channel per Tubo address, kept until {@link #close}.
 *
 * <p>A call that certainly did not reach the Tubo (it could not be connected to) is tried again a
 * few times; a start whose first attempt may have reached it and whose retry finds the worker
 * running ({@code ALREADY_EXISTS}) counts as started, since worker ids are unique per application.
 *
 * <p>Thread-safe; calls block the calling thread for at most the call timeout per attempt.
 */
public final class TuboWorkers implements AutoCloseable {
  /** Attempts of one call: a Tubo restarting comes back within a few pauses. */
  static final int ATTEMPTS_MAX = 4;
  public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(30);
  private static final Backoff PAUSES = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1));

  private final String applicationId;
  private final Supplier<String> token;
  private final SslContext tls;
  private final Duration callTimeout;
  private final Map<HostPort, ManagedChannel> channels = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /**
   * @param token the current application token, e.g. {@code session::token}
   * @param tls a client TLS context, or null for plaintext
   */
  public TuboWorkers(String applicationId, Supplier<String> token, SslContext tls,
      Duration callTimeout) {
    this.applicationId = applicationId;
    this.token = token;
    this.tls = tls;
    this.callTimeout = callTimeout;
  }

  /** Workers of the session's application, with its token and TLS settings. */
  public static TuboWorkers of(AppMasterSession session, AppMasterSettings settings) {
    return new TuboWorkers(session.applicationId(), session::token, settings.tls(),
        DEFAULT_CALL_TIMEOUT);
  }

  /**
   * Starts worker {@code workerId} of {@code role} on the Tubo at {@code tuboAddress} (a grant's
   * {@code tubo_address}).
   *
   * @return the worker's sandbox directory on the machine; "" when a retry found it started
   * @throws FuxiException the Tubo's refusal, e.g. {@code NOT_GRANTED} or {@code WORKER_EXISTS}
   */
  public String start(String tuboAddress, String role, String workerId, List<String> command,
      Map<String, String> environment) throws FuxiException, InterruptedException {
    StartWorkerRequest request = StartWorkerRequest.newBuilder()
        .setApplicationId(applicationId).setApplicationToken(token.get()).setRole(role)
        .setWorkerId(workerId).addAllCommand(command).putAllEnvironment(environment).build();
    boolean mayHaveStarted = false;
    for (int attempt = 1; ; attempt++) {
      try {
        return stub(tuboAddress).startWorker(request).getSandbox();
      } catch (StatusRuntimeException e) {
        if (mayHaveStarted && e.getStatus().getCode() == Status.Code.ALREADY_EXISTS) {
          return "";
        }
        mayHaveStarted |= !neverSent(e);
        retryOrThrow(e, attempt, "start " + workerId + " on " + tuboAddress);
      }
    }
  }

  /**
   * Stops a worker.
   *
   * @return false when it had already ended
   */
  public boolean stop(String tuboAddress, String workerId, String reason)
      throws FuxiException, InterruptedException {
    StopWorkerRequest request = StopWorkerRequest.newBuilder().setApplicationId(applicationId)
        .setApplicationToken(token.get()).setWorkerId(workerId)
        .setReason(reason == null ? "" : reason).build();
    for (int attempt = 1; ; attempt++) {
      try {
        return stub(tuboAddress).stopWorker(request).getStopped();
      } catch (StatusRuntimeException e) {
        retryOrThrow(e, attempt, "stop " + workerId + " on " + tuboAddress);
      }
    }
  }

  /** The application's workers running on that Tubo's machine. */
  public List<RunningWorker> list(String tuboAddress) throws FuxiException, InterruptedException {
    ListWorkersRequest request = ListWorkersRequest.newBuilder().setApplicationId(applicationId)
        .setApplicationToken(token.get()).build();
    for (int attempt = 1; ; attempt++) {
      try {
        return stub(tuboAddress).listWorkers(request).getRunningList();
      } catch (StatusRuntimeException e) {
        retryOrThrow(e, attempt, "list workers on " + tuboAddress);
      }
    }
  }

  private TuboBlockingStub stub(String tuboAddress) {
    if (closed) {
      throw new IllegalStateException("closed");
    }
    HostPort address = HostPort.parse(tuboAddress);
    return TuboGrpc.newBlockingStub(channels.computeIfAbsent(address,
        a -> MasterChannels.newChannel(a, tls)))
        .withDeadlineAfter(callTimeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  private static boolean neverSent(StatusRuntimeException e) {
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof java.net.ConnectException) {
        return true;
      }
    }
    return false;
  }

  private static void retryOrThrow(StatusRuntimeException e, int attempt, String what)
      throws FuxiException, InterruptedException {
    if (Thread.currentThread().isInterrupted()) {
      throw new InterruptedException(what + " was interrupted");
    }
    if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || attempt >= ATTEMPTS_MAX) {
      FuxiException f = FuxiException.fromStatus(e);
      throw f.code() == FuxiErrorCode.UNCLASSIFIED && f.status() == Status.Code.UNAVAILABLE
          ? new FuxiException(f.status(), f.code(), f.serverCode(), what + ": " + f.getMessage(),
              e)
          : f;
    }
    TimeUnit.NANOSECONDS.sleep(PAUSES.pauseNanos(attempt - 1));
  }

  @Override
  public void close() {
    closed = true;
    MasterChannels.shutdownAll(channels.values());
    channels.clear();
  }
}
