package org.apsara.pangu.chunkserver.server;

import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCallStreamObserver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;
import org.apsara.pangu.api.ChunkServerLimits;
import org.apsara.pangu.api.v1.ReadReplicaResponse;
import org.apsara.pangu.chunkserver.store.ChunkStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of one ReadReplica stream: reads and sends the range in messages of at most
 * {@link ChunkServerLimits#DATA_MESSAGE_BYTES_MAX} while the transport is ready, and resumes
 * from onReady, so that a slow reader holds at most a flow-control window of data here.
 *
 * <p>Each message's bytes are read (and verified block by block) by the store straight into a
 * buffer of the handler thread, which the message wraps without copying. gRPC serializes a
 * message into its network buffers inside {@code onNext}, so the buffer is free again when that
 * returns, and one buffer per handler thread serves every read: no allocation per message (a 1
 * MiB array is a humongous object for G1). The buffer is on the heap on purpose: protobuf writes
 * a heap array to gRPC's stream in one piece, but copies a direct buffer through a 4 KiB staging
 * array, which costs more than the copy the JDK makes when reading a file into a heap buffer.
 *
 * <p>Threading: the first {@link #drain} runs in the call's handler, later ones from onReady, all
 * serialized by gRPC on the handler executor; the fields need no lock.
 */
final class ReadReplicaCall {
  private static final Logger LOG = LoggerFactory.getLogger(ReadReplicaCall.class);
  /** One message's worth of memory per handler thread; bounded by the thread count. */
  private static final ThreadLocal<ByteBuffer> MESSAGE_BUFFER = ThreadLocal.withInitial(
      () -> ByteBuffer.allocate(ChunkServerLimits.DATA_MESSAGE_BYTES_MAX));

  private final ChunkStore store;
  private final ChunkServerMetrics metrics;
  private final ServerCallStreamObserver<ReadReplicaResponse> responses;
  private final long chunkId;
  private final long generation;
  private final long end;
  private long next;
  private boolean done;

  ReadReplicaCall(ChunkStore store, ChunkServerMetrics metrics,
      ServerCallStreamObserver<ReadReplicaResponse> responses, long chunkId, long generation,
      long offset, long length) {
    this.store = store;
    this.metrics = metrics;
    this.responses = responses;
    this.chunkId = chunkId;
    this.generation = generation;
    this.next = offset;
    this.end = offset + length;
  }

  /** Installs the callbacks and sends what the transport takes now. */
  void start() {
    responses.setOnCancelHandler(() -> done = true);
    responses.setOnReadyHandler(this::drain);
    drain();
  }

  private void drain() {
    try {
      while (!done && next < end && responses.isReady()) {
        int take = (int) Math.min(ChunkServerLimits.DATA_MESSAGE_BYTES_MAX, end - next);
        ByteBuffer data = MESSAGE_BUFFER.get().clear().limit(take);
        store.read(chunkId, generation, next, data);
        data.flip();
        CRC32C crc = new CRC32C();
        crc.update(data.duplicate());
        responses.onNext(ReadReplicaResponse.newBuilder()
            .setOffset(next)
            .setData(UnsafeByteOperations.unsafeWrap(data))
            .setCrc32C((int) crc.getValue())
            .build());
        next += take;
        metrics.read(take);
      }
      if (!done && next == end) {
        done = true;
        responses.onCompleted();
      }
    } catch (IOException e) {
      fail(StoreStatuses.toStatus(e));
    } catch (RuntimeException e) {
      LOG.error("ReadReplica of chunk {} failed unexpectedly", chunkId, e);
      fail(Status.INTERNAL.withDescription("unexpected error: " + e).asException());
    }
  }

  private void fail(StatusException e) {
    if (!done) {
      done = true;
      responses.onError(e);
    }
  }
}
