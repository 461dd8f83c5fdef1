package org.apsara.pangu.chunkserver.store;

import static org.apsara.pangu.chunkserver.store.MetaFormat.CHECKSUMS_OFFSET;
import static org.apsara.pangu.chunkserver.store.MetaFormat.CHECKSUM_BYTES;
import static org.apsara.pangu.chunkserver.store.MetaFormat.SECTOR_BYTES;
import static org.apsara.pangu.chunkserver.store.MetaFormat.checksumOffset;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;
import org.apsara.common.fault.Failpoints;
import org.apsara.pangu.chunkserver.store.MetaFormat.MetadataFormatException;
import org.apsara.pangu.chunkserver.store.MetaFormat.Superblock;
import org.apsara.pangu.chunkserver.store.MetaFormat.SyncRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One replica's files and state.
 *
 * <p>Threading: every mutation (append, sync, seal, generation bump, delete, close) holds {@code
 * writeLock}, so there is at most one writer at a time; a sync holds it only to take the length
 * it will force and runs its forces under {@code syncLock} alone, so that appends continue while
 * the disk flushes (seal, delete and close take {@code syncLock} too). Readers take no lock: they
 * read the volatile {@link View}, an immutable snapshot published after each mutation completes,
 * and read the files with positional reads. Data below a published length is never rewritten
 * (appends only add bytes past it; seal may cut bytes a reader then finds missing and retries),
 * so a reader always verifies exactly the bytes the checksums in its view describe.
 */
final class Replica {
  private static final Logger LOG = LoggerFactory.getLogger(Replica.class);

  static final int BLOCK_BYTES = ChunkStore.BLOCK_SIZE_BYTES;
  /** Blocks read and verified per read call into the file system (64 KiB). */
  static final int READ_BATCH_BLOCKS = 16;
  /** Blocks read per call straight into the caller's buffer (1 MiB, one data message). */
  static final int TARGET_READ_BATCH_BLOCKS = 256;
  /** Reads retried after the replica changed under them (sealed, files swapped) before failing. */
  static final int MAX_READ_ATTEMPTS = 3;

  private static final boolean SYNC_NOOP = Failpoints.enabled(ChunkStore.FAILPOINT_SYNC_NOOP);

  /** Receives corruption found in this replica; the store passes it on to its listener. */
  interface CorruptionSink {
    void corrupt(CorruptReplicaReport report);
  }

  /**
   * What readers see. For an open replica the channels are shared by the writer and all readers;
   * for a sealed one they are null and each read opens its own, so that thousands of sealed
   * replicas hold no file handles.
   *
   * @param tailChecksum CRC32C of the last partial block ({@code length % BLOCK_BYTES} bytes), 0 if
   *     the length is block-aligned
   */
  record View(long generation, ReplicaState state, long length, int tailChecksum,
      FileChannel data, FileChannel meta) {
    View withChannels(FileChannel newData, FileChannel newMeta) {
      return new View(generation, state, length, tailChecksum, newData, newMeta);
    }
  }

  /** Why a replica is corrupt; {@code readable} if its other blocks can still be verified. */
  private record Corruption(String reason, boolean readable, OptionalLong blockIndex) {}

  /** The replica changed under a reader in a way that explains what it saw: read again. */
  private static final class ViewChangedException extends Exception {
    private static final long serialVersionUID = 1L;

    ViewChangedException() {
      super(null, null, false, false);
    }
  }

  final long chunkId;
  final Volume volume;
  final Path dataPath;
  final Path metaPath;
  private final long chunkSizeBytes;
  private final CorruptionSink sink;
  /** Runs the metadata file's force alongside the data file's in {@link #sync}. */
  private final Executor forcer;

  private final ReentrantLock writeLock = new ReentrantLock();
  /**
   * Held through a sync's forces, and by seal, delete and close (which close or replace the
   * files) around their work. Always taken before {@code writeLock}, never while holding it.
   */
  private final ReentrantLock syncLock = new ReentrantLock();
  private volatile View view;
  private volatile boolean removed;
  private volatile long syncedLength;
  private final AtomicReference<Corruption> corruption = new AtomicReference<>();
  /**
   * Corruption found while holding writeLock or syncLock, reported by whichever thread next
   * releases the last of them (a listener may call back into the store and take them).
   */
  private final AtomicReference<CorruptReplicaReport> pendingReport = new AtomicReference<>();

  // Guarded by writeLock.
  /** The bytes of the last partial block, so that an append can extend its checksum. */
  private final byte[] tailBlock = new byte[BLOCK_BYTES];
  /** Guarded by syncLock (and single-threaded during recovery). */
  private long syncSequence;
  /** True if checksum entries were written since the metadata file was last forced. */
  private boolean entriesUnforced;
  /** Set when a write or force failed: the on-disk state is unknown, so only seal may follow. */
  private String writeFailure;
  /** Bytes this replica holds in its volume's accounting. */
  private long accountedBytes;

  private Replica(long chunkId, Volume volume, long chunkSizeBytes, CorruptionSink sink,
      Executor forcer) {
    this.chunkId = chunkId;
    this.volume = volume;
    this.dataPath = volume.dataPath(chunkId);
    this.metaPath = volume.metaPath(chunkId);
    this.chunkSizeBytes = chunkSizeBytes;
    this.sink = sink;
    this.forcer = forcer;
  }

  // ---------------------------------------------------------------- creation and recovery

