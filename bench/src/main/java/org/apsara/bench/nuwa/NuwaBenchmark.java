package org.apsara.bench.nuwa;

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
import java.util.StringJoiner;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apsara.bench.cluster.EtcdCluster;
import org.apsara.bench.cluster.NuwaProcessCluster;
import org.apsara.bench.cluster.ZooKeeperEnsemble;
import org.apsara.bench.report.CompilerCpu;
import org.apsara.bench.report.MachineInfo;
import org.apsara.bench.report.WarmupSettling;
import org.apsara.common.time.MonotonicClock;

/**
 * {@code apsara bench nuwa}: Nuwa side by side with etcd and ZooKeeper on this machine.
 *
 * <p>For each round and each system in turn, the benchmark starts a fresh cluster of {@link
 * Settings#members()} members as OS processes on 127.0.0.1, writes the key space once, then runs
 * puts of {@link Settings#valueSizeBytes()}-byte values and linearizable gets, each at every client
 * count of {@link Settings#clientCounts()}, and stops the cluster. It prints progress lines, then a
 * Markdown report: the machine, the median ops/s, p50 and p99 latency of each system and step over
 * the rounds with their spread, the ratios of the first system to the others, and the method.
 *
 * <p>Nuwa and etcd are both driven through the jetcd client (same client code, one gRPC channel per
 * 16 clients); ZooKeeper through its own Java client, reading with {@code sync} + {@code getData}.
 *
 * <p>An instance runs one benchmark at a time from the calling thread; it starts and stops every
 * process it needs, also when it fails. Every phase is bounded in time.
 */
public final class NuwaBenchmark {
  /** The systems this benchmark can run. */
  public enum SystemUnderTest {
    NUWA("nuwa", NuwaProcessCluster.SYSTEM),
    /** Nuwa with etcd authentication on, driven by a user confined to the benchmark's keys. */
    NUWA_AUTH("nuwa-auth", NuwaProcessCluster.SYSTEM_WITH_AUTH),
    ETCD("etcd", EtcdCluster.SYSTEM),
    ZOOKEEPER("zookeeper", ZooKeeperEnsemble.SYSTEM);

    private final String option;
    private final String displayName;

    SystemUnderTest(String option, String displayName) {
      this.option = option;
      this.displayName = displayName;
    }

    /** The name on the command line, e.g. {@code zookeeper}. */
    public String option() {
      return option;
    }

    /** The name in reports, e.g. {@code ZooKeeper}. */
    public String displayName() {
      return displayName;
    }

    /** Parses a command-line name, ignoring case. */
    public static SystemUnderTest parse(String name) {
      for (SystemUnderTest system : values()) {
        if (system.option.equalsIgnoreCase(name.trim())) {
          return system;
        }
      }
      throw new IllegalArgumentException(
          "unknown system '" + name + "'; expected one of nuwa, nuwa-auth, etcd, zookeeper");
    }
  }

  /** Most rounds of one run. */
  public static final int ROUNDS_MAX = 20;

  /** Most client counts of one run. */
  public static final int CLIENT_COUNTS_MAX = 16;

  /** Largest value; below etcd's default request limit (1.5 MiB) and ZooKeeper's (1 MiB). */
  public static final int VALUE_SIZE_BYTES_MAX = 512 * 1024;

  /** Most keys; all are written once before the first step. */
  public static final int KEY_COUNT_MAX = 100_000;

  /** Most members per cluster. */
  public static final int MEMBERS_MAX = 7;

  /**
   * Longest load on each fresh cluster before its first step; it ends sooner once the throughput
   * has settled and the JIT compilers are quiet. See {@code warmUpCluster}.
   */
  public static final Duration CLUSTER_WARMUP_DEFAULT = Duration.ofMinutes(10);

  /** Length of each operation's run in a warm-up window ({@link WarmupSettling}). */
  static final Duration WARMUP_WINDOW = Duration.ofSeconds(5);

  /** Longest warm-up or measured window of one step. */
  public static final Duration STEP_DURATION_MAX = Duration.ofHours(1);

  /** Longest time writing the key space may take before a system counts as failed. */
  public static final Duration PREPARE_TIMEOUT = Duration.ofMinutes(5);

