package org.apsara.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.apsara.bench.fuxi.FuxiBenchmark;
import org.apsara.bench.nuwa.NuwaBenchmark;
import org.apsara.bench.pangu.PanguBenchmark;
import org.apsara.common.config.ByteSizes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code apsara bench ...}: side-by-side benchmarks against the systems Apsara replaces. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Measure Apsara side by side with its peers on this machine.",
    subcommands = {BenchCommand.Nuwa.class, BenchCommand.Pangu.class, BenchCommand.Fuxi.class})
final class BenchCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  @Command(
      name = "nuwa",
      mixinStandardHelpOptions = true,
      description = {
        "Nuwa vs etcd vs ZooKeeper, 3 members each, same workload: puts of small values,",
        "then linearizable gets, at several client counts. Prints a Markdown table with",
        "ops/s, p50, p99 and the ratios. Needs the etcd binary (Debian package etcd-server)."
      })
  static final class Nuwa implements Callable<Integer> {
    @Option(names = "--duration", defaultValue = "10s", description = "Measured time per step (default: ${DEFAULT-VALUE}).")
    String duration;

    @Option(names = "--cluster-warmup", defaultValue = "10m", description = "Longest unmeasured load on each fresh cluster before its first step; it stops sooner once the throughput has settled and the JIT compilers have gone quiet (default: ${DEFAULT-VALUE}; 0 for none).")
    String clusterWarmup;

    @Option(names = "--warmup", defaultValue = "3s", description = "Warm-up per step (default: ${DEFAULT-VALUE}).")
    String warmup;

    @Option(names = "--clients", defaultValue = "1,16,128", description = "Concurrent clients per step (default: ${DEFAULT-VALUE}).")
    String clients;

    @Option(names = "--systems", defaultValue = "nuwa,etcd,zookeeper", description = "Systems to run: nuwa, nuwa-auth (Nuwa with authentication on), etcd, zookeeper (default: ${DEFAULT-VALUE}).")
    String systems;

    @Option(names = "--rounds", defaultValue = "2", description = "Alternating rounds; the median is reported (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--value-size", defaultValue = "256", description = "Value size in bytes (default: ${DEFAULT-VALUE}).")
    int valueSize;

    @Option(names = "--out", description = "Also write the Markdown report to this file.")
    Path out;

    @Option(names = "--etcd", description = "Path of the etcd binary (default: found on PATH).")
    Path etcd;

    @Option(names = "--nuwa-append-batch-wait", paramLabel = "DURATION",
        description = "Run Nuwa's members with this --append-batch-wait, e.g. 250us "
            + "(default: that of `apsara run nuwa`).")
    String nuwaAppendBatchWait;

    @Override
    public Integer call() throws Exception {
      LogSetup.forClient();
      List<String> args = new ArrayList<>(List.of("--duration", duration, "--warmup", warmup,
          "--cluster-warmup", clusterWarmup,
          "--clients", clients, "--systems", systems, "--rounds", Integer.toString(rounds),
          "--value-size", Integer.toString(valueSize)));
      if (out != null) {
        args.addAll(List.of("--out", out.toString()));
      }
      if (etcd != null) {
        args.addAll(List.of("--etcd", etcd.toString()));
      }
      if (nuwaAppendBatchWait != null) {
        args.addAll(List.of("--nuwa-append-batch-wait", nuwaAppendBatchWait));
      }
      new NuwaBenchmark(NuwaBenchmark.Settings.fromArguments(args.toArray(String[]::new)))
          .run(System.out);
      return 0;
    }
  }

  @Command(
      name = "pangu",
      mixinStandardHelpOptions = true,
      description = {
        "Pangu vs HDFS vs the disk itself: each file system with 3 replicas (Pangu: 1 master",
        "and 3 chunkservers as processes; HDFS: a MiniDFSCluster with 1 NameNode and 3",
        "DataNodes), sequential writes and reads of --size with 1 and 4 writers, then",
        "create, stat and delete of --small-files empty files. The disk limit is 3 copies",
        "of the data written with plain fsync'ed files. Prints a Markdown table with MB/s,",
        "ops/s and the ratios. Needs about 4x --size of free disk in --dir."
      })
  static final class Pangu implements Callable<Integer> {
    @Option(names = "--size", defaultValue = "2G",
        description = "Bytes per sequential step, split over the writers (default: ${DEFAULT-VALUE}).")
    String size;

    @Option(names = "--writers", defaultValue = "1,4", split = ",",
        description = "Writer counts of the sequential steps (default: ${DEFAULT-VALUE}).")
    List<Integer> writers;

    @Option(names = "--small-files", defaultValue = "50000",
        description = "Empty files created, stat'ed and deleted; 0 skips (default: ${DEFAULT-VALUE}).")
    int smallFiles;

    @Option(names = "--small-file-threads", defaultValue = "16",
        description = "Threads of the small-file steps (default: ${DEFAULT-VALUE}).")
    int smallFileThreads;

    @Option(names = "--systems", defaultValue = "pangu,hdfs", split = ",",
        description = "Systems besides the disk: pangu, hdfs (default: ${DEFAULT-VALUE}).")
    List<String> systems;

    @Option(names = "--rounds", defaultValue = "1",
        description = "Rounds; the median is reported (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--dir", description = "Where the data goes (default: the temporary directory).")
    Path dir;

    @Option(names = "--out", description = "Also write the Markdown report to this file.")
    Path out;

    @Override
    public Integer call() throws Exception {
      LogSetup.forClient();
      PanguBenchmark.Settings defaults = PanguBenchmark.Settings.defaults();
      PanguBenchmark.Settings settings = new PanguBenchmark.Settings(
          ByteSizes.parse("--size", size), writers, smallFiles, smallFileThreads,
          systems.stream().map(PanguBenchmark.SystemUnderTest::parse).toList(), rounds,
          dir != null ? dir : defaults.workDirectory(), Optional.ofNullable(out));
      new PanguBenchmark(settings).run(System.out);
      return 0;
    }
  }

  @Command(
      name = "fuxi",
      mixinStandardHelpOptions = true,
      description = {
        "FuxiMaster's scheduler under a cluster-sized load: the real scheduler code driven by",
        "one thread as the master's event loop drives it, with --machines simulated machines,",
        "--applications applications in --quota-groups quota groups with mixed priorities, and",
        "short tasks; demand below the cluster's CPU, then above it. Prints grants per second,",
        "request-to-grant latency p50 and p99, the CPU allocated at saturation and the heap.",
        "Give the JVM room: JAVA_OPTS=-Xmx4g."
      })
  static final class Fuxi implements Callable<Integer> {
    @Option(names = "--machines", defaultValue = "10000",
        description = "Simulated machines (default: ${DEFAULT-VALUE}).")
    int machines;

    @Option(names = "--cores-per-machine", defaultValue = "32",
        description = "Cores of each machine (default: ${DEFAULT-VALUE}).")
    int cores;

    @Option(names = "--memory-gib-per-machine", defaultValue = "128",
        description = "Memory of each machine in GiB (default: ${DEFAULT-VALUE}).")
    int memoryGib;

    @Option(names = "--applications", defaultValue = "1000",
        description = "Concurrent applications (default: ${DEFAULT-VALUE}).")
    int applications;

    @Option(names = "--quota-groups", defaultValue = "4",
        description = "Quota groups the applications are spread over (default: ${DEFAULT-VALUE}).")
    int quotaGroups;

    @Option(names = "--warmup", defaultValue = "10s", converter = DurationConverter.class,
        description = "Unmeasured time before each phase (default: ${DEFAULT-VALUE}).")
    Duration warmup;

    @Option(names = "--duration", defaultValue = "15s", converter = DurationConverter.class,
        description = "Measured time of each phase (default: ${DEFAULT-VALUE}).")
    Duration duration;

    @Option(names = "--task-min", defaultValue = "1s", converter = DurationConverter.class,
        description = "Shortest task (default: ${DEFAULT-VALUE}).")
    Duration taskMin;

    @Option(names = "--task-max", defaultValue = "4s", converter = DurationConverter.class,
        description = "Longest task (default: ${DEFAULT-VALUE}).")
    Duration taskMax;

    @Option(names = "--below-load", defaultValue = "0.9",
        description = "Demand of the first phase, times the cluster's CPU "
            + "(default: ${DEFAULT-VALUE}).")
    double belowLoad;

    @Option(names = "--saturated-load", defaultValue = "1.1",
        description = "Demand of the second phase (default: ${DEFAULT-VALUE}).")
    double saturatedLoad;

    @Option(names = "--seed", defaultValue = "1",
        description = "Workload seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", description = "Also write the Markdown report to this file.")
    Path out;

    @Override
    public Integer call() throws Exception {
      LogSetup.forClient();
      FuxiBenchmark.Options options = new FuxiBenchmark.Options(machines, cores, memoryGib,
          applications, quotaGroups, warmup, duration, seed, taskMin, taskMax, belowLoad,
          saturatedLoad);
      FuxiBenchmark.Report report = FuxiBenchmark.run(options, System.err);
      FuxiBenchmark.printTable(report, System.out);
      if (out != null) {
        Files.writeString(out, FuxiBenchmark.toMarkdown(report));
      }
      return 0;
    }
  }
}
