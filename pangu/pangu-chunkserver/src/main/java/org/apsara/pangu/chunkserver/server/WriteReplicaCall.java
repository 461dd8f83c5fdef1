package org.apsara.pangu.chunkserver.server;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.zip.CRC32C;
import org.apsara.pangu.api.ChunkCapabilities;
import org.apsara.pangu.api.ChunkServerLimits;
import org.apsara.pangu.api.v1.WritePacket;
import org.apsara.pangu.api.v1.WriteReplicaAck;
import org.apsara.pangu.api.v1.WriteReplicaHeader;
import org.apsara.pangu.api.v1.WriteReplicaRequest;
import org.apsara.pangu.chunkserver.store.ChunkStore;
import org.apsara.pangu.chunkserver.store.ReplicaInfo;
import org.apsara.pangu.chunkserver.store.ReplicaNotFoundException;
import org.apsara.pangu.chunkserver.store.ReplicaState;
import org.apsara.pangu.chunkserver.store.StaleGenerationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of one WriteReplica stream: a header, then packets appended in arrival order.
 *
 * <p>Threading: gRPC delivers this call's messages, its half-close and its onReady callbacks one
 * at a time on the handler executor, so the fields need no lock. Each message is applied before
 * the next is requested, so the stream's flow-control window is what lets the client pipeline.
 *
 * <p>After the first error the call is failed and every later message is dropped unapplied.
 * Acks are sent only when the transport is ready; if it is not, the newest synced length waits
 * and goes out on the next onReady (an ack is cumulative, so a skipped one loses nothing), which
 * bounds what a client that does not read acks can make this server buffer.
 */
final class WriteReplicaCall implements StreamObserver<WriteReplicaRequest> {
  private static final Logger LOG = LoggerFactory.getLogger(WriteReplicaCall.class);
  private static final long NO_PENDING_ACK = -1;

  private final ChunkStore store;
  private final TokenGate tokens;
  private final ChunkServerMetrics metrics;
  private final ServerCallStreamObserver<WriteReplicaAck> responses;
  private final WriteRequestMarshaller marshaller;
  private boolean started;
  private boolean finished;
  private long chunkId;
  private long generation;
  private long pendingAck = NO_PENDING_ACK;

  WriteReplicaCall(ChunkStore store, TokenGate tokens, ChunkServerMetrics metrics,
      ServerCallStreamObserver<WriteReplicaAck> responses, WriteRequestMarshaller marshaller) {
    this.store = store;
    this.marshaller = marshaller;
    this.tokens = tokens;
    this.metrics = metrics;
    this.responses = responses;
    responses.setOnReadyHandler(this::sendPendingAck);
  }

  @Override
  public void onNext(WriteReplicaRequest request) {
    try {
      handle(request);
    } finally {
      // The packet's data may view network buffers (see WriteRequestMarshaller): free them,
      // whatever happened to the packet.
      marshaller.release(request);
    }
  }

  private void handle(WriteReplicaRequest request) {
    if (finished) {
      return; // nothing past an error is applied
    }
    try {
      switch (request.getKindCase()) {
        case HEADER -> {
          if (started) {
            throw invalid("a WriteReplica stream has one header, and it came first");
          }
          start(request.getHeader());
        }
        case PACKET -> {
          if (!started) {
            throw invalid("the first message of a WriteReplica stream must be its header");
          }
          apply(request.getPacket());
        }
        default -> throw invalid("a WriteReplica message must hold a header or a packet");
      }
    } catch (StatusException e) {
      fail(e);
    } catch (IOException e) {
      fail(StoreStatuses.toStatus(e));
    } catch (RuntimeException e) {
      LOG.error("WriteReplica of chunk {} failed unexpectedly", Long.toUnsignedString(chunkId), e);
      fail(Status.INTERNAL.withDescription("unexpected error: " + e).asException());
    }
  }

  private void start(WriteReplicaHeader header) throws StatusException, IOException {
    chunkId = ChunkServiceImpl.checkChunkId(header.getChunkId());
    generation = ChunkServiceImpl.checkGeneration(header.getGeneration());
    tokens.check(header.getToken(), chunkId, List.of(ChunkCapabilities.WRITE));
    prepare(store, chunkId, generation, header.getStartOffset(), header.getCreate());
    started = true;
  }

