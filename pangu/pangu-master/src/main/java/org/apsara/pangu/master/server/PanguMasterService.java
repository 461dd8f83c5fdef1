package org.apsara.pangu.master.server;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;
import org.apsara.pangu.api.MasterTrailers;
import org.apsara.pangu.api.v1.AddChunkRequest;
import org.apsara.pangu.api.v1.AddChunkResponse;
import org.apsara.pangu.api.v1.AppendRequest;
import org.apsara.pangu.api.v1.AppendResponse;
import org.apsara.pangu.api.v1.BadReplica;
import org.apsara.pangu.api.v1.ChunkHealth;
import org.apsara.pangu.api.v1.ChunkServerAdminState;
import org.apsara.pangu.api.v1.ChunkServerReport;
import org.apsara.pangu.api.v1.CloseFileRequest;
import org.apsara.pangu.api.v1.CloseFileResponse;
import org.apsara.pangu.api.v1.CloseFilesRequest;
import org.apsara.pangu.api.v1.CloseFilesResponse;
import org.apsara.pangu.api.v1.CommitChunkRequest;
import org.apsara.pangu.api.v1.CommitChunkResponse;
import org.apsara.pangu.api.v1.CreateFilesRequest;
import org.apsara.pangu.api.v1.CreateFilesResponse;
import org.apsara.pangu.api.v1.CreateRequest;
import org.apsara.pangu.api.v1.CreateResponse;
import org.apsara.pangu.api.v1.DecommissionChunkServerRequest;
import org.apsara.pangu.api.v1.DecommissionChunkServerResponse;
import org.apsara.pangu.api.v1.DeletePathsRequest;
import org.apsara.pangu.api.v1.DeletePathsResponse;
import org.apsara.pangu.api.v1.DeleteRequest;
import org.apsara.pangu.api.v1.DeleteResponse;
import org.apsara.pangu.api.v1.DeleteResult;
import org.apsara.pangu.api.v1.FileStatusResult;
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
import org.apsara.pangu.api.v1.LocatedChunk;
import org.apsara.pangu.api.v1.MkdirsRequest;
import org.apsara.pangu.api.v1.MkdirsResponse;
import org.apsara.pangu.api.v1.PanguMasterGrpc;
import org.apsara.pangu.api.v1.PathError;
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
import org.apsara.pangu.master.chunks.ChunkManager;
import org.apsara.pangu.master.chunks.ChunkServerView;
import org.apsara.pangu.master.chunks.ChunkTokens;
import org.apsara.pangu.master.chunks.NotEnoughChunkServersException;
import org.apsara.pangu.master.namespace.ChunkInfo;
import org.apsara.pangu.master.namespace.FileStatus;
import org.apsara.pangu.master.namespace.NamespaceErrorCode;
import org.apsara.pangu.master.namespace.NamespaceException;
import org.apsara.pangu.master.namespace.NamespaceLimits;
import org.apsara.pangu.master.namespace.NamespacePath;
import org.apsara.pangu.master.namespace.NamespaceReply;
import org.apsara.pangu.master.namespace.proto.CommitChunk;
import org.apsara.pangu.master.raft.LeaseRecovery;
import org.apsara.pangu.master.raft.MasterCommand;
import org.apsara.pangu.master.raft.MasterNode;
import org.apsara.pangu.master.raft.MasterUnavailableException;
import org.apsara.pangu.master.raft.ReadConsistency;
import org.apsara.pangu.master.repair.ChunkPlan;
import org.apsara.pangu.master.repair.ClusterHealth;
import org.apsara.pangu.master.repair.ReplicationMonitor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code apsara.pangu.v1.PanguMaster} service over one {@link MasterNode}: changes are
 * proposed as commands on the leader, reads are linearizable reads on the leader, and chunk
 * placement, locations and tokens come from the leader's {@link ChunkManager}. Errors follow the
 * table in {@code master.proto} ({@link MasterErrors}); a follower answers UNAVAILABLE naming the
 * leader's client address.
 *
 * <p>Requests are checked here for what the namespace does not judge (limits of this API,
 * required fields) and refused with INVALID_ARGUMENT naming the field; everything else is the
 * namespace's to refuse, with its own code.
 *
 * <p>Thread-safe. Some handlers may block (placement, lease recovery asks chunkservers): the
 * gRPC server runs those on an executor of their own, and only the ones {@link CallExecutors}
 * names on network threads; a handler added there must never block.
 */
