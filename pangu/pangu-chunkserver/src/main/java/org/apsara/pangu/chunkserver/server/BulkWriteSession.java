package org.apsara.pangu.chunkserver.server;

import io.grpc.Status;
import io.grpc.StatusException;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.List;
import java.util.function.LongConsumer;
import java.util.zip.CRC32C;
import org.apsara.common.time.MonotonicClock;
import org.apsara.pangu.api.ChunkCapabilities;
import org.apsara.pangu.client.chunkserver.BulkReadProtocol;
import org.apsara.pangu.client.chunkserver.BulkWriteProtocol;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of one bulk write ({@link BulkWriteProtocol}) on a connection of the bulk data
 * port: the header checked as WriteReplica checks its own, then packets read straight from the
 * socket into a direct buffer and appended in order through the same {@link ReplicaSink} calls
 * as WriteReplica, with the same statuses. The store checksums every 4 KiB block as it appends.
 *
 * <p>Durability is WriteReplica's: an ack (or FINISHED) names the synced length the store
 * returned, and is written to the socket only after that sync forced the bytes; a packet cut
 * short by the connection is never appended. After the first error the session sends it, stops
 * applying packets and closes.
 *
 * <p>Timeouts are enforced by the server's watchdog, which closes the connection when the
 * deadline this session keeps moving ({@code deadline}) passes: {@link #IDLE_TIMEOUT} while
 * waiting for a packet or for the disk, the stall timeout while a packet is half received or an
 * ack half sent.
 *
 * <p>Not thread-safe: runs on its connection's thread, once.
 */
final class BulkWriteSession {
  private static final Logger LOG = LoggerFactory.getLogger(BulkWriteSession.class);
  private static final List<String> WRITE = List.of(ChunkCapabilities.WRITE);

  /**
   * How long a write may wait for its next packet: longer than any pause a live writer makes
   * between hsyncs of a slowly growing file (a gRPC stream has no such limit), short enough that
   * a writer that vanished without closing its connection frees the thread within minutes. A
   * writer idle longer loses the connection and continues in a new chunk, as after any replica
   * failure.
   */
  static final Duration IDLE_TIMEOUT = Duration.ofMinutes(10);
  /**
   * How long the server keeps reading (and dropping) what the client still sends after an
   * error, so that closing does not reset the connection before the client read the error.
   */
  static final Duration LINGER_TIMEOUT = Duration.ofSeconds(2);

  /** Where a bulk write's packets go: the chunk store, or a test's wrapper around it. */
  interface ReplicaSink {
    /** Like {@link WriteReplicaCall#prepare}. */
    void prepare(long chunkId, long generation, long startOffset, boolean create)
        throws StatusException, IOException;

    /** Like {@link org.apsara.pangu.chunkserver.store.ChunkStore#append}. */
    void append(long chunkId, long generation, long offset, ByteBuffer data) throws IOException;

    /** Like {@link org.apsara.pangu.chunkserver.store.ChunkStore#sync}. */
    long sync(long chunkId, long generation) throws IOException;
  }

  /** The header of a write, as parsed from the wire. */
  record Header(long chunkId, long generation, long startOffset, long flags, String token) {}

  private final SocketChannel channel;
  private final String peer;
  private final ReplicaSink sink;
  private final TokenGate tokens;
  private final ChunkServerMetrics metrics;
  private final MonotonicClock clock;
  private final long idleTimeoutNanos;
  private final long stallTimeoutNanos;
  private final LongConsumer deadline;
  private final ByteBuffer data;
  private final ByteBuffer packetHeader =
      ByteBuffer.allocateDirect(BulkWriteProtocol.PACKET_HEADER_BYTES);
  private final ByteBuffer ack = ByteBuffer.allocateDirect(BulkWriteProtocol.ACK_BYTES);
  private final CRC32C crc = new CRC32C();
  private long chunkId;
  private long generation;

  /**
   * @param data a direct buffer of at least {@link BulkWriteProtocol#PACKET_DATA_BYTES_MAX}
   *     bytes, this session's until {@link #run} returns
   * @param deadline sets the time ({@link MonotonicClock#nanos}) at which the watchdog closes
   *     the connection
   */
  BulkWriteSession(SocketChannel channel, String peer, ReplicaSink sink, TokenGate tokens,
      ChunkServerMetrics metrics, MonotonicClock clock, Duration idleTimeout,
      Duration stallTimeout, LongConsumer deadline, ByteBuffer data) {
    if (!data.isDirect() || data.capacity() < BulkWriteProtocol.PACKET_DATA_BYTES_MAX) {
      throw new IllegalArgumentException("a bulk write needs a direct buffer of "
          + BulkWriteProtocol.PACKET_DATA_BYTES_MAX + " bytes");
    }
    this.channel = channel;
    this.peer = peer;
    this.sink = sink;
    this.tokens = tokens;
    this.metrics = metrics;
    this.clock = clock;
    this.idleTimeoutNanos = idleTimeout.toNanos();
    this.stallTimeoutNanos = stallTimeout.toNanos();
    this.deadline = deadline;
    this.data = data;
  }

  /**
   * Serves the write to its end: FINISHED sent, an error sent, or the connection lost. The
   * caller closes the connection afterwards.
   *
   * @throws IOException if the connection failed (nothing more can be said to the client)
   */
  void run(Header header) throws IOException {
    long expected;
    try {
      chunkId = ChunkServiceImpl.checkChunkId(header.chunkId());
      generation = ChunkServiceImpl.checkGeneration(header.generation());
      tokens.check(header.token(), chunkId, WRITE);
      if ((header.flags() & ~BulkWriteProtocol.FLAG_CREATE) != 0) {
        throw invalid(String.format("unknown write flags 0x%x", header.flags()));
      }
      moveDeadline(idleTimeoutNanos);
      sink.prepare(chunkId, generation, header.startOffset(),
          (header.flags() & BulkWriteProtocol.FLAG_CREATE) != 0);
      expected = header.startOffset();
    } catch (StatusException e) {
      refuse(e.getStatus());
      return;
    } catch (IOException e) {
      refuse(StoreStatuses.toStatus(e).getStatus());
      return;
    }
    ByteBuffer accepted = ByteBuffer.allocate(4 + 1);
    accepted.putInt(BulkReadProtocol.RESPONSE_MAGIC).put((byte) Status.Code.OK.value()).flip();
    send(accepted);
    while (true) {
      if (!readPacketHeader()) {
        // The client closed between packets without finishing: it abandoned the write. What was
        // appended stays, durable up to the last sync; the master decides the replica's fate.
        LOG.debug("bulk write of chunk {} from {} ended without finishing at offset {}",
            Long.toUnsignedString(chunkId), peer, expected);
        return;
      }
      int dataBytes = packetHeader.getInt(0);
      byte flags = packetHeader.get(4);
      long offset = packetHeader.getLong(5);
      int expectedCrc = packetHeader.getInt(13);
      boolean finish = (flags & BulkWriteProtocol.PACKET_FINISH) != 0;
      boolean sync = finish || (flags & BulkWriteProtocol.PACKET_SYNC) != 0;
      try {
        if (dataBytes < 0 || dataBytes > BulkWriteProtocol.PACKET_DATA_BYTES_MAX) {
          throw invalid("a packet carries at most " + BulkWriteProtocol.PACKET_DATA_BYTES_MAX
              + " bytes, this one " + dataBytes);
        }
        if ((flags & ~(BulkWriteProtocol.PACKET_SYNC | BulkWriteProtocol.PACKET_FINISH)) != 0) {
          throw invalid(String.format("unknown packet flags 0x%02x", flags));
        }
        if (finish && dataBytes != 0) {
          throw invalid("the finishing packet carries no data, this one " + dataBytes);
        }
      } catch (StatusException e) {
        // The stream cannot be followed past a header that makes no sense.
        fail(e.getStatus());
        return;
      }
      readData(dataBytes);
      moveDeadline(idleTimeoutNanos); // the disk may take a while; the client waits for it
      try {
        apply(offset, expectedCrc, sync, finish);
      } catch (StatusException e) {
        fail(e.getStatus());
        return;
      } catch (IOException e) {
        Status status = StoreStatuses.toStatus(e).getStatus();
        if (status.getCode() == Status.Code.INTERNAL) {
          LOG.warn("bulk write of chunk {} failed", Long.toUnsignedString(chunkId), e);
        }
        fail(status);
        return;
      }
      expected = offset + dataBytes;
      if (finish) {
        return;
      }
    }
  }

  private void apply(long offset, int expectedCrc, boolean sync, boolean finish)
      throws StatusException, IOException {
    int dataBytes = data.remaining();
    crc.reset();
    crc.update(data.duplicate());
    if ((int) crc.getValue() != expectedCrc) {
      throw Status.DATA_LOSS.withDescription(String.format("chunk %d: the packet at offset %d"
              + " (%d bytes) arrived with CRC32C 0x%08x but was sent with 0x%08x; nothing of it"
              + " was applied", chunkId, offset, dataBytes, (int) crc.getValue(), expectedCrc))
          .asException();
    }
    sink.append(chunkId, generation, offset, data);
    metrics.bulkWritten(dataBytes);
    if (sync) {
      long synced = sink.sync(chunkId, generation);
      metrics.synced();
      // Only now, with the bytes forced, may the client hear of them.
      byte kind = finish ? BulkWriteProtocol.MESSAGE_FINISHED : BulkWriteProtocol.MESSAGE_ACK;
      send(BulkWriteProtocol.encodeAck(ack, kind, synced));
    }
  }

  /** Reads the next packet's header; false if the client closed the connection before it. */
  private boolean readPacketHeader() throws IOException {
    moveDeadline(idleTimeoutNanos);
    packetHeader.clear();
    if (channel.read(packetHeader) < 0) {
      return false;
    }
    moveDeadline(stallTimeoutNanos);
    readFully(packetHeader, "a packet's header");
    return true;
  }

  private void readData(int dataBytes) throws IOException {
    data.clear().limit(dataBytes);
    moveDeadline(stallTimeoutNanos);
    while (data.hasRemaining()) {
      if (channel.read(data) < 0) {
        throw new EOFException("the client closed the connection within a packet of chunk "
            + Long.toUnsignedString(chunkId) + "; the packet was not applied");
      }
      // Progress: a slow client gets the stall timeout per read, not per packet.
      moveDeadline(stallTimeoutNanos);
    }
    data.flip();
  }

  private void readFully(ByteBuffer buffer, String what) throws IOException {
    while (buffer.hasRemaining()) {
      if (channel.read(buffer) < 0) {
        throw new EOFException("the client closed the connection within " + what);
      }
    }
  }

  /** Refuses the header: the answer carries the error. */
  private void refuse(Status status) throws IOException {
    LOG.debug("bulk write of chunk {} from {} refused: {}", Long.toUnsignedString(chunkId), peer,
        status);
    byte[] message = BulkReadProtocol.messageBytes(status.getDescription());
    ByteBuffer answer = ByteBuffer.allocate(4 + 1 + 2 + message.length);
    answer.putInt(BulkReadProtocol.RESPONSE_MAGIC).put((byte) status.getCode().value())
        .putShort((short) message.length).put(message).flip();
    send(answer);
    linger();
  }

  /** Fails the write after its answer: the error message, then no more packets. */
  private void fail(Status status) throws IOException {
    LOG.debug("bulk write of chunk {} from {} failed: {}", Long.toUnsignedString(chunkId), peer,
        status);
    send(BulkWriteProtocol.encodeError(status));
    linger();
  }

  /**
   * Ends the output and drops what the client still sends until it closes or {@link
   * #LINGER_TIMEOUT} passes: a close with unread input would reset the connection, and a reset
   * can discard the error before the client reads it.
   */
  private void linger() throws IOException {
    channel.shutdownOutput();
    moveDeadline(LINGER_TIMEOUT.toNanos());
    data.clear();
    while (channel.read(data) >= 0) {
      data.clear();
    }
  }

  private void send(ByteBuffer buffer) throws IOException {
    moveDeadline(stallTimeoutNanos);
    while (buffer.hasRemaining()) {
      channel.write(buffer);
    }
  }

  private void moveDeadline(long timeoutNanos) {
    deadline.accept(clock.nanos() + timeoutNanos);
  }

  private static StatusException invalid(String message) {
    return Status.INVALID_ARGUMENT.withDescription(message).asException();
  }

  /** The production sink: the chunk store. */
  static ReplicaSink storeSink(org.apsara.pangu.chunkserver.store.ChunkStore store) {
    return new ReplicaSink() {
      @Override
      public void prepare(long chunkId, long generation, long startOffset, boolean create)
          throws StatusException, IOException {
        WriteReplicaCall.prepare(store, chunkId, generation, startOffset, create);
      }

      @Override
      public void append(long chunkId, long generation, long offset, ByteBuffer data)
          throws IOException {
        store.append(chunkId, generation, offset, data);
      }

      @Override
      public long sync(long chunkId, long generation) throws IOException {
        return store.sync(chunkId, generation);
      }
    };
  }
}
