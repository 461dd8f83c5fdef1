package org.apsara.fuxi.master.server;

import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.function.Predicate;
import org.apsara.fuxi.api.FuxiPermissions;
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
import org.apsara.security.grpc.Authorization.Access;

/**
 * The FuxiMaster gRPC service: every call is handed to the scheduler thread of {@link
 * FuxiMasterCore}, which answers it. With authentication on, each call except {@code Allocate}
 * (application masters present their application token in the stream instead) arrives with an
 * authenticated caller, and {@link MasterAccess} checks what it may do: on this gRPC thread where
 * no scheduler state is needed, on the scheduler thread where the application's tenant is.
 * Thread-safe.
 */
final class FuxiMasterService extends FuxiMasterGrpc.FuxiMasterImplBase {
  private final FuxiMasterCore core;
  private final MasterAccess access;

  FuxiMasterService(FuxiMasterCore core, MasterAccess access) {
    this.core = core;
    this.access = access;
  }

  @Override
  public void submitApplication(SubmitApplicationRequest request,
      StreamObserver<SubmitApplicationResponse> response) {
    SubmitApplicationRequest checked;
    try {
      checked = request.toBuilder().setTenant(access.submitTenant(request.getTenant())).build();
    } catch (StatusRuntimeException refused) {
      response.onError(refused);
      return;
    }
    core.call(response, () -> SubmitApplicationResponse.newBuilder()
        .setApplicationId(core.submit(checked)).build());
  }

  @Override
  public void getApplication(GetApplicationRequest request,
      StreamObserver<ApplicationStatus> response) {
    MasterAccess.ApplicationCheck check =
        access.applicationCheck(FuxiPermissions.GET_APPLICATION, Access.READ);
    core.call(response, () -> core.getApplication(request.getApplicationId(), check));
  }

  @Override
  public void listApplications(ListApplicationsRequest request,
      StreamObserver<ListApplicationsResponse> response) {
    Predicate<String> visibleTenants;
    try {
      visibleTenants = access.listFilter();
    } catch (StatusRuntimeException refused) {
      response.onError(refused);
      return;
    }
    core.call(response, () -> core.listApplications(request.getStatesList(), visibleTenants));
  }

  @Override
  public void killApplication(KillApplicationRequest request,
      StreamObserver<ApplicationStatus> response) {
    MasterAccess.ApplicationCheck check =
        access.applicationCheck(FuxiPermissions.KILL_APPLICATION, Access.MUTATE);
    core.call(response,
        () -> core.killApplication(request.getApplicationId(), request.getReason(), check));
  }

  @Override
  public void listNodes(ListNodesRequest request, StreamObserver<ListNodesResponse> response) {
    if (refusedOperator(FuxiPermissions.LIST_NODES, FuxiPermissions.nodes(access.region()),
        Access.READ, response)) {
      return;
    }
    core.call(response, core::listNodes);
  }

  @Override
  public void setQuotaGroup(SetQuotaGroupRequest request,
      StreamObserver<QuotaGroupStatus> response) {
    if (refusedOperator(FuxiPermissions.SET_QUOTA_GROUP,
        FuxiPermissions.quotaGroup(access.region(), request.getName()), Access.MUTATE,
        response)) {
      return;
    }
    core.call(response, () -> core.setQuotaGroup(request));
  }

  @Override
  public void deleteQuotaGroup(DeleteQuotaGroupRequest request,
      StreamObserver<DeleteQuotaGroupResponse> response) {
    if (refusedOperator(FuxiPermissions.DELETE_QUOTA_GROUP,
        FuxiPermissions.quotaGroup(access.region(), request.getName()), Access.MUTATE,
        response)) {
      return;
    }
    core.call(response, () -> core.deleteQuotaGroup(request));
  }

  @Override
  public void listQuotaGroups(ListQuotaGroupsRequest request,
      StreamObserver<ListQuotaGroupsResponse> response) {
    if (refusedOperator(FuxiPermissions.LIST_QUOTA_GROUPS,
        FuxiPermissions.quotaGroups(access.region()), Access.READ, response)) {
      return;
    }
    core.call(response, core::listQuotaGroups);
  }

  /** Checks an operators' action; on a refusal answers the call with it and returns true. */
  private boolean refusedOperator(String action, String resource, Access kind,
      StreamObserver<?> response) {
    try {
      access.requireOperator(action, resource, kind);
      return false;
    } catch (StatusRuntimeException refused) {
      response.onError(refused);
      return true;
    }
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
