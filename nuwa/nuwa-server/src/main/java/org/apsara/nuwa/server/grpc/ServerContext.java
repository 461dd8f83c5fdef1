package org.apsara.nuwa.server.grpc;

import io.etcd.jetcd.api.AlarmRequest;
import io.etcd.jetcd.api.AlarmType;
import io.etcd.jetcd.api.ResponseHeader;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.server.NuwaConfig;
import org.apsara.nuwa.server.auth.Access;
import org.apsara.nuwa.server.auth.AccessControl;
import org.apsara.nuwa.server.auth.PasswordHasher;
import org.apsara.nuwa.server.auth.TokenCodec;
import org.apsara.nuwa.server.raft.NuwaStateMachine;
import org.apsara.nuwa.server.raft.RaftNode;
import org.apsara.nuwa.server.raft.proto.LogRecord;
import org.apsara.nuwa.server.raft.proto.Reply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the gRPC services of one member share: the Raft node, the state machine, the member and
 * cluster IDs that go into every response header, the request-size limit and the store's quota,
 * and authentication: judging callers by their tokens, and the executor that hashes passwords off
 * the event loop.
 */
public final class ServerContext {
  private static final Logger LOG = LoggerFactory.getLogger(ServerContext.class);
  /** Refusals by the auth state that {@link #guard} confirms; see {@link #isAuthRefusal}. */
  private static final List<Status> STALE_AUTH_REFUSALS = List.of(NuwaErrors.USER_EMPTY,
      NuwaErrors.INVALID_AUTH_TOKEN, NuwaErrors.AUTH_OLD_REVISION, NuwaErrors.PERMISSION_DENIED,
      NuwaErrors.USER_NOT_FOUND);

  final NuwaConfig config;
  final RaftNode raft;
  final NuwaStateMachine stateMachine;
  final ScheduledExecutorService scheduler;
  final long memberId;
  /** The cluster ID this member derives from its peers; a joining member derives none. */
  private final long derivedClusterId;
  final AccessControl access;
  final PasswordHasher passwords;
  private final Executor passwordHashing;
  /** This member's quota of the store's size; {@link Long#MAX_VALUE} for none. */
  private final long quotaBytes;
  /** Set while this member's proposal of the NOSPACE alarm is under way: one at a time. */
  private final AtomicBoolean raisingNoSpace = new AtomicBoolean();

  /**
   * @param passwordHashing runs password hashing and checking, which is slow on purpose; must
   *     refuse work beyond a bounded queue with {@link RejectedExecutionException}
   */
  public ServerContext(NuwaConfig config, RaftNode raft, NuwaStateMachine stateMachine,
      ScheduledExecutorService scheduler, Clock wallClock, Executor passwordHashing) {
    this.config = config;
    this.raft = raft;
    this.stateMachine = stateMachine;
    this.scheduler = scheduler;
    this.memberId = memberId(config.memberId());
    this.derivedClusterId = config.join() ? 0 : clusterId(config.peers().keySet());
    this.access = new AccessControl(stateMachine.auth(),
        new TokenCodec(wallClock, config.authTokenTtl()));
    this.passwords = new PasswordHasher(config.passwordHashIterations());
    this.passwordHashing = passwordHashing;
    this.quotaBytes = config.effectiveQuotaBytes();
  }

  /**
   * The caller of the request this thread is handling, judged against the current auth state.
   *
   * @throws StatusRuntimeException etcd's status if authentication is enabled and the request
   *     has no valid token
   */
  Access caller() {
    return access.authenticate(AuthTokenInterceptor.currentToken());
  }

  /** A log record for a client's request, stamped with the auth revision its checks used. */
  static LogRecord.Builder record(Access caller) {
    return LogRecord.newBuilder().setAuthStamp(caller.stamp());
  }

  /** Runs password work off the event loop; "too many requests" when its queue is full. */
  <T> CompletableFuture<T> hashing(Supplier<T> work) {
    try {
      return CompletableFuture.supplyAsync(work, passwordHashing);
    } catch (RejectedExecutionException full) {
      return CompletableFuture.failedFuture(NuwaErrors.TOO_MANY_REQUESTS.asRuntimeException());
    }
  }

  /** etcd member IDs are 64-bit numbers; Nuwa derives them from the member's name. */
  public static long memberId(String name) {
    return positiveHash("member:" + name);
  }

  /**
   * The group's cluster ID: the one its founding members derived from their names, which stays
   * when the membership changes later.
   */
  long clusterId() {
    return stateMachine.clusterId().orElse(derivedClusterId);
  }

  /** The name of the group's voter with this etcd member ID, if there is one. */
  Optional<String> memberName(long id) {
    return raft.members().stream().map(peer -> peer.getId().toString())
        .filter(name -> memberId(name) == id).findFirst();
  }

  /** The cluster ID that the founding members with these names derive. */
  public static long clusterId(Collection<String> names) {
    return positiveHash("cluster:" + String.join(",", new java.util.TreeSet<>(names)));
  }

  private static long positiveHash(String text) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      long value = 0;
      for (int i = 0; i < 8; i++) {
        value = (value << 8) | (digest[i] & 0xff);
      }
      return value & Long.MAX_VALUE;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A response header for this member, keeping the revision the state machine put in. */
  ResponseHeader header(ResponseHeader fromStore) {
    return fromStore.toBuilder()
        .setClusterId(clusterId())
        .setMemberId(memberId)
        .setRaftTerm(raft.term())
        .build();
  }

