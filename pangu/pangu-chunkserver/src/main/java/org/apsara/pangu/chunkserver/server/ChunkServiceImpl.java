package org.apsara.pangu.chunkserver.server;

import io.grpc.Context;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.api.ChunkCapabilities;
import org.apsara.pangu.api.ChunkServerLimits;
import org.apsara.pangu.api.v1.BumpGenerationRequest;
import org.apsara.pangu.api.v1.BumpGenerationResponse;
import org.apsara.pangu.api.v1.ChunkServerGrpc;
import org.apsara.pangu.api.v1.DeleteReplicasRequest;
import org.apsara.pangu.api.v1.DeleteReplicasResponse;
import org.apsara.pangu.api.v1.DeletionOutcome;
import org.apsara.pangu.api.v1.GetReplicaRequest;
import org.apsara.pangu.api.v1.GetReplicaResponse;
import org.apsara.pangu.api.v1.GetServerInfoRequest;
import org.apsara.pangu.api.v1.GetServerInfoResponse;
import org.apsara.pangu.api.v1.ReadReplicaRequest;
import org.apsara.pangu.api.v1.ReadReplicaResponse;
import org.apsara.pangu.api.v1.ReplicaDeletion;
import org.apsara.pangu.api.v1.ReplicaDeletionResult;
import org.apsara.pangu.api.v1.ReplicaState;
import org.apsara.pangu.api.v1.ReplicateReplicaRequest;
import org.apsara.pangu.api.v1.ReplicateReplicaResponse;
import org.apsara.pangu.api.v1.SealReplicaRequest;
import org.apsara.pangu.api.v1.SealReplicaResponse;
import org.apsara.pangu.api.v1.WriteReplicaAck;
import org.apsara.pangu.api.v1.WriteReplicaRequest;
import org.apsara.pangu.chunkserver.store.ChunkStore;
import org.apsara.pangu.chunkserver.store.ReplicaInfo;
import org.apsara.pangu.chunkserver.store.ReplicaNotFoundException;
import org.apsara.pangu.chunkserver.store.StaleGenerationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code apsara.pangu.v1.ChunkServer} service over a {@link ChunkStore}: checks each call's
 * capability token, then does what the contract in {@code chunkserver.proto} says.
 *
 * <p>Threading: handlers run on the server's handler executor, never on a network thread, since
 * every one of them may block on the disk. Thread-safe; the store serializes writers per replica.
 */
