package org.apsara.pangu.client.chunkserver;

import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;
import org.apsara.pangu.api.ChunkServerLimits;
import org.apsara.pangu.api.v1.ChunkServerGrpc;
import org.apsara.pangu.api.v1.WritePacket;
import org.apsara.pangu.api.v1.WriteReplicaAck;
import org.apsara.pangu.api.v1.WriteReplicaHeader;
import org.apsara.pangu.api.v1.WriteReplicaRequest;

/**
 * A {@link ReplicaWriter} over one gRPC WriteReplica stream: appends pipelined packets to a
 * replica and tracks the durable length the chunkserver acknowledges. Used with TLS, with
 * chunkservers that offer no bulk write path, and whenever that path cannot be reached.
 *
 * <p>{@link #write} sends without waiting for acknowledgements; it blocks only while the stream's
 * flow-control window is full, so a slow disk slows the writer down instead of filling memory.
 * Data is sent without copying it into a message (the packet wraps the caller's buffer); gRPC
 * serializes it before {@code write} returns, after which the caller may reuse the buffer.
 *
 * <p>Threading: {@link #write}, {@link #finish} and {@link #close} are for one writing thread;
 * {@link #syncedLength} and {@link #awaitSynced} may be called from any thread. A failure of the
 * stream (an error status from the chunkserver) is thrown as a {@link StatusRuntimeException} by
 * the next call that waits or writes; nothing written after the failing packet was applied.
 */
final class GrpcReplicaWriter implements ReplicaWriter {
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final long chunkId;
  private ClientCallStreamObserver<WriteReplicaRequest> requests;
  private long nextOffset;
  // Guarded by lock.
  private long syncedLength;
  private Status failure;
  private boolean completed;
  private boolean halfClosed;

  GrpcReplicaWriter(ChunkServerGrpc.ChunkServerStub stub, WriteReplicaHeader header) {
    this.chunkId = header.getChunkId();
    this.nextOffset = header.getStartOffset();
    this.syncedLength = header.getStartOffset();
    stub.writeReplica(new ClientResponseObserver<WriteReplicaRequest, WriteReplicaAck>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<WriteReplicaRequest> stream) {
        requests = stream;
        stream.setOnReadyHandler(GrpcReplicaWriter.this::signal);
      }

      @Override
      public void onNext(WriteReplicaAck ack) {
        lock.lock();
        try {
          syncedLength = Math.max(syncedLength, ack.getSyncedLength());
          changed.signalAll();
        } finally {
          lock.unlock();
        }
      }

      @Override
      public void onError(Throwable t) {
        lock.lock();
        try {
          failure = Status.fromThrowable(t);
          changed.signalAll();
        } finally {
          lock.unlock();
        }
      }

      @Override
      public void onCompleted() {
        lock.lock();
        try {
          completed = true;
          changed.signalAll();
        } finally {
          lock.unlock();
        }
      }
    });
    requests.onNext(WriteReplicaRequest.newBuilder().setHeader(header).build());
  }

  /**
   * Like {@link #write(ByteBuffer, boolean)}, but waits at most {@code readyTimeout} for flow
   * control before each packet, so that a chunkserver that stopped reading cannot block the
   * writer forever.
   *
   * @param readyTimeout the longest wait for room in the stream, {@code null} for no limit
   * @throws StatusRuntimeException if the stream has failed, or DEADLINE_EXCEEDED when the
   *     stream had no room for {@code readyTimeout} (the stream is left open: {@link #close} it)
   */
  @Override
  public void write(ByteBuffer data, boolean sync, Duration readyTimeout)
      throws InterruptedException {
    if (halfClosed) {
      throw new IllegalStateException("the writer is finished");
    }
    do {
      int take = Math.min(data.remaining(), ChunkServerLimits.DATA_MESSAGE_BYTES_MAX);
      ByteBuffer piece = data.slice(data.position(), take);
      boolean last = take == data.remaining();
      CRC32C crc = new CRC32C();
      crc.update(piece.duplicate());
      awaitReady(readyTimeout);
      requests.onNext(WriteReplicaRequest.newBuilder().setPacket(WritePacket.newBuilder()
          .setOffset(nextOffset)
          .setData(UnsafeByteOperations.unsafeWrap(piece))
          .setCrc32C((int) crc.getValue())
          .setSync(sync && last)).build());
      nextOffset += take;
      data.position(data.position() + take);
    } while (data.hasRemaining());
  }

  private void awaitReady(Duration timeout) throws InterruptedException {
    long deadline = timeout == null ? 0 : System.nanoTime() + timeout.toNanos();
    lock.lock();
    try {
      while (!requests.isReady()) {
        throwIfFailed();
        if (timeout == null) {
          changed.await();
          continue;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw Status.DEADLINE_EXCEEDED.withDescription("chunk " + Long.toUnsignedString(chunkId)
              + ": the chunkserver took no data for " + timeout).asRuntimeException();
        }
        changed.awaitNanos(left);
      }
      throwIfFailed();
    } finally {
      lock.unlock();
    }
  }

  private void signal() {
    lock.lock();
    try {
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** The offset the next {@link #write} starts at: the end of everything written. */
  @Override
  public long offset() {
    return nextOffset;
  }

  /** The largest durable length acknowledged so far (the start offset before any ack). */
  @Override
  public long syncedLength() {
    lock.lock();
    try {
      return syncedLength;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits until an ack covers {@code length} bytes.
   *
   * @return the acknowledged durable length, at least {@code length}
   * @throws StatusRuntimeException if the stream failed, or DEADLINE_EXCEEDED after {@code
   *     timeout}
   */
  @Override
  public long awaitSynced(long length, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    lock.lock();
    try {
      while (syncedLength < length) {
        throwIfFailed();
        if (completed) {
          throw Status.INTERNAL.withDescription("chunk " + Long.toUnsignedString(chunkId)
              + ": the stream completed at synced length " + syncedLength + ", below " + length)
              .asRuntimeException();
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw Status.DEADLINE_EXCEEDED.withDescription("chunk " + Long.toUnsignedString(chunkId)
              + ": no ack for " + length + " bytes within " + timeout).asRuntimeException();
        }
        changed.awaitNanos(left);
      }
      return syncedLength;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Ends the stream: the chunkserver syncs, acknowledges and completes. Waits for that.
   *
   * @return the durable length, which is the end of everything written
   * @throws StatusRuntimeException if the stream failed, or DEADLINE_EXCEEDED after {@code
   *     timeout} (the stream is then cancelled)
   */
  @Override
  public long finish(Duration timeout) throws InterruptedException {
    if (!halfClosed) {
      halfClosed = true;
      requests.onCompleted();
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    lock.lock();
    try {
      while (!completed) {
        throwIfFailed();
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          requests.cancel("no completion within " + timeout, null);
          throw Status.DEADLINE_EXCEEDED.withDescription("chunk " + Long.toUnsignedString(chunkId)
              + ": the write did not complete within " + timeout).asRuntimeException();
        }
        changed.awaitNanos(left);
      }
      throwIfFailed();
      return syncedLength;
    } finally {
      lock.unlock();
    }
  }

  /** Cancels the stream unless it has completed; unsynced packets may or may not be kept. */
  @Override
  public void close() {
    lock.lock();
    try {
      if (completed || failure != null) {
        return;
      }
    } finally {
      lock.unlock();
    }
    requests.cancel("writer closed", null);
  }

  private void throwIfFailed() {
    if (failure != null) {
      throw failure.asRuntimeException();
    }
  }
}
