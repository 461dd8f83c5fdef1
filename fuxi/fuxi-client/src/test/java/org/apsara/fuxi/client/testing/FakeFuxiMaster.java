package org.apsara.fuxi.client.testing;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.fuxi.api.v1.AllocateRequest;
import org.apsara.fuxi.api.v1.AllocateResponse;
import org.apsara.fuxi.api.v1.ApplicationStatus;
import org.apsara.fuxi.api.v1.FuxiMasterGrpc;
import org.apsara.fuxi.api.v1.GetApplicationRequest;
import org.apsara.fuxi.api.v1.Grant;
import org.apsara.fuxi.api.v1.KillApplicationRequest;
import org.apsara.fuxi.api.v1.ListApplicationsRequest;
import org.apsara.fuxi.api.v1.ListApplicationsResponse;
import org.apsara.fuxi.api.v1.ListNodesRequest;
import org.apsara.fuxi.api.v1.ListNodesResponse;
import org.apsara.fuxi.api.v1.DeleteQuotaGroupRequest;
import org.apsara.fuxi.api.v1.DeleteQuotaGroupResponse;
import org.apsara.fuxi.api.v1.ListQuotaGroupsRequest;
import org.apsara.fuxi.api.v1.ListQuotaGroupsResponse;
import org.apsara.fuxi.api.v1.QuotaGroupStatus;
import org.apsara.fuxi.api.v1.Revoke;
import org.apsara.fuxi.api.v1.RevokeReason;
import org.apsara.fuxi.api.v1.SetQuotaGroupRequest;
import org.apsara.fuxi.api.v1.SubmitApplicationRequest;
import org.apsara.fuxi.api.v1.SubmitApplicationResponse;
import org.apsara.fuxi.api.v1.WorkerExit;

/**
 * A FuxiMaster in test code: unary calls answer through a scripted {@link Unary}; Allocate
 * streams are recorded (every request, per stream) and driven by the test (grants, revocations,
 * exits, tokens, ending a stream).
 */
public final class FakeFuxiMaster extends FuxiMasterGrpc.FuxiMasterImplBase {
  /** Answers a unary call, or throws a status. */
  @FunctionalInterface
  public interface Unary {
    Object answer(String method, Object request);
  }

  /** One Allocate stream as the server saw it. */
  public static final class Stream {
    public final List<AllocateRequest> received = new CopyOnWriteArrayList<>();
    final ServerCallStreamObserver<AllocateResponse> out;
    volatile boolean ended;

    Stream(ServerCallStreamObserver<AllocateResponse> out) {
      this.out = out;
    }

    public AllocateRequest.Hello hello() {
      return received.get(0).getHello();
    }

    public synchronized void send(AllocateResponse response) {
      if (!ended) {
        out.onNext(response);
      }
    }

    public synchronized void end(StatusRuntimeException error) {
      if (ended) {
        return;
      }
      ended = true;
      if (error == null) {
        out.onCompleted();
      } else {
        out.onError(error);
      }
    }

    public boolean ended() {
      return ended;
    }
  }

  private volatile Unary unary = (method, request) -> {
    throw Status.UNIMPLEMENTED.asRuntimeException();
  };
  private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
  public final List<Object> requests = new CopyOnWriteArrayList<>();
  public final List<Stream> streams = new CopyOnWriteArrayList<>();
  /** Answer a Hello without sync with Welcome.sync_required. */
  public volatile boolean requireSync;
  /** If set, a Hello is answered by ending the stream with it. */
  public volatile StatusRuntimeException refuseHello;

  public void onUnary(Unary value) {
    unary = value;
  }

  public int count(String method) {
    AtomicInteger n = calls.get(method);
    return n == null ? 0 : n.get();
  }

  @SuppressWarnings("unchecked")
  private <T> void handle(String method, Object request, StreamObserver<T> out) {
    calls.computeIfAbsent(method, m -> new AtomicInteger()).incrementAndGet();
    requests.add(request);
    try {
      out.onNext((T) unary.answer(method, request));
      out.onCompleted();
    } catch (StatusRuntimeException e) {
      out.onError(e);
    }
  }