  /**
   * What to run. Immutable; validated on construction against the limits of {@link
   * NuwaBenchmark}.
   *
   * @param warmup unmeasured time at the start of every step
   * @param clusterWarmup unmeasured load on every freshly started cluster before its first step
   * @param duration measured time of every step
   * @param clientCounts concurrent clients of the steps, in order, e.g. 1, 16, 128
   * @param valueSizeBytes size of every written value
   * @param keyCount number of distinct keys, chosen uniformly at random
   * @param systems the systems, in the order each round runs them; ratios compare the first to
   *     the others
   * @param rounds how many times each system runs every step; the report shows the median
   * @param members members per cluster
   * @param outputFile where to write the Markdown report as well, if present
   * @param workDirectory where the clusters' temporary directories are created
   * @param etcdBinary the etcd executable; when empty, {@code etcd} on the {@code PATH}
   * @param startupTimeout how long a cluster may take to come up
   * @param operationTimeout bound of a single request
   * @param seed seeds the value bytes and key choices
   */
  public record Settings(
      Duration warmup,
      Duration clusterWarmup,
      Duration duration,
      List<Integer> clientCounts,
      int valueSizeBytes,
      int keyCount,
      List<SystemUnderTest> systems,
      int rounds,
      int members,
      Optional<Path> outputFile,
      Path workDirectory,
      Optional<Path> etcdBinary,
      Duration startupTimeout,
      Duration operationTimeout,
      long seed,
      Optional<Duration> nuwaAppendBatchWait) {

    public Settings {
      requireWithin("warm-up", warmup, Duration.ZERO, STEP_DURATION_MAX);
      requireWithin("cluster warm-up", clusterWarmup, Duration.ZERO, STEP_DURATION_MAX);
      requireWithin("duration", duration, Duration.ofMillis(1), STEP_DURATION_MAX);
      clientCounts = List.copyOf(clientCounts);
      if (clientCounts.isEmpty() || clientCounts.size() > CLIENT_COUNTS_MAX) {
        throw new IllegalArgumentException(
            "between 1 and " + CLIENT_COUNTS_MAX + " client counts, not " + clientCounts);
      }
      for (int clients : clientCounts) {
        if (clients < 1 || clients > ClosedLoopWorkload.CLIENTS_MAX) {
          throw new IllegalArgumentException(
              "client count " + clients + " not in [1, " + ClosedLoopWorkload.CLIENTS_MAX + "]");
        }
      }
      requireWithin("value size", valueSizeBytes, 1, VALUE_SIZE_BYTES_MAX);
      requireWithin("key count", keyCount, 1, KEY_COUNT_MAX);
      systems = List.copyOf(systems);
      if (systems.isEmpty() || systems.stream().distinct().count() != systems.size()) {
        throw new IllegalArgumentException("systems must be non-empty and distinct: " + systems);
      }
      requireWithin("rounds", rounds, 1, ROUNDS_MAX);
      requireWithin("members", members, 1, MEMBERS_MAX);
      requireWithin("start-up timeout", startupTimeout, Duration.ofSeconds(1), Duration.ofHours(1));
      requireWithin(
          "operation timeout", operationTimeout, Duration.ofMillis(10), Duration.ofMinutes(10));
      java.util.Objects.requireNonNull(outputFile, "outputFile");
      java.util.Objects.requireNonNull(workDirectory, "workDirectory");
      java.util.Objects.requireNonNull(etcdBinary, "etcdBinary");
      java.util.Objects.requireNonNull(nuwaAppendBatchWait, "nuwaAppendBatchWait");
      nuwaAppendBatchWait.ifPresent(wait ->
          requireWithin("Nuwa append batch wait", wait, Duration.ZERO, Duration.ofMillis(100)));
    }

    /**
     * 2 min of load on each fresh cluster, then 3 s warm-up and 10 s per step, 1, 16 and 128 clients, 256-byte values over 1000 keys, Nuwa,
     * etcd and ZooKeeper with 3 members each, 2 rounds, in the JVM's temporary directory.
     */
    public static Settings defaults() {
      return new Settings(
          Duration.ofSeconds(3),
          CLUSTER_WARMUP_DEFAULT,
          Duration.ofSeconds(10),
          List.of(1, 16, 128),
          256,
          1000,
          List.of(SystemUnderTest.NUWA, SystemUnderTest.ETCD, SystemUnderTest.ZOOKEEPER),
          2,
          3,
          Optional.empty(),
          Path.of(System.getProperty("java.io.tmpdir")),
          Optional.empty(),
          Duration.ofSeconds(60),
          Duration.ofSeconds(10),
          1L,
          Optional.empty());
    }

    public Settings withWarmup(Duration value) {
      Copy copy = new Copy(this);
      copy.warmup = value;
      return copy.build();
    }

    public Settings withClusterWarmup(Duration value) {
      Copy copy = new Copy(this);
      copy.clusterWarmup = value;
      return copy.build();
    }

    public Settings withDuration(Duration value) {
      Copy copy = new Copy(this);
      copy.duration = value;
      return copy.build();
    }

    public Settings withClientCounts(List<Integer> value) {
      Copy copy = new Copy(this);
      copy.clientCounts = value;
      return copy.build();
    }

    public Settings withValueSizeBytes(int value) {
      Copy copy = new Copy(this);
      copy.valueSizeBytes = value;
      return copy.build();
    }

    public Settings withKeyCount(int value) {
      Copy copy = new Copy(this);
      copy.keyCount = value;
      return copy.build();
    }

    public Settings withSystems(List<SystemUnderTest> value) {
      Copy copy = new Copy(this);
      copy.systems = value;
      return copy.build();
    }

    public Settings withRounds(int value) {
      Copy copy = new Copy(this);
      copy.rounds = value;
      return copy.build();
    }

    public Settings withMembers(int value) {
      Copy copy = new Copy(this);
      copy.members = value;
      return copy.build();
    }

    public Settings withOutputFile(Path value) {
      Copy copy = new Copy(this);
      copy.outputFile = Optional.of(value);
      return copy.build();
    }

    public Settings withWorkDirectory(Path value) {
      Copy copy = new Copy(this);
      copy.workDirectory = value;
      return copy.build();
    }

    public Settings withEtcdBinary(Path value) {
      Copy copy = new Copy(this);
      copy.etcdBinary = Optional.of(value);
      return copy.build();
    }

    public Settings withStartupTimeout(Duration value) {
      Copy copy = new Copy(this);
      copy.startupTimeout = value;
      return copy.build();
    }

    public Settings withOperationTimeout(Duration value) {
      Copy copy = new Copy(this);
      copy.operationTimeout = value;
      return copy.build();
    }

    public Settings withSeed(long value) {
      Copy copy = new Copy(this);
      copy.seed = value;
      return copy.build();
    }

    public Settings withNuwaAppendBatchWait(Duration value) {
      Copy copy = new Copy(this);
      copy.nuwaAppendBatchWait = Optional.of(value);
      return copy.build();
    }

    /** A mutable copy of some settings, so that each {@code with...} names only what it changes. */
    private static final class Copy {
      private Duration warmup;
      private Duration clusterWarmup;
      private Duration duration;
      private List<Integer> clientCounts;
      private int valueSizeBytes;
      private int keyCount;
      private List<SystemUnderTest> systems;
      private int rounds;
      private int members;
      private Optional<Path> outputFile;
      private Path workDirectory;
      private Optional<Path> etcdBinary;
      private Duration startupTimeout;
      private Duration operationTimeout;
      private long seed;
      private Optional<Duration> nuwaAppendBatchWait;

      Copy(Settings from) {
        warmup = from.warmup;
        clusterWarmup = from.clusterWarmup;
        duration = from.duration;
        clientCounts = from.clientCounts;
        valueSizeBytes = from.valueSizeBytes;
        keyCount = from.keyCount;
        systems = from.systems;
        rounds = from.rounds;
        members = from.members;
        outputFile = from.outputFile;
        workDirectory = from.workDirectory;
        etcdBinary = from.etcdBinary;
        startupTimeout = from.startupTimeout;
        operationTimeout = from.operationTimeout;
        seed = from.seed;
        nuwaAppendBatchWait = from.nuwaAppendBatchWait;
      }

      Settings build() {
        return new Settings(warmup, clusterWarmup, duration, clientCounts, valueSizeBytes, keyCount, systems, rounds, members, outputFile, workDirectory, etcdBinary, startupTimeout, operationTimeout, seed, nuwaAppendBatchWait);
      }
    }

    /**
     * The settings from command-line options, starting from {@link #defaults()}: {@code
     * --cluster-warmup 10m --warmup 3s --duration 10s --clients 1,16,128 --systems nuwa,etcd,zookeeper --rounds 2 --value-size
     * 256 --keys 1000 --members 3 --out FILE --work-dir DIR --etcd PATH --startup-timeout 60s
     * --op-timeout 10s --seed 1}, and optionally {@code --nuwa-append-batch-wait 250us}. Durations
     * are written {@code 250us}, {@code 500ms}, {@code 10s}, {@code 2m} or
     * ISO-8601 ({@code PT10S}).
     *
     * @throws IllegalArgumentException naming the offending option
     */
    public static Settings fromArguments(String... arguments) {
      Settings settings = defaults();
      for (int i = 0; i < arguments.length; i++) {
        String option = arguments[i];
        if (i + 1 >= arguments.length) {
          throw new IllegalArgumentException("option " + option + " needs a value");
        }
        String value = arguments[++i];
        try {
          settings =
              switch (option) {
                case "--warmup" -> settings.withWarmup(parseDuration(value));
                case "--cluster-warmup" -> settings.withClusterWarmup(parseDuration(value));
                case "--duration" -> settings.withDuration(parseDuration(value));
                case "--clients" -> settings.withClientCounts(parseIntegers(value));
                case "--systems" -> settings.withSystems(
                    splitList(value).stream().map(SystemUnderTest::parse).toList());
                case "--rounds" -> settings.withRounds(Integer.parseInt(value));
                case "--value-size" -> settings.withValueSizeBytes(Integer.parseInt(value));
                case "--keys" -> settings.withKeyCount(Integer.parseInt(value));
                case "--members" -> settings.withMembers(Integer.parseInt(value));
                case "--out" -> settings.withOutputFile(Path.of(value));
                case "--work-dir" -> settings.withWorkDirectory(Path.of(value));
                case "--etcd" -> settings.withEtcdBinary(Path.of(value));
                case "--startup-timeout" -> settings.withStartupTimeout(parseDuration(value));
                case "--op-timeout" -> settings.withOperationTimeout(parseDuration(value));
                case "--seed" -> settings.withSeed(Long.parseLong(value));
                case "--nuwa-append-batch-wait" ->
                    settings.withNuwaAppendBatchWait(parseDuration(value));
                default -> throw new IllegalArgumentException("unknown option");
              };
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(option + " " + value + ": " + e.getMessage(), e);
        }
      }
      return settings;
    }

    /** These settings as the command that reproduces them. */
    public String toCommandLine() {
      StringBuilder command = new StringBuilder("apsara bench nuwa");
      command.append(" --cluster-warmup ").append(formatDuration(clusterWarmup));
      command.append(" --warmup ").append(formatDuration(warmup));
      command.append(" --duration ").append(formatDuration(duration));
      command.append(" --clients ").append(
          clientCounts.stream().map(String::valueOf).collect(Collectors.joining(",")));
      command.append(" --systems ").append(
          systems.stream().map(SystemUnderTest::option).collect(Collectors.joining(",")));
      command.append(" --rounds ").append(rounds);
      command.append(" --value-size ").append(valueSizeBytes);
      command.append(" --keys ").append(keyCount);
      command.append(" --members ").append(members);
      nuwaAppendBatchWait.ifPresent(wait ->
          command.append(" --nuwa-append-batch-wait ").append(formatDuration(wait)));
      return command.toString();
    }

    private static void requireWithin(String what, Duration value, Duration min, Duration max) {
      if (value == null || value.compareTo(min) < 0 || value.compareTo(max) > 0) {
        throw new IllegalArgumentException(
            what + " " + value + " not in [" + min + ", " + max + "]");
      }
    }

    private static void requireWithin(String what, long value, long min, long max) {
      if (value < min || value > max) {
        throw new IllegalArgumentException(
            what + " " + value + " not in [" + min + ", " + max + "]");
      }
    }
  }

