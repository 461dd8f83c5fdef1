package org.apsara.pangu.chunkserver.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apsara.common.fault.Failpoints;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The chunk replicas of one chunkserver, kept on one or more volumes (disks), each block of 4 KiB
 * checksummed with CRC32C. The on-disk format and its crash guarantees are described in {@code
 * package-info}.
 *
 * <p>A replica is named by its chunk id and must be addressed with its current generation: a
 * request naming another generation fails with {@link StaleGenerationException}. This store
 * holds at most one replica per chunk id.
 *
 * <p>Threading: all methods are thread-safe. Each replica has a single writer at a time: {@link
 * #append}, {@link #sync}, {@link #seal}, {@link #setGeneration} and {@link #delete} on the same
 * replica are serialized (and an append naming a stale offset fails rather than interleaving).
 * Any number of {@link #read}s run concurrently with each other and with the writer, without
 * locks; a reader sees a length no greater than the one published by the last completed append,
 * and never a block whose checksum does not cover exactly the bytes it read. Do not interrupt
 * threads calling into the store: an interrupt closes the file channel in use (a Java {@code
 * FileChannel} rule); the store reopens it for later calls, but the interrupted call fails.
 *
 * <p>Durability: an append is visible to readers when it returns but durable only once a later
 * {@link #sync} returns; only then may the write be acknowledged. After a crash, {@link #open}
 * recovers every byte a completed sync covered, or reports the replica corrupt.
 *
 * <p>Errors: refused requests throw a {@link ChunkStoreException} subclass naming the reason;
 * other {@link IOException}s are disk errors. Corruption is reported once per replica to the
 * {@link CorruptReplicaListener} given to {@link #open}, and flagged in {@link #replicas()}.
 *
 * <p>Failed volumes: a disk error on a volume (or a replica file gone missing) has the volume
 * checked ({@link Volume#check}) on a thread of the store's, unless a check after an earlier
 * error passed less than {@link #VOLUME_CHECK_GAP_NANOS} before (a dying disk goes on failing,
 * and one bad sector should not have the volume checked at every read of the replica on it). A
 * volume that fails its check is out of service until the store is opened again: its replicas
 * leave {@link #replicas()} (so the next heartbeat tells the master they are gone, and it copies
 * them back from the other chunkservers), calls naming them fail with {@link
 * ReplicaNotFoundException}, new replicas go to the other volumes, and {@link #volumeUsage()}
 * names the failure. A volume that cannot be set up or read when the store opens is failed the
 * same way; the store refuses to open only when no volume works. The scrubber's disk errors are
 * different: when a replica cannot be read on a volume that passes its check, that replica is
 * reported corrupt.
 */
public final class ChunkStore implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ChunkStore.class);

  /** Bytes covered by one CRC32C. Part of the on-disk format (recorded in each metadata file). */
  public static final int BLOCK_SIZE_BYTES = 4096;

  /** The generation reported for a replica whose metadata is unreadable. */
  public static final long UNKNOWN_GENERATION = -1;

  /**
   * Failpoint that turns {@link #sync} into a no-op, so that a crash test can prove it notices
   * acknowledged data being lost. Never enable it outside such a test.
   */
  public static final String FAILPOINT_SYNC_NOOP = "pangu.chunkserver.syncNoop";

  /** After a check passed, disk errors on the volume within this many nanoseconds are let be. */
  static final long VOLUME_CHECK_GAP_NANOS = TimeUnit.SECONDS.toNanos(5);

  /** Threads forcing metadata files alongside data files: syncs of this many replicas overlap. */
  static final int FORCE_THREADS = 16;
  private static final long FORCE_THREAD_IDLE_SECONDS = 30;

  private static final Pattern REPLICA_FILE =
      Pattern.compile("([0-9a-f]{16})\\.(data|meta|meta\\.tmp)");

  private final ChunkStoreConfig config;
  private final List<Volume> volumes;
  private final CorruptReplicaListener listener;
  private final Map<Long, Replica> replicas = new ConcurrentHashMap<>();
  /**
   * Forces metadata files while the syncing thread forces the data file, so that a sync waits
   * for one disk flush instead of two in a row. Its queue holds at most one task per thread
   * syncing at the time (each waits for its task), so it is bounded by the callers' threads.
   */
  private final ThreadPoolExecutor forcer = new ThreadPoolExecutor(FORCE_THREADS, FORCE_THREADS,
      FORCE_THREAD_IDLE_SECONDS, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), runnable -> {
        Thread thread = new Thread(runnable, "chunk-force");
        thread.setDaemon(true);
        return thread;
      });
  /** Checks volumes after disk errors, off the threads that met them. */
  private final ExecutorService volumeChecker = Executors.newSingleThreadExecutor(runnable -> {
    Thread thread = new Thread(runnable, "volume-check");
    thread.setDaemon(true);
    return thread;
  });
  /** Volumes with a check queued or running: one at a time per volume. */
  private final Set<Volume> checksQueued = ConcurrentHashMap.newKeySet();
  /** Serializes creating and deleting replicas (rare), so a chunk id is never created twice. */
  private final Object layoutLock = new Object();
  private volatile boolean closed;

  private ChunkStore(ChunkStoreConfig config, CorruptReplicaListener listener) {
    this.config = config;
    this.listener = listener;
    List<Volume> list = new ArrayList<>();
    for (VolumeConfig volume : config.volumes()) {
      list.add(new Volume(volume));
    }
    this.volumes = List.copyOf(list);
    forcer.allowCoreThreadTimeOut(true);
  }

  /**
   * Opens the store, creating the volume layout where missing and recovering every replica found:
   * open replicas are cut back to their longest verified prefix (never below what was synced),
   * interrupted seals are finished, and replicas that cannot be trusted are reported to {@code
   * listener} (on this thread, before this method returns) and listed as corrupt. A volume that
   * cannot be set up, fails its check, or cannot be read is failed (see the class comment) and
   * the store opens with the others.
   *
   * @throws IOException if no volume works
   */
  public static ChunkStore open(ChunkStoreConfig config, CorruptReplicaListener listener)
      throws IOException {
    ChunkStore store = new ChunkStore(config, listener);
    if (!Failpoints.enabled().isEmpty()) {
      LOG.warn("failpoints enabled, guarantees are off on purpose: {}", Failpoints.enabled());
    }
    try {
      for (Volume volume : store.volumes) {
        try {
          volume.prepareLayout();
          volume.check();
          store.recoverVolume(volume);
        } catch (ChunkStoreException e) {
          throw e; // not the disk: the configuration or the files need an operator
        } catch (IOException e) {
          store.failVolume(volume, "when the store opened: " + e);
        }
      }
      if (store.volumes.stream().allMatch(Volume::failed)) {
        throw new IOException("no volume works: " + describeFailures(store.volumes));
      }
    } catch (IOException | RuntimeException e) {
      store.close();
      throw e;
    }
    LOG.info("chunk store open: {} replicas on {} volumes", store.replicas.size(),
        store.volumes.size());
    return store;
  }

  private static String describeFailures(List<Volume> volumes) {
    StringBuilder text = new StringBuilder();
    for (Volume volume : volumes) {
      if (volume.failed()) {
        text.append(text.length() == 0 ? "" : "; ").append(volume).append(": ")
            .append(volume.failure());
      }
    }
    return text.toString();
  }

  private void recoverVolume(Volume volume) throws IOException {
    // chunk id -> {has data, has metadata}, in id order so logs and reports are stable
    Map<Long, boolean[]> found = new TreeMap<>();
    try (DirectoryStream<Path> subdirectories = Files.newDirectoryStream(
        volume.chunksDirectory(), Files::isDirectory)) {
      for (Path subdirectory : subdirectories) {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(subdirectory)) {
          for (Path file : files) {
            Matcher match = REPLICA_FILE.matcher(file.getFileName().toString());
            if (!match.matches()) {
              LOG.warn("ignoring unknown file {}", file);
              continue;
            }
            long chunkId = Long.parseUnsignedLong(match.group(1), 16);
            if (!volume.subdirectory(chunkId).equals(subdirectory)) {
              LOG.warn("ignoring {}: chunk {} belongs in {}", file, chunkId,
                  volume.subdirectory(chunkId));
              continue;
            }
            switch (match.group(2)) {
              case "data" -> found.computeIfAbsent(chunkId, id -> new boolean[2])[0] = true;
              case "meta" -> found.computeIfAbsent(chunkId, id -> new boolean[2])[1] = true;
              default -> {
                // A metadata replacement that never got renamed into place: the old file (or,
                // for a create, none) is the truth.
                Files.delete(file);
                LOG.info("deleted unfinished metadata replacement {}", file);
              }
            }
          }
        }
      }
    }
    for (Map.Entry<Long, boolean[]> entry : found.entrySet()) {
      long chunkId = entry.getKey();
      Replica replica;
      try {
        replica = Replica.recover(chunkId, volume, entry.getValue()[0], entry.getValue()[1],
            config.chunkSizeBytes(), this::reportCorrupt, forcer);
      } catch (IOException e) {
        if (!isDiskError(e)) {
          throw e;
        }
        volume.check(); // if the volume fails it, the whole volume fails to open
        replica = Replica.foundUnreadable(chunkId, volume, config.chunkSizeBytes(),
            this::reportCorrupt, forcer, "reading its files failed when the store opened, on a"
                + " volume that otherwise works: " + e);
      }
      volume.adjust(replica.accountedBytes());
      volume.replicaAdded();
      Replica existing = replicas.get(chunkId);
      if (existing == null) {
        replicas.put(chunkId, replica);
      } else {
        keepOneOf(existing, replica);
      }
    }
  }

  /**
   * Two volumes hold a replica of the same chunk, as after a volume failed, the master had the
   * chunk copied here again, and the volume came back: keeps the better one (not corrupt, then
   * the higher generation, then sealed, then the longer) and deletes the other's files.
   */
  private void keepOneOf(Replica existing, Replica found) throws IOException {
    Comparator<ReplicaInfo> better = Comparator.comparing((ReplicaInfo r) -> !r.corrupt())
        .thenComparingLong(ReplicaInfo::generation)
        .thenComparing(r -> r.state() == ReplicaState.SEALED)
        .thenComparingLong(ReplicaInfo::length);
    ReplicaInfo existingInfo = existing.info();
    ReplicaInfo foundInfo = found.info();
    boolean keepFound = better.compare(foundInfo, existingInfo) > 0;
    Replica kept = keepFound ? found : existing;
    Replica dropped = keepFound ? existing : found;
    LOG.warn("chunk {} has a replica on both {} and {} (a volume that failed and came back?):"
        + " keeping {} ({}), deleting {} ({})", kept.chunkId, existing.volume, found.volume,
        kept.volume, keepFound ? foundInfo : existingInfo, dropped.volume,
        keepFound ? existingInfo : foundInfo);
    try {
      dropped.delete(dropped.generation());
    } catch (IOException e) {
      LOG.warn("deleting the files of chunk {} on {} failed; they stay, unused", dropped.chunkId,
          dropped.volume, e);
      dropped.close();
    }
    dropped.volume.replicaRemoved();
    replicas.put(kept.chunkId, kept);
  }

  /**
   * Creates an empty open replica on the volume with the most free space.
   *
   * @throws ReplicaExistsException if a replica of this chunk is already here
   * @throws NoVolumeAvailableException if every volume is at its reserve
   */
  public ReplicaInfo create(long chunkId, long generation) throws IOException {
    requireOpen();
    if (chunkId < 0 || generation < 0) {
      throw new IllegalArgumentException(
          "chunk id and generation must not be negative: " + chunkId + ", " + generation);
    }
    synchronized (layoutLock) {
      Replica existing = replicas.get(chunkId);
      if (existing != null) {
        throw new ReplicaExistsException(chunkId, existing.generation());
      }
      long bytes = Replica.initialMetaBytes();
      Volume volume = volumeForNewReplica(chunkId, bytes);
      volume.allocate(bytes);
      Replica replica;
      try {
        replica = Replica.create(chunkId, generation, volume, config.chunkSizeBytes(),
            this::reportCorrupt, forcer);
      } catch (IOException e) {
        volume.adjust(-bytes);
        diskError(volume, e);
        throw e;
      }
      replicas.put(chunkId, replica);
      volume.replicaAdded();
      return replica.info();
    }
  }

  private Volume volumeForNewReplica(long chunkId, long bytes) throws NoVolumeAvailableException {
    Volume best = null;
    long bestFree = -1;
    for (Volume volume : volumes) {
      long free = volume.freeBytes();
      if (volume.canTake(bytes) && free > bestFree) {
        best = volume;
        bestFree = free;
      }
    }
    if (best == null) {
      throw new NoVolumeAvailableException(chunkId, bytes, volumeUsage());
    }
    return best;
  }

  /**
   * Appends all of {@code data} (from its position to its limit) at {@code expectedOffset}, which
   * must equal the replica's current length. On return the bytes are visible to readers and
   * {@code data}'s position is at its limit; they are durable only after {@link #sync}. The
   * caller must not modify {@code data} during the call.
   *
   * <p>If an append fails with a plain {@link IOException} (a disk error), the replica accepts no
   * more writes: the writer must seal it (or drop it) at its acknowledged length.
   *
   * @return the replica's new length
   * @throws AppendOffsetMismatchException if {@code expectedOffset} is not the current length
   * @throws ChunkSizeExceededException if the replica would exceed the chunk size
   * @throws VolumeFullException if the volume would drop below its reserve
   * @throws ReplicaStateException if the replica is sealed or an earlier write failed
   */
  public long append(long chunkId, long generation, long expectedOffset, ByteBuffer data)
      throws IOException {
    return onReplica(chunkId,
        replica -> replica.append(generation, expectedOffset, new ByteBuffer[] {data}));
  }

  /**
   * Appends the concatenation of {@code data} (each buffer from its position to its limit), as
   * {@link #append(long, long, long, ByteBuffer)} does with one buffer: in one gathering write,
   * without copying direct buffers. This is how a packet that arrived in several network buffers
   * is written as it is. On return every buffer's position is at its limit.
   */
  public long append(long chunkId, long generation, long expectedOffset, List<ByteBuffer> data)
      throws IOException {
    ByteBuffer[] buffers = data.toArray(new ByteBuffer[0]);
    return onReplica(chunkId, replica -> replica.append(generation, expectedOffset, buffers));
  }

  /**
   * Forces everything appended before the call to disk: the data and the checksums, then the
   * sync record that vouches for them. When it returns, the returned length survives any crash,
   * and writes up to it may be acknowledged. A no-op on a sealed replica.
   *
   * <p>Appends to the same replica from other threads are not held up by the forces: they go on
   * while the disk flushes and are covered by the next sync (the returned length is the one taken
   * when this sync began, so it never names a byte appended during its forces). Syncs of one
   * replica run one at a time.
   *
   * @return the synced length: at least the length when the call began
   */
  public long sync(long chunkId, long generation) throws IOException {
    return onReplica(chunkId, replica -> replica.sync(generation));
  }

  /**
   * Fixes the replica's final length, cutting any bytes past it (an unacknowledged tail), and
   * makes it read-only. Repeating a seal at the same length is a no-op.
   *
   * @throws ReplicaStateException if {@code length} exceeds the replica's length, or it is
   *     already sealed at another length
   * @throws ChecksumMismatchException if the block holding the new end fails verification
   */
  public void seal(long chunkId, long generation, long length) throws IOException {
    onReplica(chunkId, replica -> {
      replica.seal(generation, length);
      return null;
    });
  }

  /**
   * Reads exactly {@code target.remaining()} bytes at {@code offset} into {@code target},
   * verifying every block the range touches in full; on success {@code target}'s position
   * advances by that many bytes, on failure its contents are unspecified and its position is
   * unchanged.
   *
   * @throws ReadBeyondEndException if the range ends past the replica's visible length
   * @throws ChecksumMismatchException if a touched block fails verification (the replica is
   *     then marked corrupt and reported; its other blocks stay readable)
   * @throws CorruptReplicaException if the replica cannot be verified at all
   */
  public void read(long chunkId, long generation, long offset, ByteBuffer target)
      throws IOException {
    onReplica(chunkId, replica -> {
      replica.read(generation, offset, target);
      return null;
    });
  }

  /**
   * Opens a replica for sending its bytes and stored checksums without verifying them here (the
   * receiver does); see {@link ReplicaTransfer}. Close it when done.
   *
   * @throws ReplicaNotFoundException if there is no replica of the chunk
   * @throws StaleGenerationException if the replica has another generation
   * @throws CorruptReplicaException if the replica cannot be verified at all
   */
  public ReplicaTransfer openTransfer(long chunkId, long generation) throws IOException {
    return onReplica(chunkId, replica -> replica.openTransfer(generation));
  }

  /**
   * Deletes the replica's files. A replica listed with {@link #UNKNOWN_GENERATION} is deleted by
   * naming that generation.
   */
  public void delete(long chunkId, long generation) throws IOException {
    requireOpen();
    synchronized (layoutLock) {
      Replica replica = requireReplica(chunkId);
      try {
        replica.delete(generation);
      } catch (IOException e) {
        diskError(replica.volume, e);
        throw e;
      }
      replicas.remove(chunkId, replica);
      replica.volume.replicaRemoved();
    }
  }

  /**
   * Changes a sealed replica's generation to a higher one, as the master does after recovering
   * the chunk at its sealed length, so that replicas that missed the recovery are recognisably
   * stale. Atomic on disk. Repeating a completed change is a no-op.
   *
   * @throws ReplicaStateException if the replica is open, or {@code newGeneration} is not higher
   */
  public void setGeneration(long chunkId, long generation, long newGeneration)
      throws IOException {
    onReplica(chunkId, replica -> {
      replica.setGeneration(generation, newGeneration);
      return null;
    });
  }

  /** The replica of this chunk, if here. */
  public Optional<ReplicaInfo> replica(long chunkId) {
    Replica replica = replicas.get(chunkId);
    return replica == null ? Optional.empty() : Optional.of(replica.info());
  }

  /** Every replica, in chunk id order: the chunk report. A snapshot; replicas may change. */
  public List<ReplicaInfo> replicas() {
    List<ReplicaInfo> list = new ArrayList<>(replicas.size());
    for (Replica replica : replicas.values()) {
      list.add(replica.info());
    }
    list.sort(Comparator.comparingLong(ReplicaInfo::chunkId));
    return list;
  }

  /** Space accounting of every volume, in configuration order, for heartbeats. */
  public List<VolumeUsage> volumeUsage() {
    List<VolumeUsage> list = new ArrayList<>(volumes.size());
    for (Volume volume : volumes) {
      list.add(volume.usage(Replica.initialMetaBytes()));
    }
    return list;
  }

  public long chunkSizeBytes() {
    return config.chunkSizeBytes();
  }

  /**
   * Verifies a range of a replica without copying it out; the scrubber's read. A disk error is
   * no verdict on the bytes: the volume is checked at once, and if it works, the replica, which
   * it cannot read, is reported corrupt ({@link CorruptReplicaException}); if it failed, the
   * replica went with it and the error is thrown.
   */
  void verify(long chunkId, long generation, long offset, int length) throws IOException {
    Replica replica = requireReplica(chunkId);
    try {
      replica.verify(generation, offset, length);
    } catch (IOException e) {
      if (isDiskError(e) && checkVolume(replica.volume, e)) {
        throw replica.markUnreadable(e);
      }
      diskError(replica.volume, e);
      throw e;
    }
  }

  /** Whether any volume failed; see {@link #volumeUsage()} for which and why. */
  public boolean anyVolumeFailed() {
    return volumes.stream().anyMatch(Volume::failed);
  }

  // ---------------------------------------------------------------- disk errors

  /** A call on one replica, whose disk errors have its volume checked. */
  @FunctionalInterface
  private interface ReplicaCall<T> {
    T call(Replica replica) throws IOException;
  }

  private <T> T onReplica(long chunkId, ReplicaCall<T> call) throws IOException {
    Replica replica = requireReplica(chunkId);
    try {
      return call.call(replica);
    } catch (IOException e) {
      diskError(replica.volume, e);
      throw e;
    }
  }

  /**
   * A plain {@link IOException}, not a refusal of the store's and not a channel closed by an
   * interrupt or by a concurrent close: what the disk or the file system said.
   */
  static boolean isDiskError(IOException e) {
    return !(e instanceof ChunkStoreException) && !(e instanceof ClosedChannelException);
  }

  /**
   * Has {@code volume} checked on the checker thread if {@code error} is a disk error, or a
   * replica's missing file (a disk that went away leaves paths that lead nowhere).
   */
  private void diskError(Volume volume, IOException error) {
    boolean suspect = isDiskError(error)
        || error instanceof CorruptReplicaException corrupt && corrupt.fileMissing();
    if (!suspect || volume.failed() || closed
        || volume.errorCheckPassedWithin(VOLUME_CHECK_GAP_NANOS, System.nanoTime())
        || !checksQueued.add(volume)) {
      return;
    }
    LOG.warn("disk error on volume {}; checking it", volume, error);
    try {
      volumeChecker.execute(() -> {
        try {
          checkVolume(volume, error);
        } finally {
          checksQueued.remove(volume);
        }
      });
    } catch (RejectedExecutionException e) {
      checksQueued.remove(volume); // the store is closing
    }
  }

  /**
   * Checks {@code volume} after {@code error} and fails it if the check fails.
   *
   * @return whether the volume works
   */
  private boolean checkVolume(Volume volume, IOException error) {
    if (volume.failed()) {
      return false;
    }
    try {
      volume.check();
      volume.errorCheckPassed(System.nanoTime());
      LOG.info("volume {} passed its check after a disk error ({}): the error stays with the"
          + " replica that met it", volume, error.toString());
      return true;
    } catch (IOException e) {
      failVolume(volume, "its check failed after a disk error (" + error + "): " + e);
      return false;
    }
  }

  /** Takes {@code volume} out of service, with its replicas; see the class comment. */
  private void failVolume(Volume volume, String reason) {
    List<Replica> lost = new ArrayList<>();
    synchronized (layoutLock) {
      if (volume.failed()) {
        return;
      }
      volume.fail(reason);
      for (Replica replica : replicas.values()) {
        if (replica.volume == volume) {
          lost.add(replica);
        }
      }
      for (Replica replica : lost) {
        replicas.remove(replica.chunkId, replica);
        volume.replicaRemoved();
      }
    }
    // Outside the layout lock: closing waits for a sync under way, which a dying disk may hold.
    for (Replica replica : lost) {
      replica.close();
    }
    LOG.error("volume {} FAILED and is out of service until the chunkserver restarts: {}. Its {}"
        + " replicas are no longer served; the master copies them from other chunkservers.",
        volume, reason, lost.size());
    if (volumes.stream().allMatch(Volume::failed)) {
      LOG.error("every volume of this chunkserver has failed: it serves no replica and takes no"
          + " new one");
    }
  }

  /**
   * Releases all file handles. Appends not yet synced are not forced: they may or may not be
   * there when the store is opened again, exactly as after a crash. Later calls fail.
   */
  @Override
  public void close() {
    closed = true;
    synchronized (layoutLock) {
      for (Replica replica : replicas.values()) {
        replica.close();
      }
    }
    forcer.shutdown();
    volumeChecker.shutdown();
  }

  private Replica requireReplica(long chunkId) throws ChunkStoreException {
    requireOpen();
    Replica replica = replicas.get(chunkId);
    if (replica == null) {
      throw new ReplicaNotFoundException(chunkId);
    }
    return replica;
  }

  private void requireOpen() throws ChunkStoreException {
    if (closed) {
      throw new ChunkStoreException("the chunk store is closed");
    }
  }

  private void reportCorrupt(CorruptReplicaReport report) {
    try {
      listener.onCorruptReplica(report);
    } catch (RuntimeException e) {
      LOG.warn("corrupt replica listener failed for chunk {}", report.chunkId(), e);
    }
  }
}
