package org.apsara.fuxi.client.testing;

import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.apsara.fuxi.api.v1.ListWorkersRequest;
import org.apsara.fuxi.api.v1.ListWorkersResponse;
import org.apsara.fuxi.api.v1.RunningWorker;
import org.apsara.fuxi.api.v1.StartWorkerRequest;
import org.apsara.fuxi.api.v1.StartWorkerResponse;
import org.apsara.fuxi.api.v1.StopWorkerRequest;
import org.apsara.fuxi.api.v1.StopWorkerResponse;
import org.apsara.fuxi.api.v1.TuboGrpc;

/** A Tubo in test code: records starts and stops; starts may be refused by a script. */
public final class FakeTubo extends TuboGrpc.TuboImplBase {
  public final List<StartWorkerRequest> starts = new CopyOnWriteArrayList<>();
  public final List<StopWorkerRequest> stops = new CopyOnWriteArrayList<>();
  /** Answers null to accept a start, or the refusal. */
  public volatile Function<StartWorkerRequest, StatusRuntimeException> startRefusal = r -> null;

  @Override
  public void startWorker(StartWorkerRequest request, StreamObserver<StartWorkerResponse> out) {
    starts.add(request);
    StatusRuntimeException refusal = startRefusal.apply(request);
    if (refusal != null) {
      out.onError(refusal);
      return;
    }
    out.onNext(StartWorkerResponse.newBuilder().setSandbox("/sandbox/" + request.getWorkerId())
        .build());
    out.onCompleted();
  }

  @Override
  public void stopWorker(StopWorkerRequest request, StreamObserver<StopWorkerResponse> out) {
    stops.add(request);
    out.onNext(StopWorkerResponse.newBuilder().setStopped(true).build());
    out.onCompleted();
  }

  @Override
  public void listWorkers(ListWorkersRequest request, StreamObserver<ListWorkersResponse> out) {
    out.onNext(ListWorkersResponse.newBuilder().addAllRunning(starts.stream()
        .filter(s -> s.getApplicationId().equals(request.getApplicationId()))
        .map(s -> RunningWorker.newBuilder().setApplicationId(s.getApplicationId())
            .setRole(s.getRole()).setWorkerId(s.getWorkerId()).build())
        .toList()).build());
    out.onCompleted();
  }
}