  /**
   * Readies a replica for appends at {@code startOffset}, as the header of a write (over gRPC or
   * the bulk path) asks: creates it, or checks that it is open, of this generation and exactly
   * {@code startOffset} bytes long. The caller has checked the ids and the token.
   */
  static void prepare(ChunkStore store, long chunkId, long generation, long startOffset,
      boolean create) throws StatusException, IOException {
    if (create) {
      if (startOffset != 0) {
        throw invalid("a replica being created starts at offset 0, not " + startOffset);
      }
      store.create(chunkId, generation);
      return;
    }
    // The store checks all this again on every append; checking here names the problem before
    // the client has sent (and we have dropped) a window full of packets.
    ReplicaInfo replica = store.replica(chunkId)
        .orElseThrow(() -> new ReplicaNotFoundException(chunkId));
    if (replica.generation() != generation) {
      throw new StaleGenerationException(chunkId, generation, replica.generation());
    }
    if (replica.state() != ReplicaState.OPEN) {
      throw Status.FAILED_PRECONDITION.withDescription("chunk " + chunkId + " is "
          + replica.state() + ": it takes no more writes").asException();
    }
    if (replica.length() != startOffset) {
      throw Status.FAILED_PRECONDITION.withDescription("chunk " + chunkId + ": the write"
          + " starts at offset " + startOffset + " but the replica has " + replica.length()
          + " bytes (" + replica.syncedLength() + " synced)").asException();
    }
  }

  private void apply(WritePacket packet) throws StatusException, IOException {
    ByteString data = packet.getData();
    if (data.size() > ChunkServerLimits.DATA_MESSAGE_BYTES_MAX) {
      throw invalid("a packet carries at most " + ChunkServerLimits.DATA_MESSAGE_BYTES_MAX
          + " bytes, this one " + data.size());
    }
    // Views of the received bytes, usually the network buffers they arrived in: checksummed and
    // appended without a copy.
    List<ByteBuffer> bytes = data.asReadOnlyByteBufferList();
    CRC32C crc = new CRC32C();
    for (ByteBuffer piece : bytes) {
      crc.update(piece.duplicate());
    }
    if ((int) crc.getValue() != packet.getCrc32C()) {
      throw Status.DATA_LOSS.withDescription(String.format("chunk %d: the packet at offset %d"
              + " (%d bytes) arrived with CRC32C 0x%08x but was sent with 0x%08x; nothing of it"
              + " was applied", chunkId, packet.getOffset(), data.size(), (int) crc.getValue(),
          packet.getCrc32C())).asException();
    }
    store.append(chunkId, generation, packet.getOffset(), bytes);
    metrics.written(data.size());
    if (packet.getSync()) {
      ack(sync());
    }
  }

  private long sync() throws IOException {
    long synced = store.sync(chunkId, generation);
    metrics.synced();
    return synced;
  }

  private void ack(long syncedLength) {
    if (responses.isReady()) {
      responses.onNext(WriteReplicaAck.newBuilder().setSyncedLength(syncedLength).build());
      pendingAck = NO_PENDING_ACK;
    } else {
      pendingAck = syncedLength;
    }
  }

  private void sendPendingAck() {
    if (pendingAck != NO_PENDING_ACK && !finished && responses.isReady()) {
      ack(pendingAck);
    }
  }

  @Override
  public void onError(Throwable t) {
    // The client cancelled or went away. What was appended stays, durable up to the last sync;
    // the master decides the replica's fate when it recovers the chunk.
    finished = true;
    LOG.debug("WriteReplica of chunk {} ended by the client: {}", Long.toUnsignedString(chunkId),
        Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    if (finished) {
      return;
    }
    try {
      if (!started) {
        throw invalid("the WriteReplica stream ended without a header");
      }
      long synced = sync();
      finished = true;
      // The final ack goes out regardless of readiness: it is one small message, and the call
      // ends with it.
      responses.onNext(WriteReplicaAck.newBuilder().setSyncedLength(synced).build());
      responses.onCompleted();
    } catch (StatusException e) {
      fail(e);
    } catch (IOException e) {
      fail(StoreStatuses.toStatus(e));
    }
  }

  private void fail(StatusException e) {
    finished = true;
    LOG.debug("WriteReplica of chunk {} failed: {}", Long.toUnsignedString(chunkId),
        e.getStatus());
    responses.onError(e);
  }

  private static StatusException invalid(String message) {
    return Status.INVALID_ARGUMENT.withDescription(message).asException();
  }
}
