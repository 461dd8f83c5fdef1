package org.apsara.pangu.client.chunkserver;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.client.chunkserver.BulkWriteProtocol.WriteHeader;

/**
 * A {@link ReplicaWriter} over the chunkserver's bulk write path ({@link BulkWriteProtocol}): one
 * plain TCP connection per replica, packets sent as one gathering write of a small header and
 * the caller's buffer (no copy when the buffer is direct), acknowledgements read back on the
 * same connection while packets keep going.
 *
 * <p>The connection is non-blocking and this writer has no thread: acknowledgements and errors
 * are read by the calls of the writing thread (before each packet, while waiting for room, and
 * while waiting for an ack), so a failure is thrown by the next call that writes or waits, as
 * with gRPC. Every failure of the connection (reset, closed, no progress within the timeout, a
 * message that makes no sense) is thrown as {@code UNAVAILABLE} or {@code DEADLINE_EXCEEDED},
 * and an error the chunkserver sent as its status: the same statuses a WriteReplica stream fails
 * with, so callers treat both alike.
 *
 * <p>Not thread-safe: every method, {@link #syncedLength} and {@link #awaitSynced} included, is
 * for the one writing thread.
 */
public final class BulkReplicaWriter implements ReplicaWriter {
  /** Longest wait for the connection to be accepted and the header answered. */
  public static final Duration OPEN_TIMEOUT_MAX = Duration.ofSeconds(5);
  /**
   * Bytes of server messages read at once: acks are 9 bytes, an error at most a few KiB, so
   * this holds everything a server has reason to send between two reads.
   */
  static final int INCOMING_BUFFER_BYTES = 8 << 10;

  private final SocketChannel channel;
  private final Selector selector;
  private final SelectionKey key;
  private final HostPort address;
  private final long chunkId;
  private final ByteBuffer packetHeader =
      ByteBuffer.allocateDirect(BulkWriteProtocol.PACKET_HEADER_BYTES);
  private final ByteBuffer incoming = ByteBuffer.allocateDirect(INCOMING_BUFFER_BYTES);
  private final ByteBuffer[] gather = new ByteBuffer[2];
  private final CRC32C crc = new CRC32C();
  private long nextOffset;
  private long syncedLength;
  private StatusRuntimeException failure;
  private boolean finishing;
  private boolean finished;
  private boolean closed;
  private boolean answered;
  private long openDeadlineNanos;

  private BulkReplicaWriter(SocketChannel channel, Selector selector, HostPort address,
      long chunkId, long startOffset) throws IOException {
    this.channel = channel;
    this.selector = selector;
    this.address = address;
    this.chunkId = chunkId;
    this.nextOffset = startOffset;
    this.syncedLength = startOffset;
    channel.configureBlocking(false);
    this.key = channel.register(selector, SelectionKey.OP_READ);
  }

  /**
   * Connects to the bulk port at {@code address}, sends the write's header and waits for its
   * answer (one round trip), so that a chunkserver that cannot take the write over this path is
   * known before any data goes out.
   *
   * <p>If the chunkserver refuses the write itself (a bad token, a stale generation, no such
   * replica, ...), the returned writer has failed with that status and throws it from its first
   * call, as a WriteReplica stream whose header is refused does.
   *
   * @param timeout the longest wait for the connection and for the answer, at most {@link
   *     #OPEN_TIMEOUT_MAX}
   * @throws StatusRuntimeException when the path itself failed ({@link
   *     BulkReadClient#isTransportFailure} is true for it: no connection, a connection limit, no
   *     answer): the same write may still go through WriteReplica
   */
  public static BulkReplicaWriter open(HostPort address, long chunkId, long generation,
      String token, boolean create, long startOffset, Duration timeout) {
    BulkReplicaWriter writer = start(address, chunkId, generation, token, create, startOffset,
        timeout);
    writer.awaitAnswer();
    return writer;
  }

