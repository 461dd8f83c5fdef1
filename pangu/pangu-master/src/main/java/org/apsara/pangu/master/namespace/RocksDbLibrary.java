package org.apsara.pangu.master.namespace;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apsara.common.io.FileTrees;
import org.rocksdb.NativeLibraryLoader;
import org.rocksdb.RocksDB;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads RocksDB's native library and leaves no file of it behind.
 *
 * <p>Why: RocksDB's own loader copies the library out of its jar into the temporary directory,
 * under a new name each time, and deletes the copy only when the JVM exits normally. Every
 * master killed by a signal or by the kernel's OOM killer left 15 MB there. Here the copy goes to
 * a directory of its own, deleted as soon as the library is loaded: Linux keeps a loaded library
 * mapped after its file is gone.
 */
final class RocksDbLibrary {
  private static final Logger LOG = LoggerFactory.getLogger(RocksDbLibrary.class);

  private RocksDbLibrary() {}

  /**
   * Loads the library; called once, from {@link NamespaceStore}'s class initializer (a second
   * call would find it loaded and copy nothing).
   */
  static void load() {
    Path directory;
    try {
      directory = Files.createTempDirectory("apsara-rocksdb-");
    } catch (IOException e) {
      throw new UncheckedIOException("no temporary directory for RocksDB's native library", e);
    }
    try {
      NativeLibraryLoader.getInstance().loadLibrary(directory.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("could not load RocksDB's native library", e);
    } finally {
      deleteQuietly(directory);
    }
    // Marks RocksDB's own state loaded; its loader, already done, extracts nothing again.
    RocksDB.loadLibrary();
  }

  private static void deleteQuietly(Path directory) {
    try {
      FileTrees.delete(directory);
    } catch (IOException e) {
      LOG.atWarn().addKeyValue("directory", directory).addKeyValue("error", e.toString())
          .log("could not delete the copy of RocksDB's native library");
    }
  }
}
