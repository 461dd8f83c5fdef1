package org.apsara.pangu.chunkserver.store;

import java.util.List;

/**
 * No volume has room for a new replica above its reserve, or every one with room has failed; the
 * message lists every volume.
 */
public final class NoVolumeAvailableException extends ChunkStoreException {
  private static final long serialVersionUID = 1L;
  private final transient List<VolumeUsage> volumes;

  public NoVolumeAvailableException(long chunkId, long requestedBytes, List<VolumeUsage> volumes) {
    super("no volume can take chunk " + chunkId + " (" + requestedBytes + " bytes) above"
        + " its reserve: " + describe(volumes));
    this.volumes = List.copyOf(volumes);
  }

  /** The volumes as they were when the request was refused. */
  public List<VolumeUsage> volumes() {
    return volumes;
  }

  private static String describe(List<VolumeUsage> volumes) {
    StringBuilder text = new StringBuilder();
    for (VolumeUsage volume : volumes) {
      if (text.length() > 0) {
        text.append("; ");
      }
      text.append(volume.directory());
      if (volume.failed()) {
        text.append(" failed: ").append(volume.failure());
      } else {
        text.append(" free ").append(volume.freeBytes()).append(" bytes, reserved ")
            .append(volume.reservedBytes()).append(" bytes");
      }
    }
    return text.toString();
  }
}
