package org.apsara.pangu.chunkserver.store;

import static org.apsara.pangu.chunkserver.store.MetaFormat.CHECKSUM_BYTES;
import static org.apsara.pangu.chunkserver.store.MetaFormat.checksumOffset;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;

/**
 * A replica's bytes and stored block checksums, opened for sending without being read here: the
 * bulk read path sends the data with {@link FileChannel#transferTo} ({@code sendfile}) and the
 * checksums beside it, and the receiver verifies. Get one from {@link ChunkStore#openTransfer}.
 *
 * <p>Only bytes below {@link #readableLength} may be sent: a sealed replica's length, or what an
 * open replica's last sync covered, never bytes appended but not yet synced. Every whole block
 * below it has a stored checksum ({@link #readChecksums}); a last partial block has none that
 * matches exactly what is readable, so senders read it through {@link ChunkStore#read}, which
 * verifies it, and compute its checksum.
 *
 * <p>Consistency: the files are those of one published state of the replica. Bytes below the
 * readable length are never rewritten, and checksums of whole blocks never change, so what is
 * sent matches what was stored, with two exceptions a sender must expect: a seal may cut the data
 * file shorter while a transfer runs ({@link #transferTo} then fails), and a seal or delete may
 * close the channels of an open replica (a {@link java.nio.channels.ClosedChannelException}).
 *
 * <p>Not thread-safe: one sender uses it, then closes it.
 */
public final class ReplicaTransfer implements AutoCloseable {
  private final long chunkId;
  private final long generation;
  private final long readableLength;
  private final FileChannel data;
  private final FileChannel meta;
  /** True if the channels were opened for this transfer (a sealed replica), not shared. */
  private final boolean ownsChannels;

  ReplicaTransfer(long chunkId, long generation, long readableLength, FileChannel data,
      FileChannel meta, boolean ownsChannels) {
    this.chunkId = chunkId;
    this.generation = generation;
    this.readableLength = readableLength;
    this.data = data;
    this.meta = meta;
    this.ownsChannels = ownsChannels;
  }

  public long chunkId() {
    return chunkId;
  }

  public long generation() {
    return generation;
  }

  /** Bytes that may be sent: the sealed length, or an open replica's synced length. */
  public long readableLength() {
    return readableLength;
  }

  /**
   * Reads the stored CRC32C of {@code count} whole blocks from {@code firstBlock} into {@code
   * target}, one big-endian int each, at its position.
   *
   * @throws IllegalArgumentException if a block is not whole below the readable length
   * @throws CorruptReplicaException if the metadata file is too short
   */
  public void readChecksums(long firstBlock, int count, ByteBuffer target) throws IOException {
    if (firstBlock < 0 || count < 0
        || (firstBlock + count) * ChunkStore.BLOCK_SIZE_BYTES > readableLength) {
      throw new IllegalArgumentException("chunk " + chunkId + ": blocks " + firstBlock + " to "
          + (firstBlock + count) + " are not whole below the readable length " + readableLength);
    }
    ByteBuffer entries = target.slice(target.position(), count * CHECKSUM_BYTES);
    if (!DurableFiles.readFully(meta, entries, checksumOffset(firstBlock))) {
      throw new CorruptReplicaException(chunkId, "its metadata file ends before the checksum of"
          + " block " + (firstBlock + count - 1));
    }
    target.position(target.position() + count * CHECKSUM_BYTES);
  }

  /**
   * Sends exactly {@code count} bytes at {@code position} of the data file to {@code target},
   * in calls of at most {@code stepBytes}, calling {@code progress} after each.
   *
   * @throws IllegalArgumentException if the range is not below the readable length
   * @throws ChunkStoreException if the data file ends early (a seal cut it meanwhile)
   */
  public void transferTo(long position, long count, WritableByteChannel target, int stepBytes,
      Runnable progress) throws IOException {
    checkRange(position, count);
    long at = position;
    long end = position + count;
    while (at < end) {
      long sent = data.transferTo(at, Math.min(stepBytes, end - at), target);
      if (sent <= 0) {
        throw dataFileEndsEarly(end); // transferTo sends nothing at the end of the file
      }
      at += sent;
      progress.run();
    }
  }

  /**
   * Sends exactly {@code count} bytes at {@code position} of the data file to {@code target} as
   * {@link #transferTo} does, but read into {@code buffer} and written from it, a buffer's worth
   * at a time, calling {@code progress} after each. For a receiver on the same machine this costs
   * less than {@code sendfile} (see the bulk read server).
   *
   * @throws IllegalArgumentException if the range is not below the readable length
   * @throws ChunkStoreException if the data file ends early (a seal cut it meanwhile)
   */
  public void copyTo(long position, long count, WritableByteChannel target, ByteBuffer buffer,
      Runnable progress) throws IOException {
    checkRange(position, count);
    long at = position;
    long end = position + count;
    while (at < end) {
      buffer.clear().limit((int) Math.min(buffer.capacity(), end - at));
      if (!DurableFiles.readFully(data, buffer, at)) {
        throw dataFileEndsEarly(end);
      }
      buffer.flip();
      while (buffer.hasRemaining()) {
        target.write(buffer);
      }
      at += buffer.limit();
      progress.run();
    }
  }

  private void checkRange(long position, long count) {
    if (position < 0 || count < 0 || position + count > readableLength) {
      throw new IllegalArgumentException("chunk " + chunkId + ": " + count + " bytes at "
          + position + " are not below the readable length " + readableLength);
    }
  }

  private ChunkStoreException dataFileEndsEarly(long end) throws IOException {
    // The replica was cut under us (a seal).
    return new ChunkStoreException("chunk " + chunkId + ": its data file ends at " + data.size()
        + " bytes, before " + end + "; it changed during the transfer", null);
  }

  /** Closes the channels if they were opened for this transfer. */
  @Override
  public void close() {
    if (ownsChannels) {
      for (FileChannel channel : new FileChannel[] {data, meta}) {
        try {
          channel.close();
        } catch (IOException e) {
          // Read-only channels: nothing was lost.
        }
      }
    }
  }
}
