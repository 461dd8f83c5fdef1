package org.apsara.pangu.client.chunkserver;

import io.grpc.StatusRuntimeException;
import java.nio.ByteBuffer;
import java.time.Duration;
import org.apsara.pangu.api.ChunkServerLimits;

/**
 * Appends pipelined packets to one replica and tracks the durable length the chunkserver
 * acknowledges. Two transports implement it with the same behaviour: a gRPC WriteReplica stream
 * ({@link ChunkServerClient#openWriter}) and the plain TCP bulk write path ({@link
 * BulkReplicaWriter}, see {@link BulkWriteProtocol}).
 *
 * <p>Guarantees: packets are applied in the order written, each whole or not at all; an
 * acknowledged length is durable on the chunkserver's disk. {@link #write} sends without waiting
 * for acknowledgements and blocks only while the transport has no room (a slow disk slows the
 * writer instead of filling memory); once it returns, the caller may reuse the buffer.
 *
 * <p>Failures: any failure of the replica (an error status from the chunkserver, a broken
 * connection, no room or no ack within a timeout) is thrown as a {@link StatusRuntimeException}
 * by the call that notices it and by every later call that waits or writes; nothing written after
 * the failing packet was applied. A writer that fails this way is done: {@link #close} it.
 *
 * <p>Threading: {@link #write}, {@link #finish} and {@link #close} are for one writing thread;
 * whether {@link #syncedLength} and {@link #awaitSynced} may be called from other threads depends
 * on the implementation (the gRPC one allows it, the bulk one does not).
 */
public interface ReplicaWriter extends AutoCloseable {
  /**
   * Appends all of {@code data} (position to limit) at the current offset, in packets of at most
   * {@link ChunkServerLimits#DATA_MESSAGE_BYTES_MAX}; with {@code sync}, the last packet asks the
   * chunkserver to force everything to disk and acknowledge it. Returns once the packets are
   * handed to the transport, not when they are applied; {@code data}'s position is then at its
   * limit.
   *
   * @throws StatusRuntimeException if the replica has failed
   * @throws InterruptedException if interrupted while waiting for room
   */
  default void write(ByteBuffer data, boolean sync) throws InterruptedException {
    write(data, sync, null);
  }

  /**
   * Like {@link #write(ByteBuffer, boolean)}, but waits at most {@code readyTimeout} for room
   * before each packet, so that a chunkserver that stopped reading cannot block the writer
   * forever.
   *
   * @param readyTimeout the longest wait for room, {@code null} for no limit
   * @throws StatusRuntimeException if the replica has failed, or DEADLINE_EXCEEDED when there
   *     was no room for {@code readyTimeout}
   */
  void write(ByteBuffer data, boolean sync, Duration readyTimeout) throws InterruptedException;

  /** The offset the next {@link #write} starts at: the end of everything written. */
  long offset();

  /** The largest durable length acknowledged so far (the start offset before any ack). */
  long syncedLength();

  /**
   * Waits until an ack covers {@code length} bytes.
   *
   * @return the acknowledged durable length, at least {@code length}
   * @throws StatusRuntimeException if the replica failed, or DEADLINE_EXCEEDED after {@code
   *     timeout}
   */
  long awaitSynced(long length, Duration timeout) throws InterruptedException;

  /**
   * Ends the write: the chunkserver syncs, acknowledges and completes. Waits for that.
   *
   * @return the durable length, which is the end of everything written
   * @throws StatusRuntimeException if the replica failed, or DEADLINE_EXCEEDED after {@code
   *     timeout} (the write is then abandoned)
   */
  long finish(Duration timeout) throws InterruptedException;

  /**
   * Abandons the write unless it has finished; what was not acknowledged may or may not be kept.
   * Never throws.
   */
  @Override
  void close();
}
