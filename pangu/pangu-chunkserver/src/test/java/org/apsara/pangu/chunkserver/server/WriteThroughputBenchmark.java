package org.apsara.pangu.chunkserver.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.atomic.AtomicLong;
import org.apsara.pangu.api.ChunkServerLimits;
import org.apsara.pangu.chunkserver.store.ChunkStoreConfig;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.apsara.pangu.client.chunkserver.ReplicaWriter;

/**
 * Sequential write and read throughput of one chunkserver over loopback gRPC, side by side with
 * a plain {@link FileChannel} write of the same bytes on the same disk in the same run, so that
 * the ratio means something on a noisy shared machine.
 *
 * <p>Each round writes {@code total} bytes as 64 MiB chunks in 1 MiB packets, asking for a sync
 * every 8 MiB (the plain write forces every 8 MiB), then reads them back; plain and gRPC writes
 * alternate (A, B, A, B, ...) after {@value #WARMUP_ROUNDS} warm-up rounds. Reads are served
 * from the page cache, so they measure the CPU cost of the read path, not the disk.
 *
 * <p>Besides throughput it reports the CPU time the whole process (client, server, JIT, GC)
 * spent per MiB of each phase: on a shared machine throughput swings with the neighbours' load,
 * while CPU per MiB shows what a change to the data path saved.
 *
 * <p>Not a test: run it with {@link WriteThroughputBenchmarkRunner} (see there), or from a
 * main method: {@code main [totalMiB] [rounds] [directory] [grpc-only]}; with {@code grpc-only}
 * the plain writes are left out, for profiling the gRPC path alone.
 */
public final class WriteThroughputBenchmark {
  static final int PACKET_BYTES = ChunkServerLimits.DATA_MESSAGE_BYTES_MAX;
  static final int SYNC_EVERY_BYTES = 8 << 20;
  static final long CHUNK_BYTES = ChunkStoreConfig.DEFAULT_CHUNK_SIZE_BYTES;
  /**
   * Rounds run before measuring. Fewer leave the JIT compiling through the measured rounds: with
   * one, the CPU per MiB of the gRPC write was twice its steady value.
   */
  static final int WARMUP_ROUNDS = 3;
  private static final Duration FINISH_TIMEOUT = Duration.ofMinutes(2);

  private final Path directory;
  private final long totalBytes;
  private final int rounds;
  private final ByteBuffer source;
  private final boolean grpcOnly;

  WriteThroughputBenchmark(Path directory, long totalBytes, int rounds, boolean grpcOnly) {
    if (totalBytes % CHUNK_BYTES != 0) {
      throw new IllegalArgumentException("the total must be whole 64 MiB chunks");
    }
    this.directory = directory;
    this.totalBytes = totalBytes;
    this.rounds = rounds;
    this.grpcOnly = grpcOnly;
    // Content that does not compress, written from a direct buffer: the plain write's best case.
    byte[] bytes = ChunkServerFixture.content(7, 0, SYNC_EVERY_BYTES);
    this.source = ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
  }

  public static void main(String[] args) throws Exception {
    long totalMiB = args.length > 0 ? Long.parseLong(args[0]) : 256;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    Path directory = args.length > 2 ? Files.createDirectories(Path.of(args[2]))
        : Files.createTempDirectory("pangu-write-benchmark");
    boolean grpcOnly = args.length > 3 && args[3].equals("grpc-only");
    System.out.println(
        new WriteThroughputBenchmark(directory, totalMiB << 20, rounds, grpcOnly).run());
  }

  /** Runs every round and returns the table. */
  String run() throws Exception {
    // {plain write, grpc write, grpc read} MB/s, then CPU ms per MiB of each
    List<double[]> results = new ArrayList<>();
    try (ChunkServerFixture fixture = new ChunkServerFixture(directory)) {
      ChunkServer server = fixture.start("bench", b -> b.chunkSizeBytes(CHUNK_BYTES));
      ChunkServerClient client = fixture.client(server);
      AtomicLong nextChunk = new AtomicLong(1);
      for (int round = 1 - WARMUP_ROUNDS; round <= rounds; round++) {
        long cpu0 = processCpuNanos();
        double plain = grpcOnly ? Double.NaN : plainWrite(directory.resolve("plain-" + round));
        long cpu1 = processCpuNanos();
        long firstChunk = nextChunk.get();
        Map<String, Long> threadsBefore = threadCpuByGroup();
        double write = grpcWrite(fixture, client, nextChunk);
        long cpu2 = processCpuNanos();
        if (round == rounds) {
          threadReport = threadCpuDelta(threadsBefore, threadCpuByGroup());
        }
        double read = grpcRead(fixture, client, firstChunk);
        long cpu3 = processCpuNanos();
        deleteChunks(fixture, client, firstChunk, nextChunk.get());
        if (round > 0) { // the rounds before warm the JVM up
          double mib = totalBytes / (double) (1 << 20);
          results.add(new double[] {plain, write, read, (cpu1 - cpu0) / 1e6 / mib,
              (cpu2 - cpu1) / 1e6 / mib, (cpu3 - cpu2) / 1e6 / mib});
        }
      }
    }
    return table(results);
  }

  private String threadReport = "";

