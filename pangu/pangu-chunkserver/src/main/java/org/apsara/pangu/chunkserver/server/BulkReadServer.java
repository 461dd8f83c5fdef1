package org.apsara.pangu.chunkserver.server;

import static org.apsara.pangu.client.chunkserver.BulkReadProtocol.BLOCK_BYTES;
import static org.apsara.pangu.client.chunkserver.BulkReadProtocol.PACKET_DATA_BYTES_MAX;

import io.grpc.Status;
import io.grpc.StatusException;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32C;
import org.apsara.common.time.MonotonicClock;
import org.apsara.pangu.api.ChunkCapabilities;
import org.apsara.pangu.chunkserver.store.ChunkStore;
import org.apsara.pangu.chunkserver.store.ReplicaTransfer;
import org.apsara.pangu.client.chunkserver.BulkReadProtocol;
import org.apsara.pangu.client.chunkserver.BulkWriteProtocol;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bulk read path: ReadReplica's reads over plain TCP, with the data going from the page cache
 * to the socket and the stored CRC32C of every 4 KiB block sent beside it for the client to
 * verify. gRPC's framing (16 KiB HTTP/2 frames, protobuf copies, event-loop work per frame) is
 * what held reads back; this path does a few system calls per megabyte.
 *
 * <p>For a client on another machine the data goes by {@code sendfile} ({@link
 * java.nio.channels.FileChannel#transferTo}), never copied here. For a client on this machine (a
 * task reading its local replica) it is read into a direct buffer of a megabyte and written from
 * there: over loopback, {@code sendfile} hands the socket one page-cache page per 4 KiB, and both
 * ends then pay per page (measured on a 2-core machine: one reader took 1.3-1.6 GB/s with {@code
 * sendfile} and 2.0-2.6 GB/s copied, and the copy cost less CPU in all).
 *
 * <p>The wire format is {@link BulkReadProtocol}'s: a request names the chunk, generation,
 * offset, length and the same capability token as ReadReplica ("read" on the chunk), checked by
 * the same {@link TokenGate}; errors are ReadReplica's statuses (NOT_FOUND, FAILED_PRECONDITION
 * for a stale generation, OUT_OF_RANGE, UNAUTHENTICATED, PERMISSION_DENIED, DATA_LOSS for a
 * replica that cannot be verified at all, ...). The answer covers the request rounded out to
 * whole blocks, so that each block's stored checksum applies; it never includes a byte at or past
 * the replica's readable length (its sealed length, or what an open replica synced). A last
 * partial block has no stored checksum for exactly its readable bytes: it is read through the
 * store, verified there, and its checksum computed here (at most 4 KiB per request).
 *
 * <p>Since the data is not verified here, a corrupt block is found by the client, which reports
 * the replica to the master as it does for DATA_LOSS; the scrubber finds it here too.
 *
 * <p>Connections are kept between requests. Each connection has a thread (blocking I/O is what
 * makes {@code sendfile} simple), at most {@value #CONNECTIONS_MAX}; one more is answered
 * RESOURCE_EXHAUSTED and closed, and its client reads through gRPC instead. A connection idle for
 * the idle timeout, or whose client takes nothing for the stall timeout while an answer is being
 * sent, is closed, so that a vanished client holds no thread for long.
 *
 * <p>The same port takes bulk writes ({@link BulkWriteProtocol}): a connection whose first
 * request is a write header is handed to a {@link BulkWriteSession} on its thread, serves that one
 * write and closes. Write connections count against {@value #CONNECTIONS_MAX} like read ones; a
 * refused writer writes through WriteReplica instead.
 *
 * <p>Plaintext only: a chunkserver with TLS does not open this port (see {@link ChunkServer}).
 *
 * <p>Thread-safe; {@link #close} stops accepting and closes every connection.
 */
final class BulkReadServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(BulkReadServer.class);
  private static final List<String> READ = List.of(ChunkCapabilities.READ);

  /** Most connections at once, each holding a thread. */
  static final int CONNECTIONS_MAX = 128;
  /** How long a connection may wait for its next request. */
  static final Duration IDLE_TIMEOUT = Duration.ofSeconds(60);
  /** How long sending an answer may make no progress (the client reads nothing). */
  static final Duration STALL_TIMEOUT = Duration.ofSeconds(30);
  /**
   * Bytes per {@code sendfile} call: the stall deadline moves after each, so a call must finish
   * well within it even for a slow client.
   */
  static final int TRANSFER_STEP_BYTES = 1 << 20;
  /**
   * Direct buffers of a megabyte (a write's packets, a same-host read's copies) kept for the next
   * write or read once one ends, so that none allocates (and zeroes) a fresh megabyte; beyond this
   * many they are left to the collector.
   */
  static final int DIRECT_BUFFERS_KEPT = 16;

  /** How an answer's data goes from the replica's file to the socket. */
  enum DataSend {
    /** Copied for a client on this machine, {@code sendfile} for others: the default. */
    BY_CLIENT_HOST,
    /** Always {@code sendfile}; for tests, whose clients are all on this machine. */
    SENDFILE
  }

  private final ServerSocketChannel listener;
  private final DataSend dataSend;
  private final ChunkStore store;
  private final TokenGate tokens;
  private final ChunkServerMetrics metrics;
  private final MonotonicClock clock;
  private final long idleTimeoutNanos;
  private final long stallTimeoutNanos;
  private final ThreadPoolExecutor connectionThreads;
  /**
   * Runs the bulk writes' sync tasks, so that a write's connection thread reads the next packets
   * while the disk flushes. At most one task per write connection, so never more threads than
   * {@link #CONNECTIONS_MAX}; no queue, as for the connections.
   */
  private final ThreadPoolExecutor syncThreads;
  private final ScheduledExecutorService watchdog;
  private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
  private final BulkWriteSession.ReplicaSink writeSink;
  private final ArrayBlockingQueue<ByteBuffer> directBuffers =
      new ArrayBlockingQueue<>(DIRECT_BUFFERS_KEPT);
  private final Thread acceptor;
  private volatile boolean closed;

  private BulkReadServer(ServerSocketChannel listener, ChunkStore store, TokenGate tokens,
      ChunkServerMetrics metrics, MonotonicClock clock, Duration idleTimeout,
      Duration stallTimeout, DataSend dataSend) {
    this.listener = listener;
    this.dataSend = dataSend;
    this.store = store;
    this.writeSink = BulkWriteSession.storeSink(store);
    this.tokens = tokens;
    this.metrics = metrics;
    this.clock = clock;
    this.idleTimeoutNanos = idleTimeout.toNanos();
    this.stallTimeoutNanos = stallTimeout.toNanos();
    AtomicInteger count = new AtomicInteger();
    // No queue: a connection either gets a thread at once or is refused.
    this.connectionThreads = new ThreadPoolExecutor(0, CONNECTIONS_MAX, 60, TimeUnit.SECONDS,
        new SynchronousQueue<>(), runnable -> daemon(runnable,
            "chunk-bulk-" + count.incrementAndGet()));
    AtomicInteger syncCount = new AtomicInteger();
    this.syncThreads = new ThreadPoolExecutor(0, CONNECTIONS_MAX, 60, TimeUnit.SECONDS,
        new SynchronousQueue<>(), runnable -> daemon(runnable,
            "chunk-bulk-sync-" + syncCount.incrementAndGet()));
    this.watchdog = Executors.newSingleThreadScheduledExecutor(
        runnable -> daemon(runnable, "chunk-bulk-watchdog"));
    this.acceptor = daemon(this::acceptLoop, "chunk-bulk-accept");
  }

  /**
   * Listens on {@code host:port} (0 picks a free port) and serves until closed.
   *
   * @throws IOException if the port cannot be bound
   */
  static BulkReadServer start(String host, int port, ChunkStore store, TokenGate tokens,
      ChunkServerMetrics metrics) throws IOException {
    return start(host, port, store, tokens, metrics, MonotonicClock.SYSTEM, IDLE_TIMEOUT,
        STALL_TIMEOUT, DataSend.BY_CLIENT_HOST);
  }

  /** Like {@link #start(String, int, ChunkStore, TokenGate, ChunkServerMetrics)}; for tests. */
  static BulkReadServer start(String host, int port, ChunkStore store, TokenGate tokens,
      ChunkServerMetrics metrics, MonotonicClock clock, Duration idleTimeout,
      Duration stallTimeout, DataSend dataSend) throws IOException {
    ServerSocketChannel listener = ServerSocketChannel.open();
    try {
      listener.bind(new InetSocketAddress(host, port), CONNECTIONS_MAX);
    } catch (IOException e) {
      listener.close();
      throw new IOException("cannot listen for bulk reads on " + host + ":" + port + ": " + e,
          e);
    }
    BulkReadServer server = new BulkReadServer(listener, store, tokens, metrics, clock,
        idleTimeout, stallTimeout, dataSend);
    long checkNanos = Math.max(Math.min(idleTimeout.toNanos(), stallTimeout.toNanos()) / 4,
        TimeUnit.MILLISECONDS.toNanos(10));
    server.watchdog.scheduleWithFixedDelay(server::closeExpired, checkNanos, checkNanos,
        TimeUnit.NANOSECONDS);
    server.acceptor.start();
    return server;
  }

  /** The port actually bound. */
  int port() {
    return listener.socket().getLocalPort();
  }

  /** Connections open now; for tests. */
  int connectionCount() {
    return connections.size();
  }

  private void acceptLoop() {
    while (!closed) {
      SocketChannel channel;
      try {
        channel = listener.accept();
      } catch (ClosedChannelException e) {
        return;
      } catch (IOException e) {
        if (!closed) {
          LOG.warn("accepting a bulk read connection failed", e);
        }
        continue;
      }
      Connection connection = new Connection(channel);
      connections.add(connection);
      try {
        connectionThreads.execute(connection::serve);
      } catch (RejectedExecutionException e) {
        connection.refuse(Status.RESOURCE_EXHAUSTED.withDescription("this chunkserver serves "
            + CONNECTIONS_MAX + " bulk read connections, the most it allows; read through"
            + " ReadReplica or retry later"));
      }
    }
  }

  private void closeExpired() {
    long now = clock.nanos();
    for (Connection connection : connections) {
      if (now - connection.deadlineNanos > 0) {
        LOG.debug("closing bulk read connection from {}: {}", connection.peer,
            connection.sending ? "the client took nothing for the stall timeout" : "idle");
        connection.close();
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      listener.close();
    } catch (IOException e) {
      LOG.debug("closing the bulk read listener failed", e);
    }
    watchdog.shutdownNow();
    // Closing a socket ends its thread's blocking call; an interrupt could instead close a file
    // channel an open replica shares with its writer.
    connections.forEach(Connection::close);
    connectionThreads.shutdown();
    syncThreads.shutdown(); // a running sync finishes; its session waits for it
    try {
      acceptor.join(TimeUnit.SECONDS.toMillis(ChunkServer.SHUTDOWN_GRACE_SECONDS));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static Thread daemon(Runnable runnable, String name) {
    Thread thread = new Thread(runnable, name);
    thread.setDaemon(true);
    return thread;
  }

  /** A request as read from the wire. */
  private record Request(long chunkId, long generation, long offset, long length,
      String token) {}

  /** The connection failed in a way that leaves nothing to say to the client. */
  private static final class ConnectionLostException extends IOException {
    private static final long serialVersionUID = 1L;

    ConnectionLostException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private ByteBuffer takeDirectBuffer() {
    ByteBuffer buffer = directBuffers.poll();
    return buffer != null ? buffer
        : ByteBuffer.allocateDirect(BulkWriteProtocol.PACKET_DATA_BYTES_MAX);
  }

  /**
   * Whether the connection stays on this machine (a loopback address, or the client's address is
   * the server's own), so that its bytes never reach a network card.
   */
  static boolean isSameHost(Socket socket) {
    InetAddress remote = socket.getInetAddress();
    return remote != null
        && (remote.isLoopbackAddress() || remote.equals(socket.getLocalAddress()));
  }

  /** One client connection and the thread serving it. */
  private final class Connection {
    final SocketChannel channel;
    final String peer;
    /** Whether reads are copied through a buffer rather than sent with sendfile. */
    final boolean copies;
    /** When the watchdog closes the connection, unless it moves on first. */
    volatile long deadlineNanos;
    volatile boolean sending;
    private final ByteBuffer request = ByteBuffer.allocate(
        BulkReadProtocol.REQUEST_FIXED_BYTES + BulkReadProtocol.TOKEN_BYTES_MAX);
    private final ByteBuffer packetHeader =
        ByteBuffer.allocate(Integer.BYTES * (1 + PACKET_DATA_BYTES_MAX / BLOCK_BYTES));
    private final ByteBuffer tailBlock = ByteBuffer.allocate(BLOCK_BYTES);

    Connection(SocketChannel channel) {
      this.channel = channel;
      this.peer = String.valueOf(channel.socket().getRemoteSocketAddress());
      this.copies = dataSend == DataSend.BY_CLIENT_HOST && isSameHost(channel.socket());
      this.deadlineNanos = clock.nanos() + idleTimeoutNanos;
    }

    void serve() {
      try {
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        while (!closed && readRequest()) {
          if (!answer(parse())) {
            break;
          }
        }
      } catch (ConnectionLostException | ClosedChannelException | EOFException e) {
        LOG.debug("bulk read connection from {} ended: {}", peer, e.toString());
      } catch (IOException e) {
        LOG.debug("bulk read connection from {} failed", peer, e);
      } catch (RuntimeException e) {
        LOG.error("bulk read connection from {} failed unexpectedly", peer, e);
      } finally {
        close();
      }
    }

    /** Reads the next request into {@link #request}; false if the client closed cleanly. */
    private boolean readRequest() throws IOException {
      deadlineNanos = clock.nanos() + idleTimeoutNanos;
      sending = false;
      request.clear().limit(BulkReadProtocol.REQUEST_FIXED_BYTES);
      if (channel.read(request) < 0) {
        return false; // between requests: the client is done with the connection
      }
      readFully(request);
      int tokenBytes = Short.toUnsignedInt(request.getShort(BulkReadProtocol.REQUEST_FIXED_BYTES
          - Short.BYTES));
      if (tokenBytes > BulkReadProtocol.TOKEN_BYTES_MAX) {
        return true; // parse() refuses it, reading no further
      }
      request.limit(BulkReadProtocol.REQUEST_FIXED_BYTES + tokenBytes);
      readFully(request);
      return true;
    }

    private void readFully(ByteBuffer buffer) throws IOException {
      while (buffer.hasRemaining()) {
        if (channel.read(buffer) < 0) {
          throw new EOFException("the client closed the connection within a request");
        }
      }
    }

    /** The request in {@link #request}, or a {@link Refusal} of it. */
    private Object parse() {
      ByteBuffer r = request.flip();
      int magic = r.getInt();
      short version = r.getShort();
      short operation = r.getShort();
      boolean read = operation == BulkReadProtocol.OPERATION_READ
          && version == BulkReadProtocol.VERSION;
      boolean write = operation == BulkWriteProtocol.OPERATION_WRITE
          && version == BulkWriteProtocol.VERSION;
      if (magic != BulkReadProtocol.REQUEST_MAGIC || !read && !write) {
        return new Refusal(Status.INVALID_ARGUMENT.withDescription(String.format("not a bulk"
                + " read request of version %d nor a bulk write of version %d: magic 0x%08x,"
                + " version %d, operation %d", BulkReadProtocol.VERSION,
            BulkWriteProtocol.VERSION, magic, version, operation)), true);
      }
      // Both kinds share the fixed layout: ids, two longs, the token.
      long chunkId = r.getLong();
      long generation = r.getLong();
      long offset = r.getLong();
      long lengthOrFlags = r.getLong();
      int tokenBytes = Short.toUnsignedInt(r.getShort());
      if (tokenBytes > BulkReadProtocol.TOKEN_BYTES_MAX) {
        return new Refusal(Status.INVALID_ARGUMENT.withDescription("a token of " + tokenBytes
            + " bytes, more than the " + BulkReadProtocol.TOKEN_BYTES_MAX + " allowed"), true);
      }
      String token = new String(r.array(), r.position(), tokenBytes, StandardCharsets.UTF_8);
      if (write) {
        return new BulkWriteSession.Header(chunkId, generation, offset, lengthOrFlags, token);
      }
      return new Request(chunkId, generation, offset, lengthOrFlags, token);
    }

    /** Answers one request; false if the connection must close afterwards. */
    private boolean answer(Object parsed) throws IOException {
      if (parsed instanceof Refusal refusal) {
        sendError(refusal.status());
        return !refusal.closeAfter();
      }
      if (parsed instanceof BulkWriteSession.Header header) {
        write(header);
        return false; // one write per connection
      }
      Request read = (Request) parsed;
      deadlineNanos = clock.nanos() + stallTimeoutNanos;
      sending = true;
      boolean headerSent = false;
      try {
        long chunkId = ChunkServiceImpl.checkChunkId(read.chunkId());
        long generation = ChunkServiceImpl.checkGeneration(read.generation());
        tokens.check(read.token(), chunkId, READ);
        long offset = read.offset();
        long length = read.length();
        if (offset < 0 || length < 0 || offset + length < 0) {
          throw Status.OUT_OF_RANGE.withDescription("chunk " + chunkId + ": offset "
              + Long.toUnsignedString(offset) + " and length " + Long.toUnsignedString(length)
              + " are out of any replica's range").asException();
        }
        try (ReplicaTransfer transfer = store.openTransfer(chunkId, generation)) {
          long readable = transfer.readableLength();
          if (offset + length > readable) {
            throw Status.OUT_OF_RANGE.withDescription("chunk " + chunkId + ": cannot read "
                + length + " bytes at offset " + offset + ": the replica has " + readable
                + " readable (synced or sealed) bytes").asException();
          }
          long dataStart = BulkReadProtocol.blockStart(offset);
          long dataEnd = length == 0 ? dataStart
              : Math.min(BulkReadProtocol.blockStart(offset + length - 1) + BLOCK_BYTES,
                  readable);
          ByteBuffer header = ByteBuffer.allocate(4 + 1 + 8 + 8);
          header.putInt(BulkReadProtocol.RESPONSE_MAGIC).put((byte) Status.Code.OK.value())
              .putLong(dataStart).putLong(dataEnd - dataStart).flip();
          write(header);
          headerSent = true;
          sendPackets(transfer, dataStart, dataEnd);
        }
        return true;
      } catch (StatusException e) {
        return refuseOrAbort(e.getStatus(), headerSent);
      } catch (ConnectionLostException e) {
        throw e;
      } catch (IOException e) {
        Status status = StoreStatuses.toStatus(e).getStatus();
        if (status.getCode() == Status.Code.INTERNAL) {
          LOG.warn("bulk read of chunk {} failed", read.chunkId(), e);
        }
        return refuseOrAbort(status, headerSent);
      }
    }

    private void write(BulkWriteSession.Header header) throws IOException {
      sending = false;
      ByteBuffer buffer = takeDirectBuffer();
      try {
        new BulkWriteSession(channel, peer, writeSink, tokens, metrics, clock,
            BulkWriteSession.IDLE_TIMEOUT, Duration.ofNanos(stallTimeoutNanos),
            at -> deadlineNanos = at, syncThreads, buffer).run(header);
      } finally {
        directBuffers.offer(buffer);
      }
    }

    /** Before the answer's header an error is an answer; after it, an abort. */
    private boolean refuseOrAbort(Status status, boolean headerSent) throws IOException {
      if (!headerSent) {
        sendError(status);
        return true;
      }
      ByteBuffer abort = ByteBuffer.allocate(4);
      abort.putInt(BulkReadProtocol.PACKET_ABORT).flip();
      write(abort);
      write(statusBytes(status));
      return false;
    }

    private void sendPackets(ReplicaTransfer transfer, long dataStart, long dataEnd)
        throws IOException {
      ByteBuffer copyBuffer = copies && dataEnd > dataStart ? takeDirectBuffer() : null;
      try {
        sendPackets(transfer, dataStart, dataEnd, copyBuffer);
      } finally {
        if (copyBuffer != null) {
          directBuffers.offer(copyBuffer);
        }
      }
    }

    /** Sends the packets, copying the data through {@code copyBuffer} if not null. */
    private void sendPackets(ReplicaTransfer transfer, long dataStart, long dataEnd,
        ByteBuffer copyBuffer) throws IOException {
      long at = dataStart;
      while (at < dataEnd) {
        int packetBytes = (int) Math.min(PACKET_DATA_BYTES_MAX, dataEnd - at);
        int wholeBlocks = packetBytes / BLOCK_BYTES;
        int tailBytes = packetBytes % BLOCK_BYTES;
        packetHeader.clear().putInt(packetBytes);
        transfer.readChecksums(at / BLOCK_BYTES, wholeBlocks, packetHeader);
        long tailStart = at + (long) wholeBlocks * BLOCK_BYTES;
        if (tailBytes > 0) {
          // The readable length's partial block: verified by the store, checksummed here.
          tailBlock.clear().limit(tailBytes);
          store.read(transfer.chunkId(), transfer.generation(), tailStart, tailBlock);
          tailBlock.flip();
          CRC32C crc = new CRC32C();
          crc.update(tailBlock.duplicate());
          packetHeader.putInt((int) crc.getValue());
        }
        write(packetHeader.flip());
        // From here until the packet ends, a failure can only close the connection.
        try {
          Runnable progress = () -> deadlineNanos = clock.nanos() + stallTimeoutNanos;
          if (copyBuffer != null) {
            transfer.copyTo(at, tailStart - at, channel, copyBuffer, progress);
          } else {
            transfer.transferTo(at, tailStart - at, channel, TRANSFER_STEP_BYTES, progress);
          }
        } catch (IOException e) {
          throw new ConnectionLostException("sending chunk " + transfer.chunkId() + " at "
              + at + " failed", e);
        }
        if (tailBytes > 0) {
          write(tailBlock);
        }
        metrics.bulkRead(packetBytes);
        at += packetBytes;
      }
    }

    private void sendError(Status status) throws IOException {
      ByteBuffer magic = ByteBuffer.allocate(4);
      magic.putInt(BulkReadProtocol.RESPONSE_MAGIC).flip();
      write(magic);
      write(statusBytes(status));
    }

    private ByteBuffer statusBytes(Status status) {
      byte[] message = BulkReadProtocol.messageBytes(status.getDescription());
      ByteBuffer bytes = ByteBuffer.allocate(1 + 2 + message.length);
      bytes.put((byte) status.getCode().value()).putShort((short) message.length).put(message);
      return bytes.flip();
    }

    private void write(ByteBuffer buffer) throws ConnectionLostException {
      try {
        while (buffer.hasRemaining()) {
          channel.write(buffer);
        }
      } catch (IOException e) {
        throw new ConnectionLostException("writing to " + peer + " failed", e);
      }
      deadlineNanos = clock.nanos() + stallTimeoutNanos;
    }

    /** Answers a connection there is no thread for, without reading its request, and closes. */
    void refuse(Status status) {
      try {
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        sendError(status); // a fresh connection's send buffer is empty: this does not block
      } catch (IOException e) {
        LOG.debug("refusing a bulk read connection from {} failed", peer, e);
      } finally {
        close();
      }
    }

    void close() {
      connections.remove(this);
      try {
        channel.close();
      } catch (IOException e) {
        LOG.debug("closing the bulk read connection from {} failed", peer, e);
      }
    }
  }

  /** A request refused before reading the replica; {@code closeAfter} if the stream is lost. */
  private record Refusal(Status status, boolean closeAfter) {}
}
