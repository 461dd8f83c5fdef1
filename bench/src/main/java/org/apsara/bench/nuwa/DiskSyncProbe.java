package org.apsara.bench.nuwa;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.HdrHistogram.Histogram;

/**
 * Measures the physical limit that bounds every durable write here: how many small synchronous
 * (O_DSYNC) appends per second the data directory's disk takes. A put must reach at least one such
 * write on a quorum, so a system's put rate at one client can be read as a fraction of this.
 *
 * <p>Writes go to a preallocated file, as a write-ahead log's do (etcd and ZooKeeper both
 * preallocate), so each sync flushes data and not a growing file size.
 */
final class DiskSyncProbe {
  /** How long the probe writes. */
  static final Duration PROBE_DURATION = Duration.ofSeconds(2);

  /** Size of the preallocated file; bounds the number of writes. */
  static final int FILE_BYTES = 16 * 1024 * 1024;

  /** The result: synchronous writes per second and their median latency. */
  record Result(int writeBytes, double writesPerSecond, double p50Millis) {
    String toMarkdown() {
      return String.format(
          Locale.ROOT,
          "%d-byte O_DSYNC appends: %.0f/s, p50 %.2f ms",
          writeBytes,
          writesPerSecond,
          p50Millis);
    }
  }

  private DiskSyncProbe() {}

  /**
   * One line for several probes: the median rate and median p50 over the probes, then each
   * probe's rate.
   */
  static String summarize(List<Result> results) {
    if (results.isEmpty()) {
      return "not measured";
    }
    double[] rates = results.stream().mapToDouble(Result::writesPerSecond).toArray();
    double[] p50s = results.stream().mapToDouble(Result::p50Millis).toArray();
    String each =
        results.stream()
            .map(r -> String.format(Locale.ROOT, "%.0f", r.writesPerSecond()))
            .collect(Collectors.joining(", "));
    return String.format(
        Locale.ROOT,
        "%d-byte O_DSYNC appends: %.0f/s, p50 %.2f ms (median of %d; per round: %s /s)",
        results.get(0).writeBytes(),
        BenchmarkReport.median(rates),
        BenchmarkReport.median(p50s),
        results.size(),
        each);
  }

  /** Runs the probe in a temporary file inside {@code directory}, deleted afterwards. */
  static Result measure(Path directory, int writeBytes) throws IOException {
    Files.createDirectories(directory);
    Path file = Files.createTempFile(directory, "apsara-bench-fsync-", ".probe");
    try {
      try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
        ByteBuffer zeros = ByteBuffer.allocate(1024 * 1024);
        for (int written = 0; written < FILE_BYTES; written += zeros.capacity()) {
          zeros.clear();
          channel.write(zeros, written);
        }
        channel.force(true);
      }
      Histogram latencies = ClosedLoopWorkload.newHistogram();
      long writes = 0;
      try (FileChannel channel =
          FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.DSYNC)) {
        ByteBuffer record = ByteBuffer.allocate(writeBytes);
        long start = System.nanoTime();
        long end = start + PROBE_DURATION.toNanos();
        long position = 0;
        long now = start;
        while (now - end < 0 && position + writeBytes <= FILE_BYTES) {
          record.clear();
          channel.write(record, position);
          position += writeBytes;
          long after = System.nanoTime();
          latencies.recordValue(Math.min(after - now, ClosedLoopWorkload.LATENCY_NANOS_MAX));
          writes++;
          now = after;
        }
        double seconds = (now - start) / 1e9;
        return new Result(
            writeBytes, writes / seconds, latencies.getValueAtPercentile(50) / 1e6);
      }
    } finally {
      Files.deleteIfExists(file);
    }
  }
}
