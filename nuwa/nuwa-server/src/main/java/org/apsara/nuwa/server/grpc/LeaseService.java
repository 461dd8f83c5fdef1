package org.apsara.nuwa.server.grpc;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseGrantResponse;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.LeaseKeepAliveRequest;
import io.etcd.jetcd.api.LeaseKeepAliveResponse;
import io.etcd.jetcd.api.LeaseRevokeRequest;
import io.etcd.jetcd.api.LeaseRevokeResponse;
import io.etcd.jetcd.api.LeaseTimeToLiveRequest;
import io.etcd.jetcd.api.LeaseTimeToLiveResponse;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.apsara.nuwa.api.NuwaLimits;
import org.apsara.nuwa.api.proto.LeaseLeasesRequest;
import org.apsara.nuwa.api.proto.LeaseLeasesResponse;
import org.apsara.nuwa.server.auth.Access;
import org.apsara.nuwa.server.mvcc.MvccStore;
import org.apsara.nuwa.server.mvcc.QuotaCost;
import org.apsara.nuwa.server.mvcc.RequestValidator;
import org.apsara.nuwa.server.raft.proto.LogRecord;
import org.apsara.nuwa.server.raft.proto.Query;
import org.apsara.nuwa.server.raft.proto.Reply;

/**
 * etcd's Lease service. Grants and revocations go through the log; keep-alives and time-to-live
 * go to the leader, whose clock alone decides when a lease expires.
 *
 * <p>With authentication enabled, any authenticated caller may grant, keep alive and ask about a
 * lease; revoking one needs write on every key it holds, and listing the keys of leases needs read
 * on them, as in etcd.
 */