  /** CPU nanoseconds of the live threads, by name with digits dropped (pools summed). */
  private static Map<String, Long> threadCpuByGroup() {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    Map<String, Long> groups = new TreeMap<>();
    for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (info != null) {
        long cpu = threads.getThreadCpuTime(info.getThreadId());
        if (cpu > 0) {
          groups.merge(info.getThreadName().replaceAll("[0-9]+", "N"), cpu, Long::sum);
        }
      }
    }
    return groups;
  }

  private String threadCpuDelta(Map<String, Long> before, Map<String, Long> after) {
    double mib = totalBytes / (double) (1 << 20);
    StringBuilder out = new StringBuilder("CPU ms/MiB of the last gRPC write, by thread:");
    after.entrySet().stream()
        .map(e -> Map.entry(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L)))
        .filter(e -> e.getValue() / 1e6 / mib >= 0.05)
        .sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
        .forEach(e -> out.append(String.format(Locale.ROOT, " %s %.2f;", e.getKey(),
            e.getValue() / 1e6 / mib)));
    return out.append(System.lineSeparator()).toString();
  }

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean)
        ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  private double plainWrite(Path file) throws IOException {
    long start = System.nanoTime();
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE)) {
      long written = 0;
      while (written < totalBytes) {
        ByteBuffer packet = source.duplicate();
        packet.position((int) (written % SYNC_EVERY_BYTES)).limit(packet.position() + PACKET_BYTES);
        while (packet.hasRemaining()) {
          written += channel.write(packet);
        }
        if (written % SYNC_EVERY_BYTES == 0) {
          channel.force(false);
        }
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    Files.delete(file);
    return totalBytes / seconds / 1e6;
  }

  private double grpcWrite(ChunkServerFixture fixture, ChunkServerClient client,
      AtomicLong nextChunk) throws InterruptedException {
    long start = System.nanoTime();
    for (long written = 0; written < totalBytes; written += CHUNK_BYTES) {
      long chunk = nextChunk.getAndIncrement();
      try (ReplicaWriter writer = client.openWriter(chunk, 1, fixture.write(chunk), true, 0)) {
        for (long offset = 0; offset < CHUNK_BYTES; offset += SYNC_EVERY_BYTES) {
          writer.write(source.duplicate(), true);
        }
        long synced = writer.finish(FINISH_TIMEOUT);
        if (synced != CHUNK_BYTES) {
          throw new IllegalStateException("chunk " + chunk + " synced " + synced + " bytes");
        }
      }
    }
    return totalBytes / ((System.nanoTime() - start) / 1e9) / 1e6;
  }

  private double grpcRead(ChunkServerFixture fixture, ChunkServerClient client, long firstChunk) {
    long start = System.nanoTime();
    AtomicLong read = new AtomicLong();
    for (long chunk = firstChunk; chunk < firstChunk + totalBytes / CHUNK_BYTES; chunk++) {
      client.read(chunk, 1, 0, CHUNK_BYTES, fixture.read(chunk),
          (offset, data) -> read.addAndGet(data.remaining()));
    }
    if (read.get() != totalBytes) {
      throw new IllegalStateException("read " + read.get() + " bytes of " + totalBytes);
    }
    return totalBytes / ((System.nanoTime() - start) / 1e9) / 1e6;
  }

  private static void deleteChunks(ChunkServerFixture fixture, ChunkServerClient client,
      long from, long to) {
    for (long chunk = from; chunk < to; chunk++) {
      client.deleteReplicas(List.of(org.apsara.pangu.api.v1.ReplicaDeletion.newBuilder()
          .setChunkId(chunk).setGeneration(1).setToken(fixture.admin(chunk)).build()));
    }
  }

  private String table(List<double[]> results) {
    StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
        "%d MiB per round in 1 MiB packets, sync every 8 MiB, %d rounds after %d to warm up%n",
        totalBytes >> 20, results.size(), WARMUP_ROUNDS));
    out.append(String.format(Locale.ROOT, "%-6s %11s %11s %6s %10s   %s%n",
        "round", "plain MB/s", "gRPC write", "ratio", "gRPC read",
        "CPU ms/MiB: plain, write, read"));
    for (int i = 0; i < results.size(); i++) {
      double[] r = results.get(i);
      out.append(String.format(Locale.ROOT, "%-6d %11.0f %11.0f %6.2f %10.0f   %.2f, %.2f, %.2f%n",
          i + 1, r[0], r[1], r[1] / r[0], r[2], r[3], r[4], r[5]));
    }
    double[] ratios = results.stream().mapToDouble(r -> r[1] / r[0]).sorted().toArray();
    double[] plains = results.stream().mapToDouble(r -> r[0]).sorted().toArray();
    double[] writes = results.stream().mapToDouble(r -> r[1]).sorted().toArray();
    double[] reads = results.stream().mapToDouble(r -> r[2]).sorted().toArray();
    out.append(String.format(Locale.ROOT, "%-6s %11.0f %11.0f %6.2f %10.0f   %.2f, %.2f, %.2f%n",
        "median", median(plains), median(writes), median(ratios), median(reads),
        median(column(results, 3)), median(column(results, 4)), median(column(results, 5))));
    out.append(String.format(Locale.ROOT, "ranges: plain %.0f-%.0f, write %.0f-%.0f, ratio"
            + " %.2f-%.2f, read %.0f-%.0f MB/s%n", plains[0], plains[plains.length - 1],
        writes[0], writes[writes.length - 1], ratios[0], ratios[ratios.length - 1], reads[0],
        reads[reads.length - 1]));
    return out.append(threadReport).toString();
  }

  private static double[] column(List<double[]> results, int index) {
    return results.stream().mapToDouble(r -> r[index]).sorted().toArray();
  }

  private static double median(double[] sorted) {
    double[] values = Arrays.copyOf(sorted, sorted.length);
    int mid = values.length / 2;
    return values.length % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  }
}
