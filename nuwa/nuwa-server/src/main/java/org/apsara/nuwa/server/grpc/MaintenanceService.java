package org.apsara.nuwa.server.grpc;

import io.etcd.jetcd.api.AlarmRequest;
import io.etcd.jetcd.api.AlarmResponse;
import io.etcd.jetcd.api.DefragmentRequest;
import io.etcd.jetcd.api.DefragmentResponse;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.MoveLeaderRequest;
import io.etcd.jetcd.api.MoveLeaderResponse;
import io.etcd.jetcd.api.StatusRequest;
import io.etcd.jetcd.api.StatusResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.Map;
import org.apsara.nuwa.server.NuwaVersion;
import org.apsara.nuwa.server.auth.Access;

/**
 * The parts of etcd's Maintenance service that clients and operators use: Status (for
 * {@code etcdctl endpoint status}), Alarm (Nuwa raises none), Defragment (nothing to defragment:
 * the store lives in memory and in Raft snapshots) and MoveLeader.
 *
 * <p>With authentication enabled, Status and reading alarms need an authenticated caller, and
 * everything else the root role, as in etcd 3.5.
 */
final class MaintenanceService extends MaintenanceGrpc.MaintenanceImplBase {
  private final ServerContext ctx;

  MaintenanceService(ServerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void status(StatusRequest request, StreamObserver<StatusResponse> observer) {
    try {
      ctx.caller();
    } catch (StatusRuntimeException refused) {
      observer.onError(refused);
      return;
    }
    StatusResponse.Builder response = StatusResponse.newBuilder()
        .setHeader(ctx.header())
        .setVersion(NuwaVersion.ETCD_API_VERSION)
        .setRaftIndex(ctx.raft.commitIndex())
        .setRaftTerm(ctx.raft.term())
        .setRaftAppliedIndex(ctx.raft.appliedIndex())
        .setDbSize(ctx.stateMachine.store().approximateBytes())
        .setDbSizeInUse(ctx.stateMachine.store().approximateBytes());
    ctx.raft.leader().ifPresent(leader -> response.setLeader(ServerContext.memberId(leader)));
    if (ctx.raft.leader().isEmpty()) {
      response.addErrors("etcdserver: no leader");
    }
    observer.onNext(response.build());
    observer.onCompleted();
  }

  @Override
  public void alarm(AlarmRequest request, StreamObserver<AlarmResponse> observer) {
    try {
      Access caller = ctx.caller();
      if (request.getAction() != AlarmRequest.AlarmAction.GET) {
        caller.requireAdmin();
      }
    } catch (StatusRuntimeException refused) {
      observer.onError(refused);
      return;
    }
    observer.onNext(AlarmResponse.newBuilder().setHeader(ctx.header()).build());
    observer.onCompleted();
  }

  @Override
  public void defragment(DefragmentRequest request, StreamObserver<DefragmentResponse> observer) {
    if (!adminOrRefuse(observer)) {
      return;
    }
    observer.onNext(DefragmentResponse.newBuilder().setHeader(ctx.header()).build());
    observer.onCompleted();
  }

  @Override
  public void moveLeader(MoveLeaderRequest request, StreamObserver<MoveLeaderResponse> observer) {
    if (!adminOrRefuse(observer)) {
      return;
    }
    String target = null;
    for (Map.Entry<String, ?> peer : ctx.config.peers().entrySet()) {
      if (ServerContext.memberId(peer.getKey()) == request.getTargetID()) {
        target = peer.getKey();
      }
    }
    if (target == null) {
      observer.onError(Status.NOT_FOUND.withDescription("etcdserver: member not found")
          .asRuntimeException());
      return;
    }
    ctx.raft.transferLeadership(target, ctx.config.requestTimeout().toMillis())
        .whenComplete((ok, failure) -> {
          if (failure != null) {
            observer.onError(ServerContext.toStatusException(failure));
          } else {
            observer.onNext(MoveLeaderResponse.newBuilder().setHeader(ctx.header()).build());
            observer.onCompleted();
          }
        });
  }

  /** Whether the caller has the root role; if not, fails the call with etcd's status. */
  private boolean adminOrRefuse(StreamObserver<?> observer) {
    try {
      ctx.caller().requireAdmin();
      return true;
    } catch (StatusRuntimeException refused) {
      observer.onError(refused);
      return false;
    }
  }
}