  /** Creates an empty open replica; the caller has allocated {@link #initialMetaBytes()}. */
  static Replica create(long chunkId, long generation, Volume volume, long chunkSizeBytes,
      CorruptionSink sink, Executor forcer) throws IOException {
    Replica replica = new Replica(chunkId, volume, chunkSizeBytes, sink, forcer);
    FileChannel data = FileChannel.open(replica.dataPath, StandardOpenOption.CREATE_NEW,
        StandardOpenOption.READ, StandardOpenOption.WRITE);
    FileChannel meta = null;
    try {
      ByteBuffer content = ByteBuffer.allocate(CHECKSUMS_OFFSET);
      content.put(MetaFormat.encodeSuperblock(
          new Superblock(chunkId, generation, BLOCK_BYTES, false, 0)));
      content.position(Math.toIntExact(MetaFormat.syncSlotOffset(0)));
      content.put(MetaFormat.encodeSyncRecord(new SyncRecord(0, 0, 0)));
      content.clear();
      // The rename and the directory force also make the data file's directory entry durable.
      DurableFiles.replaceAtomically(replica.metaPath, content);
      meta = FileChannel.open(replica.metaPath, StandardOpenOption.READ, StandardOpenOption.WRITE);
    } catch (IOException e) {
      closeQuietly(data, meta);
      Files.deleteIfExists(replica.metaPath);
      Files.deleteIfExists(replica.dataPath);
      throw e;
    }
    replica.view = new View(generation, ReplicaState.OPEN, 0, 0, data, meta);
    replica.accountedBytes = initialMetaBytes();
    return replica;
  }

  static long initialMetaBytes() {
    return CHECKSUMS_OFFSET;
  }

  /**
   * Opens a replica found on disk, repairing what a crash may have left (see {@code
   * package-info}) and reporting it corrupt if it cannot be trusted. Never throws for damaged
   * files; throws only if the volume itself fails.
   */
  static Replica recover(long chunkId, Volume volume, boolean hasData, boolean hasMeta,
      long chunkSizeBytes, CorruptionSink sink, Executor forcer) throws IOException {
    Replica replica = new Replica(chunkId, volume, chunkSizeBytes, sink, forcer);
    replica.recoverFiles(hasData, hasMeta);
    // Whatever recovery kept, truncated or found damaged is what the volume holds for it.
    replica.accountedBytes = sizeIfExists(replica.dataPath) + sizeIfExists(replica.metaPath);
    return replica;
  }

  /**
   * A replica found on disk whose files could not be read although its volume works: listed as
   * unreadable and reported corrupt, so that the master replaces it and deletes its files.
   */
  static Replica foundUnreadable(long chunkId, Volume volume, long chunkSizeBytes,
      CorruptionSink sink, Executor forcer, String reason) {
    Replica replica = new Replica(chunkId, volume, chunkSizeBytes, sink, forcer);
    replica.unreadable(0, reason);
    try {
      replica.accountedBytes = sizeIfExists(replica.dataPath) + sizeIfExists(replica.metaPath);
    } catch (IOException e) {
      replica.accountedBytes = 0; // the space is counted again once the files can be read
    }
    return replica;
  }

  private static long sizeIfExists(Path file) throws IOException {
    return Files.exists(file) ? Files.size(file) : 0;
  }

  /** Bytes this replica holds in its volume's accounting. Holds no lock: call while exclusive. */
  long accountedBytes() {
    return accountedBytes;
  }

  private Replica recoverFiles(boolean hasData, boolean hasMeta) throws IOException {
    long dataSize = hasData ? Files.size(dataPath) : 0;
    long metaSize = hasMeta ? Files.size(metaPath) : 0;
    if (!hasMeta) {
      return unreadable(dataSize, "its checksum metadata file is missing");
    }
    Superblock superblock;
    try (FileChannel meta = FileChannel.open(metaPath, StandardOpenOption.READ)) {
      ByteBuffer sector = ByteBuffer.allocate(SECTOR_BYTES);
      DurableFiles.readFully(meta, sector, 0);
      superblock = MetaFormat.decodeSuperblock(sector.flip());
    } catch (MetadataFormatException e) {
      return unreadable(dataSize, "its checksum metadata is unreadable: " + e.getMessage());
    }
    if (superblock.chunkId() != chunkId) {
      return unreadable(dataSize,
          "its metadata names chunk " + superblock.chunkId() + " instead");
    }
    if (superblock.blockSizeBytes() != BLOCK_BYTES) {
      return unreadable(dataSize, "its metadata has block size "
          + superblock.blockSizeBytes() + ", this store uses " + BLOCK_BYTES);
    }
    ReplicaState state = superblock.sealed() ? ReplicaState.SEALED : ReplicaState.OPEN;
    if (!hasData) {
      return corruptUnreadable(superblock.generation(), state,
          superblock.sealedLength(), "its data file is missing");
    }
    return superblock.sealed()
        ? recoverSealed(superblock, dataSize, metaSize)
        : recoverOpen(superblock, dataSize, metaSize);
  }

  private Replica recoverSealed(Superblock superblock, long dataSize, long metaSize)
      throws IOException {
    long length = superblock.sealedLength();
    long generation = superblock.generation();
    long entries = ceilBlocks(length);
    if (metaSize < checksumOffset(entries)) {
      return corruptUnreadable(generation, ReplicaState.SEALED, length, "its metadata has "
          + metaSize + " bytes, too few for the checksums of " + entries + " blocks");
    }
    if (dataSize < length) {
      return corruptUnreadable(generation, ReplicaState.SEALED, length,
          "its data file has " + dataSize + " bytes but it was sealed at " + length);
    }
    int tailChecksum = 0;
    try (FileChannel meta = FileChannel.open(metaPath, StandardOpenOption.READ)) {
      if (length % BLOCK_BYTES != 0) {
        ByteBuffer entry = ByteBuffer.allocate(CHECKSUM_BYTES);
        DurableFiles.readExactly(meta, entry, checksumOffset(entries - 1), metaPath);
        tailChecksum = entry.getInt(0);
      }
    }
    if (dataSize > length) {
      // A crash between installing the sealed metadata and truncating: finish the seal.
      try (FileChannel data = FileChannel.open(dataPath, StandardOpenOption.WRITE)) {
        data.truncate(length);
        data.force(false);
      }
      LOG.info("chunk {}: finished an interrupted seal, truncated the data file from {} to {}"
          + " bytes", chunkId, dataSize, length);
    }
    view = new View(generation, ReplicaState.SEALED, length, tailChecksum, null, null);
    syncedLength = length;
    return this;
  }