  private static final Pattern SHORT_DURATION = Pattern.compile("(\\d+)(us|ms|s|m|h)");

  /**
   * Parses {@code 250us}, {@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h} or ISO-8601
   * ({@code PT10S}).
   */
  public static Duration parseDuration(String text) {
    Matcher matcher = SHORT_DURATION.matcher(text.trim().toLowerCase(Locale.ROOT));
    if (matcher.matches()) {
      long amount = Long.parseLong(matcher.group(1));
      return switch (matcher.group(2)) {
        case "us" -> Duration.ofNanos(Math.multiplyExact(amount, 1000L));
        case "ms" -> Duration.ofMillis(amount);
        case "s" -> Duration.ofSeconds(amount);
        case "m" -> Duration.ofMinutes(amount);
        case "h" -> Duration.ofHours(amount);
        default -> throw new AssertionError(matcher.group(2));
      };
    }
    try {
      return Duration.parse(text.trim());
    } catch (java.time.format.DateTimeParseException e) {
      throw new IllegalArgumentException(
          "not a duration: '" + text + "' (examples: 500ms, 10s, 2m, PT10S)", e);
    }
  }

  static String formatDuration(Duration duration) {
    if (duration.toNanos() % 1_000_000 != 0) {
      return duration.toNanos() / 1000 + "us";
    }
    long millis = duration.toMillis();
    return millis % 1000 == 0 ? millis / 1000 + "s" : millis + "ms";
  }

