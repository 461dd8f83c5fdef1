package org.apsara.pangu.chunkserver.store;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** File operations with the durability steps done right. Stateless; thread-safe. */
final class DurableFiles {
  static final String TEMP_SUFFIX = ".tmp";

  private DurableFiles() {}

  /**
   * Replaces {@code target} with {@code content} so that a crash leaves either the old or the new
   * file, never a mix: write a temp file, force it, rename it over the target, force the directory.
   */
  static void replaceAtomically(Path target, ByteBuffer content) throws IOException {
    Path temp = target.resolveSibling(target.getFileName() + TEMP_SUFFIX);
    try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      writeFully(channel, content.duplicate(), 0);
      channel.force(true);
    }
    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    forceDirectory(target.getParent());
  }

  /** Makes the directory's entries (created, renamed, deleted files) durable. */
  static void forceDirectory(Path directory) throws IOException {
    try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  /** Writes all of {@code source} at {@code position}. */
  static void writeFully(FileChannel channel, ByteBuffer source, long position)
      throws IOException {
    long at = position;
    while (source.hasRemaining()) {
      at += channel.write(source, at);
    }
  }

  /**
   * Writes all of {@code sources}, one after the other, at {@code position}: a gathering write,
   * one system call for as many buffers as the platform takes at once. Moves the channel's
   * position, which this store never uses otherwise (every other access is positional).
   */
  static void writeFully(FileChannel channel, ByteBuffer[] sources, long position)
      throws IOException {
    if (sources.length == 1) {
      writeFully(channel, sources[0], position);
      return;
    }
    long left = 0;
    for (ByteBuffer source : sources) {
      left += source.remaining();
    }
    channel.position(position);
    int first = 0;
    while (left > 0) {
      while (!sources[first].hasRemaining()) {
        first++;
      }
      left -= channel.write(sources, first, sources.length - first);
    }
  }

  /**
   * Reads until {@code target} is full or the file ends.
   *
   * @return true if full, false if the file ended first
   */
  static boolean readFully(FileChannel channel, ByteBuffer target, long position)
      throws IOException {
    long at = position;
    while (target.hasRemaining()) {
      int read = channel.read(target, at);
      if (read < 0) {
        return false;
      }
      at += read;
    }
    return true;
  }

  /** Like {@link #readFully} but an early end of file is an error. */
  static void readExactly(FileChannel channel, ByteBuffer target, long position, Path path)
      throws IOException {
    int wanted = target.remaining();
    if (!readFully(channel, target, position)) {
      throw new EOFException(path + " ends before " + wanted + " bytes at offset " + position);
    }
  }
}
