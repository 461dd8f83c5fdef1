package org.apsara.pangu.client;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Direct buffers for the packets of a client's output streams, reused across streams: a direct
 * buffer is sent to every replica without a copy, but allocating one zeroes it and frees it only
 * when the collector gets to it, which a client creating many files must not pay per file.
 *
 * <p>Ownership: a buffer taken belongs to the taker until given back; give back only a buffer
 * nothing refers to any more (no stream, no retained copy, no replica writer). Thread-safe.
 */
final class PacketBuffers {
  /** Most free buffers kept: two streams' worth of in-flight packets at the default sizes. */
  static final int KEPT_MAX = 2 * ((int) (PanguOutputStream.UNACKED_BYTES_MAX
      / PanguOutputStream.PACKET_BYTES_MAX) + 1);

  private final int bufferBytes;
  private final ConcurrentLinkedQueue<ByteBuffer> free = new ConcurrentLinkedQueue<>();
  private final AtomicInteger freeCount = new AtomicInteger();

  /** @param bufferBytes the size of the buffers kept; other sizes are allocated each time */
  PacketBuffers(int bufferBytes) {
    this.bufferBytes = bufferBytes;
  }

  /** A cleared direct buffer of {@code bytes} capacity. */
  ByteBuffer take(int bytes) {
    if (bytes == bufferBytes) {
      ByteBuffer buffer = free.poll();
      if (buffer != null) {
        freeCount.decrementAndGet();
        return buffer.clear();
      }
    }
    return ByteBuffer.allocateDirect(bytes);
  }

  /** Keeps {@code buffer} for a later {@link #take} if it is one of the kept size and there is room. */
  void give(ByteBuffer buffer) {
    if (!buffer.isDirect() || buffer.capacity() != bufferBytes) {
      return;
    }
    if (freeCount.incrementAndGet() > KEPT_MAX) {
      freeCount.decrementAndGet();
      return;
    }
    free.offer(buffer.clear());
  }

  /** Free buffers kept now; for tests. */
  int freeCount() {
    return freeCount.get();
  }
}