  private static List<Integer> parseIntegers(String text) {
    return splitList(text).stream().map(Integer::parseInt).toList();
  }

  private static List<String> splitList(String text) {
    return java.util.Arrays.stream(text.split(","))
        .map(String::trim)
        .filter(part -> !part.isEmpty())
        .toList();
  }

  private static final List<Operation> OPERATIONS = List.of(Operation.PUT, Operation.GET);

  private final Settings settings;
  private final MonotonicClock clock;

  /** A benchmark with {@code settings}, timed by the JVM's monotonic clock. */
  public NuwaBenchmark(Settings settings) {
    this(settings, MonotonicClock.SYSTEM);
  }

  NuwaBenchmark(Settings settings, MonotonicClock clock) {
    this.settings = settings;
    this.clock = clock;
  }

  public Settings settings() {
    return settings;
  }

  /**
   * Runs the whole benchmark, printing progress lines and then the Markdown report to {@code
   * out}, and writing the report to {@link Settings#outputFile()} if set.
   *
   * @return the Markdown report
   * @throws org.apsara.bench.cluster.ClusterStartException if a member of a system does not come
   *     up; its message names the system, the member and its log file
   * @throws IllegalStateException if a system cannot run here (no etcd executable, no Nuwa
   *     launcher on the class path) or preparing its keys fails
   */
  public String run(PrintStream out) throws IOException, InterruptedException {
    Optional<Path> etcdBinary = checkSystemsCanRun();
    Files.createDirectories(settings.workDirectory());
    MachineInfo machine = MachineInfo.describe(settings.workDirectory());
    progress(out, "machine: " + machine.toMarkdown());
    progress(out, "estimated time: at most about " + estimatedMinutes()
        + " min (a warm-up ends as soon as the throughput settles)");
    List<DiskSyncProbe.Result> disk = new ArrayList<>();

    KeySpace keys = new KeySpace(settings.keyCount(), settings.valueSizeBytes(), settings.seed());
    List<String> systemNames =
        settings.systems().stream().map(SystemUnderTest::displayName).toList();
    BenchmarkReport report = new BenchmarkReport(systemNames, OPERATIONS, settings.clientCounts());
    Map<String, String> versions = new LinkedHashMap<>();
    Map<String, String> putDescriptions = new LinkedHashMap<>();
    Map<String, String> getDescriptions = new LinkedHashMap<>();
    List<String> leaders = new ArrayList<>();
    List<String> warmups = new ArrayList<>();
    ClosedLoopWorkload workload = new ClosedLoopWorkload(clock, settings.operationTimeout());

    for (int round = 1; round <= settings.rounds(); round++) {
      // The disk is shared and its speed drifts, so it is measured like the systems: each round.
      disk.add(DiskSyncProbe.measure(settings.workDirectory(), settings.valueSizeBytes()));
      progress(out, "round " + round + "/" + settings.rounds() + ": disk: "
          + disk.get(disk.size() - 1).toMarkdown());
      List<String> roundLeaders = new ArrayList<>();
      List<String> roundWarmups = new ArrayList<>();
      for (SystemUnderTest system : settings.systems()) {
        progress(out, "round " + round + "/" + settings.rounds() + ": starting "
            + settings.members() + " " + system.displayName() + " members");
        try (KvSystem running = start(system, etcdBinary)) {
          versions.putIfAbsent(running.name(), running.version());
          putDescriptions.putIfAbsent(running.name(), running.putDescription());
          getDescriptions.putIfAbsent(running.name(), running.getDescription());
          Optional<Integer> leader = running.leaderIndex();
          roundLeaders.add(
              running.name() + " " + leader.map(i -> "member " + (i + 1)).orElse("unknown"));
          roundWarmups.add(
              measureSystem(out, round, running, leader.orElse(0), keys, workload, report));
        }
      }
      leaders.add("round " + round + ": " + String.join(", ", roundLeaders));
      warmups.add("round " + round + ": " + String.join(", ", roundWarmups));
    }

    String markdown = render(machine, disk, versions, putDescriptions, getDescriptions, leaders,
        warmups, report);
    out.println();
    out.print(markdown);
    out.flush();
    if (settings.outputFile().isPresent()) {
      Path file = settings.outputFile().get();
      if (file.toAbsolutePath().getParent() != null) {
        Files.createDirectories(file.toAbsolutePath().getParent());
      }
      Files.writeString(file, markdown, StandardCharsets.UTF_8);
      progress(out, "report written to " + file);
    }
    return markdown;
  }

