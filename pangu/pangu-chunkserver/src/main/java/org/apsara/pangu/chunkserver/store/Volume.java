package org.apsara.pangu.chunkserver.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One volume's directory layout, space accounting and health. Accounting methods are thread-safe
 * (synchronized): an allocation checks and takes space in one step, so two concurrent appends
 * cannot both take the last bytes above the reserve. A volume that failed its {@link #check}
 * stays failed until the chunkserver restarts: it takes nothing and reports no space.
 */
final class Volume {
  static final String CHUNKS_DIRECTORY = "chunks";
  /** Subdirectories per volume, one per value of a chunk id's lowest byte. */
  static final int SUBDIRECTORY_COUNT = 256;
  /** The file {@link #check} writes, forces, reads back and deletes. */
  static final String CHECK_FILE = "volume-check.tmp";
  private static final int CHECK_BYTES = 4096;

  private final VolumeConfig config;
  private final Path chunksDirectory;
  private long usedBytes;
  private int replicaCount;
  private final Object checkLock = new Object();
  /** Why the volume failed, or null while it works. */
  private volatile String failure;
  /** When a check after a disk error last passed ({@link System#nanoTime}), if one did. */
  private volatile long errorCheckPassedNanos;
  private volatile boolean errorCheckPassed;

  Volume(VolumeConfig config) {
    this.config = config;
    this.chunksDirectory = config.directory().resolve(CHUNKS_DIRECTORY);
  }

  /** Creates the directory tree if needed and makes the creation durable. */
  void prepareLayout() throws IOException {
    boolean created = false;
    if (Files.exists(chunksDirectory) && !Files.isDirectory(chunksDirectory)) {
      throw new IOException(chunksDirectory + " is not a directory");
    }
    if (!Files.isDirectory(chunksDirectory)) {
      Files.createDirectories(chunksDirectory);
      created = true;
    }
    for (int i = 0; i < SUBDIRECTORY_COUNT; i++) {
      Path subdirectory = chunksDirectory.resolve(subdirectoryName(i));
      if (!Files.isDirectory(subdirectory)) {
        Files.createDirectory(subdirectory);
        created = true;
      }
    }
    if (created) {
      DurableFiles.forceDirectory(chunksDirectory);
      DurableFiles.forceDirectory(config.directory());
    }
  }

  Path directory() {
    return config.directory();
  }

  /**
   * Checks that the volume still works, as a disk error on it calls for: its chunks directory is
   * there, and a block written to a file in it, forced, reads back the same before the file is
   * deleted. Serialized per volume.
   *
   * @throws IOException saying what failed
   */
  void check() throws IOException {
    // Not under the accounting lock: a check may hang on a dying disk, and heartbeats read the
    // accounting.
    synchronized (checkLock) {
      if (!Files.isDirectory(chunksDirectory)) {
        throw new IOException(chunksDirectory + " is not a directory");
      }
      Path probe = chunksDirectory.resolve(CHECK_FILE);
      byte[] written = new byte[CHECK_BYTES];
      ThreadLocalRandom.current().nextBytes(written);
      try (FileChannel file = FileChannel.open(probe, StandardOpenOption.CREATE,
          StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.READ,
          StandardOpenOption.WRITE)) {
        ByteBuffer out = ByteBuffer.wrap(written);
        while (out.hasRemaining()) {
          file.write(out, out.position());
        }
        file.force(true);
        ByteBuffer in = ByteBuffer.allocate(CHECK_BYTES);
        while (in.hasRemaining() && file.read(in, in.position()) >= 0) {
          // read on until full or the end of the file
        }
        if (in.hasRemaining() || !Arrays.equals(in.array(), written)) {
          throw new IOException(probe + " did not read back what was written and forced to it");
        }
      } finally {
        Files.deleteIfExists(probe);
      }
    }
  }

  /** Records that a check after a disk error passed, at {@code nanos} ({@link System#nanoTime}). */
  void errorCheckPassed(long nanos) {
    errorCheckPassedNanos = nanos;
    errorCheckPassed = true;
  }

  /** Whether a check after a disk error passed less than {@code gapNanos} before {@code nanos}. */
  boolean errorCheckPassedWithin(long gapNanos, long nanos) {
    return errorCheckPassed && nanos - errorCheckPassedNanos < gapNanos;
  }

  /** Takes the volume out of service for good (until the chunkserver restarts). */
  void fail(String reason) {
    failure = reason;
  }

  boolean failed() {
    return failure != null;
  }

  /** Why the volume failed, or null while it works. */
  String failure() {
    return failure;
  }

  Path chunksDirectory() {
    return chunksDirectory;
  }

  Path dataPath(long chunkId) {
    return subdirectory(chunkId).resolve(fileStem(chunkId) + ".data");
  }

  Path metaPath(long chunkId) {
    return subdirectory(chunkId).resolve(fileStem(chunkId) + ".meta");
  }

  Path subdirectory(long chunkId) {
    return chunksDirectory.resolve(subdirectoryName((int) (chunkId & 0xff)));
  }

  static String fileStem(long chunkId) {
    return String.format("%016x", chunkId);
  }

  private static String subdirectoryName(int index) {
    return String.format("%02x", index);
  }

  /**
   * Takes {@code bytes} of space for a write.
   *
   * @throws VolumeFullException if that would leave less than the reserve free
   * @throws ChunkStoreException if the volume has failed
   */
  synchronized void allocate(long bytes) throws ChunkStoreException {
    if (failed()) {
      throw new ChunkStoreException("volume " + config.directory() + " has failed: " + failure);
    }
    long free = freeBytes();
    if (free - bytes < config.reservedBytes()) {
      throw new VolumeFullException(config.directory(), free, config.reservedBytes(), bytes);
    }
    usedBytes += bytes;
  }

  /** Accounts bytes already on disk (found when opening) or gives back released ones. */
  synchronized void adjust(long deltaBytes) {
    usedBytes = Math.max(0, usedBytes + deltaBytes);
  }

  synchronized void replicaAdded() {
    replicaCount++;
  }

  synchronized void replicaRemoved() {
    replicaCount--;
  }

  /** Free space above zero (the reserve not subtracted). */
  synchronized long freeBytes() {
    long underCapacity = config.capacityBytes() == VolumeConfig.CAPACITY_WHOLE_FILE_SYSTEM
        ? Long.MAX_VALUE : config.capacityBytes() - usedBytes;
    // Each call asks the file system (one statfs), so space taken by others counts at once.
    long fileSystemUsable = config.directory().toFile().getUsableSpace();
    return Math.max(0, Math.min(underCapacity, fileSystemUsable));
  }

  synchronized boolean canTake(long bytes) {
    return !failed() && freeBytes() - bytes >= config.reservedBytes();
  }

  synchronized VolumeUsage usage(long newReplicaBytes) {
    String failed = failure;
    if (failed != null) {
      // Its space is not ours to count any more, and asking the disk may fail or hang.
      return new VolumeUsage(config.directory(), 0, 0, 0, config.reservedBytes(), 0, false,
          failed);
    }
    long capacity = config.capacityBytes() == VolumeConfig.CAPACITY_WHOLE_FILE_SYSTEM
        ? config.directory().toFile().getTotalSpace() : config.capacityBytes();
    long free = freeBytes();
    return new VolumeUsage(config.directory(), capacity, usedBytes, free,
        config.reservedBytes(), replicaCount, free - newReplicaBytes >= config.reservedBytes(),
        null);
  }

  @Override
  public String toString() {
    return config.directory().toString();
  }
}
