package org.apsara.pangu.chunkserver.store;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/** Configuration of a {@link ChunkStore}: its volumes and the chunk size limit. Immutable. */
public final class ChunkStoreConfig {
  /** The largest a chunk may grow by default (as in GFS and HDFS's early default). */
  public static final long DEFAULT_CHUNK_SIZE_BYTES = 64L << 20;

  /**
   * The largest chunk size that may be configured: it bounds the checksum entries a replica keeps
   * (4 bytes per 4 KiB block, so 1 MiB of them) and the memory a full-replica check needs.
   */
  public static final long MAX_CHUNK_SIZE_BYTES = 1L << 30;

  private final List<VolumeConfig> volumes;
  private final long chunkSizeBytes;

  private ChunkStoreConfig(Builder builder) {
    if (builder.volumes.isEmpty()) {
      throw new IllegalArgumentException("at least one volume is required");
    }
    Set<Path> seen = new HashSet<>();
    for (VolumeConfig volume : builder.volumes) {
      if (!seen.add(volume.directory().toAbsolutePath().normalize())) {
        throw new IllegalArgumentException("volume listed twice: " + volume.directory());
      }
    }
    if (builder.chunkSizeBytes <= 0 || builder.chunkSizeBytes > MAX_CHUNK_SIZE_BYTES) {
      throw new IllegalArgumentException("chunkSizeBytes must be in (0, " + MAX_CHUNK_SIZE_BYTES
          + "]: " + builder.chunkSizeBytes);
    }
    this.volumes = List.copyOf(builder.volumes);
    this.chunkSizeBytes = builder.chunkSizeBytes;
  }

  public static Builder builder() {
    return new Builder();
  }

  public List<VolumeConfig> volumes() {
    return volumes;
  }

  public long chunkSizeBytes() {
    return chunkSizeBytes;
  }

  /** Not thread-safe. */
  public static final class Builder {
    private final List<VolumeConfig> volumes = new ArrayList<>();
    private long chunkSizeBytes = DEFAULT_CHUNK_SIZE_BYTES;

    private Builder() {}

    public Builder volume(VolumeConfig volume) {
      volumes.add(Objects.requireNonNull(volume, "volume"));
      return this;
    }

    public Builder chunkSizeBytes(long chunkSizeBytes) {
      this.chunkSizeBytes = chunkSizeBytes;
      return this;
    }

    public ChunkStoreConfig build() {
      return new ChunkStoreConfig(this);
    }
  }
}
