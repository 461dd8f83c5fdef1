package org.apsara.bench.pangu;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.bench.report.CompilerCpu;
import org.apsara.bench.report.MachineInfo;
import org.apsara.bench.report.WarmupSettling;

/**
 * {@code apsara bench pangu}: Pangu side by side with HDFS on this machine, and both against the
 * physical limit of the disk they share.
 *
 * <p>For each round, each system in turn is started fresh (Pangu: one master and three
 * chunkservers as OS processes; HDFS: a MiniDFSCluster with one NameNode and three DataNodes),
 * warmed up untimed (the same steps on {@link #WARMUP_BYTES_MAX} bytes, then windows of {@link
 * #WARMUP_WINDOW_BYTES} bytes and {@link #WARMUP_WINDOW_FILES} small files until their rates
 * settle, so that neither is measured while its JIT compilers are at work), then: for each
 * writer count, {@link Settings#bytes()} bytes are written as one file per writer (the bytes
 * split evenly), read back by as many readers, and deleted; then {@link Settings#smallFiles()}
 * empty files are created, stat'ed and deleted by {@link Settings#smallFileThreads()} threads.
 * The disk baseline ({@link DiskBaseline}) runs the same write and read steps with plain files.
 * The report gives the median of the rounds, MB/s and ops/s, and the ratios Pangu/HDFS and
 * Pangu/disk.
 *
 * <p>Runs from the calling thread, one benchmark at a time; every system it starts is stopped,
 * also when a step fails.
 */
public final class PanguBenchmark {
  /** The systems this benchmark can run besides the disk baseline, which always runs. */
  public enum SystemUnderTest {
    PANGU("pangu"),
    HDFS("hdfs");

    private final String option;

    SystemUnderTest(String option) {
      this.option = option;
    }

    public String option() {
      return option;
    }

    public static SystemUnderTest parse(String name) {
      for (SystemUnderTest system : values()) {
        if (system.option.equalsIgnoreCase(name.trim())) {
          return system;
        }
      }
      throw new IllegalArgumentException("unknown system '" + name + "'; expected pangu or hdfs");
    }
  }

  public static final long BYTES_MIN = 1L << 20;
  public static final long BYTES_MAX = 64L << 30;
  public static final int WRITERS_MAX = 64;
  public static final int SMALL_FILES_MAX = 10_000_000;
  public static final int SMALL_FILE_THREADS_MAX = 256;
  public static final int ROUNDS_MAX = 20;
  /** Bytes each system writes and reads back, untimed, before it is measured (less if asked). */
  public static final long WARMUP_BYTES_MAX = 512L << 20;
  /**
   * Small files each window of the warm-up creates, stats and deletes, untimed. Windows repeat
   * until no rate rises any more ({@link WarmupSettling}) or {@link #WARMUP_SMALL_FILES_LIMIT}
   * has passed: a fixed count left the master compiling during the measured creates on a slow
   * machine.
   */
  public static final int WARMUP_WINDOW_FILES = 5_000;
  /** Bytes each warm-up window writes and reads back before its small files. */
  public static final long WARMUP_WINDOW_BYTES = 16L << 20;
  /** Longest small-file warm-up of one system. */
  public static final Duration WARMUP_SMALL_FILES_LIMIT = Duration.ofMinutes(5);

