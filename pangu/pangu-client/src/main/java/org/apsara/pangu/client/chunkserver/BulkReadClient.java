package org.apsara.pangu.client.chunkserver;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.zip.CRC32C;
import org.apsara.common.net.HostPort;
import org.apsara.common.time.MonotonicClock;
import org.apsara.pangu.client.chunkserver.BulkReadProtocol.ReadRequest;

/**
 * A client of one chunkserver's bulk read path ({@link BulkReadProtocol}): reads replica ranges
 * over plain TCP connections, kept open between reads, and verifies every block against the
 * checksum the chunkserver stored for it.
 *
 * <p>Errors are {@link StatusRuntimeException}s, as with {@link ChunkServerClient}: the status the
 * chunkserver answered (the same codes as {@code ReadReplica}), {@code DATA_LOSS} for a block
 * that fails its checksum on arrival (the replica, or what carried it, is corrupt), and {@code
 * UNAVAILABLE} when the connection fails (refused, closed, timed out, or speaking something else);
 * {@link #isTransportFailure} tells the last kind apart, after which a caller should read the same
 * replica through gRPC instead.
 *
 * <p>Thread-safe: each read takes a connection of its own, an idle one if there is one. At most
 * {@value #IDLE_CONNECTIONS_MAX} idle connections are kept, each at most {@link
 * #IDLE_CONNECTION_AGE_MAX} (less than the server's idle timeout, so that a kept connection is
 * rarely one the server already closed; if it is, the read is retried once on a new one).
 */
public final class BulkReadClient implements AutoCloseable {
  /** Idle connections kept: one per concurrent reader of a busy client, beyond that they close. */
  public static final int IDLE_CONNECTIONS_MAX = 8;
  /** How long an idle connection is kept; the server closes its end after 60 s. */
  public static final Duration IDLE_CONNECTION_AGE_MAX = Duration.ofSeconds(20);
  /** Longest wait for a connection to be accepted, however long the read may take. */
  public static final Duration CONNECT_TIMEOUT_MAX = Duration.ofSeconds(5);
  /** Bytes buffered per connection for headers and checksums; data bypasses the buffer. */
  static final int HEADER_BUFFER_BYTES = 64 << 10;

  private final HostPort address;
  private final MonotonicClock clock;
  private final ArrayDeque<Connection> idle = new ArrayDeque<>();
  private boolean closed;

