package org.apsara.pangu.client;

import static org.apsara.pangu.api.v1.PanguMasterGrpc.getCloseFileMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getCloseFilesMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getCreateFilesMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getCreateMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getDeleteMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getDeletePathsMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getGetFileStatusMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getGetFileStatusesMethod;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import org.apsara.pangu.api.v1.CloseFileRequest;
import org.apsara.pangu.api.v1.CloseFilesRequest;
import org.apsara.pangu.api.v1.CreateFilesRequest;
import org.apsara.pangu.api.v1.CreateRequest;
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
        return outcomes(master.call("getStatus of " + paths.size() + " paths, the first",
            paths.get(0), Retry.IDEMPOTENT, getGetFileStatusesMethod(),
            GetFileStatusesRequest.newBuilder().addAllPaths(paths).build()).getResultsList(),
            paths, MasterBatches::refusal);
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
          outcomes.add(Outcome.failed(changeRefusal(r.getError(), deletes.get(i).getPath())));
        }
        return outcomes;
      }
    });
  }

  /**
   * Creates: Create alone, CreateFiles together. A create the leader could not propose or
   * confirm is an unknown outcome, which {@link PanguClient#create} settles as it does for a
   * create sent alone.
   */
  static CallBatcher<CreateRequest, FileStatus> creates(MasterCaller master) {
    return new CallBatcher<>("create", new CallBatcher.Calls<>() {
      @Override
      public String path(CreateRequest create) {
        return create.getPath();
      }

      @Override
      public FileStatus one(CreateRequest create) throws IOException {
        return master.call("create", create.getPath(), Retry.NOT_IDEMPOTENT, getCreateMethod(),
            create).getStatus();
      }

      @Override
      public List<Outcome<FileStatus>> many(List<CreateRequest> creates) throws IOException {
        return outcomes(master.call("create of " + creates.size() + " paths, the first",
            creates.get(0).getPath(), Retry.NOT_IDEMPOTENT, getCreateFilesMethod(),
            CreateFilesRequest.newBuilder().addAllCreates(creates).build()).getResultsList(),
            creates.stream().map(CreateRequest::getPath).toList(), MasterBatches::changeRefusal);
      }
    });
  }

  /** A file to close: the path names it in errors, the request carries its inode id. */
  record Close(String path, CloseFileRequest request) {}

  /**
   * Closes: CloseFile alone, CloseFiles together. A close the leader could not propose or
   * confirm is an unknown outcome, which the caller settles as for a close sent alone.
   */
  static CallBatcher<Close, FileStatus> closes(MasterCaller master) {
    return new CallBatcher<>("close", new CallBatcher.Calls<>() {
      @Override
      public String path(Close close) {
        return close.path();
      }

      @Override
      public FileStatus one(Close close) throws IOException {
        return master.call("close", close.path(), Retry.NOT_IDEMPOTENT, getCloseFileMethod(),
            close.request()).getStatus();
      }

      @Override
      public List<Outcome<FileStatus>> many(List<Close> closes) throws IOException {
        return outcomes(master.call("close of " + closes.size() + " files, the first",
            closes.get(0).path(), Retry.NOT_IDEMPOTENT, getCloseFilesMethod(),
            CloseFilesRequest.newBuilder().addAllCloses(closes.stream().map(Close::request)
                .toList()).build()).getResultsList(),
            closes.stream().map(Close::path).toList(), MasterBatches::changeRefusal);
      }
    });
  }

  /** Each path's status, or its refusal as {@code refusal} makes it. */
  private static List<Outcome<FileStatus>> outcomes(List<FileStatusResult> results,
      List<String> paths, BiFunction<PathError, String, PanguException> refusal) {
    List<Outcome<FileStatus>> outcomes = new ArrayList<>(results.size());
    for (int i = 0; i < results.size() && i < paths.size(); i++) {
      FileStatusResult r = results.get(i);
      outcomes.add(r.hasStatus() ? Outcome.of(r.getStatus())
          : Outcome.failed(refusal.apply(r.getError(), paths.get(i))));
    }
    return outcomes;
  }

  /**
   * One change's refusal in a call that carried many. One the leader did not propose, or
   * proposed and lost office before it could tell, is told apart only by a code the callers do
   * not act on, so it is an unknown outcome, which they settle by trying again.
   */
  private static PanguException changeRefusal(PathError error, String path) {
    PanguException refusal = refusal(error, path);
    return switch (refusal.code()) {
      case NOT_LEADER, LEADER_NOT_READY, STOPPED, BUSY -> new PanguException(
          PanguErrorCode.OUTCOME_UNKNOWN, path, refusal.getMessage(), refusal);
      default -> refusal;
    };
  }

  /** One path's refusal in a call that carried many. */
  private static PanguException refusal(PathError error, String path) {
    PanguErrorCode code = PanguErrorCode.parse(error.getCode());
    return new PanguException(code != null ? code : PanguErrorCode.UNCLASSIFIED, path,
        error.getMessage());
  }
}
