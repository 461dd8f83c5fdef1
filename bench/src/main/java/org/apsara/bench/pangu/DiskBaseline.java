package org.apsara.bench.pangu;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The physical limit on this disk, measured the way a three-replica file system must use it: to
 * store {@code n} bytes durably it writes {@code 3n}, the three copies at the same time. So the
 * baseline writes three copies of the data at once, each with plain sequential {@code
 * FileChannel} writes forced to disk every 64 MiB (a chunk) and at its end, and reads one copy
 * back; throughput is counted in bytes of the logical data, as for the file systems. Nothing
 * here can be faster on this disk, short of writing fewer copies.
 */
final class DiskBaseline {
  static final int COPIES = 3;
  static final long FORCE_EVERY_BYTES = 64L << 20;

  private final Path directory;

  DiskBaseline(Path directory) {
    this.directory = directory;
  }

  /**
   * Writes {@code writers} files of {@code data} as {@value #COPIES} copies each, every copy by a
   * thread of its own, all at once, and returns the elapsed nanoseconds.
   */
  long write(int writers, BlockPattern data) throws IOException {
    Files.createDirectories(directory);
    return timed(writers * COPIES, task -> {
      byte[] buffer = data.newBuffer();
      Path file = directory.resolve("w" + (task / COPIES) + "-copy" + (task % COPIES));
      try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW,
          StandardOpenOption.WRITE)) {
        long sinceForce = 0;
        for (long block = 0; block < data.blocks(); block++) {
          data.stamp(buffer, block);
          ByteBuffer bytes = ByteBuffer.wrap(buffer);
          while (bytes.hasRemaining()) {
            channel.write(bytes);
          }
          sinceForce += buffer.length;
          if (sinceForce >= FORCE_EVERY_BYTES) {
            channel.force(false);
            sinceForce = 0;
          }
        }
        channel.force(true);
      }
    });
  }

  /** Reads back the first copy of each writer's file, checking it; elapsed nanoseconds. */
  long read(int readers, BlockPattern data) throws IOException {
    return timed(readers, r -> {
      byte[] buffer = data.newBuffer();
      Path file = directory.resolve("w" + r + "-copy0");
      try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
        for (long block = 0; block < data.blocks(); block++) {
          ByteBuffer bytes = ByteBuffer.wrap(buffer);
          while (bytes.hasRemaining()) {
            if (channel.read(bytes) < 0) {
              throw new IOException(file + " ends early");
            }
          }
          data.check(file.toString(), buffer, block);
        }
      }
    });
  }

  /** Deletes every file the baseline wrote. */
  void clean() throws IOException {
    if (!Files.isDirectory(directory)) {
      return;
    }
    try (var files = Files.list(directory)) {
      for (Path file : files.toList()) {
        Files.delete(file);
      }
    }
  }

  interface Task {
    void run(int index) throws IOException;
  }

  /** Runs {@code task} on {@code threads} threads at once; nanoseconds until the last ends. */
  static long timed(int threads, Task task) throws IOException {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      long start = System.nanoTime();
      List<Future<?>> running = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        int index = i;
        running.add(pool.submit(() -> {
          task.run(index);
          return null;
        }));
      }
      for (Future<?> future : running) {
        try {
          future.get();
        } catch (ExecutionException e) {
          if (e.getCause() instanceof IOException io) {
            throw io;
          }
          throw new IOException("a benchmark thread failed: " + e.getCause(), e.getCause());
        }
      }
      return System.nanoTime() - start;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    } finally {
      pool.shutdownNow();
    }
  }
}