  private Replica recoverOpen(Superblock superblock, long dataSize, long metaSize)
      throws IOException {
    long generation = superblock.generation();
    FileChannel data = FileChannel.open(dataPath, StandardOpenOption.READ,
        StandardOpenOption.WRITE);
    FileChannel meta = FileChannel.open(metaPath, StandardOpenOption.READ,
        StandardOpenOption.WRITE);
    boolean keepChannels = false;
    try {
      Optional<SyncRecord> current = Optional.empty();
      for (int slot = 0; slot < MetaFormat.SYNC_SLOT_COUNT; slot++) {
        ByteBuffer sector = ByteBuffer.allocate(SECTOR_BYTES);
        DurableFiles.readFully(meta, sector, MetaFormat.syncSlotOffset(slot));
        Optional<SyncRecord> record = MetaFormat.decodeSyncRecord(sector.flip());
        if (record.isPresent()
            && (current.isEmpty() || record.get().sequence() > current.get().sequence())) {
          current = record;
        }
      }
      if (current.isEmpty()) {
        return corruptUnreadable(generation, ReplicaState.OPEN, 0,
            "neither sync record of its metadata is valid");
      }
      SyncRecord record = current.get();
      long synced = record.syncedLength();
      if (dataSize < synced) {
        return corruptUnreadable(generation, ReplicaState.OPEN, synced, "its data file has "
            + dataSize + " bytes but " + synced + " were synced");
      }
      if (metaSize < checksumOffset(synced / BLOCK_BYTES)) {
        return corruptUnreadable(generation, ReplicaState.OPEN, synced, "its metadata has "
            + metaSize + " bytes, too few for the checksums of its " + synced + " synced bytes");
      }
      int syncedTail = (int) (synced % BLOCK_BYTES);
      if (syncedTail > 0) {
        long tailStart = synced - syncedTail;
        ByteBuffer tail = ByteBuffer.wrap(tailBlock, 0, syncedTail);
        DurableFiles.readExactly(data, tail, tailStart, dataPath);
        int actual = MetaFormat.crc(tailBlock, 0, syncedTail);
        if (actual != record.tailChecksum()) {
          view = new View(generation, ReplicaState.OPEN, synced, record.tailChecksum(), data, meta);
          syncedLength = synced;
          syncSequence = record.sequence();
          keepChannels = true;
          markCorrupt(new Corruption(String.format("its last synced block %d (file offset %d)"
                  + " has CRC32C 0x%08x, the sync record says 0x%08x", synced / BLOCK_BYTES,
                  tailStart, actual, record.tailChecksum()), true,
              OptionalLong.of(synced / BLOCK_BYTES)));
          return this;
        }
      }
      // Extend over the blocks that filled after the last sync and verify; their entries may
      // have reached the disk before their data or the other way round.
      long recovered = synced;
      ByteBuffer block = ByteBuffer.allocate(BLOCK_BYTES);
      ByteBuffer entry = ByteBuffer.allocate(CHECKSUM_BYTES);
      for (long index = synced / BLOCK_BYTES;
          (index + 1) * BLOCK_BYTES <= dataSize && checksumOffset(index + 1) <= metaSize;
          index++) {
        block.clear();
        entry.clear();
        DurableFiles.readExactly(data, block, index * BLOCK_BYTES, dataPath);
        DurableFiles.readExactly(meta, entry, checksumOffset(index), metaPath);
        if (MetaFormat.crc(block.array(), 0, BLOCK_BYTES) != entry.getInt(0)) {
          break;
        }
        recovered = (index + 1) * BLOCK_BYTES;
      }
      int tailChecksum = recovered == synced ? record.tailChecksum() : 0;
      long entriesEnd = checksumOffset(recovered / BLOCK_BYTES);
      long sequence = record.sequence();
      if (recovered != synced || dataSize > recovered || metaSize > entriesEnd) {
        data.truncate(recovered);
        meta.truncate(entriesEnd);
        data.force(false);
        meta.force(false);
        sequence++;
        ByteBuffer recovery = MetaFormat.encodeSyncRecord(
            new SyncRecord(sequence, recovered, tailChecksum));
        DurableFiles.writeFully(meta, recovery, MetaFormat.syncSlotOffset(sequence));
        meta.force(false);
        LOG.info("chunk {}: recovered open replica: {} bytes synced, {} kept, {} torn bytes"
            + " dropped", chunkId, synced, recovered, dataSize - recovered);
      }
      view = new View(generation, ReplicaState.OPEN, recovered, tailChecksum, data, meta);
      syncedLength = recovered;
      syncSequence = sequence;
      keepChannels = true;
      return this;
    } finally {
      if (!keepChannels) {
        closeQuietly(data, meta);
      }
    }
  }

  private Replica unreadable(long dataSize, String reason) {
    return corruptUnreadable(ChunkStore.UNKNOWN_GENERATION, ReplicaState.UNREADABLE, dataSize,
        reason);
  }

  private Replica corruptUnreadable(long generation, ReplicaState state, long length,
      String reason) {
    view = new View(generation, state, length, 0, null, null);
    syncedLength = length;
    markCorrupt(new Corruption(reason, false, OptionalLong.empty()));
    return this;
  }

  // ---------------------------------------------------------------- writes

