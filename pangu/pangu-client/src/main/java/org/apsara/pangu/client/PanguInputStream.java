package org.apsara.pangu.client;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import org.apsara.pangu.api.ChunkServerLimits;
import org.apsara.pangu.api.v1.BadReplica;
import org.apsara.pangu.api.v1.ChunkServerLocation;
import org.apsara.pangu.api.v1.FileStatus;
import org.apsara.pangu.api.v1.GetChunkLocationsResponse;
import org.apsara.pangu.api.v1.GetReplicaResponse;
import org.apsara.pangu.api.v1.LocatedChunk;
import org.apsara.pangu.client.chunkserver.BulkReadClient;
import org.apsara.pangu.client.chunkserver.BulkReadClient.BulkReadStream;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a file opened by {@link PanguClient#open}: sequentially through a buffer of {@value
 * #READ_BUFFER_BYTES} bytes, at any position after {@link #seek}, or positionally without moving
 * ({@link #read(long, byte[], int, int)}, {@link #readFully(long, byte[], int, int)}).
 *
 * <p><b>Locations.</b> Chunk locations come from the master a page at a time, as reads reach
 * them. Each read goes to the nearest replica the master named; on an error it fails over to the
 * next. A replica that answers {@code DATA_LOSS} (a checksum failed) is reported to the master,
 * which replaces it. Replicas that failed are tried last for the rest of the stream. When every
 * replica fails, the locations are fetched again once (with fresh read tokens) before the read
 * fails with {@link PanguErrorCode#CHUNK_UNREADABLE}.
 *
 * <p><b>Bulk reads.</b> A chunkserver that offers the bulk read path (plain TCP, data sent with
 * {@code sendfile}, see {@link BulkReadClient}) is read through it; this stream verifies every 4
 * KiB block against the checksum the chunkserver stored, and a block that fails is handled as a
 * replica answering {@code DATA_LOSS}. When the bulk path fails for any other reason than an
 * answer about the replica (refused, closed mid-read, timed out), the same replica is read through
 * gRPC, and that chunkserver is read through gRPC for a while.
 *
 * <p><b>Files being written.</b> The length of an open file's uncommitted last chunk is what its
 * replicas synced, so bytes the writer hsynced are readable. Reaching the end of an open file, or
 * seeking past it, asks the master and the replicas again, so a reader can follow a writer.
 *
 * <p><b>End of file.</b> {@link #read()} returns -1 at the end; {@link #seek} past the end and
 * {@link #readFully} beyond it throw {@link EOFException}.
 *
 * <p><b>Threading.</b> Methods are synchronized: one read at a time per stream. Use one stream
 * per thread for parallel reads.
 */
public final class PanguInputStream extends InputStream {
  private static final Logger LOG = LoggerFactory.getLogger(PanguInputStream.class);

  /** Bytes fetched at once for small sequential reads: one chunkserver data message. */
  public static final int READ_BUFFER_BYTES = ChunkServerLimits.DATA_MESSAGE_BYTES_MAX;
  /**
   * Times the replicas of one chunk are tried, with fresh locations between rounds. With the
   * pauses below the rounds span about four and a half seconds: more than the chunkservers'
   * default heartbeat interval (3 s), within which the master hears of a replica just sealed.
   */
  static final int LOCATION_ROUNDS_MAX = 8;
  /**
   * Bytes one sequential read asks a replica for at once, within a chunk. The chunkserver streams
   * them ahead of the reader (as far as the flow-control window allows) while the reader takes
   * what it needs, so a sequential reader pays one round trip per this many bytes rather than
   * per message. Large enough to keep the pipe full, small enough that one call ends well within
   * the read timeout even for a slow reader.
   */
  static final long READ_AHEAD_BYTES = 16L << 20;
  /**
   * Bytes one sequential read asks a replica for over the bulk path: the rest of the chunk, up to
   * this. The server sends only as fast as the reader takes (TCP's own flow control), and a
   * reader that seeks away closes the connection, so a large request costs nothing when
   * abandoned and saves a round trip per {@link #READ_AHEAD_BYTES}.
   */
  static final long BULK_READ_AHEAD_BYTES_MAX = 1L << 30;
  static final long LOCATION_RETRY_PAUSE_MS_MIN = 100;
  static final long LOCATION_RETRY_PAUSE_MS_MAX = 1000;

  private final PanguClient client;
  private final String path;
  private final Duration readTimeout;
  /** Chunkservers (ids) that failed this stream: tried last. */
  private final Set<String> suspects = new HashSet<>();

  private FileStatus status;
  /** Known chunks with bytes, by the file offset where each starts. */
  private final TreeMap<Long, Chunk> chunks = new TreeMap<>();
  private int nextPageIndex;
  private boolean morePages;
  /** An open file's uncommitted last chunk, when a page held it. */
  private LocatedChunk uncommittedTail;
  private long length;

  private long pos;
  /** Where the last sequential read ended: a read starting there is sequential too. */
  private long sequentialEnd;
  /** The replica read streaming ahead of a sequential reader, or null. */
  private ReadAhead ahead;
  private byte[] buffer;
  private long bufferStart;
  private int bufferLength;
  private boolean closed;

  private record Chunk(LocatedChunk located, long fileOffset, long length) {
    long end() {
      return fileOffset + length;
    }
  }

  /** A replica read of one chunk in progress: the bytes from {@code filePos} on arrive next. */
  private static final class ReadAhead {
    final Chunk chunk;
    final ChunkServerLocation location;
    final ReplicaStream stream;
    long filePos;

    ReadAhead(Chunk chunk, ChunkServerLocation location, ReplicaStream stream, long filePos) {
      this.chunk = chunk;
      this.location = location;
      this.stream = stream;
      this.filePos = filePos;
    }
  }

  /** A replica read over gRPC or the bulk path, taken into the caller's arrays. */
  private interface ReplicaStream extends AutoCloseable {
    /** Up to {@code len} bytes, at least one; -1 once the read is done. */
    int read(byte[] b, int off, int len);

    /** The bulk client serving this read, or null for gRPC. */
    BulkReadClient bulk();

    @Override
    void close();
  }

  private static ReplicaStream grpcStream(ChunkServerClient.ReadStream stream) {
    return new ReplicaStream() {
      /** The current message's data not taken yet; empty between messages. */
      private ByteBuffer data = ByteBuffer.allocate(0);

      @Override
      public int read(byte[] b, int off, int len) {
        if (!data.hasRemaining()) {
          ByteBuffer next = stream.next();
          if (next == null) {
            return -1;
          }
          data = next;
        }
        int take = Math.min(len, data.remaining());
        data.get(b, off, take);
        return take;
      }

      @Override
      public BulkReadClient bulk() {
        return null;
      }

      @Override
      public void close() {
        stream.close();
      }
    };
  }

  private static ReplicaStream bulkStream(BulkReadClient client, BulkReadStream stream) {
    return new ReplicaStream() {
      @Override
      public int read(byte[] b, int off, int len) {
        return stream.read(b, off, len);
      }

      @Override
      public BulkReadClient bulk() {
        return client;
      }

      @Override
      public void close() {
        stream.close();
      }
    };
  }

  private PanguInputStream(PanguClient client, String path) {
    this.client = client;
    this.path = path;
    this.readTimeout = client.config().readTimeout();
  }

  static PanguInputStream open(PanguClient client, String path) throws IOException {
    PanguInputStream stream = new PanguInputStream(client, path);
    stream.load();
    return stream;
  }

  /** The file's status when the stream was opened (or last refreshed). */
  public synchronized FileStatus status() {
    return status;
  }

  /** Bytes readable now: the committed length plus what an open file's replicas synced. */
  public synchronized long length() {
    return length;
  }

  public synchronized long getPos() {
    return pos;
  }

  /**
   * Moves to {@code target}; the end of the file is a valid position.
   *
   * @throws EOFException for a negative position or one past the end
   */
  public synchronized void seek(long target) throws IOException {
    checkOpen();
    if (target < 0) {
      throw new EOFException("Cannot seek to a negative offset: " + target + " in " + path);
    }
    if (target > length && status.getOpen()) {
      load();
    }
    if (target > length) {
      throw new EOFException("Attempted to seek or read past the end of the file: " + target
          + " is beyond the length " + length + " of " + path);
    }
    pos = target;
  }

  @Override
  public synchronized int read() throws IOException {
    checkOpen();
    if (!fillBuffer()) {
      return -1;
    }
    return buffer[(int) (pos++ - bufferStart)] & 0xff;
  }

  @Override
  public synchronized int read(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    checkOpen();
    if (len == 0) {
      return 0;
    }
    if (!buffered() && len >= READ_BUFFER_BYTES) {
      // A large read goes straight into the caller's array.
      if (pos >= length && !grewAfterReload()) {
        return -1;
      }
      int n = readSequential(pos, b, off, len);
      pos += n;
      return n;
    }
    if (!fillBuffer()) {
      return -1;
    }
    int n = (int) Math.min(len, bufferStart + bufferLength - pos);
    System.arraycopy(buffer, (int) (pos - bufferStart), b, off, n);
    pos += n;
    return n;
  }

  /**
   * Reads up to {@code len} bytes at {@code position} without moving this stream's position.
   *
   * @return bytes read, or -1 if {@code position} is at or past the end
   */
  public synchronized int read(long position, byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    checkOpen();
    if (position < 0) {
      throw new EOFException("Cannot read at a negative offset: " + position + " in " + path);
    }
    if (len == 0) {
      return 0;
    }
    if (position >= length && !(status.getOpen() && reloadReaches(position + 1))) {
      return -1;
    }
    int total = 0;
    while (total < len && position + total < length) {
      total += readAt(position + total, b, off + total, len - total);
    }
    return total;
  }

  /**
   * Reads exactly {@code len} bytes at {@code position} without moving this stream's position.
   *
   * @throws EOFException if the file ends before
   */
  public synchronized void readFully(long position, byte[] b, int off, int len)
      throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    int total = 0;
    while (total < len) {
      int n = read(position + total, b, off + total, len - total);
      if (n < 0) {
        throw new EOFException("Reached the end of " + path + " (length " + length
            + ") reading " + len + " bytes at " + position);
      }
      total += n;
    }
  }

  @Override
  public synchronized long skip(long n) throws IOException {
    checkOpen();
    if (n <= 0) {
      return 0;
    }
    long skipped = Math.min(n, Math.max(0, length - pos));
    pos += skipped;
    return skipped;
  }

  /** Bytes between the position and the known end of the file, at most {@code MAX_VALUE}. */
  @Override
  public synchronized int available() throws IOException {
    checkOpen();
    return (int) Math.min(Integer.MAX_VALUE, Math.max(0, length - pos));
  }

  @Override
  public synchronized void close() {
    closed = true;
    buffer = null;
    endReadAhead();
  }

  // ------------------------------------------------------------------ reading

  private boolean buffered() {
    return buffer != null && pos >= bufferStart && pos < bufferStart + bufferLength;
  }

  /** Makes the buffer cover {@code pos}; {@code false} at the end of the file. */
  private boolean fillBuffer() throws IOException {
    if (buffered()) {
      return true;
    }
    if (pos >= length && !grewAfterReload()) {
      return false;
    }
    if (buffer == null) {
      buffer = new byte[READ_BUFFER_BYTES];
    }
    bufferLength = 0;
    bufferStart = pos;
    bufferLength = readSequential(pos, buffer, 0, buffer.length);
    return true;
  }

  /** For an open file at its end: looks again whether the writer synced more. */
  private boolean grewAfterReload() throws IOException {
    return status.getOpen() && reloadReaches(pos + 1);
  }

  private boolean reloadReaches(long end) throws IOException {
    load();
    return length >= end;
  }

  /**
   * {@link #readAt} for the stream's own position: a read that starts where the last one ended
   * is served from a replica read streaming ahead ({@link #READ_AHEAD_BYTES} at a time); any
   * other read, and any failure of the stream, goes the one-call way with its failover.
   */
  private int readSequential(long at, byte[] b, int off, int len) throws IOException {
    boolean sequential = at == sequentialEnd;
    int n = sequential ? readAhead(at, b, off, len) : 0;
    if (n == 0) {
      n = readAt(at, b, off, len);
    }
    sequentialEnd = at + n;
    return n;
  }

  /** Up to {@code len} bytes at {@code at} from the read-ahead stream; 0 if it cannot serve. */
  private int readAhead(long at, byte[] b, int off, int len) throws IOException {
    Chunk chunk = chunkAt(at);
    if (chunk == null) {
      return 0;
    }
    if (ahead != null && (ahead.chunk.located().getChunkId() != chunk.located().getChunkId()
        || ahead.filePos != at)) {
      endReadAhead();
    }
    if (ahead == null && !startReadAhead(chunk, at)) {
      return 0;
    }
    int want = (int) Math.min(len, chunk.end() - at);
    int n = 0;
    try {
      while (n < want) {
        int take = ahead.stream.read(b, off + n, want - n);
        if (take < 0) {
          // This stretch is read: go on with the next one from here.
          endReadAhead();
          if (!startReadAhead(chunk, at + n)) {
            break;
          }
          continue;
        }
        n += take;
        ahead.filePos += take;
      }
    } catch (StatusRuntimeException e) {
      ReadAhead failed = ahead;
      endReadAhead();
      if (failed.stream.bulk() != null && BulkReadClient.isTransportFailure(e)) {
        // Not the replica's fault: the one-call read below goes through gRPC.
        bulkFailed(failed.location, failed.stream.bulk(), e);
      } else {
        Status.Code code = e.getStatus().getCode();
        if (code != Status.Code.DEADLINE_EXCEEDED && code != Status.Code.CANCELLED) {
          replicaFailed(failed.chunk.located(), failed.location, e);
        }
      }
    }
    return n;
  }

  /** Opens a read-ahead stream on the nearest healthy replica; false if that fails at once. */
  private boolean startReadAhead(Chunk chunk, long at) {
    List<ChunkServerLocation> locations = ordered(chunk.located());
    if (locations.isEmpty()) {
      return false;
    }
    ChunkServerLocation location = locations.get(0);
    long offsetInChunk = at - chunk.fileOffset();
    LocatedChunk located = chunk.located();
    try {
      BulkReadClient bulk = client.chunkServers().bulk(location.getAddress());
      if (bulk != null) {
        long length = Math.min(BULK_READ_AHEAD_BYTES_MAX, chunk.end() - at);
        try {
          BulkReadStream stream = bulk.openRead(located.getChunkId(), located.getGeneration(),
              offsetInChunk, length, located.getToken(), readTimeout);
          ahead = new ReadAhead(chunk, location, bulkStream(bulk, stream), at);
          return true;
        } catch (StatusRuntimeException e) {
          if (!BulkReadClient.isTransportFailure(e)) {
            return false; // the one-call read below fails over and reports
          }
          bulkFailed(location, bulk, e);
        }
      }
      long length = Math.min(READ_AHEAD_BYTES, chunk.end() - at);
      ChunkServerClient.ReadStream stream = client.chunkServers().get(location.getAddress())
          .openRead(located.getChunkId(), located.getGeneration(), offsetInChunk, length,
              located.getToken(), readTimeout);
      ahead = new ReadAhead(chunk, location, grpcStream(stream), at);
      return true;
    } catch (StatusRuntimeException | IllegalArgumentException e) {
      return false; // the one-call read below fails over and reports
    }
  }

  /** Reads of {@code location} go through gRPC for a while: its bulk path failed. */
  private void bulkFailed(ChunkServerLocation location, BulkReadClient bulk,
      StatusRuntimeException e) {
    LOG.info("The bulk read path of {} ({}) failed: {}; reading it through gRPC",
        location.getId(), location.getAddress(), e.getStatus());
    client.chunkServers().bulkFailed(location.getAddress(), bulk);
  }

  /**
   * Reads exactly {@code len} bytes of the replica at {@code location}: through the bulk path if
   * the chunkserver offers it, through gRPC if not or if the bulk path fails on its own account.
   */
  private void readReplica(ChunkServerLocation location, LocatedChunk located, long offset,
      byte[] b, int off, int len) {
    BulkReadClient bulk = client.chunkServers().bulk(location.getAddress());
    if (bulk != null) {
      try (BulkReadStream stream = bulk.openRead(located.getChunkId(), located.getGeneration(),
          offset, len, located.getToken(), readTimeout)) {
        stream.readFully(b, off, len);
        return;
      } catch (StatusRuntimeException e) {
        if (!BulkReadClient.isTransportFailure(e)) {
          throw e;
        }
        bulkFailed(location, bulk, e);
      }
    }
    ByteBuffer target = ByteBuffer.wrap(b, off, len);
    client.chunkServers().get(location.getAddress()).read(located.getChunkId(),
        located.getGeneration(), offset, len, located.getToken(),
        (at, data) -> target.put(data), readTimeout);
  }

  private void endReadAhead() {
    if (ahead != null) {
      ahead.stream.close();
      ahead = null;
    }
  }

  /**
   * Reads at most {@code len} bytes at file offset {@code at} (below the length), within one
   * chunk; returns how many, at least one.
   */
  private int readAt(long at, byte[] b, int off, int len) throws IOException {
    Chunk chunk = chunkAt(at);
    if (chunk == null) {
      throw new EOFException("No chunk of " + path + " holds offset " + at + " below its length "
          + length + "; the file changed while it was read");
    }
    int n = (int) Math.min(len, chunk.end() - at);
    readChunk(chunk, at - chunk.fileOffset(), b, off, n);
    return n;
  }

  /**
   * Reads exactly {@code len} bytes of {@code chunk} at {@code offset}, failing over between its
   * replicas. When none can serve it, the locations are fetched again, with growing pauses: the
   * master learns the replicas of a chunk just committed from the chunkservers' next reports,
   * so for a moment it may name none, and a read token may have expired.
   */
  private void readChunk(Chunk chunk, long offset, byte[] b, int off, int len) throws IOException {
    List<String> failures = new ArrayList<>();
    long pauseMs = LOCATION_RETRY_PAUSE_MS_MIN;
    for (int round = 0; ; round++) {
      if (chunk.located().getLocationsCount() == 0) {
        failures.add("the master named no replica");
      }
      for (ChunkServerLocation location : ordered(chunk.located())) {
        try {
          readReplica(location, chunk.located(), offset, b, off, len);
          return;
        } catch (StatusRuntimeException e) {
          failures.add(location.getId() + " at " + location.getAddress() + ": "
              + e.getStatus().getCode() + " " + e.getStatus().getDescription());
          replicaFailed(chunk.located(), location, e);
        } catch (IllegalArgumentException e) {
          failures.add(location.getId() + " has an unusable address " + location.getAddress());
        }
      }
      if (round + 1 >= LOCATION_ROUNDS_MAX) {
        break;
      }
      pause(pauseMs);
      pauseMs = Math.min(LOCATION_RETRY_PAUSE_MS_MAX, pauseMs * 2);
      Chunk fresh = reloadChunk(chunk);
      if (fresh == null || offset + len > fresh.length()) {
        failures.add("the chunk changed: the file was overwritten or truncated");
        break;
      }
      chunk = fresh;
    }
    throw new PanguException(PanguErrorCode.CHUNK_UNREADABLE, path, "no replica of chunk "
        + chunk.located().getIndex() + " of " + path + " could be read at " + offset + " ("
        + len + " bytes): " + String.join("; ", failures));
  }

  private void pause(long millis) throws IOException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("reading " + path + " was interrupted");
    }
  }

  private void replicaFailed(LocatedChunk chunk, ChunkServerLocation location,
      StatusRuntimeException e) {
    Status.Code code = e.getStatus().getCode();
    if (code != Status.Code.UNAUTHENTICATED && code != Status.Code.PERMISSION_DENIED) {
      suspects.add(location.getId());
    }
    LOG.warn("Reading chunk {} of {} from {} ({}) failed: {}; trying the next replica",
        chunk.getIndex(), path, location.getId(), location.getAddress(), e.getStatus());
    if (code == Status.Code.DATA_LOSS) {
      try {
        client.reportBadReplica(path, BadReplica.newBuilder().setChunkId(chunk.getChunkId())
            .setGeneration(chunk.getGeneration()).setChunkserverId(location.getId())
            .setReason(String.valueOf(e.getStatus().getDescription())).build());
      } catch (IOException | RuntimeException reportFailure) {
        LOG.warn("Reporting the corrupt replica of chunk {} on {} failed: {}",
            Long.toUnsignedString(chunk.getChunkId()), location.getId(), reportFailure.toString());
      }
    }
  }

  /** The chunk's replicas, nearest first as the master ordered them, those that failed last. */
  private List<ChunkServerLocation> ordered(LocatedChunk chunk) {
    List<ChunkServerLocation> good = new ArrayList<>();
    List<ChunkServerLocation> bad = new ArrayList<>();
    for (ChunkServerLocation location : chunk.getLocationsList()) {
      (suspects.contains(location.getId()) ? bad : good).add(location);
    }
    good.addAll(bad);
    return good;
  }

  // ------------------------------------------------------------------ locations

  private Chunk chunkAt(long offset) throws IOException {
    while (true) {
      Map.Entry<Long, Chunk> entry = chunks.floorEntry(offset);
      if (entry != null && offset < entry.getValue().end()) {
        return entry.getValue();
      }
      if (!morePages) {
        return null;
      }
      loadPage();
    }
  }

  /** Loads the status, the first page of locations and, for an open file, its last chunk. */
  private void load() throws IOException {
    chunks.clear();
    uncommittedTail = null;
    nextPageIndex = 0;
    morePages = true;
    loadPage();
    long visible = status.getLength();
    if (status.getOpen() && status.getChunkCount() > 0) {
      int last = status.getChunkCount() - 1;
      LocatedChunk tail = uncommittedTail != null && uncommittedTail.getIndex() == last
          ? uncommittedTail : null;
      if (tail == null) {
        GetChunkLocationsResponse page = client.chunkLocations(path, last, 1);
        tail = page.getChunksCount() > 0 ? page.getChunks(0) : null;
      }
      if (tail != null && !tail.getCommitted()) {
        long synced = syncedLength(tail);
        if (synced > 0) {
          chunks.put(tail.getFileOffset(), new Chunk(tail, tail.getFileOffset(), synced));
        }
        visible = tail.getFileOffset() + synced;
      }
    }
    length = visible;
    if (buffer != null && bufferStart + bufferLength > length) {
      bufferLength = 0; // never serve bytes beyond what the file now holds
    }
  }

  private void loadPage() throws IOException {
    GetChunkLocationsResponse page = client.chunkLocations(path, nextPageIndex, 0);
    if (page.getStatus().getDirectory()) {
      throw new PanguException(PanguErrorCode.IS_A_DIRECTORY, path, path + " is a directory");
    }
    status = page.getStatus();
    for (LocatedChunk located : page.getChunksList()) {
      if (located.getCommitted() && located.getLength() > 0) {
        chunks.put(located.getFileOffset(),
            new Chunk(located, located.getFileOffset(), located.getLength()));
      } else if (!located.getCommitted()) {
        uncommittedTail = located;
      }
      nextPageIndex = Math.max(nextPageIndex, located.getIndex() + 1);
    }
    morePages = page.getHasMore() && page.getChunksCount() > 0;
  }

  /** Fresh locations and token for {@code chunk}; {@code null} if it is gone. */
  private Chunk reloadChunk(Chunk chunk) throws IOException {
    GetChunkLocationsResponse page = client.chunkLocations(path, chunk.located().getIndex(), 1);
    if (page.getChunksCount() == 0) {
      return null;
    }
    LocatedChunk located = page.getChunks(0);
    if (located.getChunkId() != chunk.located().getChunkId()) {
      return null;
    }
    long chunkLength = located.getCommitted() ? located.getLength() : chunk.length();
    Chunk fresh = new Chunk(located, located.getFileOffset(), chunkLength);
    chunks.put(fresh.fileOffset(), fresh);
    return fresh;
  }

  /**
   * What the replicas of an uncommitted chunk synced: every byte the writer acknowledged is
   * synced on every replica, so the first replica that answers is enough.
   */
  private long syncedLength(LocatedChunk chunk) throws IOException {
    List<String> failures = new ArrayList<>();
    boolean anyAnswer = false;
    for (ChunkServerLocation location : ordered(chunk)) {
      try {
        GetReplicaResponse replica = client.chunkServers().get(location.getAddress())
            .withUnaryTimeout(readTimeout).getReplica(chunk.getChunkId(), chunk.getToken());
        if (replica.getGeneration() == chunk.getGeneration()) {
          return replica.getSyncedLength();
        }
        failures.add(location.getId() + ": generation " + replica.getGeneration());
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
          // The writer has not reached this replica yet: nothing synced there.
          anyAnswer = true;
          continue;
        }
        failures.add(location.getId() + ": " + e.getStatus().getCode() + " "
            + e.getStatus().getDescription());
      }
    }
    if (anyAnswer || chunk.getLocationsCount() == 0) {
      return 0;
    }
    throw new PanguException(PanguErrorCode.CHUNK_UNREADABLE, path, "no replica of the last"
        + " chunk of " + path + " (being written) told its length: " + String.join("; ",
        failures));
  }

  private void checkOpen() throws IOException {
    if (closed) {
      throw new IOException("Stream is closed: " + path);
    }
  }
}
