package org.apsara.nuwa.server.grpc;

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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.apsara.nuwa.api.NuwaLimits;
import org.apsara.nuwa.api.proto.LeaseLeasesRequest;
import org.apsara.nuwa.api.proto.LeaseLeasesResponse;
import org.apsara.nuwa.server.mvcc.RequestValidator;
import org.apsara.nuwa.server.raft.proto.LogRecord;
import org.apsara.nuwa.server.raft.proto.Query;
import org.apsara.nuwa.server.raft.proto.Reply;

/**
 * etcd's Lease service. Grants and revocations go through the log; keep-alives and time-to-live
 * go to the leader, whose clock alone decides when a lease expires.
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
    ServerContext.guard(observer, () -> {
      RequestValidator.validateLeaseGrant(request);
      long ttl = Math.max(request.getTTL(), NuwaLimits.MIN_LEASE_TTL_SECONDS);
      long id = request.getID() != 0 ? request.getID()
          : ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
      LeaseGrantRequest stamped = request.toBuilder().setID(id).setTTL(ttl).build();
      ServerContext.reply(ctx.raft.propose(LogRecord.newBuilder().setLeaseGrant(stamped).build()),
          r -> {
            LeaseGrantResponse response = r.getLeaseGrant();
            return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
          }, observer);
    });
  }

  @Override
  public void leaseRevoke(LeaseRevokeRequest request, StreamObserver<LeaseRevokeResponse> observer) {
    ServerContext.reply(ctx.raft.propose(LogRecord.newBuilder().setLeaseRevoke(request).build()),
        r -> {
          LeaseRevokeResponse response = r.getLeaseRevoke();
          return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
        }, observer);
  }

  @Override
  public void leaseTimeToLive(LeaseTimeToLiveRequest request,
      StreamObserver<LeaseTimeToLiveResponse> observer) {
    ServerContext.reply(askLeader(Query.newBuilder().setLeaseTimeToLive(request).build(), 0),
        r -> {
          // A lease that does not exist is TTL -1, not an error, as etcd answers.
          LeaseTimeToLiveResponse response = r.getLeaseTimeToLive();
          return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
        }, observer);
  }

  void leaseLeases(LeaseLeasesRequest request, StreamObserver<LeaseLeasesResponse> observer) {
    ServerContext.reply(
        ctx.raft.readLinearizable(Query.newBuilder().setLeaseLeases(request).build()),
        r -> {
          LeaseLeasesResponse response = ServerContext.checkReply(r).getLeaseLeases();
          return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
        }, observer);
  }

  @Override
  public StreamObserver<LeaseKeepAliveRequest> leaseKeepAlive(
      StreamObserver<LeaseKeepAliveResponse> responses) {
    return new StreamObserver<>() {
      @Override
      public void onNext(LeaseKeepAliveRequest request) {
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