  /** Appends the concatenation of {@code sources}, each from its position to its limit. */
  long append(long generation, long expectedOffset, ByteBuffer[] sources) throws IOException {
    writeLock.lock();
    try {
      View current = writableView(generation, "append to");
      if (expectedOffset != current.length()) {
        throw new AppendOffsetMismatchException(chunkId, expectedOffset, current.length());
      }
      long count = 0;
      for (ByteBuffer source : sources) {
        count += source.remaining();
      }
      if (count == 0) {
        return current.length();
      }
      if (count > chunkSizeBytes - current.length()) {
        throw new ChunkSizeExceededException(chunkId, current.length(), count, chunkSizeBytes);
      }
      long start = current.length();
      long end = start + count;
      long firstBlock = start / BLOCK_BYTES;
      int filledBlocks = (int) (end / BLOCK_BYTES - firstBlock);
      long growth = count + (long) filledBlocks * CHECKSUM_BYTES;
      volume.allocate(growth);
      accountedBytes += growth;
      try {
        current = openChannels(current);
        ByteBuffer entries = ByteBuffer.allocate(filledBlocks * CHECKSUM_BYTES);
        int tailChecksum = checksumAppended(start, count, sources, entries);
        ByteBuffer[] views = new ByteBuffer[sources.length];
        for (int i = 0; i < sources.length; i++) {
          views[i] = sources[i].duplicate();
        }
        // One system call for the whole packet, from the caller's buffers as they are.
        DurableFiles.writeFully(current.data(), views, start);
        if (filledBlocks > 0) {
          DurableFiles.writeFully(current.meta(), entries.flip(), checksumOffset(firstBlock));
          entriesUnforced = true;
        }
        // Publish only now: a reader never sees a length whose bytes or checksums are unwritten.
        view = new View(generation, ReplicaState.OPEN, end, tailChecksum, current.data(),
            current.meta());
        for (ByteBuffer source : sources) {
          source.position(source.limit());
        }
        return end;
      } catch (IOException e) {
        failWrites("an append at offset " + start + " failed", e);
        throw e;
      }
    } finally {
      unlock();
    }
  }

  /**
   * Computes the entries of the blocks the appended bytes fill (into {@code entries}) and the
   * checksum of the new last partial block, keeping that block's bytes in {@link #tailBlock}.
   * Leaves {@code sources} as they are.
   */
  private int checksumAppended(long start, long count, ByteBuffer[] sources, ByteBuffer entries) {
    int inBlock = (int) (start % BLOCK_BYTES);
    CRC32C crc = new CRC32C();
    crc.update(tailBlock, 0, inBlock);
    for (ByteBuffer source : sources) {
      for (int at = source.position(); at < source.limit(); ) {
        int take = Math.min(BLOCK_BYTES - inBlock, source.limit() - at);
        crc.update(source.slice(at, take));
        at += take;
        inBlock += take;
        if (inBlock == BLOCK_BYTES) {
          entries.putInt((int) crc.getValue());
          crc.reset();
          inBlock = 0;
        }
      }
    }
    if (inBlock == 0) {
      return 0;
    }
    // The new last, partial block: its appended part is the last bytes appended (all of them if
    // the append did not reach the end of the old partial block), possibly spread over several
    // sources. Keep them after the old bytes of the block, if any.
    int fromAppend = (int) Math.min(inBlock, count);
    int tailEnd = inBlock;
    for (int i = sources.length - 1; i >= 0 && fromAppend > 0; i--) {
      ByteBuffer source = sources[i];
      int take = Math.min(fromAppend, source.remaining());
      source.get(source.limit() - take, tailBlock, tailEnd - take, take);
      tailEnd -= take;
      fromAppend -= take;
    }
    return (int) crc.getValue();
  }

  /**
   * Forces what was appended before the call and returns the length that is now durable. The
   * write lock is held only to take the length to force and again to publish a failure, not
   * through the forces: appends from another thread go on meanwhile (a force covers every byte
   * whose write returned before it began, so the length taken first is exactly what it makes
   * durable; bytes appended during the force wait for the next sync). Syncs of one replica run
   * one at a time under {@code syncLock}, which also keeps seal, delete and close from closing
   * the files under a running force.
   */
  long sync(long generation) throws IOException {
    syncLock.lock();
    try {
      View current;
      boolean forceEntries;
      writeLock.lock();
      try {
        current = presentView(generation);
        if (current.state() == ReplicaState.SEALED) {
          return current.length(); // sealing forced everything
        }
        current = writableView(generation, "sync");
        if (current.length() == syncedLength) {
          return syncedLength;
        }
        if (SYNC_NOOP) {
          return current.length(); // a failpoint: tests prove they notice acknowledged-but-lost data
        }
        try {
          current = openChannels(current);
        } catch (IOException e) {
          failWrites("a sync could not reopen the replica's files", e);
          throw e;
        }
        forceEntries = entriesUnforced;
        entriesUnforced = false;
      } finally {
        unlock();
      }
      try {
        if (forceEntries) {
          // The data and the entries must both be durable before a sync record that vouches for
          // them, in either order: force the two files at once, each fdatasync waiting for its
          // own disk flush, instead of one after the other.
          forceBoth(current.data(), current.meta());
        } else {
          current.data().force(false);
        }
        // The record names the length and tail checksum taken under the lock; appends made
        // since write only past that length (data, and entries of blocks it did not fill yet),
        // never into the bytes the record vouches for.
        long sequence = syncSequence + 1;
        DurableFiles.writeFully(current.meta(), MetaFormat.encodeSyncRecord(
                new SyncRecord(sequence, current.length(), current.tailChecksum())),
            MetaFormat.syncSlotOffset(sequence));
        current.meta().force(false);
        syncSequence = sequence;
        syncedLength = current.length();
        return current.length();
      } catch (IOException e) {
        // After a failed fsync the page cache may have dropped the dirty pages: nothing written
        // since the last good sync can be trusted, so no further write may be acknowledged.
        writeLock.lock();
        try {
          failWrites("a sync failed", e);
        } finally {
          unlock();
        }
        throw e;
      }
    } finally {
      unlockSync();
    }
  }