  /**
   * What to run. Immutable, validated on construction.
   *
   * @param bytes data written and read per step, split evenly over the writers
   * @param writerCounts the writer (and reader) counts of the sequential steps, e.g. 1 and 4
   * @param smallFiles files created, stat'ed and deleted in the small-file steps; 0 skips them
   * @param smallFileThreads threads issuing the small-file operations
   * @param systems the systems in the order each round runs them, Pangu first for the ratios
   * @param rounds how many times everything runs; the report shows medians
   * @param workDirectory where every system and the baseline keep their data (one disk)
   * @param outputFile where to write the Markdown report as well, if present
   */
  public record Settings(
      long bytes,
      List<Integer> writerCounts,
      int smallFiles,
      int smallFileThreads,
      List<SystemUnderTest> systems,
      int rounds,
      Path workDirectory,
      Optional<Path> outputFile) {
    public Settings {
      requireWithin("bytes", bytes, BYTES_MIN, BYTES_MAX);
      writerCounts = List.copyOf(writerCounts);
      if (writerCounts.isEmpty()) {
        throw new IllegalArgumentException("at least one writer count");
      }
      for (int writers : writerCounts) {
        requireWithin("writer count", writers, 1, WRITERS_MAX);
        if (bytes / writers < BYTES_MIN) {
          throw new IllegalArgumentException(
              writers + " writers would write less than 1 MiB each of " + bytes + " bytes");
        }
      }
      requireWithin("small files", smallFiles, 0, SMALL_FILES_MAX);
      requireWithin("small-file threads", smallFileThreads, 1, SMALL_FILE_THREADS_MAX);
      systems = List.copyOf(systems);
      if (systems.stream().distinct().count() != systems.size()) {
        throw new IllegalArgumentException("systems must be distinct: " + systems);
      }
      requireWithin("rounds", rounds, 1, ROUNDS_MAX);
      java.util.Objects.requireNonNull(workDirectory, "workDirectory");
      java.util.Objects.requireNonNull(outputFile, "outputFile");
    }

    /** 2 GiB with 1 and 4 writers, 50,000 small files on 16 threads, Pangu and HDFS, 1 round. */
    public static Settings defaults() {
      return new Settings(2L << 30, List.of(1, 4), 50_000, 16,
          List.of(SystemUnderTest.PANGU, SystemUnderTest.HDFS), 1,
          Path.of(System.getProperty("java.io.tmpdir")), Optional.empty());
    }

    private static void requireWithin(String name, long value, long min, long max) {
      if (value < min || value > max) {
        throw new IllegalArgumentException(
            name + " " + value + " is outside [" + min + ", " + max + "]");
      }
    }
  }

  /** What one system measured in one round: step name to MB/s or ops/s. */
  private record RoundResult(String system, Map<String, Double> values) {}

  static final String DISK = "disk limit";

  private final Settings settings;
  private final List<RoundResult> results = new ArrayList<>();
  private final List<String> descriptions = new ArrayList<>();
  private final List<String> warmups = new ArrayList<>();

  public PanguBenchmark(Settings settings) {
    this.settings = settings;
  }

  /** Runs every round, printing progress to {@code out}, then the report. */
  public void run(PrintStream out) throws IOException {
    Path root = Files.createDirectories(settings.workDirectory())
        .resolve("apsara-bench-pangu-" + ProcessHandle.current().pid());
    MachineInfo machine = MachineInfo.describe(settings.workDirectory());
    try {
      for (int round = 1; round <= settings.rounds(); round++) {
        for (SystemUnderTest system : settings.systems()) {
          Path directory = Files.createDirectories(root.resolve(system.option() + "-" + round));
          out.printf(Locale.ROOT, "round %d: starting %s%n", round, system.option());
          try (FileSystemUnderTest fs = start(system, directory)) {
            if (round == 1) {
              descriptions.add(fs.description());
            }
            results.add(measure(fs, out));
          } finally {
            deleteTree(directory);
          }
        }
        out.printf(Locale.ROOT, "round %d: disk baseline%n", round);
        results.add(measureDisk(root.resolve("disk-" + round), out));
      }
    } finally {
      deleteTree(root);
    }
    String report = report(machine);
    out.println();
    out.print(report);
    if (settings.outputFile().isPresent()) {
      Files.writeString(settings.outputFile().get(), report, StandardCharsets.UTF_8);
    }
  }

  private static FileSystemUnderTest start(SystemUnderTest system, Path directory)
      throws IOException {
    return switch (system) {
      case PANGU -> PanguSystem.start(directory);
      case HDFS -> HdfsSystem.start(directory);
    };
  }

