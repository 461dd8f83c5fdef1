package org.apsara.pangu.client;

import static org.apsara.pangu.api.v1.PanguMasterGrpc.getAddChunkMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getAppendMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getCommitChunkMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getDecommissionChunkServerMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getGetChunkLocationsMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getGetClusterReportMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getGetContentSummaryMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getListDirectoryMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getMkdirsMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getRecoverLeaseMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getRenameMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getReportBadReplicasMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getSetOwnerMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getSetPermissionMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getSetQuotaMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getSetTimesMethod;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import org.apsara.pangu.api.v1.AddChunkRequest;
import org.apsara.pangu.api.v1.AppendRequest;
import org.apsara.pangu.api.v1.BadReplica;
import org.apsara.pangu.api.v1.ChunkServerReport;
import org.apsara.pangu.api.v1.CloseFileRequest;
import org.apsara.pangu.api.v1.CommitChunkRequest;
import org.apsara.pangu.api.v1.ContentSummary;
import org.apsara.pangu.api.v1.CreateRequest;
import org.apsara.pangu.api.v1.DecommissionChunkServerRequest;
import org.apsara.pangu.api.v1.DeleteRequest;
import org.apsara.pangu.api.v1.DeleteResponse;
import org.apsara.pangu.api.v1.FileStatus;
import org.apsara.pangu.api.v1.GetChunkLocationsRequest;
import org.apsara.pangu.api.v1.GetChunkLocationsResponse;
import org.apsara.pangu.api.v1.GetClusterReportRequest;
import org.apsara.pangu.api.v1.GetClusterReportResponse;
import org.apsara.pangu.api.v1.GetContentSummaryRequest;
import org.apsara.pangu.api.v1.ListDirectoryRequest;
import org.apsara.pangu.api.v1.ListDirectoryResponse;
import org.apsara.pangu.api.v1.LocatedChunk;
import org.apsara.pangu.api.v1.MkdirsRequest;
import org.apsara.pangu.api.v1.RecoverLeaseRequest;
import org.apsara.pangu.api.v1.RenameRequest;
import org.apsara.pangu.api.v1.ReportBadReplicasRequest;
import org.apsara.pangu.api.v1.SetOwnerRequest;
import org.apsara.pangu.api.v1.SetPermissionRequest;
import org.apsara.pangu.api.v1.SetQuotaRequest;
import org.apsara.pangu.api.v1.SetTimesRequest;
import org.apsara.pangu.client.MasterCaller.Retry;

/**
 * The Pangu file system client: the namespace operations of the master group, and streams that
 * write and read files through the chunkservers.
 *
 * <p><b>The master group.</b> Calls go to the leader, found by following the trailer a follower
 * answers with; calls that certainly had no effect (the member was not leader, not ready, stopped
 * or busy, or could not be reached) are retried with a growing, jittered pause until
 * {@link PanguClientConfig#operationTimeout}. When the outcome of a change is unknown (the leader
 * lost office or timed out while the change was in flight, or the connection broke), each
 * operation settles it as its meaning allows:
 * <ul>
 *   <li>{@link #mkdirs}, the setters, {@link #append} and {@link #recoverLease} are idempotent on
 *       the master and are simply repeated;
 *   <li>{@link #create} looks at the path: a file open under this client's lease with no chunks is
 *       the one it created;
 *   <li>{@link #delete} repeated finds nothing: the first attempt deleted it, and it answers
 *       {@code true};
 *   <li>{@link #rename} repeated fails because the source is gone and the destination exists:
 *       that is the state the first attempt left, and it succeeds;
 *   <li>closing a file repeated finds it closed: success.
 * </ul>
 * Where a concurrent client could have caused the same state, that is indistinguishable and the
 * client reports success; these cases are no worse than the ordinary race between two clients.
 *
 * <p><b>Errors</b> are {@link PanguException}s with the master's {@link PanguErrorCode} and the
 * path; a master refusal means nothing changed. An interrupted call throws
 * {@link InterruptedIOException}.
 *
 * <p><b>Threading.</b> Thread-safe: any number of threads may call it and use streams at once
 * (each stream is used by one thread at a time). It holds one channel per master member and per
 * chunkserver and a lease renewer thread while output streams are open. {@link #close} closes
 * every channel; close streams first.
 */
