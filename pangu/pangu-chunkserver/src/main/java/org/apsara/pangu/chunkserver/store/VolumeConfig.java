package org.apsara.pangu.chunkserver.store;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One volume (normally one disk) of the chunk store.
 *
 * @param directory where the volume's replicas live; created if missing
 * @param capacityBytes the most this volume may hold, or {@link #CAPACITY_WHOLE_FILE_SYSTEM} to be
 *     limited only by the file system's free space (the smaller limit always applies)
 * @param reservedBytes free space the store never uses, left for the operating system and for
 *     other users of the disk
 */
public record VolumeConfig(Path directory, long capacityBytes, long reservedBytes) {
  /** No limit of our own: the file system's usable space is the only limit. */
  public static final long CAPACITY_WHOLE_FILE_SYSTEM = Long.MAX_VALUE;

  /** Default reserve: enough for logs and a few chunks of slack on a multi-terabyte disk. */
  public static final long DEFAULT_RESERVED_BYTES = 1L << 30;

  public VolumeConfig {
    Objects.requireNonNull(directory, "directory");
    if (capacityBytes <= 0) {
      throw new IllegalArgumentException("capacityBytes must be positive: " + capacityBytes);
    }
    if (reservedBytes < 0) {
      throw new IllegalArgumentException("reservedBytes must not be negative: " + reservedBytes);
    }
  }

  /** A volume limited by its file system, with the default reserve. */
  public static VolumeConfig of(Path directory) {
    return new VolumeConfig(directory, CAPACITY_WHOLE_FILE_SYSTEM, DEFAULT_RESERVED_BYTES);
  }
}