  ResponseHeader header() {
    return header(ResponseHeader.newBuilder().setRevision(stateMachine.store().revision()).build());
  }

  /**
   * Refuses a write that would take the store past this member's quota, as etcd does: the caller
   * gets "database space exceeded", and unless the alarm is raised already this member raises
   * NOSPACE through the log, so that every member refuses writes that add data until an operator
   * clears it (etcd's {@code alarm disarm}). A write that adds nothing ({@code cost} 0) passes.
   * Call it after the auth checks, as it may propose (see {@link #guard}).
   *
   * @param cost the write's {@link org.apsara.nuwa.server.mvcc.QuotaCost}
   */
  void checkQuota(long cost) {
    if (cost == 0) {
      return;
    }
    long size = stateMachine.store().approximateBytes();
    if (size + cost <= quotaBytes) {
      return;
    }
    if (!stateMachine.noSpace() && raisingNoSpace.compareAndSet(false, true)) {
      LOG.atWarn().addKeyValue("storeBytes", size).addKeyValue("quotaBytes", quotaBytes)
          .log("the store reached its quota: raising the NOSPACE alarm");
      AlarmRequest raise = AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.ACTIVATE)
          .setMemberID(memberId).setAlarm(AlarmType.NOSPACE).build();
      raft.propose(LogRecord.newBuilder().setAlarm(raise).build()).whenComplete((reply, failure) -> {
        raisingNoSpace.set(false);
        if (failure != null) {
          // The next write past the quota tries again.
          LOG.atWarn().setCause(failure).log("could not raise the NOSPACE alarm");
        }
      });
    }
    throw NuwaErrors.NO_SPACE.asRuntimeException();
  }

  /** Rejects a request larger than the configured limit, as etcd does. */
  void checkSize(com.google.protobuf.MessageLite request) {
    if (request.getSerializedSize() > config.maxRequestBytes()) {
      throw NuwaErrors.REQUEST_TOO_LARGE.asRuntimeException();
    }
  }

  /**
   * Completes a unary call from a future reply: the extracted response, or the error status.
   */
  static <T> void reply(CompletableFuture<Reply> future, Function<Reply, T> extract,
      StreamObserver<T> observer) {
    complete(future.thenApply(extract), observer);
  }

  /** Completes a unary call from a future response, or with the error status. */
  static <T> void complete(CompletableFuture<T> future, StreamObserver<T> observer) {
    future.whenComplete((response, failure) -> {
      if (failure != null) {
        observer.onError(toStatusException(failure));
      } else {
        observer.onNext(response);
        observer.onCompleted();
      }
    });
  }

  static StatusRuntimeException toStatusException(Throwable failure) {
    Throwable cause = failure;
    while (cause instanceof CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (cause instanceof StatusRuntimeException status) {
      return status;
    }
    return Status.INTERNAL.withDescription(String.valueOf(cause.getMessage())).withCause(cause)
        .asRuntimeException();
  }

  /**
   * Runs a unary handler, turning a synchronous failure into the call's error; a refusal by the
   * auth state is given only once this member is known to be up to date.
   *
   * <p>Handlers judge the caller by this member's own copy of the auth state, which on a follower
   * may lag the leader's: a follower learns that an entry committed with the leader's next message
   * to it, up to a heartbeat later. An {@code auth disable}, a new user, a granted permission or a
   * token the leader just issued may therefore be acknowledged to a client before this member has
   * applied it. When the handler refuses the caller for its token or permissions, this member
   * first catches up with a read index round ({@link RaftNode#awaitCaughtUp}), then runs the
   * handler once more, in the same gRPC context, and what it does then is final. A request the
   * checks allow pays nothing for this: a write is checked again when it applies (by its auth
   * stamp, against the state of that moment), and a linearizable read after its own read index.
   *
   * <p>So that running it twice cannot do anything twice, a handler must make its auth checks
   * before anything with an effect (proposing a record, answering the call), and fail them by
   * throwing.
   */
  <T> void guard(StreamObserver<T> observer, Runnable handler) {
    try {
      handler.run();
    } catch (StatusRuntimeException refused) {
      if (!isAuthRefusal(refused.getStatus())) {
        observer.onError(refused);
        return;
      }
      Context grpcContext = Context.current();
      raft.awaitCaughtUp().whenComplete((caughtUp, failure) -> {
        if (failure != null) {
          // Not known to be refused, nor to be allowed: fail as a request that found no leader.
          observer.onError(toStatusException(failure));
          return;
        }
        grpcContext.run(() -> {
          try {
            handler.run();
          } catch (RuntimeException e) {
            observer.onError(toStatusException(e));
          }
        });
      });
    }
  }

  /**
   * Whether a status is a refusal by the auth state that a member lagging the leader may give
   * wrongly: no token while authentication is (still) enabled here, a token signed with a key or
   * at an auth revision this member has not learned yet, a user or permission it does not know.
   */
  static boolean isAuthRefusal(Status status) {
    for (Status refusal : STALE_AUTH_REFUSALS) {
      if (refusal.getCode() == status.getCode()
          && Objects.equals(refusal.getDescription(), status.getDescription())) {
        return true;
      }
    }
    return false;
  }

  static Reply checkReply(Reply reply) {
    if (reply.hasError()) {
      throw Status.fromCodeValue(reply.getError().getCode())
          .withDescription(reply.getError().getMessage()).asRuntimeException();
    }
    return reply;
  }
}