final class ChunkServiceImpl extends ChunkServerGrpc.ChunkServerImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(ChunkServiceImpl.class);
  private static final List<String> READ = List.of(ChunkCapabilities.READ);
  private static final List<String> ADMIN = List.of(ChunkCapabilities.ADMIN);
  private static final List<String> READ_OR_ADMIN =
      List.of(ChunkCapabilities.READ, ChunkCapabilities.ADMIN);

  /**
   * Most ReplicateReplica calls copying at once. Each holds a handler thread for the whole copy,
   * so without a bound a burst of re-replication would leave no thread for the data path; the
   * master retries a refused copy later or elsewhere.
   */
  static final int REPLICATIONS_CONCURRENT_MAX = 4;

  private final ChunkStore store;
  private final TokenGate tokens;
  private final ChunkServerMetrics metrics;
  private final ReplicaCopier copier;
  private final long replicationTimeoutNanos;
  private final ScheduledExecutorService deadlineTimer;
  private final Semaphore replicationSlots = new Semaphore(REPLICATIONS_CONCURRENT_MAX);
  private final WriteRequestMarshaller writeMarshaller = new WriteRequestMarshaller();
  private final Supplier<GetServerInfoResponse> serverInfo;

  ChunkServiceImpl(ChunkStore store, TokenGate tokens, ChunkServerMetrics metrics,
      ReplicaCopier copier, long replicationTimeoutNanos,
      ScheduledExecutorService deadlineTimer, Supplier<GetServerInfoResponse> serverInfo) {
    this.serverInfo = serverInfo;
    this.store = store;
    this.tokens = tokens;
    this.metrics = metrics;
    this.copier = copier;
    this.replicationTimeoutNanos = replicationTimeoutNanos;
    this.deadlineTimer = deadlineTimer;
  }

  @Override
  public StreamObserver<WriteReplicaRequest> writeReplica(
      StreamObserver<WriteReplicaAck> responses) {
    return new WriteReplicaCall(store, tokens, metrics,
        (ServerCallStreamObserver<WriteReplicaAck>) responses, writeMarshaller);
  }

  /**
   * The service definition to serve: the generated one, with WriteReplica's requests parsed by
   * {@link WriteRequestMarshaller} so that packet data is not copied out of the network buffers.
   */
  ServerServiceDefinition definition() {
    String writeReplica = ChunkServerGrpc.getWriteReplicaMethod().getFullMethodName();
    ServerServiceDefinition.Builder definition =
        ServerServiceDefinition.builder(ChunkServerGrpc.SERVICE_NAME);
    for (ServerMethodDefinition<?, ?> method : bindService().getMethods()) {
      if (method.getMethodDescriptor().getFullMethodName().equals(writeReplica)) {
        @SuppressWarnings("unchecked")
        ServerMethodDefinition<WriteReplicaRequest, WriteReplicaAck> write =
            (ServerMethodDefinition<WriteReplicaRequest, WriteReplicaAck>) method;
        definition.addMethod(write.getMethodDescriptor().toBuilder()
            .setRequestMarshaller(writeMarshaller).build(), write.getServerCallHandler());
      } else {
        definition.addMethod(method);
      }
    }
    return definition.build();
  }

  WriteRequestMarshaller writeMarshaller() {
    return writeMarshaller;
  }

  @Override
  public void readReplica(ReadReplicaRequest request,
      StreamObserver<ReadReplicaResponse> responses) {
    try {
      long chunkId = checkChunkId(request.getChunkId());
      long generation = checkGeneration(request.getGeneration());
      tokens.check(request.getToken(), chunkId, READ);
      long offset = request.getOffset();
      long length = request.getLength();
      if (offset < 0 || length < 0 || offset + length < 0) {
        throw Status.OUT_OF_RANGE.withDescription("chunk " + chunkId + ": offset " 
            + Long.toUnsignedString(offset) + " and length " + Long.toUnsignedString(length)
            + " are out of any replica's range").asException();
      }
      // Checked up front, so that a read past the end fails before sending anything.
      ReplicaInfo replica = store.replica(chunkId)
          .orElseThrow(() -> new ReplicaNotFoundException(chunkId));
      if (replica.generation() != generation) {
        throw new StaleGenerationException(chunkId, generation, replica.generation());
      }
      if (offset + length > replica.length()) {
        throw Status.OUT_OF_RANGE.withDescription("chunk " + chunkId + ": cannot read " + length
            + " bytes at offset " + offset + ": the replica has " + replica.length() + " bytes")
            .asException();
      }
      new ReadReplicaCall(store, metrics, (ServerCallStreamObserver<ReadReplicaResponse>) responses,
          chunkId, generation, offset, length).start();
    } catch (StatusException e) {
      responses.onError(e);
    } catch (IOException e) {
      responses.onError(StoreStatuses.toStatus(e));
    }
  }

  @Override
  public void sealReplica(SealReplicaRequest request,
      StreamObserver<SealReplicaResponse> responses) {
    unary(responses, () -> {
      long chunkId = checkChunkId(request.getChunkId());
      long generation = checkGeneration(request.getGeneration());
      tokens.check(request.getToken(), chunkId, ADMIN);
      store.seal(chunkId, generation, request.getLength());
      return SealReplicaResponse.newBuilder().setLength(request.getLength()).build();
    });
  }

  @Override
  public void getReplica(GetReplicaRequest request, StreamObserver<GetReplicaResponse> responses) {
    unary(responses, () -> {
      long chunkId = checkChunkId(request.getChunkId());
      tokens.check(request.getToken(), chunkId, READ_OR_ADMIN);
      ReplicaInfo replica = store.replica(chunkId)
          .orElseThrow(() -> new ReplicaNotFoundException(chunkId));
      return GetReplicaResponse.newBuilder()
          .setChunkId(chunkId)
          .setGeneration(replica.generation())
          .setLength(replica.length())
          .setSyncedLength(replica.syncedLength())
          .setState(toProto(replica.state()))
          .setCorrupt(replica.corrupt())
          .build();
    });
  }

  @Override
  public void deleteReplicas(DeleteReplicasRequest request,
      StreamObserver<DeleteReplicasResponse> responses) {
    unary(responses, () -> {
      if (request.getReplicasCount() > ChunkServerLimits.DELETE_BATCH_MAX) {
        throw Status.INVALID_ARGUMENT.withDescription("a DeleteReplicas batch holds at most "
            + ChunkServerLimits.DELETE_BATCH_MAX + " entries, this one "
            + request.getReplicasCount()).asException();
      }
      DeleteReplicasResponse.Builder results = DeleteReplicasResponse.newBuilder();
      for (ReplicaDeletion deletion : request.getReplicasList()) {
        results.addResults(delete(deletion));
      }
      return results.build();
    });
  }

  private ReplicaDeletionResult delete(ReplicaDeletion deletion) {
    ReplicaDeletionResult.Builder result =
        ReplicaDeletionResult.newBuilder().setChunkId(deletion.getChunkId());
    try {
      long chunkId = checkChunkId(deletion.getChunkId());
      tokens.check(deletion.getToken(), chunkId, ADMIN);
      store.delete(chunkId, deletion.getGeneration());
      LOG.info("deleted replica of chunk {} generation {}", chunkId, deletion.getGeneration());
      return result.setOutcome(DeletionOutcome.DELETION_OUTCOME_DELETED).build();
    } catch (StatusException e) {
      return result.setOutcome(DeletionOutcome.DELETION_OUTCOME_REFUSED)
          .setMessage(e.getStatus().getDescription()).build();
    } catch (ReplicaNotFoundException e) {
      return result.setOutcome(DeletionOutcome.DELETION_OUTCOME_NOT_FOUND)
          .setMessage(e.getMessage()).build();
    } catch (StaleGenerationException e) {
      return result.setOutcome(DeletionOutcome.DELETION_OUTCOME_STALE_GENERATION)
          .setMessage(e.getMessage()).build();
    } catch (IOException e) {
      LOG.warn("could not delete replica of chunk {}", deletion.getChunkId(), e);
      return result.setOutcome(DeletionOutcome.DELETION_OUTCOME_FAILED)
          .setMessage(e.toString()).build();
    }
  }

  @Override
  public void bumpGeneration(BumpGenerationRequest request,
      StreamObserver<BumpGenerationResponse> responses) {
    unary(responses, () -> {
      long chunkId = checkChunkId(request.getChunkId());
      long generation = checkGeneration(request.getGeneration());
      long newGeneration = checkGeneration(request.getNewGeneration());
      tokens.check(request.getToken(), chunkId, ADMIN);
      store.setGeneration(chunkId, generation, newGeneration);
      return BumpGenerationResponse.newBuilder().setGeneration(newGeneration).build();
    });
  }

  @Override
  public void replicateReplica(ReplicateReplicaRequest request,
      StreamObserver<ReplicateReplicaResponse> responses) {
    unary(responses, () -> {
      long chunkId = checkChunkId(request.getChunkId());
      long generation = checkGeneration(request.getGeneration());
      tokens.check(request.getToken(), chunkId, ADMIN);
      HostPort source;
      try {
        source = HostPort.parse(request.getSourceAddress());
      } catch (IllegalArgumentException e) {
        throw Status.INVALID_ARGUMENT.withDescription("source address: " + e.getMessage())
            .asException();
      }
      if (!replicationSlots.tryAcquire()) {
        throw Status.RESOURCE_EXHAUSTED.withDescription("already copying "
            + REPLICATIONS_CONCURRENT_MAX + " replicas, the most at once; retry later")
            .asException();
      }
      // The copy's calls to the source inherit this deadline (and the caller's, if sooner).
      Context.CancellableContext bounded = Context.current()
          .withDeadlineAfter(replicationTimeoutNanos, TimeUnit.NANOSECONDS, deadlineTimer);
      try {
        return bounded.call(() -> copier.copy(chunkId, generation, source,
            request.getSourceToken()));
      } finally {
        bounded.cancel(null);
        replicationSlots.release();
      }
    });
  }

  @Override
  public void getServerInfo(GetServerInfoRequest request,
      StreamObserver<GetServerInfoResponse> responses) {
    unary(responses, serverInfo::get);
  }

  /** Chunk ids are unsigned on the wire but below 2^63 here, as the store requires. */
  static long checkChunkId(long chunkId) throws StatusException {
    if (chunkId < 0) {
      throw Status.INVALID_ARGUMENT.withDescription("chunk id " + Long.toUnsignedString(chunkId)
          + " is out of range: chunk ids are below 2^63").asException();
    }
    return chunkId;
  }

  static long checkGeneration(long generation) throws StatusException {
    if (generation < 0) {
      throw Status.INVALID_ARGUMENT.withDescription("generation "
          + Long.toUnsignedString(generation) + " is out of range: generations are below 2^63")
          .asException();
    }
    return generation;
  }

  static ReplicaState toProto(org.apsara.pangu.chunkserver.store.ReplicaState state) {
    return switch (state) {
      case OPEN -> ReplicaState.REPLICA_STATE_OPEN;
      case SEALED -> ReplicaState.REPLICA_STATE_SEALED;
      case UNREADABLE -> ReplicaState.REPLICA_STATE_UNREADABLE;
    };
  }

  @FunctionalInterface
  private interface UnaryBody<R> {
    R run() throws Exception;
  }

  private static <R> void unary(StreamObserver<R> responses, UnaryBody<R> body) {
    R response;
    try {
      response = body.run();
    } catch (StatusException e) {
      responses.onError(e);
      return;
    } catch (IOException e) {
      responses.onError(StoreStatuses.toStatus(e));
      return;
    } catch (Exception e) {
      LOG.error("call failed unexpectedly", e);
      responses.onError(Status.INTERNAL.withDescription("unexpected error: " + e).asException());
      return;
    }
    responses.onNext(response);
    responses.onCompleted();
  }
}