public final class PanguClient implements AutoCloseable {
  /** Attempts to settle one operation whose outcome was unknown, before giving up. */
  static final int UNKNOWN_OUTCOME_ROUNDS_MAX = 5;

  private final PanguClientConfig config;
  private final MasterCaller master;
  private final CallBatcher<String, FileStatus> statuses;
  private final CallBatcher<DeleteRequest, DeleteResponse> deletes;
  private final CallBatcher<CreateRequest, FileStatus> creates;
  private final CallBatcher<MasterBatches.Close, FileStatus> closes;
  private final ChunkServerPool chunkServers;
  private final LeaseRenewer leases;

  private PanguClient(PanguClientConfig config, MasterCaller master) {
    this.config = config;
    this.master = master;
    this.statuses = MasterBatches.statuses(master);
    this.deletes = MasterBatches.deletes(master);
    this.creates = MasterBatches.creates(master);
    this.closes = MasterBatches.closes(master);
    this.chunkServers = new ChunkServerPool(config.tls());
    this.leases = new LeaseRenewer(master, config);
  }

  /** A client of the master group {@code config.masters()}; connects lazily. */
  public static PanguClient connect(PanguClientConfig config) {
    return new PanguClient(config, new MasterCaller(config));
  }

  /** A client over a prepared master caller (tests substitute its channels). */
  static PanguClient create(PanguClientConfig config, MasterCaller master) {
    return new PanguClient(config, master);
  }

  public PanguClientConfig config() {
    return config;
  }

  /** Names this client's writer leases. */
  public String clientName() {
    return config.clientName();
  }

  // ---------------------------------------------------------------- namespace reads

  /**
   * The status of {@code path}. Statuses that threads of this client ask for at the same time
   * travel together in one call to the master.
   *
   * @throws PanguException {@code NOT_FOUND} if it does not exist
   */
  public FileStatus getStatus(String path) throws IOException {
    return statuses.call(path);
  }

  /**
   * The entries of directory {@code path} in name order, fetched in pages of at most 1000. The
   * first page is fetched before this returns, so a missing directory fails here.
   *
   * @throws PanguException {@code NOT_FOUND}, or {@code NOT_A_DIRECTORY} for a file
   */
  public DirectoryListing list(String path) throws IOException {
    return new PagedListing(path);
  }

  /** Files, directories, bytes and quotas of the subtree at {@code path}. */
  public ContentSummary contentSummary(String path) throws IOException {
    return master.call("contentSummary", path, Retry.IDEMPOTENT,
        getGetContentSummaryMethod(), GetContentSummaryRequest.newBuilder().setPath(path)
            .build()).getSummary();
  }

  /**
   * The chunkservers and the state of replication.
   *
   * @param chunkLimit most unhealthy chunks to list; 0 for the master's default (1000)
   */
  public GetClusterReportResponse clusterReport(int chunkLimit) throws IOException {
    return master.call("clusterReport", "", Retry.IDEMPOTENT,
        getGetClusterReportMethod(), GetClusterReportRequest.newBuilder()
            .setChunkLimit(chunkLimit).build());
  }

  /**
   * Starts the decommissioning of a live chunkserver (or, with {@code cancel}, returns it to
   * service) and returns it as the master sees it once it recorded the change. Repeating the
   * call is harmless.
   *
   * @throws PanguException {@link PanguErrorCode#NOT_FOUND} for an unknown id, {@link
   *     PanguErrorCode#CHUNKSERVER_NOT_ALIVE}, or {@link
   *     PanguErrorCode#CHUNKSERVER_NOT_CONFIRMED} if it did not confirm in time
   */
  public ChunkServerReport decommissionChunkServer(String chunkServerId, boolean cancel)
      throws IOException {
    return master.call("decommissionChunkServer", "", Retry.IDEMPOTENT,
        getDecommissionChunkServerMethod(), DecommissionChunkServerRequest.newBuilder()
            .setChunkserverId(chunkServerId).setCancel(cancel).build()).getChunkserver();
  }

  // ---------------------------------------------------------------- namespace changes

