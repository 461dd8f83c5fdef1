package org.apsara.pangu.chunkserver.store;

import java.nio.file.Path;

/** Writing would leave a volume with less free space than its configured reserve. */
public final class VolumeFullException extends ChunkStoreException {
  private static final long serialVersionUID = 1L;
  private final transient Path volume;
  private final long freeBytes;
  private final long reservedBytes;
  private final long requestedBytes;

  public VolumeFullException(Path volume, long freeBytes, long reservedBytes,
      long requestedBytes) {
    super("volume " + volume + " is full: " + requestedBytes + " more bytes would leave less than"
        + " the reserved " + reservedBytes + " bytes free (free now: " + freeBytes + " bytes)");
    this.volume = volume;
    this.freeBytes = freeBytes;
    this.reservedBytes = reservedBytes;
    this.requestedBytes = requestedBytes;
  }

  public Path volume() {
    return volume;
  }

  public long freeBytes() {
    return freeBytes;
  }

  public long reservedBytes() {
    return reservedBytes;
  }

  public long requestedBytes() {
    return requestedBytes;
  }
}
