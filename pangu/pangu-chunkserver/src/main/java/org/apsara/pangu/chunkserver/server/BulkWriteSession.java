package org.apsara.pangu.chunkserver.server;

import io.grpc.Status;
import io.grpc.StatusException;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
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
 * <p>Syncs run beside the stream: a packet that asks for one is appended, the sync is handed to
 * this session's sync task (on the server's sync executor), and the connection's thread goes on
 * reading and appending the next packets while the disk flushes. The sync task runs one sync at
 * a time; requests that arrive meanwhile are served together by the next one, which covers all
 * of them. An ack is still sent only after the sync that forced its bytes returned, and names the
 * length that sync returned (never a byte appended during its forces), so durability is
 * WriteReplica's: nothing is acknowledged that is not forced. FINISHED is sent by the sync that
 * follows the finishing packet, after every ack. A packet cut short by the connection is never
 * appended. After the first error (from either thread) the session sends it, applies nothing
 * more, sends nothing after it, and closes.
 *
 * <p>Timeouts are enforced by the server's watchdog, which closes the connection when the
 * deadline this session keeps moving ({@code deadline}) passes: {@link #IDLE_TIMEOUT} while
 * waiting for a packet or for the disk, the stall timeout while a packet is half received or a
 * message half sent.
 *
 * <p>Threading: {@link #run} runs on its connection's thread, once, and returns only after the
 * sync task ended; the sync task shares the socket's output with it under {@code sendLock}.
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
  private final Executor syncExecutor;
  private final ByteBuffer data;
  private final ByteBuffer packetHeader =
      ByteBuffer.allocateDirect(BulkWriteProtocol.PACKET_HEADER_BYTES);
  private final CRC32C crc = new CRC32C();
  private long chunkId;
  private long generation;

  /** Guards the sync task's state below; the connection's thread waits on it for the task. */
  private final Object syncState = new Object();
  /** Sync requests made so far (guarded by syncState). */
  private long syncsRequested;
  /** Sync requests the sync task has answered, by an ack or an error (guarded by syncState). */
  private long syncsServed;
  /** True once the finishing packet asked for its sync (guarded by syncState). */
  private boolean finishRequested;
  /** True while a sync task is scheduled or running (guarded by syncState). */
  private boolean syncTaskActive;
  /** Set when the session ends early: the sync task starts no further sync (syncState). */
  private boolean syncsStopped;
  /** Set by the sync task when a sync or its ack failed; the error went out already. */
  private volatile boolean syncFailed;

  /** Serializes writes to the socket between the connection's thread and the sync task. */
  private final Object sendLock = new Object();
  /** Only for the sync task's acks; the connection's thread owns nothing else in it. */
  private final ByteBuffer ack = ByteBuffer.allocateDirect(BulkWriteProtocol.ACK_BYTES);
  /** The length the last ack named, -1 before the first (guarded by sendLock). */
  private long ackedLength = -1;
  /** True once an error was sent or the output failed: nothing more goes out (sendLock). */
  private boolean outputDone;

  /** Guards the two deadlines; the watchdog gets the earlier of them. */
  private final Object deadlineLock = new Object();
  /** Set by the connection's thread: idle, stall or linger (guarded by deadlineLock). */
  private long readDeadlineNanos;
  /** While a message is being sent, when that send stalls; else none (deadlineLock). */
  private long sendDeadlineNanos = Long.MAX_VALUE;

  /**
   * @param data a direct buffer of at least {@link BulkWriteProtocol#PACKET_DATA_BYTES_MAX}
   *     bytes, this session's until {@link #run} returns
   * @param deadline sets the time ({@link MonotonicClock#nanos}) at which the watchdog closes
   *     the connection; called from the connection's thread and the sync task, never at once
   * @param syncExecutor runs this session's sync task (at most one at a time); if it refuses,
   *     the sync runs on the connection's thread instead
   */
  BulkWriteSession(SocketChannel channel, String peer, ReplicaSink sink, TokenGate tokens,
      ChunkServerMetrics metrics, MonotonicClock clock, Duration idleTimeout,
      Duration stallTimeout, LongConsumer deadline, Executor syncExecutor, ByteBuffer data) {
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
    this.syncExecutor = syncExecutor;
    this.data = data;
  }

  /**
   * Serves the write to its end: FINISHED sent, an error sent, or the connection lost. The
   * caller closes the connection afterwards. Returns only once no sync of this session runs.
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
    boolean finished = false;
    try {
      finished = receive(expected);
    } catch (IOException e) {
      if (!syncFailed) {
        throw e;
      }
      // The sync task sent an error and the client closed on reading it: that ended the write.
      LOG.debug("bulk write of chunk {} from {} ended after a failed sync: {}",
          Long.toUnsignedString(chunkId), peer, e.toString());
    } finally {
      awaitSyncs(finished);
    }
  }

  /**
   * Reads and appends packets until the finishing one (true), the client's close between packets
   * or an error already sent (false).
   */
  private boolean receive(long expected) throws IOException {
    while (true) {
      boolean more = readPacketHeader();
      if (syncFailed) {
        linger(); // the sync task sent the error; drop what the client still sends
        return false;
      }
      if (!more) {
        // The client closed between packets without finishing: it abandoned the write. What was
        // appended stays, durable up to the last sync; the master decides the replica's fate.
        LOG.debug("bulk write of chunk {} from {} ended without finishing at offset {}",
            Long.toUnsignedString(chunkId), peer, expected);
        return false;
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
        return false;
      }
      readData(dataBytes);
      if (syncFailed) {
        linger();
        return false;
      }
      moveDeadline(idleTimeoutNanos); // the disk may take a while; the client waits for it
      try {
        apply(offset, expectedCrc);
      } catch (StatusException e) {
        fail(e.getStatus());
        return false;
      } catch (IOException e) {
        Status status = StoreStatuses.toStatus(e).getStatus();
        if (status.getCode() == Status.Code.INTERNAL) {
          LOG.warn("bulk write of chunk {} failed", Long.toUnsignedString(chunkId), e);
        }
        fail(status);
        return false;
      }
      expected = offset + dataBytes;
      if (sync) {
        requestSync(finish);
      }
      if (finish) {
        return true;
      }
    }
  }

  private void apply(long offset, int expectedCrc) throws StatusException, IOException {
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
  }

  // ---------------------------------------------------------------- the sync task

  /**
   * Asks for a sync of everything appended so far (the packet just appended included) and, with
   * {@code finish}, for FINISHED after it; starts the sync task unless it is already active.
   */
  private void requestSync(boolean finish) {
    synchronized (syncState) {
      syncsRequested++;
      finishRequested |= finish;
      if (syncTaskActive) {
        return; // the running task serves this request in its next round
      }
      syncTaskActive = true;
    }
    try {
      syncExecutor.execute(this::serveSyncs);
    } catch (RejectedExecutionException e) {
      serveSyncs(); // the server is closing: sync here rather than not at all
    }
  }

  /**
   * The sync task: while requests are unanswered, one sync for all of them, then its ack (or
   * FINISHED once the finishing packet's request is among them). Stops at the first failure,
   * after sending it.
   */
  private void serveSyncs() {
    while (true) {
      long requested;
      boolean finishing;
      synchronized (syncState) {
        if (syncsStopped || syncFailed || syncsServed == syncsRequested) {
          syncTaskActive = false;
          syncState.notifyAll();
          return;
        }
        requested = syncsRequested;
        finishing = finishRequested;
      }
      long synced;
      try {
        synced = sink.sync(chunkId, generation);
      } catch (IOException e) {
        Status status = StoreStatuses.toStatus(e).getStatus();
        if (status.getCode() == Status.Code.INTERNAL) {
          LOG.warn("bulk write of chunk {}: a sync failed", Long.toUnsignedString(chunkId), e);
        }
        failFromSyncTask(status);
        continue;
      } catch (RuntimeException e) {
        LOG.error("bulk write of chunk {}: a sync failed", Long.toUnsignedString(chunkId), e);
        failFromSyncTask(Status.INTERNAL.withDescription("the sync failed: " + e));
        continue;
      }
      metrics.synced();
      // Only now, with the bytes forced, may the client hear of them: the ack names what the
      // sync returned, which never includes bytes appended while it forced. A request the
      // previous sync already covered gets no second ack of the same length.
      byte kind = finishing ? BulkWriteProtocol.MESSAGE_FINISHED : BulkWriteProtocol.MESSAGE_ACK;
      try {
        synchronized (sendLock) {
          if (!outputDone && (finishing || synced != ackedLength)) {
            sendLocked(BulkWriteProtocol.encodeAck(ack, kind, synced));
            ackedLength = synced;
          }
        }
      } catch (IOException e) {
        // The connection broke; its thread finds out from its next read.
        LOG.debug("bulk write of chunk {} from {}: sending an ack failed: {}",
            Long.toUnsignedString(chunkId), peer, e.toString());
        failFromSyncTask(null);
        continue;
      }
      synchronized (syncState) {
        syncsServed = requested;
      }
    }
  }

  /**
   * Ends the stream from the sync task: sends {@code status} (unless null: the output broke) and
   * shuts the output, so that a client waiting for an ack hears of the failure and closes; the
   * connection's thread then ends at its next read.
   */
  private void failFromSyncTask(Status status) {
    syncFailed = true;
    synchronized (sendLock) {
      if (outputDone) {
        return;
      }
      outputDone = true;
      try {
        if (status != null) {
          LOG.debug("bulk write of chunk {} from {} failed: {}",
              Long.toUnsignedString(chunkId), peer, status);
          sendLocked(BulkWriteProtocol.encodeError(status));
        }
        channel.shutdownOutput();
      } catch (IOException e) {
        LOG.debug("bulk write of chunk {} from {}: sending the error failed: {}",
            Long.toUnsignedString(chunkId), peer, e.toString());
      }
    }
  }

  /**
   * Waits until the sync task is idle: after the finishing packet, until it answered every
   * request (FINISHED sent or a failure); otherwise it starts no further sync and the one running
   * is waited for, so that no force of this write outlives the session.
   */
  private void awaitSyncs(boolean finished) {
    moveDeadline(idleTimeoutNanos); // the last force may take a while
    boolean interrupted = false;
    synchronized (syncState) {
      if (!finished) {
        syncsStopped = true;
      }
      while (syncTaskActive) {
        try {
          syncState.wait();
        } catch (InterruptedException e) {
          interrupted = true; // a force cannot be abandoned half done; finish waiting
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
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
    synchronized (sendLock) {
      if (!outputDone) {
        outputDone = true; // no ack of the sync task may follow the error
        sendLocked(BulkWriteProtocol.encodeError(status));
      }
    }
    linger();
  }

  /**
   * Ends the output and drops what the client still sends until it closes or {@link
   * #LINGER_TIMEOUT} passes: a close with unread input would reset the connection, and a reset
   * can discard the error before the client reads it.
   */
  private void linger() throws IOException {
    synchronized (sendLock) {
      outputDone = true;
      channel.shutdownOutput();
    }
    moveDeadline(LINGER_TIMEOUT.toNanos());
    data.clear();
    while (channel.read(data) >= 0) {
      data.clear();
    }
  }

  /** Sends {@code buffer} unless the output is done (an error went out). */
  private void send(ByteBuffer buffer) throws IOException {
    synchronized (sendLock) {
      if (!outputDone) {
        sendLocked(buffer);
      }
    }
  }

  /** Writes all of {@code buffer} under the stall timeout. Holds sendLock. */
  private void sendLocked(ByteBuffer buffer) throws IOException {
    synchronized (deadlineLock) {
      sendDeadlineNanos = clock.nanos() + stallTimeoutNanos;
      publishDeadline();
    }
    try {
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
    } finally {
      synchronized (deadlineLock) {
        sendDeadlineNanos = Long.MAX_VALUE;
        publishDeadline();
      }
    }
  }

  /** Moves the connection thread's deadline to {@code timeoutNanos} from now. */
  private void moveDeadline(long timeoutNanos) {
    synchronized (deadlineLock) {
      readDeadlineNanos = clock.nanos() + timeoutNanos;
      publishDeadline();
    }
  }

  /** Gives the watchdog the earlier deadline. Holds deadlineLock. */
  private void publishDeadline() {
    // Compared as a difference: nanos() may be negative, and MAX_VALUE stands for "none".
    long at = sendDeadlineNanos == Long.MAX_VALUE
        || readDeadlineNanos - sendDeadlineNanos < 0 ? readDeadlineNanos : sendDeadlineNanos;
    deadline.accept(at);
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