  /**
   * The first half of {@link #open}: connects and sends the header, without waiting for the
   * answer, so that a writer of several replicas pays one round trip (and one replica creation)
   * for all of them. Call {@link #awaitAnswer} before anything else.
   *
   * @throws StatusRuntimeException as {@link #open} does, for a failure of the path itself
   */
  public static BulkReplicaWriter start(HostPort address, long chunkId, long generation,
      String token, boolean create, long startOffset, Duration timeout) {
    long timeoutNanos = Math.min(timeout.toNanos(), OPEN_TIMEOUT_MAX.toNanos());
    ByteBuffer header = BulkWriteProtocol.encodeHeader(
        new WriteHeader(chunkId, generation, startOffset, create, token));
    SocketChannel channel = null;
    Selector selector = null;
    try {
      channel = SocketChannel.open();
      // Acks, a finishing packet and sync requests are small: none may wait for a delayed ack.
      channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
      selector = Selector.open();
      BulkReplicaWriter writer = new BulkReplicaWriter(channel, selector, address, chunkId,
          startOffset);
      writer.openDeadlineNanos = System.nanoTime() + timeoutNanos;
      writer.sendHeader(header);
      return writer;
    } catch (IOException e) {
      closeQuietly(channel, selector);
      throw Status.UNAVAILABLE.withDescription("bulk write of chunk "
          + Long.toUnsignedString(chunkId) + " to " + address.format() + " could not start: " + e)
          .withCause(e).asRuntimeException();
    } catch (StatusRuntimeException e) {
      closeQuietly(channel, selector);
      throw e;
    }
  }

  /** Connects and sends the header. */
  private void sendHeader(ByteBuffer header) throws IOException {
    long deadline = openDeadlineNanos;
    key.interestOps(SelectionKey.OP_CONNECT);
    if (!channel.connect(new InetSocketAddress(address.host(), address.port()))) {
      while (!channel.finishConnect()) {
        selectUntil(deadline, "connecting");
      }
    }
    key.interestOps(SelectionKey.OP_READ);
    while (header.hasRemaining()) {
      if (channel.write(header) == 0) {
        key.interestOps(SelectionKey.OP_WRITE);
        selectUntil(deadline, "sending the header");
        key.interestOps(SelectionKey.OP_READ);
      }
    }
  }

  /**
   * The second half of {@link #open}: reads the answer to the header sent by {@link #start}. A
   * refusal of the write leaves this writer failed (its next call throws it).
   *
   * @throws StatusRuntimeException for a failure of the path itself ({@link
   *     BulkReadClient#isTransportFailure}); this writer is then closed
   */
  public void awaitAnswer() {
    if (answered) {
      return;
    }
    answered = true;
    try {
      readAnswer(openDeadlineNanos);
    } catch (IOException e) {
      closeConnection();
      throw Status.UNAVAILABLE.withDescription("bulk write of chunk "
          + Long.toUnsignedString(chunkId) + " to " + address.format() + " could not start: " + e)
          .withCause(e).asRuntimeException();
    } catch (StatusRuntimeException e) {
      closeConnection();
      throw e;
    }
  }

  /** Reads the answer: magic, status byte, and for a refusal a message. */
  private void readAnswer(long deadline) throws IOException {
    int need = 4 + 1;
    while (true) {
      if (channel.read(incoming) < 0) {
        throw new EOFException("the chunkserver closed the connection before answering");
      }
      if (incoming.position() >= need) {
        int magic = incoming.getInt(0);
        if (magic != BulkReadProtocol.RESPONSE_MAGIC) {
          throw new IOException(String.format("not a bulk write answer: magic 0x%08x", magic));
        }
        int code = Byte.toUnsignedInt(incoming.get(4));
        if (code == Status.Code.OK.value()) {
          consume(need);
          return;
        }
        if (incoming.position() >= need + 2) {
          int messageBytes = Short.toUnsignedInt(incoming.getShort(need));
          if (messageBytes > BulkReadProtocol.MESSAGE_BYTES_MAX) {
            throw new IOException("an error message of " + messageBytes + " bytes");
          }
          if (incoming.position() >= need + 2 + messageBytes) {
            byte[] message = new byte[messageBytes];
            incoming.get(need + 2, message);
            Status status = BulkWriteProtocol.errorStatus(code, message);
            if (BulkReadClient.isTransportFailure(status.asRuntimeException())) {
              // Not an answer about the replica (a connection limit, a closing server): the
              // caller writes through WriteReplica instead.
              throw status.asRuntimeException();
            }
            failure = status.asRuntimeException();
            closeConnection();
            return;
          }
        }
      }
      selectUntil(deadline, "waiting for the answer to the header");
    }
  }