  /** Fails before anything starts if a chosen system cannot run; returns the etcd binary. */
  private Optional<Path> checkSystemsCanRun() {
    Optional<Path> etcdBinary = Optional.empty();
    if (settings.systems().contains(SystemUnderTest.ETCD)) {
      etcdBinary = settings.etcdBinary().or(EtcdCluster::findBinaryOnPath);
      if (etcdBinary.isEmpty() || !Files.isExecutable(etcdBinary.get())) {
        throw new IllegalStateException(
            "etcd: no executable etcd found (looked for "
                + settings.etcdBinary().map(Path::toString).orElse("etcd on the PATH")
                + "); install etcd or pass --etcd PATH");
      }
    }
    if ((settings.systems().contains(SystemUnderTest.NUWA)
            || settings.systems().contains(SystemUnderTest.NUWA_AUTH))
        && !NuwaProcessCluster.launcherAvailable()) {
      throw new IllegalStateException(
          "Nuwa: the launcher " + NuwaProcessCluster.MAIN_CLASS + " is not on the class path;"
              + " run this benchmark as `apsara bench nuwa`");
    }
    return etcdBinary;
  }

  /** The options of {@code apsara run nuwa} these settings add to its defaults. */
  private List<String> nuwaMemberOptions() {
    return settings.nuwaAppendBatchWait()
        .map(wait -> List.of("--append-batch-wait", wait.toNanos() / 1000 + "us"))
        .orElse(List.of());
  }

