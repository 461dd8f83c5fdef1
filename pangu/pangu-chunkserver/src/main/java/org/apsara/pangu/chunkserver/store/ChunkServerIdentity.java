package org.apsara.pangu.chunkserver.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The stable id of the chunkserver that owns a set of volumes, kept in a small file {@value
 * #FILE_NAME} at the top of every volume. The master knows a chunkserver by this id, not by its
 * address, so the id must survive restarts, address changes and the loss of any one disk; and a
 * disk moved from another chunkserver must not silently merge two identities.
 *
 * <p>{@link #loadOrCreate} reads the file of every volume. Volumes that have one must agree; those
 * without (new or replaced disks) get the agreed id. If no volume has one, a new id is generated
 * and written to all. Each file is written atomically and durably (temp file, force, rename,
 * force the directory), so a crash leaves either no file or a complete one.
 *
 * <p>Stateless; call it once at start, before the store is opened, with no other process using
 * the volumes.
 */
public final class ChunkServerIdentity {
  /** The file holding the id in each volume's directory: one line, the id. */
  public static final String FILE_NAME = "chunkserver.id";
  /** Longest id accepted from a file, in characters (a generated one has 39). */
  public static final int ID_LENGTH_MAX = 64;

  private static final Logger LOG = LoggerFactory.getLogger(ChunkServerIdentity.class);
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1," + ID_LENGTH_MAX + "}");

  private ChunkServerIdentity() {}

  /** A new random id: {@code cs-} and a UUID. */
  public static String generate() {
    return "cs-" + UUID.randomUUID();
  }

  /**
   * Returns the id the volumes agree on, writing it to volumes that have none, or a new one from
   * {@code newId} written to all of them if none has one. Creates missing volume directories.
   *
   * @throws IOException if a file cannot be read or written, holds no valid id, or two volumes
   *     hold different ids (the message names both and what to do)
   */
  public static String loadOrCreate(List<Path> volumes, Supplier<String> newId)
      throws IOException {
    Objects.requireNonNull(newId, "newId");
    if (volumes.isEmpty()) {
      throw new IllegalArgumentException("at least one volume is required");
    }
    Map<Path, String> found = new LinkedHashMap<>();
    for (Path volume : volumes) {
      Path file = volume.resolve(FILE_NAME);
      if (Files.exists(file)) {
        found.put(volume, read(file));
      }
    }
    String id = null;
    Path source = null;
    for (Map.Entry<Path, String> entry : found.entrySet()) {
      if (id == null) {
        id = entry.getValue();
        source = entry.getKey();
      } else if (!id.equals(entry.getValue())) {
        throw new IOException("the volumes belong to different chunkservers: " + source
            + " holds chunkserver id " + id + " but " + entry.getKey() + " holds "
            + entry.getValue() + "; a volume of another chunkserver is configured here. Remove"
            + " it from the configuration, or delete its " + FILE_NAME + " file if the disk was"
            + " deliberately moved here and the other chunkserver is gone for good");
      }
    }
    if (id == null) {
      id = newId.get();
      if (!ID.matcher(id).matches()) {
        throw new IllegalArgumentException("generated chunkserver id '" + id + "' is not valid");
      }
      LOG.info("new chunkserver id {}", id);
    }
    for (Path volume : volumes) {
      if (!found.containsKey(volume)) {
        if (source != null) {
          LOG.info("volume {} has no chunkserver id yet; giving it {} (from {})", volume, id,
              source);
        }
        write(volume, id);
      }
    }
    return id;
  }

  private static String read(Path file) throws IOException {
    String text = Files.readString(file, StandardCharsets.UTF_8).strip();
    if (!ID.matcher(text).matches()) {
      throw new IOException(file + " does not hold a chunkserver id (at most " + ID_LENGTH_MAX
          + " letters, digits and . _ -): '" + abbreviate(text) + "'");
    }
    return text;
  }

  private static void write(Path volume, String id) throws IOException {
    Files.createDirectories(volume);
    DurableFiles.replaceAtomically(volume.resolve(FILE_NAME),
        ByteBuffer.wrap((id + "\n").getBytes(StandardCharsets.UTF_8)));
  }

  private static String abbreviate(String text) {
    return text.length() <= ID_LENGTH_MAX ? text : text.substring(0, ID_LENGTH_MAX) + "...";
  }
}