public final class PanguMasterService extends PanguMasterGrpc.PanguMasterImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(PanguMasterService.class);

  /** Most entries of a listing, and the default for limit 0. */
  public static final int LIST_LIMIT_MAX = NamespaceLimits.MAX_LIST_ENTRIES;
  /**
   * Most items of one GetFileStatuses, CreateFiles, CloseFiles or DeletePaths: 256 of the
   * longest paths fit in a 1 MiB request.
   */
  public static final int PATHS_PER_CALL_MAX = 256;
  /** Most chunks of one GetChunkLocations, and the default for limit 0. */
  public static final int LOCATIONS_LIMIT_MAX = 1000;
  /** Most chunkservers a writer may exclude in one AddChunk. */
  public static final int EXCLUDED_CHUNKSERVERS_MAX = 1000;
  /** Most replicas in one ReportBadReplicas. */
  public static final int BAD_REPLICAS_MAX = 1000;
  /** Most unhealthy chunks a cluster report lists, and the default for 0. */
  public static final int REPORT_CHUNKS_MAX = 1000;
  /** The code of a decommissioning call on a chunkserver that is not alive. */
  public static final String CHUNKSERVER_NOT_ALIVE = "CHUNKSERVER_NOT_ALIVE";
  /** The code of a decommissioning call whose chunkserver did not confirm it in time. */
  public static final String CHUNKSERVER_NOT_CONFIRMED = "CHUNKSERVER_NOT_CONFIRMED";
  /** Added to two heartbeat intervals while a decommissioning call waits for confirmation. */
  private static final Duration DECOMMISSION_CONFIRM_MARGIN = Duration.ofSeconds(2);
  /** Longest client name, in UTF-8 bytes (as the contract says). */
  public static final int CLIENT_NAME_BYTES_MAX = NamespaceLimits.MAX_PRINCIPAL_NAME_BYTES;
  /** Chunks read per page when summing the lengths before a requested index. */
  private static final int OFFSET_PAGE = NamespaceLimits.MAX_READ_ENTRIES;

  private final MasterNode node;
  private final ChunkManager chunks;
  private final ChunkTokens tokens;
  private final LeaseRecovery recovery;
  private final ReplicationMonitor monitor;
  private final MasterErrors errors;
  private final MasterAccess access;
  private final MasterServerConfig config;
  private final Executor background;

  /**
   * @param background runs lease recoveries an Append triggers
   */
  public PanguMasterService(MasterNode node, ChunkManager chunks, ChunkTokens tokens,
      LeaseRecovery recovery, ReplicationMonitor monitor, MasterErrors errors,
      MasterAccess access, MasterServerConfig config, Executor background) {
    this.node = node;
    this.chunks = chunks;
    this.tokens = tokens;
    this.recovery = recovery;
    this.monitor = monitor;
    this.errors = errors;
    this.access = access;
    this.config = config;
    this.background = background;
  }

  // ---------------------------------------------------------------- reads

  @Override
  public void getFileStatus(GetFileStatusRequest request,
      StreamObserver<GetFileStatusResponse> response) {
    run(response, () -> {
      String path = path("path", request.getPath());
      access.read(path);
      return node.getStatus(path, ReadConsistency.LINEARIZABLE).thenApply(s ->
          GetFileStatusResponse.newBuilder().setStatus(ProtoViews.status(s)).build());
    });
  }

  /**
   * Statuses of many paths after one read index round. A path's own refusal (invalid, denied,
   * missing...) becomes its result; a failure of the read index round fails the call.
   */
  @Override
  public void getFileStatuses(GetFileStatusesRequest request,
      StreamObserver<GetFileStatusesResponse> response) {
    run(response, () -> {
      int count = itemCount("paths", request.getPathsCount());
      List<String> paths = request.getPathsList();
      FileStatusResult[] refused = new FileStatusResult[count];
      for (int i = 0; i < count; i++) {
        try {
          access.read(path("paths[" + i + "]", paths.get(i)));
        } catch (NamespaceException | StatusRuntimeException e) {
          refused[i] = FileStatusResult.newBuilder().setError(pathError(e)).build();
        }
      }
      return node.read(ReadConsistency.LINEARIZABLE, ns -> {
        GetFileStatusesResponse.Builder b = GetFileStatusesResponse.newBuilder();
        for (int i = 0; i < count; i++) {
          if (refused[i] != null) {
            b.addResults(refused[i]);
            continue;
          }
          FileStatusResult result;
          try {
            result = FileStatusResult.newBuilder()
                .setStatus(ProtoViews.status(ns.getStatus(paths.get(i)))).build();
          } catch (NamespaceException e) {
            result = FileStatusResult.newBuilder().setError(pathError(e)).build();
          }
          b.addResults(result);
        }
        return b.build();
      });
    });
  }

  /**
   * Why one path of a call that carries many failed, with the code and sentence a call for that
   * path alone would answer: the code of the namespace's or the Raft group's refusal, or else
   * the status code (PERMISSION_DENIED, INTERNAL...).
   */
  private PathError pathError(Throwable failure) {
    StatusRuntimeException status = errors.toStatus(failure);
    String code = status.getTrailers() == null ? null
        : status.getTrailers().get(MasterTrailers.ERROR_CODE);
    String description = status.getStatus().getDescription();
    String shown = code != null ? code : status.getStatus().getCode().name();
    return PathError.newBuilder().setCode(shown)
        .setMessage(description != null ? description : shown).build();
  }

  /** One item's handler in a call that carries many. */
  @FunctionalInterface
  private interface ItemHandler<R> {
    CompletableFuture<R> handle(int index) throws Exception;
  }

  /**
   * Runs the handler of each of a call's {@code count} items on the ready leader, all started
   * before any is awaited, so that their commands share log entries. Completes with each item's
   * outcome, in order: {@code result} of its response and null, or of null and why it failed.
   * Fails as a whole only when the list is empty or too long, or this member cannot propose.
   */
  private <R, O> CompletableFuture<List<O>> eachOnItsOwn(String field, int count,
      ItemHandler<R> handler, BiFunction<R, PathError, O> result) {
    itemCount(field, count);
    node.requireReadyLeader();
    List<CompletableFuture<O>> outcomes = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      CompletableFuture<R> done;
      try {
        done = handler.handle(i);
      } catch (Exception e) {
        done = CompletableFuture.failedFuture(e);
      }
      outcomes.add(done.handle((r, failure) -> failure == null ? result.apply(r, null)
          : result.apply(null, pathError(failure))));
    }
    return CompletableFuture.allOf(outcomes.toArray(CompletableFuture[]::new))
        .thenApply(all -> outcomes.stream().map(CompletableFuture::join).toList());
  }

  /** The items of a call that carries many: refused unless 1 to PATHS_PER_CALL_MAX. */
  private static int itemCount(String field, int count) {
    if (count == 0 || count > PATHS_PER_CALL_MAX) {
      throw MasterErrors.invalid(field + " holds " + count + " items; between 1 and "
          + PATHS_PER_CALL_MAX + " are allowed");
    }
    return count;
  }

  private static FileStatusResult statusResult(FileStatus status, PathError error) {
    return error == null ? FileStatusResult.newBuilder().setStatus(ProtoViews.status(status))
        .build() : FileStatusResult.newBuilder().setError(error).build();
  }

  @Override
  public void listDirectory(ListDirectoryRequest request,
      StreamObserver<ListDirectoryResponse> response) {
    run(response, () -> {
      String path = path("path", request.getPath());
      access.read(path);
      int limit = limit("limit", request.getLimit(), LIST_LIMIT_MAX);
      return node.list(path, request.getStartAfter(), limit, ReadConsistency.LINEARIZABLE)
          .thenApply(listing -> {
            ListDirectoryResponse.Builder b = ListDirectoryResponse.newBuilder()
                .setHasMore(listing.hasMore());
            listing.entries().forEach(e -> b.addEntries(ProtoViews.status(e)));
            return b.build();
          });
    });
  }

  @Override
  public void getContentSummary(GetContentSummaryRequest request,
      StreamObserver<GetContentSummaryResponse> response) {
    run(response, () -> {
      String path = path("path", request.getPath());
      access.read(path);
      return node.contentSummary(path, ReadConsistency.LINEARIZABLE).thenApply(s ->
          GetContentSummaryResponse.newBuilder().setSummary(ProtoViews.summary(s)).build());
    });
  }

  // ---------------------------------------------------------------- directories and files

  @Override
  public void mkdirs(MkdirsRequest request, StreamObserver<MkdirsResponse> response) {
    run(response, () -> {
      String path = path("path", request.getPath());
      access.write(path);
      int mode = request.getMode() == 0 ? 0755 : request.getMode();
      Caller caller = access.caller();
      return status(p -> p.mkdirs(path, mode, caller.owner(), caller.group()))
          .thenApply(s -> MkdirsResponse.newBuilder().setStatus(ProtoViews.status(s)).build());
    });
  }

  @Override
  public void create(CreateRequest request, StreamObserver<CreateResponse> response) {
    run(response, () -> create(request, "").thenApply(s ->
        CreateResponse.newBuilder().setStatus(ProtoViews.status(s)).build()));
  }

  @Override
  public void createFiles(CreateFilesRequest request,
      StreamObserver<CreateFilesResponse> response) {
    run(response, () -> eachOnItsOwn("creates", request.getCreatesCount(),
        i -> create(request.getCreates(i), "creates[" + i + "]."),
        PanguMasterService::statusResult)
        .thenApply(results -> CreateFilesResponse.newBuilder().addAllResults(results).build()));
  }

  /** @param fields prefixes the request's field names in errors, e.g. "creates[2]." */
  private CompletableFuture<FileStatus> create(CreateRequest request, String fields)
      throws NamespaceException {
    String path = path(fields + "path", request.getPath());
    access.write(path);
    String client = clientName(fields, request.getClientName());
    int replication = request.getReplication() == 0 ? config.defaultReplication()
        : request.getReplication();
    if (request.getChunkSize() < 0) {
      throw MasterErrors.invalid(fields + "chunk_size " + request.getChunkSize()
          + " is negative");
    }
    long chunkSize = request.getChunkSize() == 0 ? config.defaultChunkSizeBytes()
        : request.getChunkSize();
    int mode = request.getMode() == 0 ? 0644 : request.getMode();
    Caller caller = access.caller();
    CompletableFuture<FileStatus> parent = CompletableFuture.completedFuture(null);
    int slash = path.lastIndexOf('/');
    if (request.getCreateParent() && slash > 0 && !isDirectory(path.substring(0, slash))) {
      String parentPath = path.substring(0, slash);
      parent = status(p -> p.mkdirs(parentPath, 0755, caller.owner(), caller.group()));
    }
    return parent.thenCompose(ignored -> status(p -> p.create(path, client,
        request.getOverwrite(), replication, chunkSize, mode, caller.owner(), caller.group())));
  }

  @Override
  public void append(AppendRequest request, StreamObserver<AppendResponse> response) {
    run(response, () -> {
      String path = path("path", request.getPath());
      access.write(path);
      String client = clientName(request.getClientName());
      return status(p -> p.append(path, client))
          .whenComplete((s, failure) -> {
            if (failure != null && unwrap(failure) instanceof NamespaceException e
                && e.code() == NamespaceErrorCode.CHUNK_NOT_COMMITTED) {
              // The previous writer's lease expired mid-chunk: start its recovery so that a
              // retried append finds the file closed with every synced byte.
              background.execute(() -> recoverQuietly(path, client));
            }
          })
          .thenApply(s -> AppendResponse.newBuilder().setStatus(ProtoViews.status(s)).build());
    });
  }

  @Override
  public void rename(RenameRequest request, StreamObserver<RenameResponse> response) {
    run(response, () -> {
      String source = path("source", request.getSource());
      String destination = path("destination", request.getDestination());
      access.write(source);
      access.write(destination);
      return node.submit(p -> p.rename(source, destination))
          .thenApply(r -> RenameResponse.getDefaultInstance());
    });
  }

  @Override
  public void delete(DeleteRequest request, StreamObserver<DeleteResponse> response) {
    run(response, () -> delete(request, ""));
  }

  /** @param fields prefixes the request's field names in errors, e.g. "deletes[2]." */
  private CompletableFuture<DeleteResponse> delete(DeleteRequest request, String fields)
      throws NamespaceException {
    String path = path(fields + "path", request.getPath());
    access.write(path);
    return node.submit(p -> p.delete(path, request.getRecursive()))
        .thenApply(r -> DeleteResponse.getDefaultInstance());
  }

  @Override
  public void deletePaths(DeletePathsRequest request,
      StreamObserver<DeletePathsResponse> response) {
    run(response, () -> eachOnItsOwn("deletes", request.getDeletesCount(),
        i -> delete(request.getDeletes(i), "deletes[" + i + "]."),
        (deleted, error) -> error == null ? DeleteResult.getDefaultInstance()
            : DeleteResult.newBuilder().setError(error).build())
        .thenApply(results -> DeletePathsResponse.newBuilder().addAllResults(results).build()));
  }

  @Override
  public void setTimes(SetTimesRequest request, StreamObserver<SetTimesResponse> response) {
    run(response, () -> {
      String path = path("path", request.getPath());
      access.write(path);
      return node.submit(p -> p.setTimes(path, request.getMtimeMs(), request.getAtimeMs()))
          .thenApply(r -> SetTimesResponse.getDefaultInstance());
    });
  }

  @Override
  public void setPermission(SetPermissionRequest request,
      StreamObserver<SetPermissionResponse> response) {
    run(response, () -> {
      String path = path("path", request.getPath());
      access.write(path);
      return node.submit(p -> p.setPermission(path, request.getMode()))
          .thenApply(r -> SetPermissionResponse.getDefaultInstance());
    });
  }

  @Override
  public void setOwner(SetOwnerRequest request, StreamObserver<SetOwnerResponse> response) {
    run(response, () -> {
      String path = path("path", request.getPath());
      access.operate(MasterAccess.SET_OWNER, path);
      return node.submit(p -> p.setOwner(path, request.getOwner(), request.getGroup()))
          .thenApply(r -> SetOwnerResponse.getDefaultInstance());
    });
  }

  @Override
  public void setQuota(SetQuotaRequest request, StreamObserver<SetQuotaResponse> response) {
    run(response, () -> {
      String path = path("path", request.getPath());
      access.operate(MasterAccess.SET_QUOTA, path);
      return node.submit(p -> p.setQuota(path, request.getNameQuota(), request.getSpaceQuota()))
          .thenApply(r -> SetQuotaResponse.getDefaultInstance());
    });
  }

  // ---------------------------------------------------------------- writing

  @Override
  public void addChunk(AddChunkRequest request, StreamObserver<AddChunkResponse> response) {
    run(response, () -> {
      long fileId = fileId(request.getFileId());
      String client = clientName(request.getClientName());
      // Resolved here: the callbacks below may run where the call's context is not current.
      Caller caller = access.caller();
      if (request.getExcludedChunkserversCount() > EXCLUDED_CHUNKSERVERS_MAX) {
        throw MasterErrors.invalid(request.getExcludedChunkserversCount()
            + " excluded chunkservers are more than the most, " + EXCLUDED_CHUNKSERVERS_MAX);
      }
      CommitChunk commit = request.hasCommitPrevious()
          ? commitFirst(request.getCommitPrevious(), "commit_previous.") : null;
      long committing = commit == null ? 0 : commit.getLengthBytes();
      node.requireReadyLeader();
      return node.read(ReadConsistency.LINEARIZABLE, ns -> ns.statusOf(fileId))
          .thenCompose(file -> {
            if (!file.open() || !file.leaseHolder().equals(client)
                || (file.lastChunkOpen() && commit == null)) {
              // The namespace refuses this with its precise reason; place nothing.
              return chunk(p -> p.addChunk(fileId, client, commit))
                  .thenApply(c -> AddChunkResponse.getDefaultInstance());
            }
            List<ChunkServerView> placed;
            try {
              placed = chunks.placeNewChunk(file.replication(), file.chunkSizeBytes(),
                  new HashSet<>(request.getExcludedChunkserversList()), request.getClientHost());
            } catch (NotEnoughChunkServersException e) {
              if (!chunks.reportsSettled()) {
                // A leader knows only the chunkservers that heartbeat to it since it took
                // office: within a dead interval, too few means "not yet", not "not there".
                return CompletableFuture.failedFuture(new MasterUnavailableException(
                    MasterUnavailableException.Reason.LEADER_NOT_READY, null,
                    "this leader took office recently and has not heard from enough"
                        + " chunkservers yet; retry (" + e.getMessage() + ")", e));
              }
              return CompletableFuture.failedFuture(e);
            } catch (Exception e) {
              return CompletableFuture.failedFuture(e);
            }
            return chunk(p -> p.addChunk(fileId, client, commit)).thenApply(c -> {
              if (commit != null) {
                // The replication monitor seals the replicas at the committed length.
                chunks.noteAttention(commit.getChunkId());
              }
              chunks.expectReplicas(c.chunkId(), placed.stream().map(ChunkServerView::id)
                  .toList());
              ChunkTokens.Issued token = tokens.write(c.chunkId(), caller.tokenSubject());
              LocatedChunk.Builder located = LocatedChunk.newBuilder()
                  .setIndex(c.index())
                  .setChunkId(c.chunkId())
                  .setGeneration(c.generation())
                  // A chunk committed by this call was not in the length read above.
                  .setFileOffset(file.lastChunkOpen() ? file.lengthBytes() + committing
                      : file.lengthBytes())
                  .setLength(0)
                  .setCommitted(false)
                  .setToken(token.token())
                  .setTokenExpiryMs(token.expiryMs());
              placed.forEach(s -> located.addLocations(ProtoViews.location(s)));
              return AddChunkResponse.newBuilder().setChunk(located).build();
            });
          });
    });
  }

  @Override
  public void commitChunk(CommitChunkRequest request,
      StreamObserver<CommitChunkResponse> response) {
    run(response, () -> {
      long fileId = fileId(request.getFileId());
      String client = clientName(request.getClientName());
      checkCommitLength(request.getLength(), "");
      return chunk(p -> p.commitChunk(fileId, client, request.getChunkIndex(),
          request.getChunkId(), request.getGeneration(), request.getLength()))
          .thenApply(c -> {
            // The replication monitor seals the replicas at the committed length.
            chunks.noteAttention(c.chunkId());
            return CommitChunkResponse.getDefaultInstance();
          });
    });
  }

  /**
   * The commit an AddChunk or a CloseFile asks for first; its file and client are the call's.
   *
   * @param fields names the field in errors, e.g. "commit_previous."
   */
  private static CommitChunk commitFirst(CommitChunkRequest c, String fields) {
    checkCommitLength(c.getLength(), fields);
    return CommitChunk.newBuilder().setChunkIndex(c.getChunkIndex()).setChunkId(c.getChunkId())
        .setGeneration(c.getGeneration()).setLengthBytes(c.getLength()).build();
  }

  /** @param fields prefixes the field's name in the error, e.g. "commit_previous." */
  private static void checkCommitLength(long length, String fields) {
    if (length > NamespaceLimits.MAX_CHUNK_SIZE_BYTES) {
      throw MasterErrors.invalid(fields + "length " + Long.toUnsignedString(length)
          + " is above the largest chunk size, " + NamespaceLimits.MAX_CHUNK_SIZE_BYTES);
    }
  }

  @Override
  public void closeFile(CloseFileRequest request, StreamObserver<CloseFileResponse> response) {
    run(response, () -> closeFile(request, "").thenApply(s ->
        CloseFileResponse.newBuilder().setStatus(ProtoViews.status(s)).build()));
  }

  @Override
  public void closeFiles(CloseFilesRequest request,
      StreamObserver<CloseFilesResponse> response) {
    run(response, () -> eachOnItsOwn("closes", request.getClosesCount(),
        i -> closeFile(request.getCloses(i), "closes[" + i + "]."),
        PanguMasterService::statusResult)
        .thenApply(results -> CloseFilesResponse.newBuilder().addAllResults(results).build()));
  }

  /** @param fields prefixes the request's field names in errors, e.g. "closes[2]." */
  private CompletableFuture<FileStatus> closeFile(CloseFileRequest request, String fields) {
    long fileId = fileId(fields, request.getFileId());
    String client = clientName(fields, request.getClientName());
    CommitChunk commit = request.hasCommitLast()
        ? commitFirst(request.getCommitLast(), fields + "commit_last.") : null;
    CompletableFuture<FileStatus> closed = status(p -> p.close(fileId, client, commit));
    if (commit == null) {
      return closed;
    }
    return closed.thenApply(status -> {
      // The replication monitor seals the replicas at the committed length.
      chunks.noteAttention(commit.getChunkId());
      return status;
    });
  }

  @Override
  public void renewLease(RenewLeaseRequest request,
      StreamObserver<RenewLeaseResponse> response) {
    run(response, () -> {
      String client = clientName(request.getClientName());
      return node.submit(p -> p.renewLease(client)).thenApply(r -> {
        NamespaceReply.LeasesRenewed renewed = (NamespaceReply.LeasesRenewed) r;
        return RenewLeaseResponse.newBuilder().setRenewed(renewed.renewed())
            .setExpired(renewed.expired()).build();
      });
    });
  }

  @Override
  public void recoverLease(RecoverLeaseRequest request,
      StreamObserver<RecoverLeaseResponse> response) {
    run(response, () -> {
      String path = path("path", request.getPath());
      access.write(path);
      String client = clientName(request.getClientName());
      node.requireReadyLeader();
      boolean closed;
      try {
        closed = recovery.recover(path, client);
      } catch (NamespaceException e) {
        if (e.code() != NamespaceErrorCode.LEASE_HELD_BY_OTHER) {
          throw e;
        }
        // The lease is still live: the contract answers "not yet" rather than an error.
        closed = false;
      }
      return CompletableFuture.completedFuture(
          RecoverLeaseResponse.newBuilder().setClosed(closed).build());
    });
  }

  // ---------------------------------------------------------------- chunks

  private record Located(FileStatus file, long firstOffset, List<ChunkInfo> chunks) {}

  @Override
  public void getChunkLocations(GetChunkLocationsRequest request,
      StreamObserver<GetChunkLocationsResponse> response) {
    run(response, () -> {
      String path = path("path", request.getPath());
      access.read(path);
      int limit = limit("limit", request.getLimit(), LOCATIONS_LIMIT_MAX);
      int from = request.getFromIndex();
      if (from < 0) {
        throw MasterErrors.invalid("from_index " + Integer.toUnsignedString(from)
            + " is above the most chunks of a file, " + NamespaceLimits.MAX_CHUNKS_PER_FILE);
      }
      Caller caller = access.caller();
      return node.read(ReadConsistency.LINEARIZABLE, ns -> {
        FileStatus file = ns.getStatus(path);
        List<ChunkInfo> listed = file.directory() || from >= file.chunkCount() ? List.of()
            : ns.chunks(path, from, limit + 1);
        long offset = 0;
        for (int i = 0; i < Math.min(from, file.chunkCount()); i += OFFSET_PAGE) {
          for (ChunkInfo c : ns.chunks(path, i, Math.min(OFFSET_PAGE, from - i))) {
            offset += c.lengthBytes();
          }
        }
        if (file.directory()) {
          throw new NamespaceException(NamespaceErrorCode.IS_A_DIRECTORY, path,
              path + " is a directory");
        }
        return new Located(file, offset, listed);
      }).thenApply(located -> {
        GetChunkLocationsResponse.Builder b = GetChunkLocationsResponse.newBuilder()
            .setStatus(ProtoViews.status(located.file()))
            .setHasMore(located.chunks().size() > limit);
        long offset = located.firstOffset();
        for (ChunkInfo c : located.chunks().subList(0, Math.min(limit, located.chunks().size()))) {
          ChunkTokens.Issued token = tokens.read(c.chunkId(), caller.tokenSubject());
          LocatedChunk.Builder chunk = LocatedChunk.newBuilder()
              .setIndex(c.index())
              .setChunkId(c.chunkId())
              .setGeneration(c.generation())
              .setFileOffset(offset)
              .setLength(c.sealed() ? c.lengthBytes() : 0)
              .setCommitted(c.sealed())
              .setToken(token.token())
              .setTokenExpiryMs(token.expiryMs());
          chunks.readLocations(c.chunkId(), c.generation(), c.sealed(), c.lengthBytes(),
              request.getClientHost()).forEach(s -> chunk.addLocations(ProtoViews.location(s)));
          b.addChunks(chunk);
          offset += c.lengthBytes();
        }
        return b.build();
      });
    });
  }

  @Override
  public void reportBadReplicas(ReportBadReplicasRequest request,
      StreamObserver<ReportBadReplicasResponse> response) {
    run(response, () -> {
      if (request.getReplicasCount() > BAD_REPLICAS_MAX) {
        throw MasterErrors.invalid(request.getReplicasCount()
            + " replicas are more than the most one report holds, " + BAD_REPLICAS_MAX);
      }
      node.requireReadyLeader();
      for (BadReplica bad : request.getReplicasList()) {
        if (chunks.markCorrupt(bad.getChunkId(), bad.getChunkserverId(), bad.getGeneration())) {
          LOG.atWarn().addKeyValue("chunk", Long.toUnsignedString(bad.getChunkId()))
              .addKeyValue("chunkserver", bad.getChunkserverId())
              .addKeyValue("reason", bad.getReason()).log("a reader reported a bad replica");
        }
      }
      return CompletableFuture.completedFuture(ReportBadReplicasResponse.getDefaultInstance());
    });
  }

  @Override
  public void getClusterReport(GetClusterReportRequest request,
      StreamObserver<GetClusterReportResponse> response) {
    run(response, () -> {
      int limit = limit("chunk_limit", request.getChunkLimit(), REPORT_CHUNKS_MAX);
      access.readClusterReport();
      node.requireReadyLeader();
      ClusterHealth health = monitor.health(limit);
      return node.read(ReadConsistency.LINEARIZABLE, ns -> {
        GetClusterReportResponse.Builder b = GetClusterReportResponse.newBuilder()
            .setUnderReplicatedChunks(health.underReplicated())
            .setMissingChunks(health.missing())
            .setCorruptReplicas(health.corruptReplicas())
            .setGarbageChunks(ns.garbageChunks(0, NamespaceLimits.MAX_READ_ENTRIES).size());
        for (ChunkServerView s : chunks.servers()) {
          b.addChunkservers(chunkServerReport(s));
        }
        for (ChunkPlan plan : health.unhealthy()) {
          String path;
          try {
            path = ns.pathOf(plan.fileId());
          } catch (NamespaceException e) {
            path = "";
          }
          b.addUnhealthyChunks(ChunkHealth.newBuilder()
              .setChunkId(plan.chunkId())
              .setPath(path)
              .setHealthyReplicas(plan.healthy())
              .setWantedReplicas(plan.wanted())
              .setCorruptReplicas(plan.corrupt()));
        }
        return b.build();
      });
    });
  }

  @Override
  public void decommissionChunkServer(DecommissionChunkServerRequest request,
      StreamObserver<DecommissionChunkServerResponse> response) {
    run(response, () -> {
      String id = request.getChunkserverId();
      if (id.isEmpty()) {
        throw MasterErrors.invalid("chunkserver_id is required");
      }
      access.decommissionChunkServer(id);
      node.requireReadyLeader();
      ChunkServerView known = chunks.server(id);
      if (known == null) {
        throw MasterErrors.refusal(Status.NOT_FOUND, "NOT_FOUND", "no chunkserver " + id
            + " has reported to the master leader (see fsck for the chunkservers' ids)");
      }
      if (!known.alive()) {
        throw MasterErrors.refusal(Status.FAILED_PRECONDITION, CHUNKSERVER_NOT_ALIVE,
            "chunkserver " + id + " is not alive: its chunks are copied to the others anyway");
      }
      boolean decommission = !request.getCancel();
      long waitMs = decommissionConfirmWait().toMillis();
      return chunks.requestDecommission(id, decommission)
          .orTimeout(waitMs, TimeUnit.MILLISECONDS)
          .handleAsync((view, failure) -> {
            if (failure == null) {
              return DecommissionChunkServerResponse.newBuilder()
                  .setChunkserver(chunkServerReport(view)).build();
            }
            Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
            String why = cause instanceof TimeoutException
                ? "no heartbeat of it confirmed the change within " + waitMs + " ms; the request"
                    + " stands with this leader until one does: call again to wait for it"
                : cause.getMessage();
            throw MasterErrors.refusal(Status.UNAVAILABLE, CHUNKSERVER_NOT_CONFIRMED,
                "chunkserver " + id + " did not confirm its " + (decommission
                    ? "decommissioning" : "return to service") + ": " + why);
          }, background); // not on the heartbeat that completed it, under the manager's lock
    });
  }

  /**
   * How long a decommissioning call waits for the chunkserver's heartbeat: it heartbeats again at
   * once when asked, so two intervals and a margin cover a heartbeat that just left.
   */
  private Duration decommissionConfirmWait() {
    return config.chunks().heartbeatInterval().multipliedBy(2).plus(DECOMMISSION_CONFIRM_MARGIN);
  }

  /** A chunkserver as operators see it, with its decommissioning progress. */
  private ChunkServerReport chunkServerReport(ChunkServerView s) {
    ChunkServerReport.Builder b = ChunkServerReport.newBuilder()
        .setLocation(ProtoViews.location(s))
        .setAlive(s.alive())
        .setLastHeartbeatMs(s.lastHeartbeatMs())
        .setCapacityBytes(s.capacityBytes())
        .setUsedBytes(s.usedBytes())
        .setAvailableBytes(s.availableBytes())
        .setReplicas(s.replicas())
        .addAllFailedVolumes(chunks.failedVolumes(s.id()));
    if (!s.decommissioning()) {
      return b.setAdminState(ChunkServerAdminState.CHUNKSERVER_ADMIN_STATE_IN_SERVICE).build();
    }
    long toMove = monitor.chunksToMove(s.id()).orElse(-1);
    return b.setChunksToMove(toMove).setAdminState(toMove == 0
        ? ChunkServerAdminState.CHUNKSERVER_ADMIN_STATE_DECOMMISSIONED
        : ChunkServerAdminState.CHUNKSERVER_ADMIN_STATE_DECOMMISSIONING).build();
  }

  // ---------------------------------------------------------------- helpers

  /** Produces the reply; anything it throws or fails with becomes the contract's status. */
  @FunctionalInterface
  private interface Handler<T> {
    CompletableFuture<T> handle() throws Exception;
  }

  private <T> void run(StreamObserver<T> response, Handler<T> handler) {
    CompletableFuture<T> reply;
    try {
      reply = handler.handle();
    } catch (Exception e) {
      reply = CompletableFuture.failedFuture(e);
    }
    reply.whenComplete((value, failure) -> {
      if (failure != null) {
        response.onError(errors.toStatus(failure));
      } else {
        response.onNext(value);
        response.onCompleted();
      }
    });
  }

  /**
   * Whether {@code path} is a directory in this member's applied namespace. Only to skip the
   * mkdirs of an existing parent, which would be a log entry that changes nothing: the create's
   * own record judges the parent again when it applies, so a parent removed meanwhile still
   * fails the create, as it would between the mkdirs and the create.
   */
  private boolean isDirectory(String path) {
    try {
      return node.namespace().getStatus(path).directory();
    } catch (NamespaceException | RuntimeException e) {
      return false;
    }
  }

  private CompletableFuture<FileStatus> status(MasterCommand command) {
    return node.submit(command).thenApply(r -> ((NamespaceReply.Status) r).status());
  }

  private CompletableFuture<ChunkInfo> chunk(MasterCommand command) {
    return node.submit(command).thenApply(r -> ((NamespaceReply.Chunk) r).chunk());
  }

  private void recoverQuietly(String path, String client) {
    try {
      recovery.recover(path, client);
    } catch (Exception e) {
      LOG.atInfo().addKeyValue("path", path).addKeyValue("error", e.toString())
          .log("lease recovery an append asked for did not finish; the lease monitor retries");
    }
  }

  /**
   * A required, valid path: refused as INVALID_PATH before anything is authorized, so that
   * permissions are only ever judged on the path the namespace will act on.
   */
  private static String path(String field, String value) throws NamespaceException {
    if (value.isEmpty()) {
      throw MasterErrors.invalid(field + " is required");
    }
    NamespacePath.parse(value);
    return value;
  }

  /** The lease name of a valid client name: scoped to the signed caller (see MasterAccess). */
  private String clientName(String value) {
    return clientName("", value);
  }

  /** @param fields prefixes the field's name in errors, e.g. "creates[2]." */
  private String clientName(String fields, String value) {
    if (value.isEmpty()) {
      throw MasterErrors.invalid(fields + "client_name is required");
    }
    int bytes = value.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > CLIENT_NAME_BYTES_MAX) {
      throw MasterErrors.invalid(fields + "client_name is " + bytes
          + " bytes, more than the most, " + CLIENT_NAME_BYTES_MAX);
    }
    return access.leaseHolder(value);
  }

  private static long fileId(long value) {
    return fileId("", value);
  }

  /** @param fields prefixes the field's name in errors, e.g. "closes[2]." */
  private static long fileId(String fields, long value) {
    if (value == 0) {
      throw MasterErrors.invalid(fields
          + "file_id is required (the inode id Create or Append returned)");
    }
    return value;
  }

  private static int limit(String field, int value, int max) {
    if (value == 0) {
      return max;
    }
    if (value < 0 || value > max) {
      throw MasterErrors.invalid(field + " " + Integer.toUnsignedString(value)
          + " is above the most, " + max);
    }
    return value;
  }

  private static Throwable unwrap(Throwable t) {
    while (t.getCause() != null && (t instanceof java.util.concurrent.CompletionException
        || t instanceof java.util.concurrent.ExecutionException)) {
      t = t.getCause();
    }
    return t;
  }
}