  private RoundResult measure(FileSystemUnderTest fs, PrintStream out) throws IOException {
    Map<String, Double> values = new LinkedHashMap<>();
    fs.mkdirs("/bench");
    warmUp(fs, out);
    for (int writers : settings.writerCounts()) {
      BlockPattern data = BlockPattern.of(settings.bytes() / writers, writers);
      String dir = "/bench/w" + writers;
      fs.mkdirs(dir);
      long total = data.totalBytes() * writers;
      long writeNanos = DiskBaseline.timed(writers, w -> fs.writeFile(dir + "/f" + w, data));
      record(values, out, fs.name(), writeStep(writers), mbPerSecond(total, writeNanos));
      long readNanos = DiskBaseline.timed(writers, r -> {
        long read = fs.readFile(dir + "/f" + r, data);
        if (read != data.totalBytes()) {
          throw new IOException(dir + "/f" + r + ": read " + read + " of " + data.totalBytes());
        }
      });
      record(values, out, fs.name(), readStep(writers), mbPerSecond(total, readNanos));
      for (int w = 0; w < writers; w++) {
        fs.delete(dir + "/f" + w);
      }
    }
    if (settings.smallFiles() > 0) {
      fs.mkdirs("/bench/small");
      smallFileStep(fs, values, out, "create", i -> fs.createEmpty(smallFile(i)));
      smallFileStep(fs, values, out, "stat", i -> fs.stat(smallFile(i)));
      smallFileStep(fs, values, out, "delete", i -> fs.delete(smallFile(i)));
    }
    return new RoundResult(fs.name(), values);
  }

  /** The measured steps, smaller and untimed: what a long-running system has done before. */
  private void warmUp(FileSystemUnderTest fs, PrintStream out) throws IOException {
    writeAndRead(fs, Math.min(settings.bytes(), WARMUP_BYTES_MAX));
    if (settings.smallFiles() > 0) {
      fs.mkdirs("/warmup/small");
      int threads = settings.smallFileThreads();
      int files = Math.min(settings.smallFiles(), WARMUP_WINDOW_FILES);
      WarmupSettling settling = new WarmupSettling(3);
      long start = System.nanoTime();
      while (!settling.settled()
          && System.nanoTime() - start < WARMUP_SMALL_FILES_LIMIT.toNanos()) {
        Optional<CompilerCpu> cpuAtStart =
            CompilerCpu.read(fs.processesCpuTime(), fs.processesCompilerCpuTime());
        // The measured small files follow the sequential steps, whose calls change what the
        // compilers saw; without them here, a settled warm-up still left the measured creates
        // recompiling (a tenth of the CPU).
        writeAndRead(fs, Math.min(settings.bytes(), WARMUP_WINDOW_BYTES));
        double create = opsPerSecond(files,
            forEachFile(threads, files, i -> fs.createEmpty("/warmup/small/f" + i)));
        double stat = opsPerSecond(files,
            forEachFile(threads, files, i -> fs.stat("/warmup/small/f" + i)));
        double delete = opsPerSecond(files,
            forEachFile(threads, files, i -> fs.delete("/warmup/small/f" + i)));
        OptionalDouble compilerShare = CompilerCpu.shareSince(cpuAtStart,
            CompilerCpu.read(fs.processesCpuTime(), fs.processesCompilerCpuTime()));
        settling.record(compilerShare, create, stat, delete);
        out.printf(Locale.ROOT,
            "  %s warm-up window %d: create %.0f/s, stat %.0f/s, delete %.0f/s%s%n",
            fs.name(), settling.windows(), create, stat, delete,
            compilerShare.isPresent() ? String.format(Locale.ROOT, ", JIT %.0f%% of the CPU",
                compilerShare.getAsDouble() * 100) : "");
      }
      warmups.add(fs.name() + " " + settling.outcome(Duration.ofNanos(System.nanoTime() - start)));
    }
  }

  /** Writes, reads back and deletes {@code bytes} with each writer count, untimed. */
  private void writeAndRead(FileSystemUnderTest fs, long bytes) throws IOException {
    for (int writers : settings.writerCounts()) {
      BlockPattern data = BlockPattern.of(Math.max(BYTES_MIN, bytes / writers), writers);
      String dir = "/warmup/w" + writers;
      fs.mkdirs(dir);
      DiskBaseline.timed(writers, w -> fs.writeFile(dir + "/f" + w, data));
      DiskBaseline.timed(writers, r -> fs.readFile(dir + "/f" + r, data));
      for (int w = 0; w < writers; w++) {
        fs.delete(dir + "/f" + w);
      }
    }
  }