  /** Creates directory {@code path} (mode 0755) and its missing ancestors; succeeds if it exists. */
  public FileStatus mkdirs(String path) throws IOException {
    return mkdirs(path, 0);
  }

  /**
   * Creates directory {@code path} and its missing ancestors; succeeds if it exists.
   *
   * @param mode permission bits of the new directories; 0 for 0755
   * @throws PanguException {@code ALREADY_EXISTS} if {@code path} is a file, {@code
   *     NOT_A_DIRECTORY} if an ancestor is
   */
  public FileStatus mkdirs(String path, int mode) throws IOException {
    return master.call("mkdirs", path, Retry.IDEMPOTENT,
        getMkdirsMethod(), MkdirsRequest.newBuilder().setPath(path).setMode(mode).build())
        .getStatus();
  }

  /**
   * Moves {@code source} to {@code destination}, which must not exist, atomically.
   *
   * @throws PanguException {@code NOT_FOUND} (the source, or the destination's parent), {@code
   *     ALREADY_EXISTS}, {@code RENAME_INTO_OWN_SUBTREE}, {@code ROOT_NOT_ALLOWED}, ...
   */
  public void rename(String source, String destination) throws IOException {
    RenameRequest request = RenameRequest.newBuilder().setSource(source)
        .setDestination(destination).build();
    boolean unknown = false;
    for (int round = 0; ; round++) {
      try {
        master.call("rename", source, Retry.NOT_IDEMPOTENT, getRenameMethod(), request);
        return;
      } catch (PanguException e) {
        if (e.code() == PanguErrorCode.OUTCOME_UNKNOWN && round < UNKNOWN_OUTCOME_ROUNDS_MAX) {
          unknown = true;
          continue;
        }
        if (unknown && (e.code() == PanguErrorCode.NOT_FOUND
            || e.code() == PanguErrorCode.ALREADY_EXISTS)
            && !exists(source) && exists(destination)) {
          return; // the earlier attempt moved it
        }
        throw e;
      }
    }
  }

  /**
   * Removes {@code path}; a non-empty directory only with {@code recursive}. Deletes that threads
   * of this client make at the same time travel together in one call to the master.
   *
   * @return {@code false} if {@code path} did not exist
   * @throws PanguException {@code DIRECTORY_NOT_EMPTY}, {@code ROOT_NOT_ALLOWED}, ...
   */
  public boolean delete(String path, boolean recursive) throws IOException {
    DeleteRequest request = DeleteRequest.newBuilder().setPath(path).setRecursive(recursive)
        .build();
    boolean unknown = false;
    for (int round = 0; ; round++) {
      try {
        deletes.call(request);
        return true;
      } catch (PanguException e) {
        if (e.code() == PanguErrorCode.OUTCOME_UNKNOWN && round < UNKNOWN_OUTCOME_ROUNDS_MAX) {
          unknown = true;
          continue;
        }
        if (e.code() == PanguErrorCode.NOT_FOUND) {
          return unknown; // after an unknown outcome, the earlier attempt deleted it
        }
        throw e;
      }
    }
  }

  /** Sets the modification and access times (epoch ms); -1 leaves one unchanged. */
  public void setTimes(String path, long mtimeMs, long atimeMs) throws IOException {
    master.call("setTimes", path, Retry.IDEMPOTENT, getSetTimesMethod(), SetTimesRequest
        .newBuilder().setPath(path).setMtimeMs(mtimeMs).setAtimeMs(atimeMs).build());
  }

  /** Sets the permission bits (0 to 07777). */
  public void setPermission(String path, int mode) throws IOException {
    master.call("setPermission", path, Retry.IDEMPOTENT, getSetPermissionMethod(),
        SetPermissionRequest.newBuilder().setPath(path).setMode(mode).build());
  }

  /** Sets the owner and group; {@code null} or "" leaves one unchanged. */
  public void setOwner(String path, String owner, String group) throws IOException {
    master.call("setOwner", path, Retry.IDEMPOTENT, getSetOwnerMethod(), SetOwnerRequest
        .newBuilder().setPath(path).setOwner(owner == null ? "" : owner)
        .setGroup(group == null ? "" : group).build());
  }

