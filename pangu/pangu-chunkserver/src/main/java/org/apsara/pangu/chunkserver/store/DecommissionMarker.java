package org.apsara.pangu.chunkserver.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Whether an operator is decommissioning the chunkserver that owns a set of volumes, kept as a
 * small file {@value #FILE_NAME} at the top of every volume. The chunkserver reports it in every
 * heartbeat, so the master leader, whichever member it is, learns it from the chunkserver; kept
 * on the disks, it survives restarts of the chunkserver and of every master.
 *
 * <p>Set writes the file to every volume atomically and durably; clear deletes it from every
 * volume and forces the directories. The chunkserver is decommissioning when any volume holds
 * the file, so a crash halfway through either leaves it decommissioning, and the master, which
 * asks again until the chunkserver reports what it asked for, completes the change.
 *
 * <p>Stateless; calls for the same volumes must not run concurrently.
 */
public final class DecommissionMarker {
  /** The file in each volume's directory. */
  public static final String FILE_NAME = "decommissioning";

  private DecommissionMarker() {}

  /** Whether any of {@code volumes} holds the marker. */
  public static boolean isSet(List<Path> volumes) {
    return volumes.stream().anyMatch(v -> Files.exists(v.resolve(FILE_NAME)));
  }

  /**
   * Records on every volume whether the chunkserver is decommissioning, durably.
   *
   * @throws IOException if a volume cannot be written; the marker may then be on some volumes
   */
  public static void set(List<Path> volumes, boolean decommissioning) throws IOException {
    byte[] content = "decommissioning was asked for by an operator through the master\n"
        .getBytes(StandardCharsets.UTF_8);
    for (Path volume : volumes) {
      Path file = volume.resolve(FILE_NAME);
      if (decommissioning) {
        DurableFiles.replaceAtomically(file, ByteBuffer.wrap(content));
      } else if (Files.deleteIfExists(file)) {
        DurableFiles.forceDirectory(volume);
      }
    }
  }
}
