package org.apsara.pangu.client;

import static org.apsara.pangu.client.GrpcTestServer.masterError;

import com.google.protobuf.Message;
import io.grpc.Status;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apsara.pangu.api.v1.AddChunkRequest;
import org.apsara.pangu.api.v1.AddChunkResponse;
import org.apsara.pangu.api.v1.BadReplica;
import org.apsara.pangu.api.v1.ChunkServerLocation;
import org.apsara.pangu.api.v1.CloseFileRequest;
import org.apsara.pangu.api.v1.CloseFileResponse;
import org.apsara.pangu.api.v1.CommitChunkRequest;
import org.apsara.pangu.api.v1.CommitChunkResponse;
import org.apsara.pangu.api.v1.CreateRequest;
import org.apsara.pangu.api.v1.CreateResponse;
import org.apsara.pangu.api.v1.FileStatus;
import org.apsara.pangu.api.v1.GetChunkLocationsRequest;
import org.apsara.pangu.api.v1.GetChunkLocationsResponse;
import org.apsara.pangu.api.v1.GetFileStatusRequest;
import org.apsara.pangu.api.v1.GetFileStatusResponse;
import org.apsara.pangu.api.v1.LocatedChunk;
import org.apsara.pangu.api.v1.RecoverLeaseRequest;
import org.apsara.pangu.api.v1.RecoverLeaseResponse;
import org.apsara.pangu.api.v1.RenewLeaseResponse;
import org.apsara.pangu.api.v1.ReportBadReplicasRequest;
import org.apsara.pangu.api.v1.ReportBadReplicasResponse;

/**
 * One fake master keeping files and chunk lists in memory, several {@link FakeChunkServer}s, and
 * a {@link PanguClient} of them: enough to run the client's streams, with faults, and to check
 * what reached each replica.
 */
final class FakeCluster implements AutoCloseable {
  final List<FakeChunkServer> chunkServers = new ArrayList<>();
  final List<GrpcTestServer> servers = new ArrayList<>();
  final ScriptedMaster master;
  final PanguClient client;
  final Map<String, FakeFile> files = new ConcurrentHashMap<>();
  /** The excluded chunkservers of every AddChunk, in order. */
  final List<List<String>> addChunkExclusions = new CopyOnWriteArrayList<>();
  /** Every chunk committed (by CommitChunk, AddChunk or CloseFile), in order. */
  final List<CommitChunkRequest> commits = new CopyOnWriteArrayList<>();
  /** CommitChunk calls alone. */
  final AtomicInteger commitCalls = new AtomicInteger();
  final List<BadReplica> badReplicas = new CopyOnWriteArrayList<>();
  final List<String> recoveredLeases = new CopyOnWriteArrayList<>();
  private final AtomicLong nextId = new AtomicLong(100);

  static final class FakeChunk {
    final int index;
    final long chunkId;
    final List<FakeChunkServer> replicas;
    volatile long length;
    volatile boolean committed;

    FakeChunk(int index, long chunkId, List<FakeChunkServer> replicas) {
      this.index = index;
      this.chunkId = chunkId;
      this.replicas = replicas;
    }
  }

  static final class FakeFile {
    final String path;
    final long inodeId;
    final long chunkSize;
    final int replication;
    final List<FakeChunk> chunks = new CopyOnWriteArrayList<>();
    volatile boolean open = true;
    volatile String holder;

    FakeFile(String path, long inodeId, long chunkSize, int replication, String holder) {
      this.path = path;
      this.inodeId = inodeId;
      this.chunkSize = chunkSize;
      this.replication = replication;
      this.holder = holder;
    }

    long committedLength() {
      return chunks.stream().filter(c -> c.committed).mapToLong(c -> c.length).sum();
    }
  }