  /** Forces {@code data} on this thread and {@code meta} on the forcer; returns when both are. */
  private void forceBoth(FileChannel data, FileChannel meta) throws IOException {
    FutureTask<Void> metaForce = new FutureTask<>(() -> {
      meta.force(false);
      return null;
    });
    try {
      forcer.execute(metaForce);
    } catch (RejectedExecutionException e) {
      metaForce.run(); // the store is closing: force here instead
    }
    IOException dataFailure = null;
    try {
      data.force(false);
    } catch (IOException e) {
      dataFailure = e;
    }
    // Wait for the metadata force even if the data force failed, so that no force of this
    // replica's files is still running when the caller gives up on it.
    IOException metaFailure = null;
    boolean interrupted = false;
    while (true) {
      try {
        metaForce.get();
        break;
      } catch (InterruptedException e) {
        interrupted = true; // the force cannot be abandoned half done; finish waiting
      } catch (ExecutionException e) {
        metaFailure = e.getCause() instanceof IOException io ? io
            : new IOException("forcing " + metaPath + " failed", e.getCause());
        break;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    if (dataFailure != null) {
      if (metaFailure != null) {
        dataFailure.addSuppressed(metaFailure);
      }
      throw dataFailure;
    }
    if (metaFailure != null) {
      throw metaFailure;
    }
  }

  void seal(long generation, long length) throws IOException {
    syncLock.lock(); // no force may be running on the files this closes or replaces
    writeLock.lock();
    try {
      View current = presentView(generation);
      if (current.state() == ReplicaState.SEALED) {
        if (current.length() == length) {
          return; // a retried seal
        }
        throw new ReplicaStateException(chunkId, ReplicaState.SEALED,
            "already sealed at " + current.length() + " bytes, cannot seal at " + length);
      }
      requireNotCorrupt();
      if (length < 0 || length > current.length()) {
        throw new ReplicaStateException(chunkId, ReplicaState.OPEN,
            "cannot seal at " + length + " bytes: the replica has " + current.length());
      }
      try {
        current = openChannels(current);
        int fullBlocks = (int) (length / BLOCK_BYTES);
        int tailBytes = (int) (length % BLOCK_BYTES);
        int entryCount = fullBlocks + (tailBytes > 0 ? 1 : 0);
        ByteBuffer content = ByteBuffer.allocate(CHECKSUMS_OFFSET + entryCount * CHECKSUM_BYTES);
        content.put(MetaFormat.encodeSuperblock(
            new Superblock(chunkId, generation, BLOCK_BYTES, true, length)));
        ByteBuffer entries = content.slice(CHECKSUMS_OFFSET, fullBlocks * CHECKSUM_BYTES);
        DurableFiles.readExactly(current.meta(), entries, checksumOffset(0), metaPath);
        int tailChecksum = 0;
        if (tailBytes > 0) {
          tailChecksum = length == current.length()
              ? current.tailChecksum()
              : verifiedPrefixChecksum(current, fullBlocks, tailBytes);
          content.putInt(CHECKSUMS_OFFSET + fullBlocks * CHECKSUM_BYTES, tailChecksum);
        }
        content.clear();
        current.data().force(false);
        DurableFiles.replaceAtomically(metaPath, content);
        // Publish the shorter view before cutting the file: a reader that then finds the data
        // file shorter than its older view sees why, and reads again instead of calling the
        // replica corrupt. Recovery finishes a seal whose truncation did not happen.
        view = new View(generation, ReplicaState.SEALED, length, tailChecksum, null, null);
        syncedLength = length;
        long dataSize = current.data().size();
        if (dataSize > length) {
          current.data().truncate(length); // cuts the unacknowledged tail
          current.data().force(false);
        }
        closeQuietly(current.data(), current.meta());
        long accounted = length + content.capacity();
        volume.adjust(accounted - accountedBytes);
        accountedBytes = accounted;
      } catch (ChecksumMismatchException e) {
        throw e;
      } catch (IOException e) {
        // The metadata file may have been replaced already: appending to the old one would lose
        // data, so only a retried seal may follow.
        failWrites("a seal at " + length + " bytes failed", e);
        throw e;
      }
    } finally {
      unlock();
      unlockSync();
    }
  }

  /** Verifies block {@code blockIndex} as it is and returns the checksum of its first bytes. */
  private int verifiedPrefixChecksum(View current, long blockIndex, int prefixBytes)
      throws IOException {
    long blockStart = blockIndex * BLOCK_BYTES;
    int blockBytes = (int) Math.min(BLOCK_BYTES, current.length() - blockStart);
    ByteBuffer block = ByteBuffer.allocate(blockBytes);
    DurableFiles.readExactly(current.data(), block, blockStart, dataPath);
    int expected;
    if (blockBytes == BLOCK_BYTES) {
      ByteBuffer entry = ByteBuffer.allocate(CHECKSUM_BYTES);
      DurableFiles.readExactly(current.meta(), entry, checksumOffset(blockIndex), metaPath);
      expected = entry.getInt(0);
    } else {
      expected = current.tailChecksum();
    }
    int actual = MetaFormat.crc(block.array(), 0, blockBytes);
    if (actual != expected) {
      throw checksumMismatch(current, blockIndex, expected, actual);
    }
    return MetaFormat.crc(block.array(), 0, prefixBytes);
  }

  void setGeneration(long generation, long newGeneration) throws IOException {
    writeLock.lock();
    try {
      View current = view;
      if (!removed && current.generation() == newGeneration && generation < newGeneration) {
        return; // a retried bump that already happened
      }
      current = presentView(generation);
      requireNotCorrupt();
      if (current.state() != ReplicaState.SEALED) {
        throw new ReplicaStateException(chunkId, current.state(),
            "only a sealed replica's generation can be changed");
      }
      if (newGeneration <= generation) {
        throw new ReplicaStateException(chunkId, current.state(), "the new generation "
            + newGeneration + " is not above the current " + generation);
      }
      long entryCount = ceilBlocks(current.length());
      ByteBuffer content = ByteBuffer.allocate(
          Math.toIntExact(CHECKSUMS_OFFSET + entryCount * CHECKSUM_BYTES));
      content.put(MetaFormat.encodeSuperblock(
          new Superblock(chunkId, newGeneration, BLOCK_BYTES, true, current.length())));
      try (FileChannel meta = FileChannel.open(metaPath, StandardOpenOption.READ)) {
        DurableFiles.readExactly(meta, content.position(CHECKSUMS_OFFSET), checksumOffset(0),
            metaPath);
      }
      DurableFiles.replaceAtomically(metaPath, content.clear());
      view = new View(newGeneration, ReplicaState.SEALED, current.length(),
          current.tailChecksum(), null, null);
    } finally {
      unlock();
    }
  }

  void delete(long generation) throws IOException {
    syncLock.lock(); // no force may be running on the files this closes or replaces
    writeLock.lock();
    try {
      View current = view;
      if (removed) {
        throw new ReplicaNotFoundException(chunkId);
      }
      if (current.generation() != generation) {
        throw new StaleGenerationException(chunkId, generation, current.generation());
      }
      removed = true;
      closeQuietly(current.data(), current.meta());
      // Metadata first: a crash in between leaves a data file without metadata, which the next
      // start reports corrupt, so the master deletes it again.
      Files.deleteIfExists(metaPath);
      Files.deleteIfExists(dataPath);
      DurableFiles.forceDirectory(dataPath.getParent());
      volume.adjust(-accountedBytes);
      accountedBytes = 0;
    } finally {
      unlock();
      unlockSync();
    }
  }

  /** Releases file handles; the replica stays on disk. Later calls fail as if it were deleted. */
  void close() {
    syncLock.lock(); // no force may be running on the files this closes or replaces
    writeLock.lock();
    try {
      removed = true;
      View current = view;
      closeQuietly(current.data(), current.meta());
    } finally {
      unlock();
      unlockSync();
    }
  }

  // ---------------------------------------------------------------- reads

  /** Reads exactly {@code target.remaining()} bytes at {@code offset}, verifying every block. */
  void read(long generation, long offset, ByteBuffer target) throws IOException {
    int length = target.remaining();
    for (int attempt = 1; ; attempt++) {
      View current = readableView(generation, offset, length);
      try {
        verifyRange(current, offset, length, target);
        return;
      } catch (ClosedByInterruptException e) {
        throw e; // this thread was interrupted; the channel is reopened by the next user
      } catch (ClosedChannelException | ViewChangedException e) {
        // A seal or generation bump swapped the files, or another thread's interrupt closed a
        // shared channel: read again from the current view.
        if (attempt >= MAX_READ_ATTEMPTS) {
          throw new ChunkStoreException("chunk " + chunkId + ": the replica kept changing during"
              + " " + attempt + " read attempts", e);
        }
        reopenClosedChannels();
      }
    }
  }

  /**
   * Opens the replica for sending without verification ({@link ReplicaTransfer}): an open
   * replica shares its channels (a seal replaces its metadata file by renaming, so the shared
   * channel keeps the entries this view describes), a sealed one gets channels of its own, opened
   * by path and kept only if the replica did not change meanwhile, so that both files belong to
   * the view whose readable length the transfer carries.
   */
  ReplicaTransfer openTransfer(long generation) throws IOException {
    for (int attempt = 1; ; attempt++) {
      View current = presentView(generation);
      Corruption known = corruption.get();
      if (known != null && !known.readable()) {
        throw new CorruptReplicaException(chunkId, known.reason());
      }
      // Never beyond what a sync covered: an open replica's unsynced tail may yet be cut.
      long readable = current.state() == ReplicaState.SEALED
          ? current.length() : Math.min(syncedLength, current.length());
      if (current.data() != null) {
        return new ReplicaTransfer(chunkId, generation, readable, current.data(),
            current.meta(), false);
      }
      FileChannel data = null;
      FileChannel meta = null;
      try {
        data = FileChannel.open(dataPath, StandardOpenOption.READ);
        meta = FileChannel.open(metaPath, StandardOpenOption.READ);
      } catch (NoSuchFileException e) {
        closeQuietly(data, meta);
        if (!removed && view == current) {
          markCorrupt(new Corruption("its file " + e.getFile() + " is missing", false,
              OptionalLong.empty()));
          throw new CorruptReplicaException(chunkId, "its file " + e.getFile() + " is missing", e);
        }
      }
      if (data != null && meta != null && !removed && view == current) {
        return new ReplicaTransfer(chunkId, generation, readable, data, meta, true);
      }
      closeQuietly(data, meta);
      if (attempt >= MAX_READ_ATTEMPTS) {
        throw new ChunkStoreException("chunk " + chunkId + ": the replica kept changing during "
            + attempt + " attempts to open it");
      }
    }
  }

  /** Verifies the range like a read that copies nothing; for the scrubber. */
  void verify(long generation, long offset, int length) throws IOException {
    for (int attempt = 1; ; attempt++) {
      View current = readableView(generation, offset, length);
      try {
        verifyRange(current, offset, length, null);
        return;
      } catch (ClosedByInterruptException e) {
        throw e;
      } catch (ClosedChannelException | ViewChangedException e) {
        if (attempt >= MAX_READ_ATTEMPTS) {
          throw new ChunkStoreException("chunk " + chunkId + ": the replica kept changing during"
              + " " + attempt + " verification attempts", e);
        }
        reopenClosedChannels();
      }
    }
  }

  private View readableView(long generation, long offset, int length) throws ChunkStoreException {
    View current = presentView(generation);
    Corruption known = corruption.get();
    if (known != null && !known.readable()) {
      throw new CorruptReplicaException(chunkId, known.reason());
    }
    if (offset < 0 || offset > current.length() - length) {
      throw new ReadBeyondEndException(chunkId, offset, length, current.length());
    }
    return current;
  }

  private void verifyRange(View current, long offset, int length, ByteBuffer target)
      throws IOException, ViewChangedException {
    if (length == 0) {
      return;
    }
    if (current.data() != null) {
      verifyRange(current, current.data(), current.meta(), offset, length, target);
      return;
    }
    try (FileChannel data = FileChannel.open(dataPath, StandardOpenOption.READ);
        FileChannel meta = FileChannel.open(metaPath, StandardOpenOption.READ)) {
      verifyRange(current, data, meta, offset, length, target);
    } catch (NoSuchFileException e) {
      if (removed || view != current) {
        throw new ViewChangedException();
      }
      markCorrupt(new Corruption("its file " + e.getFile() + " is missing", false,
          OptionalLong.empty()));
      throw new CorruptReplicaException(chunkId, "its file " + e.getFile() + " is missing", e);
    }
  }

  private void verifyRange(View current, FileChannel data, FileChannel meta, long offset,
      int length, ByteBuffer target) throws IOException, ViewChangedException {
    long end = offset + length;
    long firstBlock = offset / BLOCK_BYTES;
    long lastBlock = (end - 1) / BLOCK_BYTES;
    // Blocks below this have an entry in the metadata file; a last partial block is checked
    // against the view's tail checksum, which matches the view's length exactly.
    long entryBlocks = current.length() / BLOCK_BYTES;
    // The target takes the blocks it covers whole straight from the file, in batches of up to
    // TARGET_READ_BATCH_BLOCKS, verified where they land: no copy out of a scratch buffer (and,
    // for a direct target, none inside the JDK either). Blocks it covers only in part (at an
    // unaligned start or end) go through a scratch buffer one at a time; a verification without
    // a target (the scrubber's) reads into the scratch buffer in batches of READ_BATCH_BLOCKS.
    boolean intoTarget = target != null;
    long lastWholeBlock = end == current.length() ? lastBlock : end / BLOCK_BYTES - 1;
    int scratchBlocks = intoTarget ? 1 : (int) Math.min(READ_BATCH_BLOCKS, lastBlock - firstBlock + 1);
    ByteBuffer scratch = null;
    ByteBuffer entries = ByteBuffer.allocate(
        (intoTarget ? TARGET_READ_BATCH_BLOCKS : scratchBlocks) * CHECKSUM_BYTES);
    int targetStart = target == null ? 0 : target.position();
    long batchFirst = firstBlock;
    while (batchFirst <= lastBlock) {
      long readStart = batchFirst * BLOCK_BYTES;
      boolean inTarget = intoTarget && readStart >= offset && batchFirst <= lastWholeBlock;
      long batchLast = inTarget
          ? Math.min(batchFirst + TARGET_READ_BATCH_BLOCKS - 1, lastWholeBlock)
          : Math.min(batchFirst + scratchBlocks - 1, lastBlock);
      long readEnd = Math.min((batchLast + 1) * BLOCK_BYTES, current.length());
      int readBytes = (int) (readEnd - readStart);
      ByteBuffer blocks;
      if (inTarget) {
        blocks = target.slice(targetStart + (int) (readStart - offset), readBytes);
      } else {
        if (scratch == null) {
          scratch = ByteBuffer.allocate(scratchBlocks * BLOCK_BYTES);
        }
        blocks = scratch.clear().limit(readBytes);
      }
      if (!DurableFiles.readFully(data, blocks, readStart)) {
        throw fileTooShort(current, "its data file ends before offset " + readEnd
            + " (the replica has " + current.length() + " bytes)");
      }
      long entriesEnd = Math.min(batchLast + 1, entryBlocks);
      entries.clear();
      if (entriesEnd > batchFirst) {
        entries.limit((int) ((entriesEnd - batchFirst) * CHECKSUM_BYTES));
        if (!DurableFiles.readFully(meta, entries, checksumOffset(batchFirst))) {
          throw fileTooShort(current, "its metadata file ends before the checksum of block "
              + (entriesEnd - 1));
        }
      }
      for (long index = batchFirst; index <= batchLast; index++) {
        int at = (int) ((index - batchFirst) * BLOCK_BYTES);
        int blockBytes = (int) Math.min(BLOCK_BYTES, current.length() - index * BLOCK_BYTES);
        int expected = index < entryBlocks
            ? entries.getInt((int) ((index - batchFirst) * CHECKSUM_BYTES))
            : current.tailChecksum();
        int actual = MetaFormat.crc(blocks, at, blockBytes);
        if (actual != expected) {
          if (changedUnder(current)) {
            throw new ViewChangedException();
          }
          throw checksumMismatch(current, index, expected, actual);
        }
      }
      if (target != null && !inTarget) {
        long copyStart = Math.max(offset, readStart);
        long copyEnd = Math.min(end, readEnd);
        target.put(targetStart + (int) (copyStart - offset), scratch,
            (int) (copyStart - readStart), (int) (copyEnd - copyStart));
      }
      batchFirst = batchLast + 1;
    }
    if (target != null) {
      target.position(targetStart + length);
    }
  }

  /**
   * True if the replica changed in a way that can explain a short read or a mismatch: it was
   * deleted, or sealed (which may truncate bytes the reader's view still had).
   */
  private boolean changedUnder(View seen) {
    View now = view;
    return removed || now.state() != seen.state() || now.length() < seen.length();
  }

  private IOException fileTooShort(View current, String reason) throws ViewChangedException {
    if (changedUnder(current)) {
      throw new ViewChangedException();
    }
    markCorrupt(new Corruption(reason, false, OptionalLong.empty()));
    return new CorruptReplicaException(chunkId, reason);
  }

  /**
   * Marks the replica corrupt because reading it failed with a disk error while its volume passed
   * its check (a bad sector, say): no read of it can be trusted to succeed, so the master should
   * replace it like a replica whose bytes rotted.
   */
  CorruptReplicaException markUnreadable(IOException error) {
    String reason = "reading it failed on a volume that otherwise works: " + error;
    markCorrupt(new Corruption(reason, false, OptionalLong.empty()));
    return new CorruptReplicaException(chunkId, reason);
  }

  private ChecksumMismatchException checksumMismatch(View current, long blockIndex,
      int expected, int actual) {
    ChecksumMismatchException mismatch = new ChecksumMismatchException(chunkId,
        current.generation(), blockIndex, blockIndex * BLOCK_BYTES, expected, actual);
    markCorrupt(new Corruption(mismatch.getMessage(), true, OptionalLong.of(blockIndex)));
    return mismatch;
  }

  // ---------------------------------------------------------------- state and helpers

  ReplicaInfo info() {
    View current = view;
    // The view and the synced length are published separately: never report more synced bytes
    // than the length (a seal may have just cut the tail).
    long synced = current.state() == ReplicaState.SEALED
        ? current.length() : Math.min(syncedLength, current.length());
    return new ReplicaInfo(chunkId, current.generation(), current.length(), synced,
        current.state(), corruption.get() != null, volume.directory());
  }

  long generation() {
    return view.generation();
  }

  boolean isCorrupt() {
    return corruption.get() != null;
  }

  /**
   * Marks the replica corrupt; the first time, tells the sink, but never while holding writeLock:
   * a listener that calls back into the store (to delete the replica, say) must not deadlock.
   */
  private void markCorrupt(Corruption found) {
    if (corruption.compareAndSet(null, found)) {
      LOG.warn("chunk {} on {} is corrupt: {}", chunkId, volume, found.reason());
      CorruptReplicaReport report = new CorruptReplicaReport(chunkId, view.generation(),
          volume.directory(), found.blockIndex(), found.reason());
      if (writeLock.isHeldByCurrentThread() || syncLock.isHeldByCurrentThread()) {
        pendingReport.set(report);
      } else {
        sink.corrupt(report);
      }
    }
  }

  /** Releases writeLock, then, unless syncLock is still held, sends a report found meanwhile. */
  private void unlock() {
    writeLock.unlock();
    if (!syncLock.isHeldByCurrentThread()) {
      sendPendingReport();
    }
  }

  /** Releases syncLock (writeLock already released), then sends a report found meanwhile. */
  private void unlockSync() {
    syncLock.unlock();
    sendPendingReport();
  }

  private void sendPendingReport() {
    CorruptReplicaReport report = pendingReport.getAndSet(null);
    if (report != null) {
      sink.corrupt(report);
    }
  }

  private View presentView(long generation) throws ChunkStoreException {
    View current = view;
    if (removed) {
      throw new ReplicaNotFoundException(chunkId);
    }
    if (current.state() == ReplicaState.UNREADABLE) {
      throw new CorruptReplicaException(chunkId, corruption.get().reason());
    }
    if (current.generation() != generation) {
      throw new StaleGenerationException(chunkId, generation, current.generation());
    }
    return current;
  }

  private View writableView(long generation, String action) throws ChunkStoreException {
    View current = presentView(generation);
    if (current.state() != ReplicaState.OPEN) {
      throw new ReplicaStateException(chunkId, current.state(), "cannot " + action
          + " a sealed replica");
    }
    requireNotCorrupt();
    if (writeFailure != null) {
      throw new ReplicaStateException(chunkId, current.state(), writeFailure
          + "; it accepts no more writes and must be sealed");
    }
    return current;
  }

  private void requireNotCorrupt() throws CorruptReplicaException {
    Corruption known = corruption.get();
    if (known != null) {
      throw new CorruptReplicaException(chunkId, known.reason());
    }
  }

  private void failWrites(String what, IOException cause) {
    writeFailure = what + " (" + cause + ")";
    LOG.warn("chunk {}: {}; refusing further writes until sealed", chunkId, what, cause);
  }

  /** The view with open channels, reopening them if an interrupt closed them. Holds writeLock. */
  private View openChannels(View current) throws IOException {
    if (current.data().isOpen() && current.meta().isOpen()) {
      return current;
    }
    closeQuietly(current.data(), current.meta());
    FileChannel data = FileChannel.open(dataPath, StandardOpenOption.READ,
        StandardOpenOption.WRITE);
    FileChannel meta;
    try {
      meta = FileChannel.open(metaPath, StandardOpenOption.READ, StandardOpenOption.WRITE);
    } catch (IOException e) {
      closeQuietly(data, null);
      throw e;
    }
    View reopened = current.withChannels(data, meta);
    view = reopened;
    return reopened;
  }

  private void reopenClosedChannels() throws IOException {
    writeLock.lock();
    try {
      View current = view;
      if (!removed && current.state() == ReplicaState.OPEN && current.data() != null) {
        openChannels(current);
      }
    } finally {
      unlock();
    }
  }

  private static long ceilBlocks(long length) {
    return (length + BLOCK_BYTES - 1) / BLOCK_BYTES;
  }

  private static void closeQuietly(FileChannel first, FileChannel second) {
    for (FileChannel channel : new FileChannel[] {first, second}) {
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException e) {
          LOG.debug("closing a replica file failed", e);
        }
      }
    }
  }
}
