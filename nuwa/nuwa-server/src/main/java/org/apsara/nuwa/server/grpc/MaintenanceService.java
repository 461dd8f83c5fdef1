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
import io.grpc.stub.StreamObserver;
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
    ctx.guard(observer, () -> {
      ctx.caller();
      observer.onNext(status());
      observer.onCompleted();
    });
  }

  private StatusResponse status() {
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
    return response.build();
  }

  @Override
  public void alarm(AlarmRequest request, StreamObserver<AlarmResponse> observer) {
    ctx.guard(observer, () -> {
      Access caller = ctx.caller();
      if (request.getAction() != AlarmRequest.AlarmAction.GET) {
        caller.requireAdmin();
      }
      observer.onNext(AlarmResponse.newBuilder().setHeader(ctx.header()).build());
      observer.onCompleted();
    });
  }

  @Override
  public void defragment(DefragmentRequest request, StreamObserver<DefragmentResponse> observer) {
    ctx.guard(observer, () -> {
      ctx.caller().requireAdmin();
      observer.onNext(DefragmentResponse.newBuilder().setHeader(ctx.header()).build());
      observer.onCompleted();
    });
  }

  @Override
  public void moveLeader(MoveLeaderRequest request, StreamObserver<MoveLeaderResponse> observer) {
    ctx.guard(observer, () -> {
      ctx.caller().requireAdmin();
      moveLeaderTo(request.getTargetID(), observer);
    });
  }

  private void moveLeaderTo(long targetId, StreamObserver<MoveLeaderResponse> observer) {
    String target = ctx.memberName(targetId).orElse(null);
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
}