final class LeaseService extends LeaseGrpc.LeaseImplBase {
  /** etcd's method that the jetcd .proto files lack; same name and wire format. */
  static final MethodDescriptor<LeaseLeasesRequest, LeaseLeasesResponse> LEASE_LEASES =
      MethodDescriptor.<LeaseLeasesRequest, LeaseLeasesResponse>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName(MethodDescriptor.generateFullMethodName(
              LeaseGrpc.SERVICE_NAME, "LeaseLeases"))
          .setRequestMarshaller(ProtoUtils.marshaller(LeaseLeasesRequest.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(LeaseLeasesResponse.getDefaultInstance()))
          .build();
  /** Attempts at reaching a ready leader for one keep-alive before giving up. */
  private static final int LEADER_ATTEMPTS_MAX = 20;
  private static final long LEADER_RETRY_DELAY_MS = 100;

  private final ServerContext ctx;

  LeaseService(ServerContext ctx) {
    this.ctx = ctx;
  }

  /** This service plus the LeaseLeases method, as one service definition. */
  ServerServiceDefinition definition() {
    ServerServiceDefinition generated = bindService();
    io.grpc.ServiceDescriptor.Builder descriptor =
        io.grpc.ServiceDescriptor.newBuilder(LeaseGrpc.SERVICE_NAME);
    generated.getServiceDescriptor().getMethods().forEach(descriptor::addMethod);
    descriptor.addMethod(LEASE_LEASES);
    ServerServiceDefinition.Builder builder = ServerServiceDefinition.builder(descriptor.build());
    generated.getMethods().forEach(builder::addMethod);
    builder.addMethod(LEASE_LEASES, ServerCalls.asyncUnaryCall(this::leaseLeases));
    return builder.build();
  }

  @Override
  public void leaseGrant(LeaseGrantRequest request, StreamObserver<LeaseGrantResponse> observer) {
    ctx.guard(observer, () -> {
      RequestValidator.validateLeaseGrant(request);
      Access caller = ctx.caller();
      ctx.checkQuota(QuotaCost.LEASE_BYTES);
      long ttl = Math.max(request.getTTL(), NuwaLimits.MIN_LEASE_TTL_SECONDS);
      long id = request.getID() != 0 ? request.getID()
          : ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
      LeaseGrantRequest stamped = request.toBuilder().setID(id).setTTL(ttl).build();
      LogRecord record = ServerContext.record(caller).setLeaseGrant(stamped).build();
      ServerContext.reply(ctx.raft.propose(record), r -> {
        LeaseGrantResponse response = r.getLeaseGrant();
        return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
      }, observer);
    });
  }

  @Override
  public void leaseRevoke(LeaseRevokeRequest request, StreamObserver<LeaseRevokeResponse> observer) {
    ctx.guard(observer, () -> {
      Access caller = ctx.caller();
      // Checked here to refuse early, and again when the revocation applies (keys may change).
      caller.checkEachKey(leaseKeys(request.getID()), true);
      LogRecord record = ServerContext.record(caller).setLeaseRevoke(request).build();
      ServerContext.reply(ctx.raft.propose(record), r -> {
        LeaseRevokeResponse response = r.getLeaseRevoke();
        return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
      }, observer);
    });
  }

  private List<ByteString> leaseKeys(long id) {
    return ctx.stateMachine.store().lease(id).map(MvccStore.LeaseInfo::keys).orElse(List.of());
  }

  @Override
  public void leaseTimeToLive(LeaseTimeToLiveRequest request,
      StreamObserver<LeaseTimeToLiveResponse> observer) {
    ctx.guard(observer, () -> {
      Access caller = ctx.caller();
      if (request.getKeys()) {
        // The answer names the lease's keys: the caller must be allowed to read them.
        caller.checkEachKey(leaseKeys(request.getID()), false);
      }
      timeToLive(request, observer);
    });
  }

  private void timeToLive(LeaseTimeToLiveRequest request,
      StreamObserver<LeaseTimeToLiveResponse> observer) {
    ServerContext.reply(askLeader(Query.newBuilder().setLeaseTimeToLive(request).build(), 0),
        r -> {
          // A lease that does not exist is TTL -1, not an error, as etcd answers.
          LeaseTimeToLiveResponse response = r.getLeaseTimeToLive();
          return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
        }, observer);
  }

  void leaseLeases(LeaseLeasesRequest request, StreamObserver<LeaseLeasesResponse> observer) {
    ctx.guard(observer, () -> {
      // The caller is judged once the read index has brought this member up to date.
      String token = AuthTokenInterceptor.currentToken();
      ServerContext.reply(
          ctx.raft.readLinearizable(Query.newBuilder().setLeaseLeases(request).build()),
          r -> {
            LeaseLeasesResponse response = ServerContext.checkReply(r).getLeaseLeases();
            // As in etcd, a caller without the root role must be allowed to read every key held
            // by a lease to list the leases.
            Access caller = ctx.access.authenticate(token);
            for (var lease : response.getLeasesList()) {
              caller.checkEachKey(leaseKeys(lease.getID()), false);
            }
            return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
          }, observer);
    });
  }

  @Override
  public StreamObserver<LeaseKeepAliveRequest> leaseKeepAlive(
      StreamObserver<LeaseKeepAliveResponse> responses) {
    String token = AuthTokenInterceptor.currentToken();
    return new StreamObserver<>() {
      /** Set once the stream was refused for its token; messages still in flight are dropped. */
      private boolean refused;

      @Override
      public void onNext(LeaseKeepAliveRequest request) {
        if (refused) {
          return;
        }
        try {
          ctx.access.authenticateIgnoringExpiry(token);
        } catch (StatusRuntimeException e) {
          refused = true;
          synchronized (responses) {
            responses.onError(e);
          }
          return;
        }
        askLeader(Query.newBuilder().setLeaseKeepAlive(request).build(), 0)
            .whenComplete((reply, failure) -> {
              if (failure != null) {
                synchronized (responses) {
                  responses.onError(ServerContext.toStatusException(failure));
                }
                return;
              }
              LeaseKeepAliveResponse response = reply.getLeaseKeepAlive();
              synchronized (responses) {
                try {
                  responses.onNext(
                      response.toBuilder().setHeader(ctx.header(response.getHeader())).build());
                } catch (IllegalStateException | StatusRuntimeException closed) {
                  // The client went away while the leader answered; nothing to tell it.
                }
              }
            });
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        synchronized (responses) {
          responses.onCompleted();
        }
      }
    };
  }

  /**
   * Sends a query to the leader's state machine, retrying while leadership is moving (a new
   * leader answers only once it has committed an entry of its term and reset lease deadlines).
   */
  private CompletableFuture<Reply> askLeader(Query query, int attempt) {
    return ctx.raft.askLeader(query).handle((reply, failure) -> {
      Status status = failure == null ? null : ServerContext.toStatusException(failure).getStatus();
      boolean retry = status != null && attempt < LEADER_ATTEMPTS_MAX
          && (status.getCode() == Status.Code.FAILED_PRECONDITION
              || status.getCode() == Status.Code.UNAVAILABLE);
      if (retry) {
        CompletableFuture<Reply> next = new CompletableFuture<>();
        ctx.scheduler.schedule(() -> askLeader(query, attempt + 1).whenComplete((r, f) -> {
          if (f != null) {
            next.completeExceptionally(f);
          } else {
            next.complete(r);
          }
        }), LEADER_RETRY_DELAY_MS, TimeUnit.MILLISECONDS);
        return next;
      }
      if (failure != null) {
        return CompletableFuture.<Reply>failedFuture(failure);
      }
      return CompletableFuture.completedFuture(reply);
    }).thenCompose(f -> f);
  }
}
