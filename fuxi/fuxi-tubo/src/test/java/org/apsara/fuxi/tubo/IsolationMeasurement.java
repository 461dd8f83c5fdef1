package org.apsara.fuxi.tubo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apsara.fuxi.tubo.cgroup.CgroupMode;

/**
 * Measures what the two classes buy a service (not a test: run it by hand, as root, on a machine
 * with cgroup v1 or v2). A latency-sensitive worker ({@link LatencyProbe}: a small unit of work
 * every {@value #PERIOD_US} µs) runs in three settings, alternated for {@value #ROUNDS} rounds:
 *
 * <ol>
 *   <li>alone;
 *   <li>next to a CPU hog (one busy loop per core) launched as another latency-sensitive worker:
 *       the same class, weights in proportion to the grants (no class separation);
 *   <li>next to the same hog launched as a batch worker (class separation).
 * </ol>
 *
 * The hog's grant is the machine's whole CPU so that its quota does not cap it: only the weights
 * separate the two, and the configured machine is overcommitted on purpose. Prints p50 and p99 of
 * each run and the median per setting.
 */
public final class IsolationMeasurement {
  static final int PERIOD_US = 5000;
  static final int WORK_ITERATIONS = 200_000;
  static final int WARMUP_SECONDS = 2;
  static final int MEASURE_SECONDS = 6;
  static final int ROUNDS = 3;

  enum Setting { ALONE, HOG_SAME_CLASS, HOG_AS_BATCH }

  private static final Pattern RESULT = Pattern.compile("p50_us=(\\d+) p99_us=(\\d+) max_us=(\\d+)");

  private IsolationMeasurement() {}

  public static void main(String[] args) throws Exception {
    int cores = Runtime.getRuntime().availableProcessors();
    Path root = Files.createTempDirectory("tubo-isolation");
    String parent = "apsara-tubo-isolation-" + UUID.randomUUID().toString().substring(0, 8);
    TuboConfig config = TuboConfig.defaults(root,
            new MachineResources(cores * 1000 + 1000, 8192))
        .withCgroupMode(CgroupMode.AUTO)
        .withCgroupParent(parent);
    BlockingQueue<WorkerExit> exits = new ArrayBlockingQueue<>(16);
    WorkerSupervisor supervisor = WorkerSupervisor.start(config, exits::add);
    System.out.println("enforcement: " + supervisor.describeEnforcement());
    System.out.println("cores: " + cores + ", probe: " + WORK_ITERATIONS
        + " xorshift iterations every " + PERIOD_US + " us, " + MEASURE_SECONDS + " s measured");
    Map<Setting, List<long[]>> results = new EnumMap<>(Setting.class);
    try {
      int run = 0;
      for (int round = 1; round <= ROUNDS; round++) {
        for (Setting setting : Setting.values()) {
          long[] r = runOnce(supervisor, exits, setting, cores, run++);
          results.computeIfAbsent(setting, s -> new ArrayList<>()).add(r);
          System.out.printf("round %d %-15s p50 %6d us  p99 %6d us  max %6d us%n",
              round, setting, r[0], r[1], r[2]);
        }
      }
    } finally {
      supervisor.killAll("measurement over");
      while (!supervisor.running().isEmpty()) {
        TimeUnit.MILLISECONDS.sleep(50);
      }
      supervisor.close();
      supervisor.removeTuboCgroups();
    }
    System.out.println();
    System.out.println("| setting | p50 (us), median of runs | p99 (us), median of runs | p99 of each run |");
    System.out.println("|---|---|---|---|");
    for (Setting setting : Setting.values()) {
      List<long[]> runs = results.get(setting);
      System.out.printf("| %s | %d | %d | %s |%n", setting, median(runs, 0), median(runs, 1),
          runs.stream().map(r -> Long.toString(r[1])).toList());
    }
  }

  private static long[] runOnce(WorkerSupervisor supervisor, BlockingQueue<WorkerExit> exits,
      Setting setting, int cores, int run) throws Exception {
    String hogId = "hog-" + run;
    if (setting != Setting.ALONE) {
      String loops = "while :; do :; done & ".repeat(cores) + "wait";
      supervisor.launch(WorkerSpec.of(hogId, "hog", List.of("sh", "-c", loops),
          setting == Setting.HOG_AS_BATCH ? WorkerClass.BATCH : WorkerClass.LATENCY_SENSITIVE,
          cores * 1000, 64));
    }
    String java = ProcessHandle.current().info().command().orElse("java");
    String probeId = "probe-" + run;
    Path sandbox = supervisor.launch(new WorkerSpec(probeId, "service", WorkerSpec.DEFAULT_ROLE,
        List.of(java, "-Xmx64m", "-XX:+UseSerialGC", "-cp", absoluteClassPath(),
            LatencyProbe.class.getName(), Integer.toString(PERIOD_US),
            Integer.toString(WORK_ITERATIONS), Integer.toString(WARMUP_SECONDS),
            Integer.toString(MEASURE_SECONDS)),
        Map.of(), WorkerClass.LATENCY_SENSITIVE, 1000, 512));
    WorkerExit probeExit = awaitExit(exits, probeId);
    if (setting != Setting.ALONE) {
      supervisor.kill(hogId, "run over");
      awaitExit(exits, hogId);
    }
    if (!(probeExit.cause() instanceof ExitCause.Exited exited) || exited.code() != 0) {
      throw new IllegalStateException("the probe failed: " + probeExit.cause() + "; stderr: "
          + Files.readString(sandbox.resolve("stderr")));
    }
    Matcher m = RESULT.matcher(Files.readString(sandbox.resolve("stdout")));
    if (!m.find()) {
      throw new IOException("no result in the probe's output");
    }
    return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2)),
        Long.parseLong(m.group(3))};
  }

  private static WorkerExit awaitExit(BlockingQueue<WorkerExit> exits, String workerId)
      throws InterruptedException {
    List<WorkerExit> others = new ArrayList<>();
    try {
      while (true) {
        WorkerExit exit = exits.poll(60, TimeUnit.SECONDS);
        if (exit == null) {
          throw new IllegalStateException("worker " + workerId + " did not end within 60 s");
        }
        if (exit.workerId().equals(workerId)) {
          return exit;
        }
        others.add(exit);
      }
    } finally {
      exits.addAll(others);
    }
  }

  /** The probe runs in its sandbox, so relative class path entries would not resolve. */
  private static String absoluteClassPath() {
    return Arrays.stream(System.getProperty("java.class.path").split(":"))
        .map(entry -> Path.of(entry).toAbsolutePath().toString())
        .collect(Collectors.joining(":"));
  }

  private static long median(List<long[]> runs, int index) {
    long[] values = runs.stream().mapToLong(r -> r[index]).sorted().toArray();
    return values[values.length / 2];
  }
}
