package org.apsara.fuxi.master.server;

import io.grpc.stub.StreamObserver;
import org.apsara.fuxi.api.v1.AllocateRequest;
import org.apsara.fuxi.api.v1.AllocateResponse;
import org.apsara.fuxi.api.v1.ApplicationStatus;
import org.apsara.fuxi.api.v1.FuxiMasterGrpc;
import org.apsara.fuxi.api.v1.GetApplicationRequest;
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
import org.apsara.fuxi.api.v1.SetQuotaGroupRequest;
import org.apsara.fuxi.api.v1.SubmitApplicationRequest;
import org.apsara.fuxi.api.v1.SubmitApplicationResponse;

/**
 * The FuxiMaster gRPC service: every call is handed to the scheduler thread of {@link
 * FuxiMasterCore}, which answers it. Thread-safe.
 */
final class FuxiMasterService extends FuxiMasterGrpc.FuxiMasterImplBase {
  private final FuxiMasterCore core;

  FuxiMasterService(FuxiMasterCore core) {
    this.core = core;
  }

  @Override
  public void submitApplication(SubmitApplicationRequest request,
      StreamObserver<SubmitApplicationResponse> response) {
    core.call(response, () -> SubmitApplicationResponse.newBuilder()
        .setApplicationId(core.submit(request)).build());
  }

  @Override
  public void getApplication(GetApplicationRequest request,
      StreamObserver<ApplicationStatus> response) {
    core.call(response, () -> core.getApplication(request.getApplicationId()));
  }

  @Override
  public void listApplications(ListApplicationsRequest request,
      StreamObserver<ListApplicationsResponse> response) {
    core.call(response, () -> core.listApplications(request.getStatesList()));
  }

  @Override
  public void killApplication(KillApplicationRequest request,
      StreamObserver<ApplicationStatus> response) {
    core.call(response,
        () -> core.killApplication(request.getApplicationId(), request.getReason()));
  }

  @Override
  public void listNodes(ListNodesRequest request, StreamObserver<ListNodesResponse> response) {
    core.call(response, core::listNodes);
  }

  @Override
  public void setQuotaGroup(SetQuotaGroupRequest request,
      StreamObserver<QuotaGroupStatus> response) {
    core.call(response, () -> core.setQuotaGroup(request));
  }

  @Override
  public void deleteQuotaGroup(DeleteQuotaGroupRequest request,
      StreamObserver<DeleteQuotaGroupResponse> response) {
    core.call(response, () -> core.deleteQuotaGroup(request));
  }

  @Override
  public void listQuotaGroups(ListQuotaGroupsRequest request,
      StreamObserver<ListQuotaGroupsResponse> response) {
    core.call(response, core::listQuotaGroups);
  }

  @Override
  public StreamObserver<AllocateRequest> allocate(StreamObserver<AllocateResponse> response) {
    FuxiMasterCore.AmStream stream = core.newStream(response);
    return new StreamObserver<>() {
      @Override
      public void onNext(AllocateRequest request) {
        // A full queue ends the stream at once (from this thread: the scheduler thread
        // cannot take the task); the AM reconnects.
        core.submit(() -> core.onAllocateRequest(stream, request), stream::fail);
      }

      @Override
      public void onError(Throwable t) {
        core.submit(() -> core.onStreamEnd(stream, false), ignored -> { });
      }

      @Override
      public void onCompleted() {
        core.submit(() -> core.onStreamEnd(stream, true), ignored -> { });
      }
    };
  }
}
