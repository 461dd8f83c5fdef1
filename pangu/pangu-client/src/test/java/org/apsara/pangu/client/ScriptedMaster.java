package org.apsara.pangu.client;

import com.google.protobuf.Message;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apsara.pangu.api.v1.AddChunkRequest;
import org.apsara.pangu.api.v1.AddChunkResponse;
import org.apsara.pangu.api.v1.AppendRequest;
import org.apsara.pangu.api.v1.AppendResponse;
import org.apsara.pangu.api.v1.CloseFileRequest;
import org.apsara.pangu.api.v1.CloseFileResponse;
import org.apsara.pangu.api.v1.CommitChunkRequest;
import org.apsara.pangu.api.v1.CommitChunkResponse;
import org.apsara.pangu.api.v1.CreateRequest;
import org.apsara.pangu.api.v1.CreateResponse;
import org.apsara.pangu.api.v1.DeletePathsRequest;
import org.apsara.pangu.api.v1.DeletePathsResponse;
import org.apsara.pangu.api.v1.DeleteRequest;
import org.apsara.pangu.api.v1.DeleteResponse;
import org.apsara.pangu.api.v1.GetChunkLocationsRequest;
import org.apsara.pangu.api.v1.GetChunkLocationsResponse;
import org.apsara.pangu.api.v1.GetClusterReportRequest;
import org.apsara.pangu.api.v1.GetClusterReportResponse;
import org.apsara.pangu.api.v1.GetContentSummaryRequest;
import org.apsara.pangu.api.v1.GetContentSummaryResponse;
import org.apsara.pangu.api.v1.GetFileStatusRequest;
import org.apsara.pangu.api.v1.GetFileStatusResponse;
import org.apsara.pangu.api.v1.GetFileStatusesRequest;
import org.apsara.pangu.api.v1.GetFileStatusesResponse;
import org.apsara.pangu.api.v1.ListDirectoryRequest;
import org.apsara.pangu.api.v1.ListDirectoryResponse;
import org.apsara.pangu.api.v1.MkdirsRequest;
import org.apsara.pangu.api.v1.MkdirsResponse;
import org.apsara.pangu.api.v1.RecoverLeaseRequest;
import org.apsara.pangu.api.v1.RecoverLeaseResponse;
import org.apsara.pangu.api.v1.RenameRequest;
import org.apsara.pangu.api.v1.RenameResponse;
import org.apsara.pangu.api.v1.RenewLeaseRequest;
import org.apsara.pangu.api.v1.RenewLeaseResponse;
import org.apsara.pangu.api.v1.ReportBadReplicasRequest;
import org.apsara.pangu.api.v1.ReportBadReplicasResponse;
import org.apsara.pangu.api.v1.SetOwnerRequest;
import org.apsara.pangu.api.v1.SetOwnerResponse;
import org.apsara.pangu.api.v1.SetPermissionRequest;
import org.apsara.pangu.api.v1.SetPermissionResponse;
import org.apsara.pangu.api.v1.SetQuotaRequest;
import org.apsara.pangu.api.v1.SetQuotaResponse;
import org.apsara.pangu.api.v1.SetTimesRequest;
import org.apsara.pangu.api.v1.SetTimesResponse;
import org.apsara.pangu.api.v1.PanguMasterGrpc;

/**
 * A PanguMaster whose every call is answered by a test's {@link Handler}: a response message,
 * or a thrown status (with trailers). Records the calls it received, by method name.
 */
class ScriptedMaster extends PanguMasterGrpc.PanguMasterImplBase {
  /** Answers one call. */
  @FunctionalInterface
  interface Handler {
    Message handle(String method, Message request);
  }

  final List<String> calls = new CopyOnWriteArrayList<>();
  volatile Handler handler = (method, request) -> {
    throw Status.UNIMPLEMENTED.withDescription(method).asRuntimeException();
  };

  ScriptedMaster() {}

  ScriptedMaster(Handler handler) {
    this.handler = handler;
  }