  /** Waits for the key's interest or the deadline; a timeout is an IOException here. */
  private void selectUntil(long deadline, String what) throws IOException {
    long left = deadline - System.nanoTime();
    if (left <= 0) {
      throw new IOException("timed out " + what);
    }
    selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
    selector.selectedKeys().clear();
  }

  @Override
  public void write(ByteBuffer data, boolean sync, Duration readyTimeout)
      throws InterruptedException {
    if (finishing) {
      throw new IllegalStateException("the writer is finished");
    }
    do {
      int take = Math.min(data.remaining(), BulkWriteProtocol.PACKET_DATA_BYTES_MAX);
      ByteBuffer piece = data.slice(data.position(), take);
      boolean last = take == data.remaining();
      crc.reset();
      crc.update(piece.duplicate());
      byte flags = sync && last ? BulkWriteProtocol.PACKET_SYNC : 0;
      sendPacket(piece, flags, (int) crc.getValue(), readyTimeout);
      nextOffset += take;
      data.position(data.position() + take);
    } while (data.hasRemaining());
  }

  /** Sends one packet, header and data in gathering writes; reads what the server sent first. */
  private void sendPacket(ByteBuffer piece, byte flags, int crc32c, Duration timeout)
      throws InterruptedException {
    if (!answered) {
      throw new IllegalStateException("awaitAnswer() first");
    }
    // An interrupt pending at a channel operation would close the connection: report it as an
    // interrupt instead, before touching the channel.
    checkInterrupt();
    readAvailableQuietly();
    throwIfFailed();
    gather[0] = BulkWriteProtocol.encodePacketHeader(packetHeader, piece.remaining(), flags,
        nextOffset, crc32c);
    gather[1] = piece;
    long timeoutNanos = timeout == null ? Long.MAX_VALUE : timeout.toNanos();
    long deadline = System.nanoTime() + timeoutNanos;
    try {
      while (gather[0].hasRemaining() || gather[1].hasRemaining()) {
        if (channel.write(gather) > 0) {
          deadline = System.nanoTime() + timeoutNanos; // progress moves the deadline
          continue;
        }
        // No room: wait for it, reading acks (and an error) meanwhile.
        checkInterrupt();
        long left = timeout == null ? 0 : deadline - System.nanoTime();
        if (timeout != null && left <= 0) {
          // Half a packet may be on the wire: the connection cannot carry another one.
          throw fail(Status.DEADLINE_EXCEEDED.withDescription("chunk "
              + Long.toUnsignedString(chunkId) + ": the chunkserver at " + address.format()
              + " took no data for " + timeout));
        }
        key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
        selector.select(timeout == null ? 0 : Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        selector.selectedKeys().clear();
        key.interestOps(SelectionKey.OP_READ);
        readAvailable();
        throwIfFailed();
      }
    } catch (IOException e) {
      // The server may have said why before the connection broke.
      readAvailableQuietly();
      throwIfFailed();
      throw fail(transportFailure("sending to", e));
    } finally {
      gather[1] = null;
    }
  }

  @Override
  public long offset() {
    return nextOffset;
  }

  @Override
  public long syncedLength() {
    readAvailableQuietly();
    return syncedLength;
  }

  @Override
  public long awaitSynced(long length, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      readAvailableQuietly();
      if (syncedLength >= length) {
        return syncedLength;
      }
      throwIfFailed();
      if (finished) {
        throw Status.INTERNAL.withDescription("chunk " + Long.toUnsignedString(chunkId)
            + ": the write finished at synced length " + syncedLength + ", below " + length)
            .asRuntimeException();
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw Status.DEADLINE_EXCEEDED.withDescription("chunk " + Long.toUnsignedString(chunkId)
            + ": no ack for " + length + " bytes within " + timeout).asRuntimeException();
      }
      awaitReadable(left);
    }
  }

  @Override
  public long finish(Duration timeout) throws InterruptedException {
    if (!finishing) {
      finishing = true;
      sendPacket(ByteBuffer.allocate(0), BulkWriteProtocol.PACKET_FINISH, 0, timeout);
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!finished) {
      readAvailableQuietly();
      throwIfFailed();
      if (finished) {
        break;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        close();
        throw Status.DEADLINE_EXCEEDED.withDescription("chunk " + Long.toUnsignedString(chunkId)
            + ": the write did not complete within " + timeout).asRuntimeException();
      }
      awaitReadable(left);
    }
    closeConnection();
    return syncedLength;
  }

