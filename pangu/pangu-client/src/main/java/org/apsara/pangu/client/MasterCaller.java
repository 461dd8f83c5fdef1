package org.apsara.pangu.client;

import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.api.MasterTrailers;
import org.apsara.security.grpc.AuthenticationServerInterceptor;
import org.apsara.security.grpc.SigningClientInterceptor;
import org.apsara.security.sign.SignatureError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends master calls to the group's leader: follows the leader a follower names in the trailer
 * {@value MasterTrailers#LEADER_NAME}, tries the next member when one is down, and retries what
 * certainly had no effect with a growing, jittered pause until the operation's deadline.
 *
 * <p>Whether a call whose outcome is unknown (the master answered {@code OUTCOME_UNKNOWN}, the
 * attempt timed out, or the connection broke after the call was sent) may simply be sent again is
 * the caller's decision: {@link Retry#IDEMPOTENT} calls are retried, the others surface as a
 * {@link PanguException} with {@link PanguErrorCode#OUTCOME_UNKNOWN}, which the caller resolves.
 *
 * <p>The caller's thread blocks for each attempt and is woken once, when the answer is complete:
 * the answer's headers, message and trailers are taken in on the channel's network thread (see
 * {@link #RESPONSE_EXECUTOR}), not handed to the caller one by one.
 *
 * <p>Thread-safe: calls run concurrently; the leader guess is shared.
 */
final class MasterCaller implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MasterCaller.class);

  /** Whether an attempt whose outcome is unknown may be repeated as it is. */
  enum Retry {
    /** Repeating it leaves the same state (reads, mkdirs, setting an attribute, renewal). */
    IDEMPOTENT,
    /** Repeating it may fail or act twice; an unknown outcome goes back to the caller. */
    NOT_IDEMPOTENT
  }

  /**
   * Attempts per operation, besides the deadline: enough for a few elections with every member
   * tried, small enough that a misbehaving group cannot keep a caller spinning.
   */
  static final int ATTEMPTS_MAX = 200;

  /**
   * Runs a call's answer callbacks (headers, the message, the close) on the network thread that
   * read them. A blocking stub would queue each of them for the waiting caller instead, waking
   * it up to three times per call; on a small machine those wake-ups cost more CPU than the
   * calls' own work. The callbacks only parse one message (a page of a listing at the most) and
   * complete a future, so they never block the network thread.
   */
  static final Executor RESPONSE_EXECUTOR = Runnable::run;

  /**
   * Connections to each member; calls take them in turn. A connection is served by one network
   * thread at each end, and the master answers reads on that thread, so with many threads
   * calling, one connection makes those two threads the bottleneck. Two took 16 threads' stats
   * from 18,000 to 24,000 per second and their creates and deletes up by a tenth; four did no
   * better than two.
   */
  static final int CONNECTIONS_PER_MEMBER = 2;

  private final PanguClientConfig config;
  private final Function<HostPort, ManagedChannel> channelFactory;
  /** Each member's {@link #CONNECTIONS_PER_MEMBER} connections, opened at its first call. */
  private final Map<HostPort, ManagedChannel[]> channels = new ConcurrentHashMap<>();
  private final AtomicInteger nextConnection = new AtomicInteger();
  // Known members: the configured ones, then leaders learned from trailers (bounded).
  private final List<HostPort> members;
  private volatile HostPort leader;
  private volatile boolean closed;

  MasterCaller(PanguClientConfig config) {
    this(config, address -> defaultChannel(address, config));
  }

  MasterCaller(PanguClientConfig config, Function<HostPort, ManagedChannel> channelFactory) {
    this.config = config;
    this.channelFactory = channelFactory;
    this.members = new ArrayList<>(config.masters());
    this.leader = config.masters().get(0);
  }

  private static ManagedChannel defaultChannel(HostPort address, PanguClientConfig config) {
    NettyChannelBuilder builder = NettyChannelBuilder.forAddress(address.host(), address.port())
        // This class decides what may be retried; gRPC's own retries would resend commands.
        .disableRetry();
    if (config.tls() != null) {
      builder.sslContext(config.tls());
    } else {
      builder.usePlaintext();
    }
    if (config.credentials() != null) {
      builder.intercept(SigningClientInterceptor.forService(config.credentials().accessKey(),
          config.credentials().scope(), Clock.systemUTC()));
    }
    return builder.build();
  }

  /** The member calls go to first: the last one that answered as leader, or a guess. */
  HostPort leader() {
    return leader;
  }

  /**
   * Sends {@code request} to the leader's {@code method}, a unary call of {@code master.proto}.
   *
   * @param operation names the operation in errors, e.g. "mkdirs"
   * @param path the path it is about, for errors; "" if none
   * @throws PanguException with the master's code for a refusal; {@code OUTCOME_UNKNOWN} for an
   *     unknown outcome of a {@link Retry#NOT_IDEMPOTENT} call; {@code MASTER_UNAVAILABLE} when
   *     the deadline passed while retrying
   * @throws InterruptedIOException if the thread was interrupted (the outcome is then unknown)
   */
  <Q, R> R call(String operation, String path, Retry retry, MethodDescriptor<Q, R> method,
      Q request) throws PanguException, InterruptedIOException {
    long start = System.nanoTime();
    long deadline = start + config.operationTimeout().toNanos();
    HostPort target = leader;
    String lastFailure = "no attempt";
    int failuresInARow = 0;
    for (int attempt = 1; attempt <= ATTEMPTS_MAX; attempt++) {
      if (closed) {
        throw new PanguException(PanguErrorCode.MASTER_UNAVAILABLE, path,
            operation + " " + path + ": the client is closed");
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      long attemptNanos = Math.min(left, config.callTimeout().toNanos());
      try {
        R result = attempt(channel(target), method, request, attemptNanos);
        leader = target;
        return result;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        InterruptedIOException interrupted = new InterruptedIOException(operation + " " + path
            + " was interrupted; whether it took effect is unknown");
        interrupted.initCause(e);
        throw interrupted;
      } catch (StatusRuntimeException e) {
        Failure failure = classify(e);
        lastFailure = target.format() + " answered " + describe(e);
        switch (failure.kind) {
          case REDIRECT -> {
            HostPort named = failure.leader;
            if (named != null && !named.equals(target)) {
              learn(named);
              leader = named;
              target = named;
              // Following a fresh hint needs no pause; a hint that keeps bouncing does.
              if (++failuresInARow <= members.size()) {
                continue;
              }
            } else {
              target = next(target);
            }
          }
          case RETRY_ELSEWHERE -> target = next(target);
          case RETRY_HERE -> { }
          case UNKNOWN_OUTCOME -> {
            if (retry == Retry.NOT_IDEMPOTENT) {
              // The member may be gone (its connection broke) or no longer lead: the caller's
              // next call, which settles this one, starts at the next member, which names the
              // leader if it is not it. Otherwise every settling attempt would meet the same
              // dead member first and end here again.
              moveOnFrom(target);
              throw new PanguException(PanguErrorCode.OUTCOME_UNKNOWN, path, operation + " "
                  + path + ": " + lastFailure + "; it may or may not have taken effect", e);
            }
            // Leadership may have moved; the next member tells where it went.
            target = next(target);
          }
          case FINAL -> throw toException(e, failure.code, path);
          default -> throw new AssertionError(failure.kind);
        }
        pause(failuresInARow++, deadline, operation, path);
      }
    }
    throw new PanguException(PanguErrorCode.MASTER_UNAVAILABLE, path, operation + " " + path
        + ": no master leader answered within "
        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms; last: " + lastFailure);
  }

  /**
   * One attempt: sends the call and waits for its answer or its deadline. An interrupt cancels
   * the call (the master may still have run it).
   */
  private static <Q, R> R attempt(ManagedChannel channel, MethodDescriptor<Q, R> method,
      Q request, long timeoutNanos) throws InterruptedException {
    CallOptions options = CallOptions.DEFAULT
        .withDeadlineAfter(timeoutNanos, TimeUnit.NANOSECONDS)
        .withExecutor(RESPONSE_EXECUTOR);
    ListenableFuture<R> answer =
        ClientCalls.futureUnaryCall(channel.newCall(method, options), request);
    try {
      return answer.get();
    } catch (InterruptedException e) {
      answer.cancel(true);
      throw e;
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof StatusRuntimeException failed) {
        throw failed;
      }
      // gRPC fails a call's future only with a status; anything else is a bug in the stack.
      throw Status.INTERNAL.withDescription("the call failed without a status")
          .withCause(cause).asRuntimeException();
    }
  }

  private void pause(int failuresInARow, long deadline, String operation, String path)
      throws InterruptedIOException {
    long min = config.backoffMin().toNanos();
    long max = config.backoffMax().toNanos();
    long backoff = min << Math.min(failuresInARow, 20);
    if (backoff <= 0 || backoff > max) {
      backoff = max;
    }
    // Full jitter over the upper half: members retried by many clients are not hit in step.
    long sleep = backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1);
    sleep = Math.min(sleep, Math.max(0, deadline - System.nanoTime()));
    try {
      TimeUnit.NANOSECONDS.sleep(sleep);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException(operation + " " + path + " was interrupted");
    }
  }

  /** Makes the next call start at the member after {@code failed}, unless another call moved on. */
  private void moveOnFrom(HostPort failed) {
    synchronized (members) {
      if (leader.equals(failed)) {
        leader = next(failed);
      }
    }
  }

  private HostPort next(HostPort current) {
    synchronized (members) {
      int i = members.indexOf(current);
      return members.get((i + 1) % members.size());
    }
  }

  private void learn(HostPort address) {
    synchronized (members) {
      if (!members.contains(address)) {
        if (members.size() >= PanguClientConfig.MASTERS_MAX) {
          // Forget the oldest learned address, never a configured one.
          if (members.size() > config.masters().size()) {
            members.remove(config.masters().size());
          } else {
            return;
          }
        }
        members.add(address);
      }
    }
  }

  private ManagedChannel channel(HostPort address) {
    ManagedChannel[] connections = channels.computeIfAbsent(address, a -> {
      ManagedChannel[] opened = new ManagedChannel[CONNECTIONS_PER_MEMBER];
      for (int i = 0; i < opened.length; i++) {
        opened[i] = channelFactory.apply(a);
      }
      return opened;
    });
    return connections[Math.floorMod(nextConnection.getAndIncrement(), connections.length)];
  }

  private enum Kind { REDIRECT, RETRY_ELSEWHERE, RETRY_HERE, UNKNOWN_OUTCOME, FINAL }

  private record Failure(Kind kind, PanguErrorCode code, HostPort leader) {}

  /** What an error status means for the retry loop. */
  static Failure classify(StatusRuntimeException e) {
    Metadata trailers = e.getTrailers();
    PanguErrorCode code = trailers == null ? null
        : PanguErrorCode.parse(trailers.get(MasterTrailers.ERROR_CODE));
    Status.Code status = e.getStatus().getCode();
    if (code != null) {
      return switch (code) {
        case NOT_LEADER -> new Failure(Kind.REDIRECT, code, leaderOf(trailers));
        case LEADER_NOT_READY -> new Failure(Kind.RETRY_HERE, code, null);
        case STOPPED -> new Failure(Kind.RETRY_ELSEWHERE, code, null);
        case BUSY, ID_CONFLICT -> new Failure(Kind.RETRY_HERE, code, null);
        case OUTCOME_UNKNOWN -> new Failure(Kind.UNKNOWN_OUTCOME, code, null);
        default -> new Failure(Kind.FINAL, code, null);
      };
    }
    if (trailers != null && SignatureError.SIGNING_KEY_UNAVAILABLE.code().equals(
        trailers.get(AuthenticationServerInterceptor.ERROR_CODE_TRAILER))) {
      // The master could not confirm the AccessKey with the identity service yet; nothing ran.
      return new Failure(Kind.RETRY_HERE, null, null);
    }
    return switch (status) {
      // Never sent: the member could not be reached at all.
      case UNAVAILABLE -> hasCause(e, ConnectException.class)
          || hasCause(e, UnknownHostException.class)
          ? new Failure(Kind.RETRY_ELSEWHERE, null, null)
          // The connection broke: the call may have reached the leader.
          : new Failure(Kind.UNKNOWN_OUTCOME, null, null);
      case DEADLINE_EXCEEDED, CANCELLED, UNKNOWN ->
          new Failure(Kind.UNKNOWN_OUTCOME, null, null);
      // Refused before any handler ran: final, with the reason in the message.
      case PERMISSION_DENIED -> new Failure(Kind.FINAL, PanguErrorCode.PERMISSION_DENIED, null);
      case UNAUTHENTICATED -> new Failure(Kind.FINAL, PanguErrorCode.UNAUTHENTICATED, null);
      default -> new Failure(Kind.FINAL, null, null);
    };
  }

  private static HostPort leaderOf(Metadata trailers) {
    String text = trailers.get(MasterTrailers.LEADER);
    if (text == null || text.isEmpty()) {
      return null;
    }
    try {
      return HostPort.parse(text);
    } catch (IllegalArgumentException e) {
      LOG.warn("A master named an unusable leader address '{}': {}", text, e.getMessage());
      return null;
    }
  }

  /** The exception for a final refusal. */
  static PanguException toException(StatusRuntimeException e, PanguErrorCode code, String path) {
    PanguErrorCode shown = code != null ? code : PanguErrorCode.UNCLASSIFIED;
    String description = e.getStatus().getDescription();
    return new PanguException(shown, path, description != null ? description : describe(e), e);
  }

  private static String describe(StatusRuntimeException e) {
    Status s = e.getStatus();
    Metadata trailers = e.getTrailers();
    String code = trailers == null ? null : trailers.get(MasterTrailers.ERROR_CODE);
    return s.getCode() + (code != null ? "/" + code : "")
        + (s.getDescription() != null ? " (" + s.getDescription() + ")" : "");
  }

  private static boolean hasCause(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void close() {
    closed = true;
    List<ManagedChannel> all = channels.values().stream().flatMap(Arrays::stream).toList();
    for (ManagedChannel channel : all) {
      channel.shutdown();
    }
    for (ManagedChannel channel : all) {
      try {
        if (!channel.awaitTermination(1, TimeUnit.SECONDS)) {
          channel.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        channel.shutdownNow();
      }
    }
    channels.clear();
  }
}