  /** How many calls of {@code method} arrived. */
  long count(String method) {
    return calls.stream().filter(method::equals).count();
  }

  @SuppressWarnings("unchecked")
  private <T> void answer(String method, Message request, StreamObserver<T> out) {
    calls.add(method);
    Message response;
    try {
      response = handler.handle(method, request);
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    }
    out.onNext((T) response);
    out.onCompleted();
  }

  @Override
  public void mkdirs(MkdirsRequest request, StreamObserver<MkdirsResponse> out) {
    answer("mkdirs", request, out);
  }

  @Override
  public void getFileStatus(GetFileStatusRequest request, StreamObserver<GetFileStatusResponse> out) {
    answer("getFileStatus", request, out);
  }

  @Override
  public void getFileStatuses(GetFileStatusesRequest request,
      StreamObserver<GetFileStatusesResponse> out) {
    answer("getFileStatuses", request, out);
  }

  @Override
  public void listDirectory(ListDirectoryRequest request, StreamObserver<ListDirectoryResponse> out) {
    answer("listDirectory", request, out);
  }

  @Override
  public void getContentSummary(GetContentSummaryRequest request, StreamObserver<GetContentSummaryResponse> out) {
    answer("getContentSummary", request, out);
  }

  @Override
  public void create(CreateRequest request, StreamObserver<CreateResponse> out) {
    answer("create", request, out);
  }

  @Override
  public void append(AppendRequest request, StreamObserver<AppendResponse> out) {
    answer("append", request, out);
  }

  @Override
  public void addChunk(AddChunkRequest request, StreamObserver<AddChunkResponse> out) {
    answer("addChunk", request, out);
  }

  @Override
  public void commitChunk(CommitChunkRequest request, StreamObserver<CommitChunkResponse> out) {
    answer("commitChunk", request, out);
  }

  @Override
  public void closeFile(CloseFileRequest request, StreamObserver<CloseFileResponse> out) {
    answer("closeFile", request, out);
  }

  @Override
  public void renewLease(RenewLeaseRequest request, StreamObserver<RenewLeaseResponse> out) {
    answer("renewLease", request, out);
  }

  @Override
  public void recoverLease(RecoverLeaseRequest request, StreamObserver<RecoverLeaseResponse> out) {
    answer("recoverLease", request, out);
  }

  @Override
  public void getChunkLocations(GetChunkLocationsRequest request, StreamObserver<GetChunkLocationsResponse> out) {
    answer("getChunkLocations", request, out);
  }

  @Override
  public void reportBadReplicas(ReportBadReplicasRequest request, StreamObserver<ReportBadReplicasResponse> out) {
    answer("reportBadReplicas", request, out);
  }

  @Override
  public void rename(RenameRequest request, StreamObserver<RenameResponse> out) {
    answer("rename", request, out);
  }

  @Override
  public void delete(DeleteRequest request, StreamObserver<DeleteResponse> out) {
    answer("delete", request, out);
  }

  @Override
  public void deletePaths(DeletePathsRequest request, StreamObserver<DeletePathsResponse> out) {
    answer("deletePaths", request, out);
  }

  @Override
  public void setTimes(SetTimesRequest request, StreamObserver<SetTimesResponse> out) {
    answer("setTimes", request, out);
  }

  @Override
  public void setPermission(SetPermissionRequest request, StreamObserver<SetPermissionResponse> out) {
    answer("setPermission", request, out);
  }

  @Override
  public void setOwner(SetOwnerRequest request, StreamObserver<SetOwnerResponse> out) {
    answer("setOwner", request, out);
  }

  @Override
  public void setQuota(SetQuotaRequest request, StreamObserver<SetQuotaResponse> out) {
    answer("setQuota", request, out);
  }

  @Override
  public void getClusterReport(GetClusterReportRequest request, StreamObserver<GetClusterReportResponse> out) {
    answer("getClusterReport", request, out);
  }
}
