package org.apsara.fuxi.master.server;

import io.grpc.stub.StreamObserver;
import org.apsara.fuxi.api.v1.TuboHeartbeatRequest;
import org.apsara.fuxi.api.v1.TuboHeartbeatResponse;
import org.apsara.fuxi.api.v1.TuboTrackerGrpc;

/** The TuboTracker gRPC service: heartbeats go to the scheduler thread. Thread-safe. */
final class TuboTrackerService extends TuboTrackerGrpc.TuboTrackerImplBase {
  private final FuxiMasterCore core;

  TuboTrackerService(FuxiMasterCore core) {
    this.core = core;
  }

  @Override
  public void heartbeat(TuboHeartbeatRequest request,
      StreamObserver<TuboHeartbeatResponse> response) {
    core.call(response, () -> core.heartbeat(request));
  }
}