  private KvSystem start(SystemUnderTest system, Optional<Path> etcdBinary) {
    return switch (system) {
      case NUWA -> new JetcdKvSystem(
          NuwaProcessCluster.start(settings.members(), settings.workDirectory(),
              settings.startupTimeout(), nuwaMemberOptions()),
          null,
          settings.operationTimeout());
      case NUWA_AUTH -> {
        NuwaProcessCluster cluster = NuwaProcessCluster.start(settings.members(),
            settings.workDirectory(), settings.startupTimeout(), nuwaMemberOptions());
        try {
          yield new JetcdKvSystem(cluster, null, settings.operationTimeout(),
              Optional.of(cluster.enableAuthentication(KeySpace.PARENT + "/")));
        } catch (RuntimeException e) {
          cluster.close();
          throw e;
        }
      }
      case ETCD -> new JetcdKvSystem(
          EtcdCluster.start(
              etcdBinary.orElseThrow(),
              settings.members(),
              settings.workDirectory(),
              settings.startupTimeout()),
          EtcdCluster.version(etcdBinary.orElseThrow()).replace("Version: ", ""),
          settings.operationTimeout());
      case ZOOKEEPER -> new ZooKeeperKvSystem(
          ZooKeeperEnsemble.start(
              settings.members(), settings.workDirectory(), settings.startupTimeout()),
          settings.operationTimeout());
    };
  }

  /**
   * Loads a freshly started cluster with puts and gets at the largest client count, unmeasured,
   * until its throughput has settled while the JIT compilers of the members and the clients were
   * quiet ({@link WarmupSettling}), or {@link Settings#clusterWarmup()} has passed. A JVM server
   * compiles its hot paths for minutes under load when its compiler threads share two cores with
   * the other members and the clients; without this, the steps would measure the JIT compiler,
   * not the system. Every system gets the same load, compiled or not.
   *
   * @return how long the warm-up ran, and whether it ended because the throughput settled
   */
  private String warmUpCluster(
      PrintStream out,
      int round,
      KvSystem system,
      List<KvConnection> connections,
      KeySpace keys,
      ClosedLoopWorkload workload)
      throws InterruptedException {
    Duration limit = settings.clusterWarmup();
    if (limit.isZero()) {
      return system.name() + " none";
    }
    progress(out, "round " + round + "/" + settings.rounds() + ": " + system.name()
        + ": warming up until its throughput settles and its JIT compilers are quiet, at most "
        + formatDuration(limit));
    int clients = connections.size() * ClosedLoopWorkload.CLIENTS_PER_CONNECTION;
    WarmupSettling settling = new WarmupSettling(OPERATIONS.size());
    long start = clock.nanos();
    Duration left = limit;
    // A window shrinks to fit what is left of the limit, but never below a millisecond.
    while (left.toMillis() >= OPERATIONS.size() && !settling.settled()) {
      Duration window = left.dividedBy(OPERATIONS.size());
      if (window.compareTo(WARMUP_WINDOW) > 0) {
        window = WARMUP_WINDOW;
      }
      double[] rates = new double[OPERATIONS.size()];
      Optional<CompilerCpu> cpuAtStart =
          CompilerCpu.read(system.membersCpuTime(), system.membersCompilerCpuTime());
      for (int i = 0; i < rates.length; i++) {
        // Errors are not checked here; a broken system shows them in the measured steps.
        rates[i] = workload.run(OPERATIONS.get(i), clients, connections, keys.count(),
            Duration.ZERO, window, settings.seed(), CpuMeter.NONE).operationsPerSecond();
      }
      OptionalDouble compilerShare = CompilerCpu.shareSince(cpuAtStart,
          CompilerCpu.read(system.membersCpuTime(), system.membersCompilerCpuTime()));
      settling.record(compilerShare, rates);
      StringJoiner line = new StringJoiner(", ");
      for (int i = 0; i < rates.length; i++) {
        line.add(String.format(Locale.ROOT, "%s %.0f/s", OPERATIONS.get(i).label(), rates[i]));
      }
      compilerShare.ifPresent(share ->
          line.add(String.format(Locale.ROOT, "JIT %.0f%% of the CPU", share * 100)));
      progress(out, "round " + round + "/" + settings.rounds() + ": " + system.name()
          + ": warm-up window " + settling.windows() + ": " + line);
      left = limit.minusNanos(clock.nanos() - start);
    }
    String outcome =
        system.name() + " " + settling.outcome(Duration.ofNanos(clock.nanos() - start));
    progress(out, "round " + round + "/" + settings.rounds() + ": warmed up: " + outcome);
    return outcome;
  }

