package org.apsara.pangu.client;

import static org.apsara.pangu.api.v1.PanguMasterGrpc.getDeleteMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getDeletePathsMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getGetFileStatusMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getGetFileStatusesMethod;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apsara.pangu.api.v1.DeletePathsRequest;
import org.apsara.pangu.api.v1.DeleteRequest;
import org.apsara.pangu.api.v1.DeleteResponse;
import org.apsara.pangu.api.v1.DeleteResult;
import org.apsara.pangu.api.v1.FileStatus;
import org.apsara.pangu.api.v1.FileStatusResult;
import org.apsara.pangu.api.v1.GetFileStatusRequest;
import org.apsara.pangu.api.v1.GetFileStatusesRequest;
import org.apsara.pangu.api.v1.PathError;
import org.apsara.pangu.client.CallBatcher.Outcome;
import org.apsara.pangu.client.MasterCaller.Retry;

/** The master calls that a client's threads share when they make them at the same time. */
final class MasterBatches {
  private MasterBatches() {}

  /** Statuses: GetFileStatus alone, GetFileStatuses together. */
  static CallBatcher<String, FileStatus> statuses(MasterCaller master) {
    return new CallBatcher<>("getStatus", new CallBatcher.Calls<>() {
      @Override
      public String path(String path) {
        return path;
      }

      @Override
      public FileStatus one(String path) throws IOException {
        return master.call("getStatus", path, Retry.IDEMPOTENT, getGetFileStatusMethod(),
            GetFileStatusRequest.newBuilder().setPath(path).build()).getStatus();
      }

      @Override
      public List<Outcome<FileStatus>> many(List<String> paths) throws IOException {
        List<FileStatusResult> results = master.call("getStatus of " + paths.size()
                + " paths, the first", paths.get(0), Retry.IDEMPOTENT,
            getGetFileStatusesMethod(),
            GetFileStatusesRequest.newBuilder().addAllPaths(paths).build()).getResultsList();
        List<Outcome<FileStatus>> outcomes = new ArrayList<>(results.size());
        for (int i = 0; i < results.size() && i < paths.size(); i++) {
          FileStatusResult r = results.get(i);
          outcomes.add(r.hasStatus() ? Outcome.of(r.getStatus())
              : Outcome.failed(refusal(r.getError(), paths.get(i))));
        }
        return outcomes;
      }
    });
  }

  /**
   * Deletes: Delete alone, DeletePaths together. A delete the leader could not propose or
   * confirm is an unknown outcome, which {@link PanguClient#delete} settles as it does for a
   * delete sent alone.
   */
  static CallBatcher<DeleteRequest, DeleteResponse> deletes(MasterCaller master) {
    return new CallBatcher<>("delete", new CallBatcher.Calls<>() {
      @Override
      public String path(DeleteRequest delete) {
        return delete.getPath();
      }

      @Override
      public DeleteResponse one(DeleteRequest delete) throws IOException {
        return master.call("delete", delete.getPath(), Retry.NOT_IDEMPOTENT, getDeleteMethod(),
            delete);
      }

      @Override
      public List<Outcome<DeleteResponse>> many(List<DeleteRequest> deletes)
          throws IOException {
        List<DeleteResult> results = master.call("delete of " + deletes.size()
                + " paths, the first", deletes.get(0).getPath(), Retry.NOT_IDEMPOTENT,
            getDeletePathsMethod(),
            DeletePathsRequest.newBuilder().addAllDeletes(deletes).build()).getResultsList();
        List<Outcome<DeleteResponse>> outcomes = new ArrayList<>(results.size());
        for (int i = 0; i < results.size() && i < deletes.size(); i++) {
          DeleteResult r = results.get(i);
          if (!r.hasError()) {
            outcomes.add(Outcome.of(DeleteResponse.getDefaultInstance()));
            continue;
          }
          PanguException refusal = refusal(r.getError(), deletes.get(i).getPath());
          outcomes.add(Outcome.failed(switch (refusal.code()) {
            // Not proposed, or proposed by a leader that lost office: retried as unknown.
            case NOT_LEADER, LEADER_NOT_READY, STOPPED, BUSY -> new PanguException(
                PanguErrorCode.OUTCOME_UNKNOWN, refusal.path(), refusal.getMessage(), refusal);
            default -> refusal;
          }));
        }
        return outcomes;
      }
    });
  }

  /** One path's refusal in a call that carried many. */
  private static PanguException refusal(PathError error, String path) {
    PanguErrorCode code = PanguErrorCode.parse(error.getCode());
    return new PanguException(code != null ? code : PanguErrorCode.UNCLASSIFIED, path,
        error.getMessage());
  }
}