  FakeCluster(int chunkServerCount) throws Exception {
    for (int i = 0; i < chunkServerCount; i++) {
      FakeChunkServer chunkServer = new FakeChunkServer("cs-" + i);
      chunkServers.add(chunkServer);
      servers.add(new GrpcTestServer(chunkServer));
    }
    master = new ScriptedMaster(this::handle);
    GrpcTestServer masterServer = new GrpcTestServer(master);
    servers.add(masterServer);
    client = PanguClient.connect(PanguClientConfig.builder(List.of(masterServer.address()))
        .clientName("fake-cluster-client")
        .backoff(Duration.ofMillis(5), Duration.ofMillis(50))
        .replicaAckTimeout(Duration.ofSeconds(10))
        .readTimeout(Duration.ofSeconds(10))
        .build());
  }

  FakeFile file(String path) {
    return files.get(path);
  }

  /** The bytes of a file as its committed chunks hold them on their first replicas. */
  byte[] committedContent(String path) {
    ByteArrayOutputStream content = new ByteArrayOutputStream();
    for (FakeChunk chunk : file(path).chunks) {
      byte[] replica = chunk.replicas.get(0).replica(chunk.chunkId);
      if (chunk.committed && chunk.length > 0) {
        content.write(replica, 0, (int) chunk.length);
      }
    }
    return content.toByteArray();
  }

  /** Commits a chunk, asked by CommitChunk, by the next AddChunk or by CloseFile. */
  private void commit(FakeFile file, CommitChunkRequest r) {
    commits.add(r);
    FakeChunk chunk = file.chunks.get(r.getChunkIndex());
    if (chunk.chunkId != r.getChunkId()) {
      throw masterError(PanguErrorCode.CHUNK_MISMATCH);
    }
    chunk.length = r.getLength();
    chunk.committed = true;
  }

  private Message handle(String method, Message request) {
    switch (method) {
      case "create" -> {
        CreateRequest r = (CreateRequest) request;
        if (files.containsKey(r.getPath()) && !r.getOverwrite()) {
          throw masterError(PanguErrorCode.ALREADY_EXISTS);
        }
        FakeFile file = new FakeFile(r.getPath(), nextId.incrementAndGet(),
            r.getChunkSize() == 0 ? 64L << 20 : r.getChunkSize(),
            r.getReplication() == 0 ? 3 : r.getReplication(), r.getClientName());
        files.put(r.getPath(), file);
        return CreateResponse.newBuilder().setStatus(status(file)).build();
      }
      case "addChunk" -> {
        AddChunkRequest r = (AddChunkRequest) request;
        FakeFile file = byId(r.getFileId());
        addChunkExclusions.add(List.copyOf(r.getExcludedChunkserversList()));
        if (r.hasCommitPrevious()) {
          commit(file, r.getCommitPrevious());
        }
        if (!file.chunks.isEmpty() && !file.chunks.get(file.chunks.size() - 1).committed) {
          throw masterError(PanguErrorCode.CHUNK_NOT_COMMITTED);
        }
        List<FakeChunkServer> chosen = new ArrayList<>();
        for (FakeChunkServer server : chunkServers) {
          if (!r.getExcludedChunkserversList().contains(server.id)
              && chosen.size() < file.replication) {
            chosen.add(server);
          }
        }
        if (chosen.size() < file.replication) {
          throw masterError(PanguErrorCode.NOT_ENOUGH_CHUNKSERVERS);
        }
        FakeChunk chunk = new FakeChunk(file.chunks.size(), nextId.incrementAndGet(), chosen);
        file.chunks.add(chunk);
        return AddChunkResponse.newBuilder().setChunk(located(file, chunk)).build();
      }
      case "commitChunk" -> {
        CommitChunkRequest r = (CommitChunkRequest) request;
        commitCalls.incrementAndGet();
        commit(byId(r.getFileId()), r);
        return CommitChunkResponse.getDefaultInstance();
      }
      case "closeFile" -> {
        CloseFileRequest r = (CloseFileRequest) request;
        FakeFile file = byId(r.getFileId());
        if (r.hasCommitLast()) {
          commit(file, r.getCommitLast());
        }
        file.open = false;
        file.holder = "";
        return CloseFileResponse.newBuilder().setStatus(status(file)).build();
      }
      case "renewLease" -> {
        return RenewLeaseResponse.getDefaultInstance();
      }
      case "recoverLease" -> {
        FakeFile file = files.get(((RecoverLeaseRequest) request).getPath());
        recoveredLeases.add(file.path);
        file.open = false;
        return RecoverLeaseResponse.newBuilder().setClosed(true).build();
      }
      case "getFileStatus" -> {
        FakeFile file = files.get(((GetFileStatusRequest) request).getPath());
        if (file == null) {
          throw masterError(PanguErrorCode.NOT_FOUND);
        }
        return GetFileStatusResponse.newBuilder().setStatus(status(file)).build();
      }
      case "getChunkLocations" -> {
        GetChunkLocationsRequest r = (GetChunkLocationsRequest) request;
        FakeFile file = files.get(r.getPath());
        if (file == null) {
          throw masterError(PanguErrorCode.NOT_FOUND);
        }
        GetChunkLocationsResponse.Builder response = GetChunkLocationsResponse.newBuilder()
            .setStatus(status(file));
        int limit = r.getLimit() == 0 ? 1000 : r.getLimit();
        for (FakeChunk chunk : file.chunks) {
          if (chunk.index >= r.getFromIndex() && response.getChunksCount() < limit) {
            response.addChunks(located(file, chunk));
          }
        }
        response.setHasMore(r.getFromIndex() + response.getChunksCount() < file.chunks.size());
        return response.build();
      }
      case "reportBadReplicas" -> {
        badReplicas.addAll(((ReportBadReplicasRequest) request).getReplicasList());
        return ReportBadReplicasResponse.getDefaultInstance();
      }
      default -> throw Status.UNIMPLEMENTED.withDescription(method).asRuntimeException();
    }
  }

