package org.apsara.fuxi.client;

import io.grpc.ClientInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apsara.common.net.HostPort;
import org.apsara.fuxi.api.v1.FuxiMasterGrpc;
import org.apsara.fuxi.api.v1.FuxiMasterGrpc.FuxiMasterBlockingStub;
import org.apsara.security.grpc.SigningClientInterceptor;

/**
 * Sends unary FuxiMaster calls to the primary: follows the primary a standby names ({@code
 * NOT_PRIMARY} with {@code x-fuxi-primary}), waits out a new primary's rebuild ({@code
 * REBUILDING}), tries the next member when one is down, and retries with a growing, jittered pause
 * until the operation's deadline.
 *
 * <p>Only for calls that may be repeated as they are: every FuxiMaster call the client makes is
 * (reads, a submit carrying its request id, setting a quota group, a kill), so an attempt whose
 * outcome is unknown (the connection broke, the attempt timed out) is simply sent again.
 *
 * <p>With {@link FuxiClientConfig#credentials} every attempt is signed anew (fresh timestamp and
 * nonce), so a retried call is never refused as a replay.
 *
 * <p>Thread-safe: calls run concurrently; the primary guess is shared.
 */
final class MasterCaller {
  /**
   * Attempts per operation besides the deadline: enough for a few failovers with every member
   * tried, few enough that a misbehaving group cannot keep a caller spinning.
   */
  static final int ATTEMPTS_MAX = 200;

  private final FuxiClientConfig config;
  private final MasterChannels channels;
  private final Backoff backoff;
  /** Signs each call, or null for unsigned calls. */
  private final ClientInterceptor signer;

  MasterCaller(FuxiClientConfig config, MasterChannels channels) {
    this.config = config;
    this.channels = channels;
    this.backoff = new Backoff(config.backoffMin(), config.backoffMax());
    this.signer = config.credentials() == null ? null : SigningClientInterceptor.forService(
        config.credentials().accessKey(), config.credentials().scope(), Clock.systemUTC());
  }

  /**
   * Runs {@code rpc} on the primary.
   *
   * @param operation names the operation in errors, e.g. "submit"
   * @throws FuxiException the server's refusal, or {@link FuxiErrorCode#MASTER_UNAVAILABLE} when
   *     the deadline passed while retrying
   * @throws InterruptedException if the thread was interrupted (the outcome is then unknown)
   */
  <T> T call(String operation, Function<FuxiMasterBlockingStub, T> rpc)
      throws FuxiException, InterruptedException {
    long start = System.nanoTime();
    long deadline = start + config.operationTimeout().toNanos();
    HostPort target = channels.primary();
    String lastFailure = "no attempt";
    int failuresInARow = 0;
    for (int attempt = 1; attempt <= ATTEMPTS_MAX; attempt++) {
      if (channels.isClosed()) {
        throw new FuxiException(FuxiErrorCode.MASTER_UNAVAILABLE,
            operation + ": the client is closed", null);
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      FuxiMasterBlockingStub stub = FuxiMasterGrpc.newBlockingStub(channels.channel(target))
          .withDeadlineAfter(Math.min(left, config.callTimeout().toNanos()), TimeUnit.NANOSECONDS);
      if (signer != null) {
        stub = stub.withInterceptors(signer);
      }
      try {
        T result = rpc.apply(stub);
        channels.primaryIs(target);
        return result;
      } catch (StatusRuntimeException e) {
        if (Thread.currentThread().isInterrupted() || hasCause(e, InterruptedException.class)) {
          throw new InterruptedException(operation + " was interrupted; whether it took effect"
              + " is unknown");
        }
        if (e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED && attempt > 1
            && deadline - System.nanoTime() <= 0) {
          // The last attempt only had what was left of the operation's time: the answer before
          // it says more about why no primary answered than "deadline exceeded".
          break;
        }
        lastFailure = target.format() + " answered " + describe(e);
        switch (classify(e)) {
          case FOLLOW -> {
            HostPort next = channels.after(target, e);
            boolean freshHint = MasterChannels.namedPrimary(e.getTrailers()) != null
                && !next.equals(target);
            target = next;
            // Following a fresh hint needs no pause; hints that keep bouncing do.
            if (freshHint && ++failuresInARow <= FuxiClientConfig.MASTERS_MAX) {
              continue;
            }
          }
          case RETRY_HERE -> { }
          case RETRY_ELSEWHERE -> target = channels.after(target, e);
          case FINAL -> throw FuxiException.fromStatus(e);
          default -> throw new AssertionError();
        }
        long pause = Math.min(backoff.pauseNanos(failuresInARow++),
            Math.max(0, deadline - System.nanoTime()));
        TimeUnit.NANOSECONDS.sleep(pause);
      }
    }
    throw new FuxiException(FuxiErrorCode.MASTER_UNAVAILABLE, operation
        + ": no FuxiMaster primary answered within "
        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms; last: " + lastFailure,
        null);
  }

  /** What the retry loop does after an error status. */
  enum Next { FOLLOW, RETRY_HERE, RETRY_ELSEWHERE, FINAL }

  static Next classify(StatusRuntimeException e) {
    FuxiException f = FuxiException.fromStatus(e);
    return switch (f.code()) {
      case NOT_PRIMARY -> Next.FOLLOW;
      case REBUILDING -> Next.RETRY_HERE;
      case UNCLASSIFIED -> switch (f.status()) {
        // The member is down, the connection broke or the attempt timed out: every call this
        // client makes may be repeated, and another member may be primary by now.
        case UNAVAILABLE, DEADLINE_EXCEEDED, UNKNOWN, ABORTED -> Next.RETRY_ELSEWHERE;
        default -> Next.FINAL;
      };
      default -> Next.FINAL;
    };
  }

  static String describe(StatusRuntimeException e) {
    Status s = e.getStatus();
    String code = FuxiException.fromStatus(e).serverCode();
    return s.getCode() + (code.isEmpty() ? "" : "/" + code)
        + (s.getDescription() != null ? " (" + s.getDescription() + ")" : "");
  }

  static boolean hasCause(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return true;
      }
    }
    return false;
  }
}
