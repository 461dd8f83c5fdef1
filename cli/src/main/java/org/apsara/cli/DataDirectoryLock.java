package org.apsara.cli;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Keeps two Apsara processes from using one data directory: the second one stops at once with a
 * clear message instead of failing deep inside a service. The operating system releases the lock
 * when the process ends, however it ends.
 */
final class DataDirectoryLock {
  private static final String LOCK_FILE = "apsara.lock";
  /**
   * The locks this process holds. They must stay reachable: a collected channel is closed, and
   * closing it releases the lock.
   */
  private static final java.util.List<FileLock> HELD =
      java.util.Collections.synchronizedList(new java.util.ArrayList<>());

  private DataDirectoryLock() {}

  /** Locks {@code dir} for the life of this process, creating it if needed. */
  static void acquire(Path dir) throws IOException {
    Files.createDirectories(dir);
    Path file = dir.resolve(LOCK_FILE);
    FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      channel.close();
      throw new IllegalStateException("the data directory " + dir
          + " is in use by another running Apsara process; stop it first, or choose another "
          + "directory with --data");
    }
    HELD.add(lock);
  }
}
