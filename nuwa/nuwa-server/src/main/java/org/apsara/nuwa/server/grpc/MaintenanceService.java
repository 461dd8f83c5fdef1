package org.apsara.nuwa.server.grpc;

import io.etcd.jetcd.api.AlarmMember;
import io.etcd.jetcd.api.AlarmRequest;
import io.etcd.jetcd.api.AlarmResponse;
import io.etcd.jetcd.api.AlarmType;
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
import org.apsara.nuwa.server.raft.proto.LogRecord;

/**
 * The parts of etcd's Maintenance service that clients and operators use: Status (for
 * {@code etcdctl endpoint status}), Alarm (listing and clearing alarms; members raise NOSPACE
 * when the store reaches its quota), Defragment (nothing to defragment: the store lives in memory
 * and in Raft snapshots) and MoveLeader.
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
    for (AlarmMember alarm : ctx.stateMachine.alarms()) {
      response.addErrors(describe(alarm));
    }
    return response.build();
  }

  /** An alarm as etcd's Status lists it among the errors. */
  private static String describe(AlarmMember alarm) {
    return "memberID:" + Long.toUnsignedString(alarm.getMemberID()) + " alarm:" + alarm.getAlarm();
  }

  @Override
  public void alarm(AlarmRequest request, StreamObserver<AlarmResponse> observer) {
    ctx.guard(observer, () -> {
      Access caller = ctx.caller();
      switch (request.getAction()) {
        case GET -> {
          AlarmResponse.Builder response = AlarmResponse.newBuilder().setHeader(ctx.header());
          for (AlarmMember alarm : ctx.stateMachine.alarms()) {
            if (request.getAlarm() == AlarmType.NONE || request.getAlarm() == alarm.getAlarm()) {
              response.addAlarms(alarm);
            }
          }
          observer.onNext(response.build());
          observer.onCompleted();
        }
        case ACTIVATE, DEACTIVATE -> {
          caller.requireAdmin();
          if (request.getAlarm() != AlarmType.NOSPACE) {
            throw Status.INVALID_ARGUMENT.withDescription("etcdserver: alarm " + request.getAlarm()
                + " is not one Nuwa keeps; its members raise NOSPACE only").asRuntimeException();
          }
          LogRecord record = ServerContext.record(caller).setAlarm(request).build();
          ServerContext.reply(ctx.raft.propose(record), r -> {
            AlarmResponse response = r.getAlarm();
            return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
          }, observer);
        }
        default -> throw Status.INVALID_ARGUMENT
            .withDescription("etcdserver: unknown alarm action " + request.getActionValue())
            .asRuntimeException();
      }
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