  /**
   * Opens the connections, writes the keys, warms the system up and runs every step against it.
   *
   * @return how the warm-up went, as {@link #warmUpCluster} describes it
   */
  private String measureSystem(
      PrintStream out,
      int round,
      KvSystem system,
      int leader,
      KeySpace keys,
      ClosedLoopWorkload workload,
      BenchmarkReport report)
      throws InterruptedException {
    int maxClients = settings.clientCounts().stream().mapToInt(Integer::intValue).max().orElse(1);
    List<KvConnection> connections = new ArrayList<>();
    try {
      for (int j = 0; j < ClosedLoopWorkload.connectionsFor(maxClients); j++) {
        // Counting from the leader makes the placement the same for every system and round: a
        // follower forwards writes and read-index requests to the leader, one more hop, and
        // where the leader happened to be elected would otherwise decide the low-concurrency
        // figures (seen here: the same etcd at 600 or 1300 puts/s with one client).
        int member = (leader + j) % system.memberCount();
        try {
          connections.add(system.connect(member, keys));
        } catch (InterruptedException e) {
          throw e;
        } catch (Exception e) {
          throw new IllegalStateException(
              system.name() + ": cannot connect to member " + (member + 1) + ": "
                  + ClosedLoopWorkload.describe(e) + " (member logs: " + system.memberLogs() + ")",
              e);
        }
      }
      ClosedLoopWorkload.prepare(connections, keys, PREPARE_TIMEOUT);
      String warmup = warmUpCluster(out, round, system, connections, keys, workload);
      for (Operation operation : OPERATIONS) {
        for (int clients : settings.clientCounts()) {
          // The same seed for the same step of every system and round: the same key sequences.
          long stepSeed = settings.seed() * 1_000_003L + operation.ordinal() * 10_007L + clients;
          StepResult result =
              workload.run(
                  operation,
                  clients,
                  connections.subList(0, ClosedLoopWorkload.connectionsFor(clients)),
                  keys.count(),
                  settings.warmup(),
                  settings.duration(),
                  stepSeed,
                  CpuMeter.of(system));
          report.add(round, system.name(), result);
          progress(
              out,
              String.format(
                  Locale.ROOT,
                  "round %d/%d: %s %s, %d clients: %.0f ops/s, p50 %.2f ms, p99 %.2f ms%s%s",
                  round,
                  settings.rounds(),
                  system.name(),
                  operation.label(),
                  clients,
                  result.operationsPerSecond(),
                  result.p50Nanos() / 1e6,
                  result.p99Nanos() / 1e6,
                  result.cpuPerOperation().map(cpu -> String.format(Locale.ROOT,
                      ", CPU per op: members %.3f ms, clients %.3f ms, JIT %.0f%%",
                      cpu.members().toNanos() / 1e6, cpu.client().toNanos() / 1e6,
                      cpu.compilerShare() * 100)).orElse(""),
                  result.errors() == 0 && result.stuckClients() == 0
                      ? ""
                      : ", " + result.errors() + " errors, " + result.stuckClients()
                          + " clients stuck (first error: "
                          + result.firstError().orElse("none") + ")"));
        }
      }
      return warmup;
    } finally {
      connections.forEach(KvConnection::close);
    }
  }

  private long estimatedMinutes() {
    long steps = (long) settings.clientCounts().size() * OPERATIONS.size();
    Duration perSystem =
        settings.warmup().plus(settings.duration()).multipliedBy(steps)
            .plus(settings.clusterWarmup());
    // About 15 s per cluster for start-up, writing the keys and stopping.
    Duration total =
        perSystem.plusSeconds(15).multipliedBy((long) settings.systems().size() * settings.rounds());
    return Math.max(1, (total.toSeconds() + 59) / 60);
  }