  /**
   * @param address the chunkserver's host and its bulk read port
   */
  public BulkReadClient(HostPort address, MonotonicClock clock) {
    this.address = Objects.requireNonNull(address, "address");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  public HostPort address() {
    return address;
  }

  /**
   * Marks a status the chunkserver answered, as against one this client concluded from the
   * connection.
   */
  private static final Metadata.Key<String> ANSWERED =
      Metadata.Key.of("x-pangu-bulk-answered", Metadata.ASCII_STRING_MARSHALLER);

  /**
   * True for a failure of the connection rather than an answer of the chunkserver about the
   * replica: the same read may still succeed through gRPC. An error the chunkserver answered (a
   * failed disk is INTERNAL) is about the replica, unless it is one of the limits of its bulk
   * port (UNAVAILABLE, RESOURCE_EXHAUSTED).
   */
  public static boolean isTransportFailure(StatusRuntimeException e) {
    Metadata trailers = e.getTrailers();
    if (trailers != null && trailers.containsKey(ANSWERED)) {
      Status.Code code = e.getStatus().getCode();
      return code == Status.Code.UNAVAILABLE || code == Status.Code.RESOURCE_EXHAUSTED;
    }
    return switch (e.getStatus().getCode()) {
      case UNAVAILABLE, RESOURCE_EXHAUSTED, INTERNAL, UNKNOWN, DEADLINE_EXCEEDED, CANCELLED,
          UNIMPLEMENTED -> true;
      default -> false;
    };
  }

  /**
   * Starts a read of {@code length} bytes at {@code offset}: sends the request and reads the
   * answer's header, so that a refusal (a bad token, a stale generation, a range past the
   * replica's readable length) fails here. Read the data with {@link BulkReadStream#read}; close
   * the stream when done.
   *
   * @param timeout the longest wait for any one step (connecting at most {@link
   *     #CONNECT_TIMEOUT_MAX}, then each read from the connection)
   */
  public BulkReadStream openRead(long chunkId, long generation, long offset, long length,
      String token, Duration timeout) {
    if (offset < 0 || length < 0 || offset + length < 0) {
      throw Status.OUT_OF_RANGE.withDescription("offset " + offset + " and length " + length
          + " are out of any replica's range").asRuntimeException();
    }
    ByteBuffer request = BulkReadProtocol.encodeRequest(
        new ReadRequest(chunkId, generation, offset, length, token));
    int timeoutMs = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    Connection reused = takeIdle();
    if (reused != null) {
      try {
        return start(reused, chunkId, offset, length, request.duplicate(), timeoutMs);
      } catch (IOException e) {
        // The server may have closed it while it sat idle: a new connection decides.
        reused.close();
      }
    }
    Connection connection = null;
    try {
      connection = connect(timeoutMs);
      return start(connection, chunkId, offset, length, request, timeoutMs);
    } catch (IOException e) {
      if (connection != null) {
        connection.close();
      }
      throw transportFailure(chunkId, e);
    }
  }

  private BulkReadStream start(Connection connection, long chunkId, long offset, long length,
      ByteBuffer request, int timeoutMs) throws IOException {
    connection.socket.setSoTimeout(timeoutMs);
    connection.out.write(request.array(), request.position(), request.remaining());
    connection.out.flush();
    DataInputStream in = connection.in;
    BulkReadProtocol.readResponseMagic(in);
    int code = in.readUnsignedByte();
    if (code != Status.Code.OK.value()) {
      Status status = BulkReadProtocol.readStatus(code, in);
      // The request was answered in full: the connection takes the next one.
      giveBack(connection);
      Metadata answered = new Metadata();
      answered.put(ANSWERED, "1");
      throw status.asRuntimeException(answered);
    }
    long dataStart = in.readLong();
    long dataLength = in.readLong();
    long end = offset + length;
    long expectedStart = BulkReadProtocol.blockStart(offset);
    long dataEndMax = length == 0 ? expectedStart : BulkReadProtocol.blockStart(end - 1)
        + BulkReadProtocol.BLOCK_BYTES;
    if (length == 0 && dataLength == 0) {
      giveBack(connection);
      return new BulkReadStream(this, null, chunkId, offset, offset, offset, offset);
    }
    if (dataStart != expectedStart || dataLength < end - dataStart
        || dataStart + dataLength > dataEndMax) {
      throw new IOException("chunk " + Long.toUnsignedString(chunkId) + ": the answer covers "
          + dataLength + " bytes at " + dataStart + ", which does not fit a read of " + length
          + " bytes at " + offset);
    }
    return new BulkReadStream(this, connection, chunkId, offset, end, dataStart,
        dataStart + dataLength);
  }

  private Connection connect(int timeoutMs) throws IOException {
    Socket socket = new Socket();
    try {
      // Small requests and a response that ends in a partial segment: never wait for an ack.
      socket.setTcpNoDelay(true);
      socket.connect(new InetSocketAddress(address.host(), address.port()),
          (int) Math.min(timeoutMs, CONNECT_TIMEOUT_MAX.toMillis()));
      return new Connection(socket);
    } catch (IOException e) {
      socket.close();
      throw e;
    }
  }

  private synchronized Connection takeIdle() {
    long now = clock.nanos();
    while (!idle.isEmpty()) {
      Connection connection = idle.pollLast();
      if (now - connection.idleSinceNanos < IDLE_CONNECTION_AGE_MAX.toNanos()) {
        return connection;
      }
      connection.close();
    }
    return null;
  }

  /** Keeps a connection whose last response was read in full, or closes it. */
  void giveBack(Connection connection) {
    synchronized (this) {
      if (!closed && idle.size() < IDLE_CONNECTIONS_MAX) {
        connection.idleSinceNanos = clock.nanos();
        idle.addLast(connection);
        return;
      }
    }
    connection.close();
  }

  /** Idle connections kept now; for tests. */
  synchronized int idleConnections() {
    return idle.size();
  }

  StatusRuntimeException transportFailure(long chunkId, IOException e) {
    String what = e instanceof SocketTimeoutException ? "timed out" : "failed";
    return Status.UNAVAILABLE.withDescription("bulk read of chunk "
        + Long.toUnsignedString(chunkId) + " from " + address.format() + " " + what + ": " + e)
        .withCause(e).asRuntimeException();
  }

  /** Closes the idle connections; reads in progress finish and then close theirs. */
  @Override
  public void close() {
    synchronized (this) {
      closed = true;
    }
    Connection connection;
    while ((connection = takeAny()) != null) {
      connection.close();
    }
  }

  private synchronized Connection takeAny() {
    return idle.pollLast();
  }

  /** One TCP connection to the chunkserver's bulk port. */
  static final class Connection {
    final Socket socket;
    final DataInputStream in;
    final OutputStream out;
    long idleSinceNanos;

    Connection(Socket socket) throws IOException {
      this.socket = socket;
      this.in = new DataInputStream(
          new BufferedInputStream(socket.getInputStream(), HEADER_BUFFER_BYTES));
      this.out = socket.getOutputStream();
    }

    void close() {
      try {
        socket.close();
      } catch (IOException e) {
        // Nothing to do: the connection is gone either way.
      }
    }
  }

  /**
   * One read in progress ({@link #openRead}). Not thread-safe: one reader takes its bytes.
   */
  public static final class BulkReadStream implements AutoCloseable {
    private final BulkReadClient client;
    private Connection connection;
    private final long chunkId;
    private final long end;
    private final long dataEnd;
    /** The replica offset of the next byte returned to the caller. */
    private long position;
    /** The replica offset of the next byte on the wire; always at a block boundary. */
    private long wirePosition;
    /** Data bytes of the current packet not read from the wire yet. */
    private int packetLeft;
    private final int[] packetChecksums = new int[BulkReadProtocol.PACKET_DATA_BYTES_MAX
        / BulkReadProtocol.BLOCK_BYTES];
    private int packetBlock;
    /** A block read and verified, of which [pendingStart, pendingEnd) is still to be returned. */
    private final byte[] scratch = new byte[BulkReadProtocol.BLOCK_BYTES];
    private int pendingStart;
    private int pendingEnd;
    private final CRC32C crc = new CRC32C();
    private boolean failed;

    BulkReadStream(BulkReadClient client, Connection connection, long chunkId, long offset,
        long end, long dataStart, long dataEnd) {
      this.client = client;
      this.connection = connection;
      this.chunkId = chunkId;
      this.position = offset;
      this.end = end;
      this.wirePosition = dataStart;
      this.dataEnd = dataEnd;
    }

    /** The replica offset of the next byte {@link #read} returns. */
    public long position() {
      return position;
    }

    /**
     * Reads up to {@code len} verified bytes into {@code b}, whole blocks straight from the
     * connection; returns how many (at least one if {@code len > 0}), or -1 once every byte
     * asked for was returned.
     */
    public int read(byte[] b, int off, int len) {
      Objects.checkFromIndexSize(off, len, b.length);
      if (failed) {
        throw Status.FAILED_PRECONDITION.withDescription("this bulk read failed before")
            .asRuntimeException();
      }
      if (position >= end) {
        return -1;
      }
      if (len == 0) {
        return 0;
      }
      try {
        if (pendingEnd > pendingStart) {
          return fromScratch(b, off, len);
        }
        if (packetLeft == 0) {
          readPacketHeader();
        }
        int blockBytes = Math.min(BulkReadProtocol.BLOCK_BYTES, packetLeft);
        if (wirePosition == position && wirePosition + blockBytes <= end && len >= blockBytes) {
          return wholeBlocks(b, off, len);
        }
        // A block the caller takes only part of: before the read's start, past its end, or
        // beyond what the caller's buffer holds.
        connection.in.readFully(scratch, 0, blockBytes);
        verify(scratch, 0, blockBytes);
        pendingStart = (int) (position - wirePosition);
        pendingEnd = (int) (Math.min(end, wirePosition + blockBytes) - wirePosition);
        advanceWire(blockBytes);
        return fromScratch(b, off, len);
      } catch (IOException e) {
        fail();
        throw client.transportFailure(chunkId, e);
      } catch (StatusRuntimeException e) {
        fail();
        throw e;
      }
    }

    /** Reads exactly {@code len} bytes into {@code b}. */
    public void readFully(byte[] b, int off, int len) {
      int done = 0;
      while (done < len) {
        int n = read(b, off + done, len - done);
        if (n < 0) {
          throw Status.OUT_OF_RANGE.withDescription("chunk " + Long.toUnsignedString(chunkId)
              + ": the read ended after " + done + " of " + len + " bytes").asRuntimeException();
        }
        done += n;
      }
    }

    private int wholeBlocks(byte[] b, int off, int len) throws IOException {
      // As many blocks as the buffer, the packet and the read's end allow; the last block of the
      // whole answer may be partial.
      int bytes = 0;
      while (packetLeft - bytes > 0) {
        int block = Math.min(BulkReadProtocol.BLOCK_BYTES, packetLeft - bytes);
        if (bytes + block > len || wirePosition + bytes + block > end) {
          break;
        }
        bytes += block;
      }
      connection.in.readFully(b, off, bytes);
      verify(b, off, bytes);
      advanceWire(bytes);
      position += bytes;
      finishIfDone();
      return bytes;
    }

    private int fromScratch(byte[] b, int off, int len) {
      int n = Math.min(len, pendingEnd - pendingStart);
      System.arraycopy(scratch, pendingStart, b, off, n);
      pendingStart += n;
      position += n;
      finishIfDone();
      return n;
    }

    /** Checks each block of {@code bytes} bytes at {@code b[off]} against its checksum. */
    private void verify(byte[] b, int off, int bytes) {
      for (int at = 0; at < bytes; at += BulkReadProtocol.BLOCK_BYTES) {
        int blockBytes = Math.min(BulkReadProtocol.BLOCK_BYTES, bytes - at);
        crc.reset();
        crc.update(b, off + at, blockBytes);
        int expected = packetChecksums[packetBlock + at / BulkReadProtocol.BLOCK_BYTES];
        if ((int) crc.getValue() != expected) {
          long blockIndex = (wirePosition + at) / BulkReadProtocol.BLOCK_BYTES;
          throw Status.DATA_LOSS.withDescription(String.format("chunk %s: checksum mismatch"
                  + " in block %d (offset %d) read from %s: CRC32C 0x%08x, stored 0x%08x",
              Long.toUnsignedString(chunkId), blockIndex, wirePosition + at,
              client.address.format(), (int) crc.getValue(), expected)).asRuntimeException();
        }
      }
    }

    private void advanceWire(int bytes) {
      packetBlock += BulkReadProtocol.blocks(bytes);
      packetLeft -= bytes;
      wirePosition += bytes;
    }

    private void readPacketHeader() throws IOException {
      DataInputStream in = connection.in;
      int dataBytes = in.readInt();
      if (dataBytes == BulkReadProtocol.PACKET_ABORT) {
        Status status = BulkReadProtocol.readStatus(in.readUnsignedByte(), in);
        throw status.asRuntimeException();
      }
      if (dataBytes <= 0 || dataBytes > BulkReadProtocol.PACKET_DATA_BYTES_MAX
          || dataBytes > dataEnd - wirePosition
          || (dataBytes % BulkReadProtocol.BLOCK_BYTES != 0
              && wirePosition + dataBytes != dataEnd)) {
        throw new IOException("chunk " + Long.toUnsignedString(chunkId) + ": a packet of "
            + dataBytes + " bytes at " + wirePosition + " does not fit an answer ending at "
            + dataEnd);
      }
      int blocks = BulkReadProtocol.blocks(dataBytes);
      for (int i = 0; i < blocks; i++) {
        packetChecksums[i] = in.readInt();
      }
      packetBlock = 0;
      packetLeft = dataBytes;
    }

    /** Once every byte of the answer is read, the connection serves the next read. */
    private void finishIfDone() {
      if (position >= end && wirePosition == dataEnd && connection != null) {
        Connection done = connection;
        connection = null;
        client.giveBack(done);
      }
    }

    private void fail() {
      failed = true;
      if (connection != null) {
        connection.close();
        connection = null;
      }
    }

    /**
     * Ends the read: a connection whose answer was read in full is kept for the next read, one
     * with data still coming is closed (cheaper than reading the rest).
     */
    @Override
    public void close() {
      if (connection != null) {
        connection.close();
        connection = null;
      }
    }
  }
}