  private RoundResult measureDisk(Path directory, PrintStream out) throws IOException {
    Map<String, Double> values = new LinkedHashMap<>();
    for (int writers : settings.writerCounts()) {
      DiskBaseline disk = new DiskBaseline(directory.resolve("w" + writers));
      BlockPattern data = BlockPattern.of(settings.bytes() / writers, writers);
      try {
        long total = data.totalBytes() * writers;
        record(values, out, DISK, writeStep(writers),
            mbPerSecond(total, disk.write(writers, data)));
        record(values, out, DISK, readStep(writers),
            mbPerSecond(total, disk.read(writers, data)));
      } finally {
        disk.clean();
      }
    }
    return new RoundResult(DISK, values);
  }

  /**
   * Runs {@code op} on every small file and records its rate, printing the share of the CPU the
   * JIT compilers used meanwhile: a large share says the warm-up left compiling to the step.
   */
  private void smallFileStep(FileSystemUnderTest fs, Map<String, Double> values, PrintStream out,
      String step, DiskBaseline.Task op) throws IOException {
    Optional<CompilerCpu> cpuAtStart =
        CompilerCpu.read(fs.processesCpuTime(), fs.processesCompilerCpuTime());
    double rate = opsPerSecond(settings.smallFiles(),
        forEachFile(settings.smallFileThreads(), settings.smallFiles(), op));
    OptionalDouble compilerShare = CompilerCpu.shareSince(cpuAtStart,
        CompilerCpu.read(fs.processesCpuTime(), fs.processesCompilerCpuTime()));
    values.put(step, rate);
    out.printf(Locale.ROOT, "  %s %s: %.1f ops/s%s%n", fs.name(), step, rate,
        compilerShare.isPresent() ? String.format(Locale.ROOT, " (JIT %.0f%% of the CPU)",
            compilerShare.getAsDouble() * 100) : "");
  }

  private static String smallFile(int index) {
    return "/bench/small/f" + index;
  }

  /** Runs {@code op} for 0 to {@code files} - 1, spread over threads; elapsed nanoseconds. */
  private static long forEachFile(int threads, int files, DiskBaseline.Task op)
      throws IOException {
    AtomicInteger next = new AtomicInteger();
    return DiskBaseline.timed(threads, t -> {
      for (int i = next.getAndIncrement(); i < files; i = next.getAndIncrement()) {
        op.run(i);
      }
    });
  }

  /** Records a sequential step's rate in MB/s and prints it. */
  private static void record(Map<String, Double> values, PrintStream out, String system,
      String step, double megabytesPerSecond) {
    values.put(step, megabytesPerSecond);
    out.printf(Locale.ROOT, "  %s %s: %.1f MB/s%n", system, step, megabytesPerSecond);
  }

  static String writeStep(int writers) {
    return "write, " + writers + (writers == 1 ? " writer" : " writers");
  }

  static String readStep(int readers) {
    return "read, " + readers + (readers == 1 ? " reader" : " readers");
  }

  static double mbPerSecond(long bytes, long nanos) {
    return bytes / 1e6 / (nanos / 1e9);
  }

  static double opsPerSecond(long ops, long nanos) {
    return ops / (nanos / 1e9);
  }

  static double median(List<Double> values) {
    double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    int middle = sorted.length / 2;
    return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  }

  /** The median over rounds of one system's step, or empty if it was not measured. */
  private Optional<Double> value(String system, String step) {
    List<Double> values = results.stream()
        .filter(r -> r.system().equals(system) && r.values().containsKey(step))
        .map(r -> r.values().get(step))
        .toList();
    return values.isEmpty() ? Optional.empty() : Optional.of(median(values));
  }