  /** Sets directory {@code path}'s name and space quotas; -1 removes one. */
  public void setQuota(String path, long nameQuota, long spaceQuota) throws IOException {
    master.call("setQuota", path, Retry.IDEMPOTENT, getSetQuotaMethod(), SetQuotaRequest
        .newBuilder().setPath(path).setNameQuota(nameQuota).setSpaceQuota(spaceQuota).build());
  }

  /**
   * Closes a file whose writer is gone, keeping what its last chunk's replicas synced.
   *
   * @return {@code true} once the file is closed; {@code false} while the recovery is under way
   *     (the writer's lease is still live, or the replicas have not answered yet): call again
   */
  public boolean recoverLease(String path) throws IOException {
    try {
      return master.call("recoverLease", path, Retry.IDEMPOTENT,
          getRecoverLeaseMethod(), RecoverLeaseRequest.newBuilder().setPath(path)
              .setClientName(clientName()).build()).getClosed();
    } catch (PanguException e) {
      if (e.code() == PanguErrorCode.LEASE_HELD_BY_OTHER) {
        return false;
      }
      throw e;
    }
  }

  // ---------------------------------------------------------------- streams

  /**
   * Creates {@code path} open for writing under this client's lease. Creates that threads of this
   * client make at the same time travel together in one call to the master, and so do their
   * closes.
   *
   * @throws PanguException {@code ALREADY_EXISTS} (without overwrite), {@code IS_A_DIRECTORY},
   *     {@code NOT_FOUND} (a missing parent without {@code createParent}), {@code
   *     NOT_A_DIRECTORY}, {@code LEASE_HELD_BY_OTHER}, quota codes, ...
   */
  public PanguOutputStream create(String path, CreateOptions options) throws IOException {
    Objects.requireNonNull(options, "options");
    CreateRequest request = CreateRequest.newBuilder().setPath(path)
        .setClientName(clientName()).setOverwrite(options.overwrite())
        .setReplication(options.replication()).setChunkSize(options.chunkSizeBytes())
        .setMode(options.mode()).setCreateParent(options.createParent()).build();
    FileStatus created = null;
    boolean unknown = false;
    for (int round = 0; created == null; round++) {
      try {
        created = creates.call(request);
      } catch (PanguException e) {
        if (e.code() == PanguErrorCode.OUTCOME_UNKNOWN || unknown) {
          // Did the earlier attempt create it? Then it is ours, open and still empty.
          FileStatus mine = ownEmptyOpenFile(path);
          if (mine != null) {
            created = mine;
            break;
          }
          if (e.code() == PanguErrorCode.OUTCOME_UNKNOWN && round < UNKNOWN_OUTCOME_ROUNDS_MAX) {
            unknown = true;
            continue;
          }
        }
        throw e;
      }
    }
    return PanguOutputStream.open(this, created);
  }

  /**
   * Reopens the closed file {@code path} for writing at its end under this client's lease; new
   * bytes go to new chunks.
   *
   * @throws PanguException {@code NOT_FOUND}, {@code IS_A_DIRECTORY}, {@code
   *     LEASE_HELD_BY_OTHER}, ...
   */
  public PanguOutputStream append(String path) throws IOException {
    // The master treats an append by the lease holder as a repeat, so it may simply be repeated.
    FileStatus status = master.call("append", path, Retry.IDEMPOTENT, getAppendMethod(),
        AppendRequest.newBuilder().setPath(path).setClientName(clientName()).build())
        .getStatus();
    return PanguOutputStream.open(this, status);
  }

  /**
   * Opens file {@code path} for reading. An open file's bytes are readable up to what its writer
   * synced ({@link PanguOutputStream#hsync}).
   *
   * @throws PanguException {@code NOT_FOUND}, {@code IS_A_DIRECTORY}
   */
  public PanguInputStream open(String path) throws IOException {
    return PanguInputStream.open(this, path);
  }

