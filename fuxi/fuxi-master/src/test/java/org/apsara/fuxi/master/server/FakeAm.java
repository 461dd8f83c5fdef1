package org.apsara.fuxi.master.server;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apsara.fuxi.api.v1.AllocateRequest;
import org.apsara.fuxi.api.v1.AllocateResponse;
import org.apsara.fuxi.api.v1.FuxiMasterGrpc;
import org.apsara.fuxi.api.v1.Grant;
import org.apsara.fuxi.api.v1.Location;
import org.apsara.fuxi.api.v1.Release;
import org.apsara.fuxi.api.v1.Request;
import org.apsara.fuxi.api.v1.Resources;
import org.apsara.fuxi.api.v1.Revoke;
import org.apsara.fuxi.api.v1.RoleDefinition;

/**
 * One Allocate stream of an application master, in test code: sends what the test says and
 * records everything the master answers.
 */
final class FakeAm implements AutoCloseable {
  private final ManagedChannel channel;
  private final StreamObserver<AllocateRequest> out;
  final List<AllocateResponse> received = new CopyOnWriteArrayList<>();
  volatile Status closedWith;
  volatile String closedWithCode;

  FakeAm(String master) {
    channel = NettyChannelBuilder.forTarget(master).usePlaintext().build();
    out = FuxiMasterGrpc.newStub(channel).allocate(new StreamObserver<>() {
      @Override
      public void onNext(AllocateResponse value) {
        received.add(value);
      }

      @Override
      public void onError(Throwable t) {
        io.grpc.Metadata trailers = Status.trailersFromThrowable(t);
        closedWithCode = trailers == null ? null
            : trailers.get(org.apsara.fuxi.api.FuxiTrailers.ERROR_CODE);
        closedWith = Status.fromThrowable(t);
      }

      @Override
      public void onCompleted() {
        closedWith = Status.OK;
      }
    });
  }

  FakeAm hello(String appId, String token, int attempt) {
    return send(AllocateRequest.newBuilder().setHello(AllocateRequest.Hello.newBuilder()
        .setApplicationId(appId).setApplicationToken(token).setAttempt(attempt)).build());
  }

  FakeAm helloWithSync(String appId, String token, int attempt, AllocateRequest.Sync sync) {
    return send(AllocateRequest.newBuilder().setHello(AllocateRequest.Hello.newBuilder()
        .setApplicationId(appId).setApplicationToken(token).setAttempt(attempt).setSync(sync))
        .build());
  }

  FakeAm changes(AllocateRequest.Changes changes) {
    return send(AllocateRequest.newBuilder().setChanges(changes).build());
  }

  FakeAm send(AllocateRequest request) {
    synchronized (out) {
      out.onNext(request);
    }
    return this;
  }

  boolean welcomed() {
    return received.stream().anyMatch(AllocateResponse::hasWelcome);
  }

  boolean syncRequired() {
    return received.stream().anyMatch(r -> r.hasWelcome() && r.getWelcome().getSyncRequired());
  }

  List<Grant> grants() {
    return received.stream().filter(AllocateResponse::hasDecisions)
        .flatMap(r -> r.getDecisions().getGrantsList().stream()).toList();
  }

  int grantedCount(String role) {
    return grants().stream().filter(g -> g.getRole().equals(role)).mapToInt(Grant::getCount)
        .sum();
  }

  List<Revoke> revocations() {
    return received.stream().filter(AllocateResponse::hasDecisions)
        .flatMap(r -> r.getDecisions().getRevocationsList().stream()).toList();
  }

  List<org.apsara.fuxi.api.v1.ChangeError> errors() {
    return received.stream().filter(AllocateResponse::hasDecisions)
        .flatMap(r -> r.getDecisions().getErrorsList().stream()).toList();
  }

  static RoleDefinition role(String name, long cpuMillis, long memoryMib, int priority) {
    return RoleDefinition.newBuilder().setRole(name).setShape(Resources.newBuilder()
        .setCpuMillis(cpuMillis).setMemoryMib(memoryMib)).setPriority(priority).build();
  }

  static Request request(String role, Location location, int count) {
    return Request.newBuilder().setRole(role).setLocation(location).setCount(count).build();
  }

  static Location cluster() {
    return Location.newBuilder().setLevel(Location.Level.CLUSTER).build();
  }

  static Location machine(String id) {
    return Location.newBuilder().setLevel(Location.Level.MACHINE).setId(id).build();
  }

  static Release release(String role, String machineId, int count) {
    return Release.newBuilder().setRole(role).setMachineId(machineId).setCount(count).build();
  }

  @Override
  public void close() {
    try {
      synchronized (out) {
        out.onCompleted();
      }
    } catch (RuntimeException e) {
      // Already closed by the master.
    }
    channel.shutdownNow();
  }
}
