package org.apsara.fuxi.tubo.agent;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.apsara.fuxi.api.v1.ListWorkersRequest;
import org.apsara.fuxi.api.v1.ListWorkersResponse;
import org.apsara.fuxi.api.v1.StartWorkerRequest;
import org.apsara.fuxi.api.v1.StartWorkerResponse;
import org.apsara.fuxi.api.v1.StopWorkerRequest;
import org.apsara.fuxi.api.v1.StopWorkerResponse;
import org.apsara.fuxi.api.v1.TuboGrpc;

/**
 * The {@code apsara.fuxi.v1.Tubo} service: application masters start, stop and list their
 * workers here. Every call first checks the application token ({@link ApplicationTokenGate}),
 * then hands over to the {@link TuboAgent}. Calls may block (a start may wait for a heartbeat, a
 * stop for the processes to end), so they run on handler threads, never on network threads.
 * Thread-safe.
 */
final class TuboService extends TuboGrpc.TuboImplBase {
  private final TuboAgent agent;
  private final ApplicationTokenGate tokens;
  private final TuboMetrics metrics;

  TuboService(TuboAgent agent, ApplicationTokenGate tokens, TuboMetrics metrics) {
    this.agent = Objects.requireNonNull(agent, "agent");
    this.tokens = Objects.requireNonNull(tokens, "tokens");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
  }

  @Override
  public void startWorker(StartWorkerRequest request,
      StreamObserver<StartWorkerResponse> response) {
    try {
      tokens.check(request.getApplicationId(), request.getApplicationToken());
      if (request.getRole().isEmpty()) {
        throw TuboErrors.invalidArgument("role is required");
      }
      if (request.getWorkerId().isEmpty()) {
        throw TuboErrors.invalidArgument("worker_id is required");
      }
      Path sandbox = agent.start(request.getApplicationId(), request.getRole(),
          request.getWorkerId(), request.getCommandList(), request.getEnvironmentMap(),
          waitBudgetNanos());
      response.onNext(StartWorkerResponse.newBuilder().setSandbox(sandbox.toString()).build());
      response.onCompleted();
    } catch (StatusRuntimeException e) {
      metrics.startRefused(TuboErrors.codeOf(e).isEmpty()
          ? e.getStatus().getCode().name() : TuboErrors.codeOf(e));
      response.onError(e);
    }
  }

  @Override
  public void stopWorker(StopWorkerRequest request,
      StreamObserver<StopWorkerResponse> response) {
    try {
      tokens.check(request.getApplicationId(), request.getApplicationToken());
      if (request.getWorkerId().isEmpty()) {
        throw TuboErrors.invalidArgument("worker_id is required");
      }
      boolean stopped = agent.stop(request.getApplicationId(), request.getWorkerId(),
          request.getReason());
      response.onNext(StopWorkerResponse.newBuilder().setStopped(stopped).build());
      response.onCompleted();
    } catch (StatusRuntimeException e) {
      response.onError(e);
    }
  }

  @Override
  public void listWorkers(ListWorkersRequest request,
      StreamObserver<ListWorkersResponse> response) {
    try {
      tokens.check(request.getApplicationId(), request.getApplicationToken());
      ListWorkersResponse.Builder list = ListWorkersResponse.newBuilder();
      agent.list(request.getApplicationId()).forEach(w -> list.addRunning(TuboAgent.toProto(w)));
      response.onNext(list.build());
      response.onCompleted();
    } catch (StatusRuntimeException e) {
      response.onError(e);
    }
  }

  /** How long the call may still wait: its deadline, less a margin to answer in; else no limit. */
  private static long waitBudgetNanos() {
    Deadline deadline = Context.current().getDeadline();
    if (deadline == null) {
      return Long.MAX_VALUE;
    }
    long remaining = deadline.timeRemaining(TimeUnit.NANOSECONDS);
    return Math.max(0, remaining - remaining / 10);
  }
}