  /**
   * The committed chunks of file {@code path} that overlap the byte range {@code [start, start +
   * length)}, with their replicas' locations nearest first, for schedulers that place work near
   * the data. An open file's uncommitted last chunk is left out.
   */
  public List<LocatedChunk> locateChunks(String path, long start, long length)
      throws IOException {
    List<LocatedChunk> found = new ArrayList<>();
    long end = start + length;
    int from = 0;
    while (true) {
      GetChunkLocationsResponse page = chunkLocations(path, from, 0);
      for (LocatedChunk chunk : page.getChunksList()) {
        long chunkEnd = chunk.getFileOffset() + chunk.getLength();
        if (chunk.getCommitted() && chunk.getLength() > 0 && chunkEnd > start
            && chunk.getFileOffset() < end) {
          found.add(chunk);
        }
        if (chunk.getFileOffset() >= end) {
          return found;
        }
        from = chunk.getIndex() + 1;
      }
      if (!page.getHasMore() || page.getChunksCount() == 0) {
        return found;
      }
    }
  }

  @Override
  public void close() {
    leases.close();
    chunkServers.close();
    master.close();
  }

  // ---------------------------------------------------------------- for the streams

  MasterCaller master() {
    return master;
  }

  ChunkServerPool chunkServers() {
    return chunkServers;
  }

  LeaseRenewer leases() {
    return leases;
  }

  /**
   * Allocates chunk {@code index} of the open file. A repeated AddChunk after an unknown outcome
   * finds the earlier chunk uncommitted: that chunk was never written, so it is committed empty
   * and a new one allocated.
   */
  LocatedChunk addChunk(FileStatus file, int index, Collection<String> excluded)
      throws IOException {
    return addChunk(file, index, excluded, null);
  }

  /** A chunk of an open file to commit at {@code length}. */
  record ChunkCommit(LocatedChunk chunk, long length) {}

  /**
   * Allocates chunk {@code index} of the open file, first committing {@code previous} in the
   * same master call when it is not null.
   */
  LocatedChunk addChunk(FileStatus file, int index, Collection<String> excluded,
      ChunkCommit previous) throws IOException {
    AddChunkRequest.Builder builder = AddChunkRequest.newBuilder().setFileId(file.getInodeId())
        .setClientName(clientName()).addAllExcludedChunkservers(excluded)
        .setClientHost(config.clientHost());
    if (previous != null) {
      builder.setCommitPrevious(commitRequest(file, previous));
    }
    AddChunkRequest request = builder.build();
    boolean unknown = false;
    for (int round = 0; ; round++) {
      try {
        return master.call("addChunk", file.getPath(), Retry.NOT_IDEMPOTENT,
            getAddChunkMethod(), request).getChunk();
      } catch (PanguException e) {
        if (e.code() == PanguErrorCode.OUTCOME_UNKNOWN && round < UNKNOWN_OUTCOME_ROUNDS_MAX) {
          unknown = true;
          continue;
        }
        if (unknown && e.code() == PanguErrorCode.CHUNK_NOT_COMMITTED
            && round < UNKNOWN_OUTCOME_ROUNDS_MAX) {
          LocatedChunk orphan = chunkAt(file.getPath(), index);
          if (orphan != null && !orphan.getCommitted()) {
            commitChunk(file, orphan, 0);
            continue;
          }
        }
        throw e;
      }
    }
  }

  private LocatedChunk chunkAt(String path, int index) throws IOException {
    GetChunkLocationsResponse response = chunkLocations(path, index, 1);
    return response.getChunksCount() > 0 && response.getChunks(0).getIndex() == index
        ? response.getChunks(0) : null;
  }

  /** Fixes the length of the file's uncommitted chunk; a repeat of the same commit succeeds. */
  void commitChunk(FileStatus file, LocatedChunk chunk, long length) throws IOException {
    master.call("commitChunk", file.getPath(), Retry.IDEMPOTENT, getCommitChunkMethod(),
        commitRequest(file, new ChunkCommit(chunk, length)));
  }

  private CommitChunkRequest commitRequest(FileStatus file, ChunkCommit commit) {
    LocatedChunk chunk = commit.chunk();
    return CommitChunkRequest.newBuilder().setFileId(file.getInodeId())
        .setClientName(clientName()).setChunkIndex(chunk.getIndex())
        .setChunkId(chunk.getChunkId()).setGeneration(chunk.getGeneration())
        .setLength(commit.length()).build();
  }