  @Override
  public void close() {
    closeConnection();
  }

  /** Waits at most {@code nanos} for something to read. */
  private void awaitReadable(long nanos) throws InterruptedException {
    checkInterrupt();
    if (closed) {
      return; // failed: the caller throws
    }
    try {
      selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(nanos)));
      selector.selectedKeys().clear();
    } catch (IOException e) {
      fail(transportFailure("waiting for", e));
    }
  }

  /** Reads and handles every server message that arrived; a broken connection fails the writer. */
  private void readAvailableQuietly() {
    try {
      readAvailable();
    } catch (IOException e) {
      fail(transportFailure("reading from", e));
    }
  }

  private void readAvailable() throws IOException {
    while (!closed) {
      int n = channel.read(incoming);
      parseMessages();
      if (n < 0) {
        if (!finished && failure == null) {
          fail(Status.UNAVAILABLE.withDescription("chunk " + Long.toUnsignedString(chunkId)
              + ": the chunkserver at " + address.format() + " closed the bulk write connection"
              + " at synced length " + syncedLength));
        }
        closeConnection();
        return;
      }
      if (n == 0) {
        return;
      }
    }
  }

  /** Handles the whole messages at the start of {@link #incoming}. */
  private void parseMessages() throws IOException {
    while (incoming.position() > 0 && failure == null) {
      byte kind = incoming.get(0);
      switch (kind) {
        case BulkWriteProtocol.MESSAGE_ACK, BulkWriteProtocol.MESSAGE_FINISHED -> {
          if (incoming.position() < BulkWriteProtocol.ACK_BYTES) {
            return;
          }
          long synced = incoming.getLong(1);
          if (synced < syncedLength || synced > nextOffset) {
            throw new IOException("chunk " + Long.toUnsignedString(chunkId) + ": an ack of "
                + synced + " bytes, but " + syncedLength + " were acknowledged and " + nextOffset
                + " sent");
          }
          syncedLength = synced;
          finished |= kind == BulkWriteProtocol.MESSAGE_FINISHED;
          consume(BulkWriteProtocol.ACK_BYTES);
        }
        case BulkWriteProtocol.MESSAGE_ERROR -> {
          if (incoming.position() < 4) {
            return;
          }
          int messageBytes = Short.toUnsignedInt(incoming.getShort(2));
          if (messageBytes > BulkReadProtocol.MESSAGE_BYTES_MAX) {
            throw new IOException("an error message of " + messageBytes + " bytes");
          }
          if (incoming.position() < 4 + messageBytes) {
            return;
          }
          byte[] message = new byte[messageBytes];
          incoming.get(4, message);
          fail(BulkWriteProtocol.errorStatus(Byte.toUnsignedInt(incoming.get(1)), message));
          consume(4 + messageBytes);
        }
        default -> throw new IOException(String.format("chunk %s: an unknown message 0x%02x from"
            + " the chunkserver", Long.toUnsignedString(chunkId), kind));
      }
    }
  }

  /** Drops the first {@code bytes} of {@link #incoming}, keeping what follows. */
  private void consume(int bytes) {
    incoming.flip().position(bytes);
    incoming.compact();
  }

  private StatusRuntimeException fail(Status status) {
    if (failure == null) {
      failure = status.asRuntimeException();
    }
    closeConnection();
    return failure;
  }

  private Status transportFailure(String what, IOException e) {
    return Status.UNAVAILABLE.withDescription("chunk " + Long.toUnsignedString(chunkId) + ": "
        + what + " the chunkserver at " + address.format() + " failed: " + e).withCause(e);
  }

  private void throwIfFailed() {
    if (failure != null) {
      throw failure;
    }
  }

  private static void checkInterrupt() throws InterruptedException {
    if (Thread.interrupted()) {
      throw new InterruptedException();
    }
  }

  private void closeConnection() {
    if (!closed) {
      closed = true;
      closeQuietly(channel, selector);
    }
  }

  private static void closeQuietly(SocketChannel channel, Selector selector) {
    try {
      if (selector != null) {
        selector.close();
      }
    } catch (IOException e) {
      // Nothing to do: the selector is gone either way.
    }
    try {
      if (channel != null) {
        channel.close();
      }
    } catch (IOException e) {
      // Nothing to do: the connection is gone either way.
    }
  }
}