  String report(MachineInfo machine) {
    List<String> steps = new ArrayList<>();
    for (int writers : settings.writerCounts()) {
      steps.add(writeStep(writers));
    }
    for (int writers : settings.writerCounts()) {
      steps.add(readStep(writers));
    }
    if (settings.smallFiles() > 0) {
      steps.addAll(List.of("create", "stat", "delete"));
    }
    List<String> systems = new ArrayList<>(
        settings.systems().stream().map(s -> s == SystemUnderTest.PANGU ? PanguSystem.NAME
            : HdfsSystem.NAME).toList());
    systems.add(DISK);
    StringBuilder report = new StringBuilder();
    report.append("## Pangu vs HDFS\n\n");
    report.append("Machine: ").append(machine.toMarkdown()).append("\n\n");
    report.append("| step | unit |");
    systems.forEach(s -> report.append(' ').append(s).append(" |"));
    boolean ratios = systems.contains(PanguSystem.NAME);
    if (ratios && systems.contains(HdfsSystem.NAME)) {
      report.append(" Pangu/HDFS |");
    }
    if (ratios) {
      report.append(" Pangu/disk |");
    }
    report.append('\n').append("|---|---|");
    systems.forEach(s -> report.append("---:|"));
    if (ratios && systems.contains(HdfsSystem.NAME)) {
      report.append("---:|");
    }
    if (ratios) {
      report.append("---:|");
    }
    report.append('\n');
    for (String step : steps) {
      boolean throughput = step.startsWith("write") || step.startsWith("read");
      report.append("| ").append(step).append(" | ").append(throughput ? "MB/s" : "ops/s")
          .append(" |");
      for (String system : systems) {
        report.append(' ').append(value(system, step)
            .map(v -> String.format(Locale.ROOT, "%,.0f", v)).orElse("")).append(" |");
      }
      if (ratios && systems.contains(HdfsSystem.NAME)) {
        report.append(' ').append(ratio(PanguSystem.NAME, HdfsSystem.NAME, step)).append(" |");
      }
      if (ratios) {
        report.append(' ').append(ratio(PanguSystem.NAME, DISK, step)).append(" |");
      }
      report.append('\n');
    }
    report.append('\n').append("Median of ").append(settings.rounds())
        .append(settings.rounds() == 1 ? " round" : " rounds").append("; ")
        .append(String.format(Locale.ROOT, "%.2f GiB", settings.bytes() / (double) (1L << 30)))
        .append(" per sequential step, split evenly over the writers, one file each; ");
    if (settings.smallFiles() > 0) {
      report.append(String.format(Locale.ROOT, "%,d", settings.smallFiles()))
          .append(" empty files created, stat'ed and deleted by ")
          .append(settings.smallFileThreads()).append(" threads; ");
    }
    report.append("each system first runs the same steps untimed on at most ")
        .append(WARMUP_BYTES_MAX >> 20).append(" MiB");
    if (settings.smallFiles() > 0) {
      report.append(", and on ")
          .append(String.format(Locale.ROOT, "%,d",
              Math.min(settings.smallFiles(), WARMUP_WINDOW_FILES)))
          .append(" files at a time, each time after ").append(WARMUP_WINDOW_BYTES >> 20)
          .append(" MiB written and read, ").append(WarmupSettling.rule());
    }
    if (!warmups.isEmpty()) {
      report.append(" (").append(String.join("; ", warmups)).append(')');
    }
    report.append(". MB/s count the file's bytes once; each system stores three replicas.\n\n");
    for (String description : descriptions) {
      report.append("- ").append(description).append('\n');
    }
    report.append("- disk limit: three copies of the data written at once, each with plain"
        + " sequential FileChannel writes forced every 64 MiB and at its end, then one copy read"
        + " back (reads may come from the page cache, as for the file systems)\n");
    return report.toString();
  }

  private String ratio(String numerator, String denominator, String step) {
    Optional<Double> top = value(numerator, step);
    Optional<Double> bottom = value(denominator, step);
    if (top.isEmpty() || bottom.isEmpty() || bottom.get() == 0) {
      return "";
    }
    return String.format(Locale.ROOT, "%.2f", top.get() / bottom.get());
  }

  private static void deleteTree(Path directory) throws IOException {
    if (!Files.exists(directory)) {
      return;
    }
    try (var paths = Files.walk(directory)) {
      for (Path path : paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
        Files.deleteIfExists(path);
      }
    }
  }
}