  @Override
  public void submitApplication(SubmitApplicationRequest request,
      StreamObserver<SubmitApplicationResponse> out) {
    handle("submit", request, out);
  }

  @Override
  public void getApplication(GetApplicationRequest request,
      StreamObserver<ApplicationStatus> out) {
    handle("get", request, out);
  }

  @Override
  public void listApplications(ListApplicationsRequest request,
      StreamObserver<ListApplicationsResponse> out) {
    handle("list", request, out);
  }

  @Override
  public void killApplication(KillApplicationRequest request,
      StreamObserver<ApplicationStatus> out) {
    handle("kill", request, out);
  }

  @Override
  public void listNodes(ListNodesRequest request, StreamObserver<ListNodesResponse> out) {
    handle("nodes", request, out);
  }

  @Override
  public void setQuotaGroup(SetQuotaGroupRequest request, StreamObserver<QuotaGroupStatus> out) {
    handle("setQuotaGroup", request, out);
  }

  @Override
  public void deleteQuotaGroup(DeleteQuotaGroupRequest request,
      StreamObserver<DeleteQuotaGroupResponse> out) {
    handle("deleteQuotaGroup", request, out);
  }

  @Override
  public void listQuotaGroups(ListQuotaGroupsRequest request,
      StreamObserver<ListQuotaGroupsResponse> out) {
    handle("quotaGroups", request, out);
  }

  @Override
  public StreamObserver<AllocateRequest> allocate(StreamObserver<AllocateResponse> responses) {
    Stream stream = new Stream((ServerCallStreamObserver<AllocateResponse>) responses);
    streams.add(stream);
    return new StreamObserver<>() {
      @Override
      public void onNext(AllocateRequest request) {
        stream.received.add(request);
        switch (request.getKindCase()) {
          case HELLO -> {
            StatusRuntimeException refusal = refuseHello;
            if (refusal != null) {
              stream.end(refusal);
              return;
            }
            boolean syncRequired = requireSync && !request.getHello().hasSync();
            stream.send(AllocateResponse.newBuilder().setWelcome(
                AllocateResponse.Welcome.newBuilder().setSyncRequired(syncRequired)).build());
          }
          case FINISH -> stream.end(null);
          default -> { }
        }
      }

      @Override
      public void onError(Throwable t) {
        stream.ended = true;
      }

      @Override
      public void onCompleted() {
        stream.ended = true;
      }
    };
  }

  // ----------------------------------------------------------------- driving the AM

  public Stream lastStream() {
    return streams.get(streams.size() - 1);
  }

  /** Every Changes message received, over all streams, in order. */
  public List<AllocateRequest.Changes> changes() {
    return streams.stream().flatMap(s -> s.received.stream())
        .filter(AllocateRequest::hasChanges).map(AllocateRequest::getChanges).toList();
  }

  /** Every Finish received. */
  public List<AllocateRequest.Finish> finishes() {
    return streams.stream().flatMap(s -> s.received.stream())
        .filter(AllocateRequest::hasFinish).map(AllocateRequest::getFinish).toList();
  }

  public void grant(String role, String machine, String tuboAddress, int count) {
    lastStream().send(AllocateResponse.newBuilder().setDecisions(
        AllocateResponse.Decisions.newBuilder().addGrants(Grant.newBuilder().setRole(role)
            .setMachineId(machine).setTuboAddress(tuboAddress).setCount(count))).build());
  }

  public void revoke(String role, String machine, int count, RevokeReason reason) {
    lastStream().send(AllocateResponse.newBuilder().setDecisions(
        AllocateResponse.Decisions.newBuilder().addRevocations(Revoke.newBuilder().setRole(role)
            .setMachineId(machine).setCount(count).setReason(reason))).build());
  }

  public void exit(String role, String workerId, String machine, int exitCode) {
    lastStream().send(AllocateResponse.newBuilder().setWorkerExit(WorkerExit.newBuilder()
        .setRole(role).setWorkerId(workerId).setMachineId(machine)
        .setKind(WorkerExit.Kind.EXITED).setExitCode(exitCode)).build());
  }
}