  /**
   * Closes the open file, first committing {@code last} in the same master call when it is not
   * null; a repeat after an unknown outcome that finds it closed succeeds.
   */
  FileStatus closeFile(FileStatus file, ChunkCommit last) throws IOException {
    CloseFileRequest.Builder builder = CloseFileRequest.newBuilder()
        .setFileId(file.getInodeId()).setClientName(clientName());
    if (last != null) {
      builder.setCommitLast(commitRequest(file, last));
    }
    CloseFileRequest request = builder.build();
    boolean unknown = false;
    for (int round = 0; ; round++) {
      try {
        return closes.call(new MasterBatches.Close(file.getPath(), request));
      } catch (PanguException e) {
        if (e.code() == PanguErrorCode.OUTCOME_UNKNOWN && round < UNKNOWN_OUTCOME_ROUNDS_MAX) {
          unknown = true;
          continue;
        }
        if (unknown && e.code() == PanguErrorCode.NOT_LEASE_HOLDER) {
          FileStatus now = getStatus(file.getPath());
          if (now.getInodeId() == file.getInodeId() && !now.getOpen()) {
            return now;
          }
        }
        throw e;
      }
    }
  }

  /** One page of chunk locations from {@code fromIndex}; {@code limit} 0 for the most. */
  GetChunkLocationsResponse chunkLocations(String path, int fromIndex, int limit)
      throws IOException {
    return master.call("getChunkLocations", path, Retry.IDEMPOTENT,
        getGetChunkLocationsMethod(), GetChunkLocationsRequest.newBuilder().setPath(path)
            .setFromIndex(fromIndex).setLimit(limit).setClientHost(config.clientHost()).build());
  }

  /** Tells the master that a replica failed its checksum. */
  void reportBadReplica(String path, BadReplica replica) throws IOException {
    master.call("reportBadReplicas", path, Retry.IDEMPOTENT, getReportBadReplicasMethod(),
        ReportBadReplicasRequest.newBuilder().addReplicas(replica).build());
  }

  private boolean exists(String path) throws IOException {
    try {
      getStatus(path);
      return true;
    } catch (PanguException e) {
      if (e.code() == PanguErrorCode.NOT_FOUND) {
        return false;
      }
      throw e;
    }
  }

  private FileStatus ownEmptyOpenFile(String path) throws IOException {
    try {
      FileStatus status = getStatus(path);
      return !status.getDirectory() && status.getOpen()
          && holdsLease(status) && status.getChunkCount() == 0
          ? status : null;
    } catch (PanguException e) {
      if (e.code() == PanguErrorCode.NOT_FOUND) {
        return null;
      }
      throw e;
    }
  }

  /**
   * Whether this client holds the lease on {@code status}'s file: a master that authenticates
   * calls holds leases under {@code <tenant>/<user>/<client name>}.
   */
  private boolean holdsLease(FileStatus status) {
    String holder = status.getLeaseHolder();
    return holder.equals(clientName()) || holder.endsWith("/" + clientName());
  }

  /** Fetches a listing page by page, after the last name seen. */
  private final class PagedListing implements DirectoryListing {
    private final String path;
    private final Deque<FileStatus> page = new ArrayDeque<>();
    private String lastName = "";
    private boolean more;

    PagedListing(String path) throws IOException {
      this.path = path;
      fetch();
    }

    private void fetch() throws IOException {
      ListDirectoryResponse response = master.call("list", path, Retry.IDEMPOTENT,
          getListDirectoryMethod(), ListDirectoryRequest.newBuilder().setPath(path)
              .setStartAfter(lastName).build());
      page.addAll(response.getEntriesList());
      more = response.getHasMore() && response.getEntriesCount() > 0;
      if (response.getEntriesCount() > 0) {
        lastName = nameOf(response.getEntries(response.getEntriesCount() - 1).getPath());
      }
    }

    @Override
    public boolean hasNext() throws IOException {
      while (page.isEmpty() && more) {
        fetch();
      }
      return !page.isEmpty();
    }

    @Override
    public FileStatus next() throws IOException {
      if (!hasNext()) {
        throw new NoSuchElementException("no more entries in " + path);
      }
      return page.removeFirst();
    }
  }

  /** The last component of an absolute path. */
  static String nameOf(String path) {
    int slash = path.lastIndexOf('/');
    return slash < 0 ? path : path.substring(slash + 1);
  }
}
