package org.apsara.pangu.chunkserver.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One volume's directory layout and space accounting. Accounting methods are thread-safe
 * (synchronized): an allocation checks and takes space in one step, so two concurrent appends
 * cannot both take the last bytes above the reserve.
 */
final class Volume {
  static final String CHUNKS_DIRECTORY = "chunks";
  /** Subdirectories per volume, one per value of a chunk id's lowest byte. */
  static final int SUBDIRECTORY_COUNT = 256;

  private final VolumeConfig config;
  private final Path chunksDirectory;
  private long usedBytes;
  private int replicaCount;

  Volume(VolumeConfig config) {
    this.config = config;
    this.chunksDirectory = config.directory().resolve(CHUNKS_DIRECTORY);
  }

  /** Creates the directory tree if needed and makes the creation durable. */
  void prepareLayout() throws IOException {
    boolean created = false;
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
   */
  synchronized void allocate(long bytes) throws VolumeFullException {
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
    return freeBytes() - bytes >= config.reservedBytes();
  }

  synchronized VolumeUsage usage(long newReplicaBytes) {
    long capacity = config.capacityBytes() == VolumeConfig.CAPACITY_WHOLE_FILE_SYSTEM
        ? config.directory().toFile().getTotalSpace() : config.capacityBytes();
    long free = freeBytes();
    return new VolumeUsage(config.directory(), capacity, usedBytes, free,
        config.reservedBytes(), replicaCount, free - newReplicaBytes >= config.reservedBytes());
  }

  @Override
  public String toString() {
    return config.directory().toString();
  }
}
