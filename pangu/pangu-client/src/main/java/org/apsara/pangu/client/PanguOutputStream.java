package org.apsara.pangu.client;

import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.apsara.pangu.api.ChunkServerLimits;
import org.apsara.pangu.api.v1.ChunkServerLocation;
import org.apsara.pangu.api.v1.FileStatus;
import org.apsara.pangu.api.v1.LocatedChunk;
import org.apsara.pangu.client.chunkserver.ReplicaWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a file opened by {@link PanguClient#create} or {@link PanguClient#append}.
 *
 * <p><b>How bytes travel.</b> Written bytes gather into packets of up to {@value
 * #PACKET_BYTES_MAX} bytes. A file is a sequence of chunks: the first packet of a chunk allocates
 * it (AddChunk), and each packet goes to every replica of the chunk in parallel over its own
 * connection (a fan-out from this client, not a chain through the chunkservers): the
 * chunkserver's plain TCP bulk write path when it offers one, else a gRPC WriteReplica stream (see
 * {@link ReplicaWriter}). Packets are direct buffers, sent to each replica without a copy. When a
 * chunk reaches the file's chunk size, its replicas are finished; the next packet starts a new
 * chunk, and the AddChunk that allocates it commits the finished one in the same call (the
 * CloseFile that ends the file commits the last one).
 *
 * <p><b>Durability.</b> {@link #hsync} returns once every replica of the current chunk has synced
 * every byte written so far to disk (earlier chunks are finished, hence synced). {@link #hflush}
 * does the same: the chunkservers acknowledge only synced bytes, so there is no cheaper
 * "visible but not durable" point to stop at. Bytes are visible to readers once hsynced. {@link
 * #close} syncs, commits the last chunk and closes the file; only then is the file's length final.
 *
 * <p><b>Failures.</b> When a replica fails mid-chunk (an error, or no acknowledgement within
 * {@link PanguClientConfig#replicaAckTimeout}), the writer does not fail its caller. It finishes
 * the remaining replicas, commits the chunk at the length all of them acknowledged, and continues
 * in a new chunk placed away from the failed chunkserver, resending the bytes it still holds
 * beyond the committed length. To be able to, it keeps a copy of every byte sent but not yet
 * acknowledged by all replicas, at most {@value #UNACKED_BYTES_MAX} bytes, asking for a sync every
 * {@value #SYNC_INTERVAL_BYTES} bytes so that acknowledgements free the copies. The master brings
 * the short chunk back to full replication. The write fails only if no chunk can be placed (the
 * master places one on fewer chunkservers than the replication, down to its {@code
 * replication.min}, once the failed ones are excluded), if
 * {@value #RECOVERIES_WITHOUT_PROGRESS_MAX} recoveries in a row made no progress, or if the master
 * refuses (an expired lease); the exception is then thrown by this and every later call.
 *
 * <p><b>Threading.</b> Like any {@link OutputStream}, one thread writes at a time; the methods
 * are synchronized, so concurrent calls are serialized rather than corrupted. While the stream
 * is open, the client's lease renewer keeps the file's lease alive.
 */
public final class PanguOutputStream extends OutputStream {
  private static final Logger LOG = LoggerFactory.getLogger(PanguOutputStream.class);

  /** Largest packet: the chunkserver's largest data message. */
  public static final int PACKET_BYTES_MAX = ChunkServerLimits.DATA_MESSAGE_BYTES_MAX;
  /**
   * A sync is asked for every this many bytes of a chunk, so that acks free retained copies.
   * Every sync forces the replicas' files: 16 MiB wrote 18% faster with four writers than 4 MiB
   * (docs/pangu.md, "Bulk writes").
   */
  public static final long SYNC_INTERVAL_BYTES = 16L << 20;
  /**
   * Most bytes sent but not acknowledged by every replica, kept to resend after a failure: two
   * sync intervals, so that the next bytes flow while the oldest sync completes.
   */
  public static final long UNACKED_BYTES_MAX = 2 * SYNC_INTERVAL_BYTES;
  /** Chunk recoveries in a row that acknowledged no new byte before the write gives up. */
  public static final int RECOVERIES_WITHOUT_PROGRESS_MAX = 3;

  private final PanguClient client;
  private final FileStatus file;
  private final long chunkSizeBytes;
  /** Capacity of every full packet. */
  private final int packetBytes;
  private final Duration ackTimeout;
  /** Chunkservers (ids) that failed this writer: no new chunk of this stream goes there. */
  private final Set<String> excluded = new LinkedHashSet<>();

  /**
   * The packet being filled, a direct buffer from the client's {@link PacketBuffers} taken at the
   * first byte (an empty file takes none): its position is how much it holds.
   */
  private ByteBuffer packet;
  private final PacketBuffers packetBuffers;
  /** Bytes of the file accepted from the caller: the file's length once they all arrive. */
  private long position;
  /** File offset where the current chunk starts: the length of the finished chunks. */
  private long committedLength;
  private int nextChunkIndex;
  private OpenChunk chunk;
  /**
   * A chunk every replica finished with all its bytes, not committed yet: the next AddChunk
   * commits it in the same master call (one log entry at a chunk's end instead of two), or the
   * CloseFile if none follows.
   */
  private PanguClient.ChunkCommit finished;
  private int recoveriesWithoutProgress;
  private int recoveries;
  private IOException failure;
  private boolean closed;

  private PanguOutputStream(PanguClient client, FileStatus file) {
    this.client = client;
    this.file = file;
    this.chunkSizeBytes = file.getChunkSize();
    this.ackTimeout = client.config().replicaAckTimeout();
    this.position = file.getLength();
    this.committedLength = file.getLength();
    this.nextChunkIndex = file.getChunkCount();
    if (chunkSizeBytes <= 0) {
      throw new IllegalStateException("the master gave " + file.getPath()
          + " no chunk size: " + chunkSizeBytes);
    }
    this.packetBytes = (int) Math.min(PACKET_BYTES_MAX, chunkSizeBytes);
    this.packetBuffers = client.chunkServers().packetBuffers();
  }

  /** A stream over {@code file}, just created or reopened for append under the client's lease. */
  static PanguOutputStream open(PanguClient client, FileStatus file) {
    PanguOutputStream stream = new PanguOutputStream(client, file);
    client.leases().streamOpened();
    return stream;
  }

  /** The file's path. */
  public String path() {
    return file.getPath();
  }

  /** Bytes of the file so far, those written through this stream included. */
  public synchronized long getPos() {
    return position;
  }

  /** Chunk recoveries this stream went through (replica failures survived). */
  public synchronized int recoveries() {
    return recoveries;
  }

  @Override
  public synchronized void write(int b) throws IOException {
    checkWritable();
    try {
      // The packet always has room: it is sent as soon as it reaches its capacity.
      fillingPacket().put((byte) b);
      position++;
      if (packet.position() == packetCapacity()) {
        sendPacket(false);
      }
    } catch (IOException | RuntimeException e) {
      throw fail(e);
    }
  }

  @Override
  public synchronized void write(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    checkWritable();
    try {
      while (len > 0) {
        int n = Math.min(len, packetCapacity() - fillingPacket().position());
        packet.put(b, off, n);
        position += n;
        off += n;
        len -= n;
        if (packet.position() == packetCapacity()) {
          sendPacket(false);
        }
      }
    } catch (IOException | RuntimeException e) {
      throw fail(e);
    }
  }

  /** Same as {@link #hsync}: see the class comment for why there is nothing cheaper. */
  public synchronized void hflush() throws IOException {
    hsync();
  }

  /**
   * Returns once every byte written so far is on the disks of every replica (and readable by
   * other clients).
   */
  public synchronized void hsync() throws IOException {
    checkWritable();
    try {
      sendPacket(true);
      awaitDurable(position);
    } catch (IOException | RuntimeException e) {
      throw fail(e);
    }
  }

  /** Does nothing: bytes are sent when a packet fills; {@link #hsync} makes them durable. */
  @Override
  public void flush() throws IOException {
    synchronized (this) {
      if (failure != null) {
        throw failure;
      }
    }
  }

  /**
   * Makes every byte durable, commits the last chunk and closes the file. Closing again does
   * nothing. If this fails, the file is left for lease recovery, which keeps what was synced.
   */
  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    try {
      if (failure != null) {
        throw failure;
      }
      sendPacket(false);
      while (chunk != null) {
        sealChunk();
      }
      if (packet != null) {
        packetBuffers.give(packet); // empty after the last send, and nothing refers to it
        packet = null;
      }
      // The last chunk's commit rides on the close (if the close fails, fail commits it).
      client.closeFile(file, finished);
      finished = null;
    } catch (IOException | RuntimeException e) {
      throw fail(e);
    } finally {
      closed = true;
      client.leases().streamClosed();
    }
  }

  // ------------------------------------------------------------------ sending

  private ByteBuffer fillingPacket() {
    if (packet == null) {
      packet = packetBuffers.take(packetBytes);
    }
    return packet;
  }

  /** How many bytes the packet being filled may hold: it must not cross a chunk's end. */
  private int packetCapacity() {
    long sent = chunk == null ? 0 : chunk.sent;
    return (int) Math.min(packetBytes, chunkSizeBytes - sent);
  }

  /** Sends the filled part of the packet, asking for a sync if {@code sync}. */
  private void sendPacket(boolean sync) throws IOException {
    if (packet == null || packet.position() == 0) {
      if (sync && chunk != null && chunk.syncRequested < chunk.sent) {
        requestSync();
      }
      return;
    }
    ByteBuffer data;
    if (packet.position() == packetBytes) {
      // Handed over whole: retained for resending, so the stream fills another one.
      data = packet.flip();
      packet = null;
    } else {
      // A partial packet (hsync, close, a chunk's end) is copied to its size rather than
      // retaining a whole packet buffer for a few bytes.
      data = ByteBuffer.allocate(packet.position()).put(packet.flip()).flip();
      packet.clear();
    }
    openChunkIfNone();
    makeRoom(data.remaining());
    // A recovery while making room may have moved the retained bytes to a new chunk.
    openChunkIfNone();
    boolean askSync = sync
        || chunk.sent + data.remaining() - chunk.syncRequested >= SYNC_INTERVAL_BYTES;
    List<Replica> failed = transmit(List.of(data), askSync);
    if (!failed.isEmpty()) {
      recover(failed);
    }
    while (chunk != null && chunk.sent == chunkSizeBytes) {
      sealChunk();
    }
  }

  /**
   * Retains {@code pieces} in the current chunk and sends them to each live replica, the last
   * one asking for a sync if {@code sync}.
   *
   * @return the replicas that failed; they got no further piece
   */
  private List<Replica> transmit(List<ByteBuffer> pieces, boolean sync) throws IOException {
    List<Replica> failed = new ArrayList<>();
    for (int i = 0; i < pieces.size(); i++) {
      ByteBuffer piece = pieces.get(i);
      boolean askSync = sync && i == pieces.size() - 1;
      chunk.retained.addLast(piece);
      for (Replica replica : chunk.live) {
        if (failed.contains(replica)) {
          continue;
        }
        try {
          // A view per replica: the retained packet keeps its own position for resending.
          replica.writer.write(piece.duplicate(), askSync, ackTimeout);
        } catch (StatusRuntimeException e) {
          replica.failure = e;
          failed.add(replica);
        } catch (InterruptedException e) {
          throw interrupted(e);
        }
      }
      chunk.sent += piece.remaining();
      if (askSync) {
        chunk.syncRequested = chunk.sent;
      }
    }
    return failed;
  }

  /** Sends an empty packet asking every replica to sync what it has. */
  private void requestSync() throws IOException {
    List<Replica> failed = new ArrayList<>();
    for (Replica replica : chunk.live) {
      try {
        replica.writer.write(ByteBuffer.allocate(0), true, ackTimeout);
      } catch (StatusRuntimeException e) {
        replica.failure = e;
        failed.add(replica);
      } catch (InterruptedException e) {
        throw interrupted(e);
      }
    }
    chunk.syncRequested = chunk.sent;
    if (!failed.isEmpty()) {
      recover(failed);
    }
  }

  /** Waits for acknowledgements until {@code incoming} more bytes fit in the retained copies. */
  private void makeRoom(int incoming) throws IOException {
    while (chunk != null && chunk.retainedBytes() + incoming > UNACKED_BYTES_MAX) {
      long needed = chunk.retainedFrom + chunk.retainedBytes() + incoming - UNACKED_BYTES_MAX;
      awaitChunkAcked(Math.min(needed, chunk.sent));
    }
  }

  /** Waits until every byte below file offset {@code target} is committed or synced everywhere. */
  private void awaitDurable(long target) throws IOException {
    while (chunk != null && committedLength + chunk.acked < target) {
      awaitChunkAcked(Math.min(target - committedLength, chunk.sent));
    }
  }

  /**
   * Waits until every live replica of the current chunk synced {@code length} bytes of it, then
   * frees the copies below. A failing replica starts a recovery instead, after which the caller
   * looks at the (new) current chunk again.
   */
  private void awaitChunkAcked(long length) throws IOException {
    if (chunk.syncRequested < length) {
      requestSync();
      if (chunk == null || chunk.syncRequested < length) {
        return; // recovered: the caller re-evaluates
      }
    }
    List<Replica> failed = new ArrayList<>();
    long acked = Long.MAX_VALUE;
    for (Replica replica : chunk.live) {
      try {
        acked = Math.min(acked, replica.writer.awaitSynced(length, ackTimeout));
      } catch (StatusRuntimeException e) {
        replica.failure = e;
        failed.add(replica);
      } catch (InterruptedException e) {
        throw interrupted(e);
      }
    }
    if (!failed.isEmpty()) {
      recover(failed);
      return;
    }
    chunk.acknowledge(Math.min(acked, chunk.sent));
    recoveriesWithoutProgress = 0;
  }

  // ------------------------------------------------------------------ chunks

  private void openChunkIfNone() throws IOException {
    if (chunk != null) {
      return;
    }
    LocatedChunk located = client.addChunk(file, nextChunkIndex, excluded, finished);
    finished = null;
    if (located.getLocationsCount() == 0) {
      throw new PanguException(PanguErrorCode.WRITE_FAILED, file.getPath(),
          "the master placed chunk " + located.getIndex() + " of " + file.getPath()
              + " on no chunkserver");
    }
    OpenChunk opened = new OpenChunk(located, packetBuffers);
    List<String> addresses = new ArrayList<>();
    for (ChunkServerLocation location : located.getLocationsList()) {
      addresses.add(location.getAddress());
    }
    List<ReplicaWriter> writers = client.chunkServers().openWriters(addresses,
        located.getChunkId(), located.getGeneration(), located.getToken(), true, 0, ackTimeout);
    for (int i = 0; i < writers.size(); i++) {
      opened.live.add(new Replica(located.getLocations(i), writers.get(i)));
    }
    chunk = opened;
  }

  /** Finishes every replica of the current chunk and commits it; recovers if one fails. */
  private void sealChunk() throws IOException {
    OpenChunk sealing = chunk;
    if (sealing.acked < sealing.sent) {
      // One sync asked of every replica at once: each finish below then finds its replica
      // synced, instead of the replicas forcing one after another.
      awaitChunkAcked(sealing.sent);
      if (chunk != sealing) {
        return; // a replica failed and the chunk was recovered: the caller looks again
      }
    }
    List<Replica> failed = new ArrayList<>();
    for (Replica replica : chunk.live) {
      try {
        long synced = replica.writer.finish(ackTimeout);
        if (synced != chunk.sent) {
          throw new IllegalStateException("replica of chunk " + chunk.located.getChunkId()
              + " on " + replica.location.getAddress() + " finished at " + synced + " bytes, "
              + chunk.sent + " were sent");
        }
      } catch (StatusRuntimeException e) {
        replica.failure = e;
        failed.add(replica);
      } catch (InterruptedException e) {
        throw interrupted(e);
      }
    }
    if (!failed.isEmpty()) {
      recover(failed);
      return;
    }
    // Durable on every replica: committed with the next chunk's allocation, or by close.
    finished = new PanguClient.ChunkCommit(chunk.located, chunk.sent);
    chunk.acknowledge(chunk.sent); // every replica finished with all of it: the packets go back
    committedLength += chunk.sent;
    nextChunkIndex++;
    chunk = null;
    recoveriesWithoutProgress = 0;
  }

  private void commitFinished() throws IOException {
    if (finished != null) {
      client.commitChunk(file, finished.chunk(), finished.length());
      finished = null;
    }
  }

  /**
   * The non-stop write: drops the failed replicas, finishes the others, commits the chunk at the
   * length every remaining replica acknowledged and resends the rest to a new chunk placed away
   * from every chunkserver that failed this stream.
   */
  private void recover(List<Replica> failed) throws IOException {
    List<ByteBuffer> tail = commitAfterFailure(failed);
    while (!tail.isEmpty()) {
      openChunkIfNone();
      List<Replica> failedAgain = transmit(tail, false);
      if (failedAgain.isEmpty()) {
        return;
      }
      tail = commitAfterFailure(failedAgain);
    }
  }

  /** Commits the current chunk after {@code failed} failed; returns the bytes to resend. */
  private List<ByteBuffer> commitAfterFailure(List<Replica> failed) throws IOException {
    recoveries++;
    if (++recoveriesWithoutProgress > RECOVERIES_WITHOUT_PROGRESS_MAX) {
      throw new PanguException(PanguErrorCode.WRITE_FAILED, file.getPath(), "writing "
          + file.getPath() + " failed: " + RECOVERIES_WITHOUT_PROGRESS_MAX
          + " chunk recoveries in a row made no progress; excluded chunkservers " + excluded
          + "; last failure " + describe(failed), failed.get(0).failure);
    }
    List<Replica> dead = new ArrayList<>(failed);
    // Finish the survivors: what they received becomes durable, and the chunk ends there.
    for (Replica replica : chunk.live) {
      if (dead.contains(replica)) {
        continue;
      }
      try {
        replica.writer.finish(ackTimeout);
      } catch (StatusRuntimeException e) {
        replica.failure = e;
        dead.add(replica);
      } catch (InterruptedException e) {
        throw interrupted(e);
      }
    }
    for (Replica replica : dead) {
      replica.writer.close();
      chunk.live.remove(replica);
      excluded.add(replica.location.getId());
    }
    // Survivors finished with everything sent; with none left, only what all had acknowledged.
    long length = chunk.live.isEmpty() ? chunk.acked : chunk.sent;
    LOG.warn("Writing {}: {} of chunk {} ({}) failed: {}; committing it at {} of {} bytes and "
            + "going on in a new chunk without {}", file.getPath(), dead.size() == 1
            ? "a replica" : dead.size() + " replicas", chunk.located.getIndex(),
        Long.toUnsignedString(chunk.located.getChunkId()), describe(dead), length, chunk.sent,
        excluded);
    client.commitChunk(file, chunk.located, length);
    List<ByteBuffer> tail = chunk.bytesFrom(length);
    committedLength += length;
    nextChunkIndex++;
    chunk = null;
    if (length > 0) {
      recoveriesWithoutProgress = 0;
    }
    return tail;
  }

  private static String describe(List<Replica> replicas) {
    StringBuilder text = new StringBuilder();
    for (Replica replica : replicas) {
      if (!text.isEmpty()) {
        text.append("; ");
      }
      text.append(replica.location.getId()).append(" at ").append(replica.location.getAddress())
          .append(": ").append(replica.failure == null ? "failed"
              : replica.failure.getStatus().getCode() + " " + replica.failure.getStatus()
                  .getDescription());
    }
    return text.toString();
  }

  // ------------------------------------------------------------------ failure

  private void checkWritable() throws IOException {
    if (closed) {
      throw new IOException("Stream is closed: " + file.getPath());
    }
    if (failure != null) {
      throw failure;
    }
  }

  private IOException interrupted(InterruptedException e) {
    Thread.currentThread().interrupt();
    InterruptedIOException interrupted =
        new InterruptedIOException("writing " + file.getPath() + " was interrupted");
    interrupted.initCause(e);
    return interrupted;
  }

  /**
   * Makes {@code e} this stream's failure: later calls throw it. Cancels the replica streams and
   * asks the master to close the file now instead of when the lease runs out, which could take
   * long while this client renews leases for its other streams.
   */
  private IOException fail(Throwable e) {
    IOException failure = e instanceof IOException io ? io
        : new PanguException(PanguErrorCode.WRITE_FAILED, file.getPath(),
            "writing " + file.getPath() + " failed: " + e, e);
    if (this.failure == null) {
      this.failure = failure;
      if (chunk != null) {
        chunk.live.forEach(replica -> replica.writer.close());
        chunk = null;
      }
      try {
        // Lease recovery would find the finished chunk's length on its replicas; saying it is
        // one call instead of a round of questions to the chunkservers.
        commitFinished();
      } catch (IOException | RuntimeException commitFailure) {
        failure.addSuppressed(commitFailure);
      }
      try {
        client.recoverLease(file.getPath());
      } catch (IOException | RuntimeException recoveryFailure) {
        failure.addSuppressed(recoveryFailure);
      }
    }
    return failure;
  }

  // ------------------------------------------------------------------ state of a chunk

  private static final class Replica {
    final ChunkServerLocation location;
    final ReplicaWriter writer;
    StatusRuntimeException failure;

    Replica(ChunkServerLocation location, ReplicaWriter writer) {
      this.location = location;
      this.writer = writer;
    }
  }

  /** The chunk being written: its replicas, and copies of what they have not all synced. */
  private static final class OpenChunk {
    final LocatedChunk located;
    final List<Replica> live = new ArrayList<>();
    /**
     * Copies of the bytes from {@link #retainedFrom} to {@link #sent}, in order, each from
     * position 0 to its limit (never moved: replicas are sent views).
     */
    final Deque<ByteBuffer> retained = new ArrayDeque<>();
    /** Where acknowledged packets go back. */
    final PacketBuffers packetBuffers;
    long retainedFrom;
    /** Bytes sent into the chunk. */
    long sent;
    /** Bytes every live replica synced. */
    long acked;
    /** The largest length a sync was asked for. */
    long syncRequested;

    OpenChunk(LocatedChunk located, PacketBuffers packetBuffers) {
      this.located = located;
      this.packetBuffers = packetBuffers;
    }

    long retainedBytes() {
      return sent - retainedFrom;
    }

    /** Every live replica synced {@code length} bytes: free the copies wholly below it. */
    void acknowledge(long length) {
      acked = Math.max(acked, length);
      while (!retained.isEmpty() && retainedFrom + retained.peekFirst().remaining() <= acked) {
        ByteBuffer freed = retained.removeFirst();
        retainedFrom += freed.remaining();
        // Whole packets go back for reuse; partial copies and views (never at position 0 of a
        // whole packet's capacity) are left to the collector.
        if (freed.position() == 0 && freed.limit() == freed.capacity()) {
          packetBuffers.give(freed);
        }
      }
    }

    /** Copies of the bytes from chunk offset {@code from} to the end of what was sent. */
    List<ByteBuffer> bytesFrom(long from) {
      if (from < retainedFrom) {
        throw new IllegalStateException("bytes from " + from + " are needed, but only those from "
            + retainedFrom + " were kept");
      }
      List<ByteBuffer> pieces = new ArrayList<>();
      long at = retainedFrom;
      for (ByteBuffer piece : retained) {
        long end = at + piece.remaining();
        if (end > from) {
          // A view of a piece's tail has a smaller capacity, so it is never mistaken for a
          // whole packet and reused while the view is still retained.
          pieces.add(at >= from ? piece : piece.slice((int) (from - at),
              (int) (end - from)));
        }
        at = end;
      }
      return pieces;
    }
  }
}