  private String render(
      MachineInfo machine,
      List<DiskSyncProbe.Result> disk,
      Map<String, String> versions,
      Map<String, String> putDescriptions,
      Map<String, String> getDescriptions,
      List<String> leaders,
      List<String> warmups,
      BenchmarkReport report) {
    List<String> names = settings.systems().stream().map(SystemUnderTest::displayName).toList();
    StringBuilder md = new StringBuilder();
    md.append("## ").append(String.join(" vs ", names)).append(": ")
        .append(settings.valueSizeBytes()).append("-byte puts and linearizable gets, ")
        .append(settings.members()).append(" members each\n\n");
    md.append("- Machine: ").append(machine.toMarkdown()).append('\n');
    md.append("- Disk limit (data directory, measured before each round): ")
        .append(DiskSyncProbe.summarize(disk)).append('\n');
    md.append("- Versions: ").append(String.join("; ", versions.values()))
        .append("; clients: jetcd ").append(jetcdVersion())
        .append(", ZooKeeper Java client ").append(ZooKeeperEnsemble.version()).append('\n');
    md.append("- Command: `").append(settings.toCommandLine()).append("`\n\n");
    md.append(report.resultsTable()).append('\n');
    if (names.size() > 1) {
      String subject = names.get(0);
      md.append("Ratios of ").append(subject).append(" to each other system (ops/s above 1 and")
          .append(" latency below 1 mean ").append(subject).append(" is better):\n\n");
      md.append(report.ratioTable()).append('\n');
    }
    md.append("Method:\n\n");
    md.append("- Each system ran as ").append(settings.members())
        .append(" members, each its own OS process on 127.0.0.1 with its own data directory;")
        .append(" one system at a time, a fresh cluster every round; the clients ran in the")
        .append(" benchmark's JVM on the same cores.\n");
    md.append("- Rounds alternate the systems: each of the ").append(settings.rounds())
        .append(" rounds runs ").append(String.join(", ", names)).append(" in this order.\n");
    md.append("- Every fresh cluster: unmeasured load (puts and gets in turn, ")
        .append(formatDuration(WARMUP_WINDOW)).append(" each, at the largest client count) ")
        .append(WarmupSettling.rule())
        .append(", so that JIT compilers reach their steady state; at most ")
        .append(formatDuration(settings.clusterWarmup())).append(". It took: ")
        .append(String.join("; ", warmups)).append(".\n");
    md.append("- Every step: ").append(formatDuration(settings.warmup()))
        .append(" warm-up (not measured), then ").append(formatDuration(settings.duration()))
        .append(" measured. ops/s counts the operations that started and completed in the")
        .append(" measured window; p50 and p99 come from an HdrHistogram of their latencies.")
        .append(" CPU ms/op: user and system CPU time used during the measured window by the")
        .append(" members' processes (with their children) together, and by the benchmark's JVM,")
        .append(" which runs only the clients, divided by the operations counted. JIT share: the")
        .append(" part of all that CPU (members' and clients') that the JVMs' JIT compiler threads")
        .append(" used; a step measured while it is large measures the compilers as well.\n");
    md.append("- Figures are the median over the ").append(settings.rounds())
        .append(" rounds (with an even number of rounds, the mean of the middle two); the spread")
        .append(" is (max - min) / median of a step's ops/s over the rounds.\n");
    md.append("- Concurrency N: N client threads, each with one synchronous request in flight")
        .append(" (closed loop). One connection per ").append(ClosedLoopWorkload.CLIENTS_PER_CONNECTION)
        .append(" clients (a jetcd Client, i.e. one gRPC channel, for the etcd API; a ZooKeeper")
        .append(" session for ZooKeeper); connection j goes to member (leader + j) mod ")
        .append(settings.members()).append(", so up to ")
        .append(ClosedLoopWorkload.CLIENTS_PER_CONNECTION)
        .append(" clients talk to the leader only, and more are spread over all members.\n");
    md.append("- Keys: ").append(settings.keyCount()).append(" keys written once before the first")
        .append(" step, then chosen uniformly at random; every value is the same ")
        .append(settings.valueSizeBytes()).append(" random bytes. Every get checks the value.\n");
    for (String name : putDescriptions.keySet()) {
      md.append("- ").append(name).append(": puts are ").append(putDescriptions.get(name))
          .append("; gets are ").append(getDescriptions.get(name)).append(".\n");
    }
    md.append("- Durability: etcd fsyncs its write-ahead log before acknowledging (its default);")
        .append(" ZooKeeper runs with forceSync=yes; Nuwa with the defaults of `apsara run nuwa`")
        .append(nuwaMemberOptions().isEmpty() ? ""
            : " and " + String.join(" ", nuwaMemberOptions()))
        .append(".\n");
    md.append("- Leader at the start of each round, which connection 0 went to (member 1 where")
        .append(" unknown): ").append(String.join("; ", leaders)).append(".\n");
    md.append("- Absolute figures drift by 20% or more between runs on a shared machine; the")
        .append(" ratios, measured in the same run, are the result to read.\n");
    return md.toString();
  }

  private static String jetcdVersion() {
    try {
      String location =
          io.etcd.jetcd.Client.class.getProtectionDomain().getCodeSource().getLocation().getPath();
      Matcher matcher = Pattern.compile("jetcd-core-([^/]+)\\.jar$").matcher(location);
      return matcher.find() ? matcher.group(1) : "(version unknown)";
    } catch (RuntimeException e) {
      return "(version unknown)";
    }
  }

  /**
   * Without a configuration Logback logs everything at DEBUG, and the gRPC, Netty and ZooKeeper
   * clients would then log per request, slowing the clients down. Standalone runs keep warnings
   * only, unless a configuration file is given.
   */
  private static void quietClientLibraries() {
    if (System.getProperty("logback.configurationFile") != null) {
      return;
    }
    org.slf4j.Logger root = org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    if (root instanceof ch.qos.logback.classic.Logger logback) {
      logback.setLevel(ch.qos.logback.classic.Level.WARN);
    }
  }

  private static void progress(PrintStream out, String line) {
    out.println("[bench] " + line);
    out.flush();
  }

  /**
   * Runs the benchmark from the command line; the options are those of {@link
   * Settings#fromArguments}. Exits with status 2 for bad options and 1 when the benchmark fails.
   */
  public static void main(String[] args) {
    quietClientLibraries();
    Settings settings;
    try {
      settings = Settings.fromArguments(args);
    } catch (IllegalArgumentException e) {
      System.err.println("apsara bench nuwa: " + e.getMessage());
      System.exit(2);
      return;
    }
    try {
      new NuwaBenchmark(settings).run(System.out);
    } catch (Exception e) {
      System.err.println("apsara bench nuwa failed: " + e.getMessage());
      System.exit(1);
    }
  }
}