  private FakeFile byId(long inodeId) {
    return files.values().stream().filter(f -> f.inodeId == inodeId).findFirst()
        .orElseThrow(() -> masterError(PanguErrorCode.NOT_FOUND));
  }

  private FileStatus status(FakeFile file) {
    return FileStatus.newBuilder().setPath(file.path).setInodeId(file.inodeId)
        .setLength(file.committedLength()).setChunkSize(file.chunkSize)
        .setReplication(file.replication).setChunkCount(file.chunks.size())
        .setOpen(file.open).setLeaseHolder(file.open ? file.holder : "").build();
  }

  private LocatedChunk located(FakeFile file, FakeChunk chunk) {
    long offset = 0;
    for (FakeChunk c : file.chunks) {
      if (c == chunk) {
        break;
      }
      offset += c.length;
    }
    LocatedChunk.Builder located = LocatedChunk.newBuilder().setIndex(chunk.index)
        .setChunkId(chunk.chunkId).setGeneration(1).setFileOffset(offset)
        .setLength(chunk.committed ? chunk.length : 0).setCommitted(chunk.committed)
        .setToken("token");
    for (FakeChunkServer server : chunk.replicas) {
      located.addLocations(ChunkServerLocation.newBuilder().setId(server.id)
          .setAddress(servers.get(chunkServers.indexOf(server)).address().format()));
    }
    return located.build();
  }

  /** Makes every chunkserver offer the bulk read path; returns their bulk servers, in order. */
  List<FakeBulkServer> offerBulkReads() throws Exception {
    List<FakeBulkServer> bulk = new ArrayList<>();
    for (FakeChunkServer chunkServer : chunkServers) {
      chunkServer.bulk = new FakeBulkServer(chunkServer);
      bulk.add(chunkServer.bulk);
    }
    return bulk;
  }

  @Override
  public void close() throws Exception {
    client.close();
    for (FakeChunkServer chunkServer : chunkServers) {
      if (chunkServer.bulk != null) {
        chunkServer.bulk.close();
      }
    }
    for (GrpcTestServer server : servers) {
      server.close();
    }
  }
}
