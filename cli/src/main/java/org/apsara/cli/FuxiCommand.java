package org.apsara.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apsara.bench.cluster.JavaCommand;
import org.apsara.common.net.HostPort;
import org.apsara.fuxi.api.v1.ApplicationStatus;
import org.apsara.fuxi.api.v1.NodeStatus;
import org.apsara.fuxi.api.v1.QuotaGroupStatus;
import org.apsara.fuxi.api.v1.Resources;
import org.apsara.fuxi.api.v1.RoleStatus;
import org.apsara.fuxi.api.v1.WorkerClass;
import org.apsara.fuxi.client.ApplicationSpec;
import org.apsara.fuxi.client.FuxiClient;
import org.apsara.fuxi.client.FuxiClientConfig;
import org.apsara.fuxi.client.FuxiException;
import org.apsara.fuxi.client.examples.CommandOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code apsara fuxi ...}: the resource manager from the shell. */
@Command(
    name = "fuxi",
    mixinStandardHelpOptions = true,
    description = "Use Fuxi, the resource manager: machines, applications, quota groups.",
    subcommands = {
      FuxiCommand.Nodes.class,
      FuxiCommand.Apps.class,
      FuxiCommand.Status.class,
      FuxiCommand.Submit.class,
      FuxiCommand.Kill.class,
      FuxiCommand.Quota.class
    })
final class FuxiCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /**
   * Where FuxiMaster is and what calls are signed with. A picocli mixin every subcommand shares.
   *
   * <p>Calls are signed as {@link SigningProfile} says: with the {@code default} profile when
   * there is one, unsigned otherwise (enough for a FuxiMaster run with {@code --no-auth}, refused
   * as {@code UNAUTHENTICATED} by one with authentication).
   */
  static final class Connection {
    @Option(names = "--masters", split = ",", paramLabel = "HOST:PORT",
        defaultValue = "${env:APSARA_FUXI_MASTERS:-127.0.0.1:7300}",
        description = "FuxiMaster members, comma-separated (default: ${DEFAULT-VALUE}; "
            + "or set APSARA_FUXI_MASTERS).")
    List<String> masters;

    @Option(names = "--timeout", defaultValue = "20s", converter = DurationConverter.class,
        description = "How long one operation may keep retrying while no member answers as "
            + "primary (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = "--cacert", paramLabel = "FILE", defaultValue = "${env:APSARA_FUXI_CACERT}",
        description = "Talk TLS, verifying FuxiMaster against these PEM CA certificates "
            + "(or set APSARA_FUXI_CACERT).")
    Path cacert;

    @Option(names = "--cert", paramLabel = "FILE", defaultValue = "${env:APSARA_FUXI_CERT}",
        description = "PEM client certificate to present (or set APSARA_FUXI_CERT).")
    Path cert;

    @Option(names = "--key", paramLabel = "FILE", defaultValue = "${env:APSARA_FUXI_KEY}",
        description = "PEM private key of --cert (or set APSARA_FUXI_KEY).")
    Path key;

    @Mixin SigningProfile signing;

    FuxiClient open() throws IOException {
      LogSetup.forClient();
      FuxiClientConfig.Builder config = FuxiClientConfig.builder(
          masters.stream().map(HostPort::parse).toList()).operationTimeout(timeout);
      ClientTlsFlags.context(cacert, cert, key).ifPresent(config::tls);
      signing.resolve().ifPresent(p -> config.credentials(p.credentials(), p.region()));
      return FuxiClient.connect(config.build());
    }
  }

  @Command(name = "nodes", mixinStandardHelpOptions = true,
      description = "List the machines (Tubos): state, CPU and memory allocated of capacity, "
          + "running workers, how limits are enforced.")
  static final class Nodes implements Callable<Integer> {
    @Mixin Connection connection;

    @Override
    public Integer call() throws Exception {
      try (FuxiClient client = connection.open()) {
        List<NodeStatus> nodes = client.nodes();
        String format = "%-20s %-14s %-21s %-5s %15s %17s %7s  %s%n";
        System.out.printf(format, "MACHINE", "RACK", "ADDRESS", "STATE", "CPU (m)",
            "MEMORY (MiB)", "WORKERS", "LIMITS");
        for (NodeStatus n : nodes) {
          System.out.printf(format, n.getMachineId(), n.getRack(), n.getAddress(),
              n.getState() == NodeStatus.State.ALIVE ? "alive" : "dead",
              n.getAllocated().getCpuMillis() + "/" + n.getCapacity().getCpuMillis(),
              n.getAllocated().getMemoryMib() + "/" + n.getCapacity().getMemoryMib(),
              n.getRunningWorkers(), n.getEnforcement());
        }
        if (nodes.isEmpty()) {
          System.out.println("(no machine has reported yet: start a Tubo with apsara run tubo)");
        }
      }
      return 0;
    }
  }

  @Command(name = "apps", mixinStandardHelpOptions = true,
      description = "List applications: id, state, quota group, AM attempt, resources held, "
          + "units waiting, name.")
  static final class Apps implements Callable<Integer> {
    @Mixin Connection connection;

    @Option(names = "--running", description = "Only applications not finished yet.")
    boolean running;

    @Override
    public Integer call() throws Exception {
      try (FuxiClient client = connection.open()) {
        List<ApplicationStatus.State> states = running
            ? List.of(ApplicationStatus.State.SUBMITTED, ApplicationStatus.State.RUNNING)
            : List.of();
        String format = "%-14s %-10s %-12s %7s %18s %8s  %s%n";
        System.out.printf(format, "ID", "STATE", "QUOTA", "ATTEMPT", "HELD (m / MiB)",
            "PENDING", "NAME");
        for (ApplicationStatus a : client.list(states)) {
          System.out.printf(format, a.getApplicationId(), state(a), a.getQuotaGroup(),
              a.getAmAttempt(), resources(a.getAllocated()), a.getPendingUnits(), a.getName());
        }
      }
      return 0;
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Show one application: its state, AM, diagnostics and roles.")
  static final class Status implements Callable<Integer> {
    @Mixin Connection connection;

    @Parameters(paramLabel = "APPLICATION_ID")
    String applicationId;

    @Override
    public Integer call() throws Exception {
      try (FuxiClient client = connection.open()) {
        print(client.get(applicationId));
      }
      return 0;
    }
  }

  @Command(name = "submit", mixinStandardHelpOptions = true,
      description = {
        "Submit an application and print its id.",
        "By default Fuxi runs --instances copies of COMMAND as workers through a built-in",
        "application master, which restarts failed instances and finishes once every instance",
        "exited 0, e.g.:",
        "  apsara fuxi submit --instances 4 --cpu 500 --memory 256 --wait -- sh -c 'echo hi'",
        "With --am, COMMAND is the application master itself (it talks to FuxiMaster with",
        "the FUXI_* environment variables; see docs/fuxi.md)."
      })
  static final class Submit implements Callable<Integer> {
    @Mixin Connection connection;

    @Option(names = "--name", defaultValue = "", description = "A name for people.")
    String name;

    @Option(names = "--quota-group", defaultValue = "default",
        description = "Quota group to charge (default: ${DEFAULT-VALUE}).")
    String quotaGroup;

    @Option(names = "--tenant", defaultValue = "", description = "Tenant the application is for.")
    String tenant;

    @Option(names = "--instances", defaultValue = "1",
        description = "Copies of COMMAND to run (default: ${DEFAULT-VALUE}).")
    int instances;

    @Option(names = "--cpu", defaultValue = "1000", paramLabel = "MILLICORES",
        description = "CPU of each instance (default: ${DEFAULT-VALUE}).")
    long cpu;

    @Option(names = "--memory", defaultValue = "512", paramLabel = "MIB",
        description = "Memory of each instance; above it the instance is killed "
            + "(default: ${DEFAULT-VALUE}).")
    long memory;

    @Option(names = "--priority", defaultValue = "100",
        description = "Priority of the instances in their quota group, 0..1000 "
            + "(default: ${DEFAULT-VALUE}).")
    int priority;

    @Option(names = "--class", defaultValue = "batch",
        description = "batch or latency-sensitive (default: ${DEFAULT-VALUE}).")
    String workerClass;

    @Option(names = "--max-failures-per-instance", defaultValue = "3",
        description = "Failures of one instance before the application fails "
            + "(default: ${DEFAULT-VALUE}).")
    int maxFailuresPerInstance;

    @Option(names = "--am", description = "COMMAND is the application master itself.")
    boolean am;

    @Option(names = "--am-cpu", defaultValue = "500", paramLabel = "MILLICORES",
        description = "CPU of the application master (default: ${DEFAULT-VALUE}).")
    long amCpu;

    @Option(names = "--am-memory", defaultValue = "512", paramLabel = "MIB",
        description = "Memory of the application master (default: ${DEFAULT-VALUE}).")
    long amMemory;

    @Option(names = "--wait", description = "Wait until the application finishes; exit 0 only "
        + "if it succeeded.")
    boolean waitForEnd;

    @Parameters(paramLabel = "COMMAND", arity = "1..*",
        description = "The program and its arguments (after --).")
    List<String> command;

    @Override
    public Integer call() throws Exception {
      List<String> amCommand = am ? command : builtInAppMaster();
      ApplicationSpec spec = ApplicationSpec.builder(amCommand)
          .name(name.isEmpty() ? String.join(" ", command) : name)
          .tenant(tenant)
          .quotaGroup(quotaGroup)
          .amResources(amCpu, amMemory)
          .amClass(WorkerClass.LATENCY_SENSITIVE)
          .build();
      try (FuxiClient client = connection.open()) {
        String id = client.submit(spec);
        System.out.println(id);
        if (!waitForEnd) {
          return 0;
        }
        ApplicationStatus status = awaitEnd(client, id);
        print(status);
        return status.getState() == ApplicationStatus.State.SUCCEEDED ? 0 : 1;
      }
    }

    /** The built-in AM, run with this command's own java and class path. */
    private List<String> builtInAppMaster() {
      List<String> line = new ArrayList<>();
      line.add(JavaCommand.javaBinary());
      // A small heap: the AM's memory limit holds the whole JVM.
      line.add("-Xmx" + Math.max(32, amMemory / 3) + "m");
      line.add("-XX:+UseSerialGC");
      line.add("-cp");
      // Absolute: the AM runs in a sandbox of its own.
      line.add(JavaCommand.currentClassPath());
      line.add(BuiltInAppMaster.class.getName());
      List<String> arguments = new ArrayList<>(List.of("--instances", "" + instances, "--cpu",
          "" + cpu, "--memory", "" + memory, "--priority", "" + priority, "--class",
          workerClass.toLowerCase(Locale.ROOT), "--max-failures-per-instance",
          "" + maxFailuresPerInstance, "--"));
      arguments.addAll(command);
      try {
        // Refused here, not by an AM that would fail on every attempt.
        CommandOptions.parse(arguments.toArray(String[]::new));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(e.getMessage().lines().findFirst().orElse(""));
      }
      line.addAll(arguments);
      return line;
    }

    private static ApplicationStatus awaitEnd(FuxiClient client, String id)
        throws FuxiException, InterruptedException {
      ApplicationStatus.State last = null;
      while (true) {
        ApplicationStatus status = client.get(id);
        if (status.getState() != last) {
          System.err.println(Instant.now() + " " + id + " " + state(status));
          last = status.getState();
        }
        if (finished(status.getState())) {
          return status;
        }
        Thread.sleep(WAIT_POLL.toMillis());
      }
    }
  }

  /** How often {@code submit --wait} asks for the application's state. */
  static final Duration WAIT_POLL = Duration.ofMillis(500);

  @Command(name = "kill", mixinStandardHelpOptions = true,
      description = "Kill an application: its AM and every worker stop, its units are released.")
  static final class Kill implements Callable<Integer> {
    @Mixin Connection connection;

    @Parameters(paramLabel = "APPLICATION_ID")
    String applicationId;

    @Option(names = "--reason", defaultValue = "killed from the command line",
        description = "Kept in the application's diagnostics.")
    String reason;

    @Override
    public Integer call() throws Exception {
      try (FuxiClient client = connection.open()) {
        ApplicationStatus status = client.kill(applicationId, reason);
        System.out.println(status.getApplicationId() + " " + state(status));
      }
      return 0;
    }
  }

  @Command(name = "quota", mixinStandardHelpOptions = true,
      description = {
        "List quota groups, or define, change or delete one.",
        "A group has a guaranteed minimum and a maximum; the list shows what each uses, e.g.:",
        "  apsara fuxi quota --set etl --min 4000,8192 --max 16000,65536",
        "  apsara fuxi quota --delete etl",
        "(CPU in millicores, memory in MiB; idle minimums are lent to other groups). --set on an"
            + " existing group replaces both bounds; a maximum below what the group uses revokes"
            + " its least urgent units at once. A group is deleted only when no running"
            + " application is in it; 'default' cannot be deleted."
      })
  static final class Quota implements Callable<Integer> {
    @Mixin Connection connection;

    @Option(names = "--set", paramLabel = "GROUP",
        description = "Define this group, or change its bounds if it exists.")
    String group;

    @Option(names = "--min", paramLabel = "CPU,MEMORY", defaultValue = "0,0",
        description = "Guaranteed minimum (with --set; default: ${DEFAULT-VALUE}).")
    String min;

    @Option(names = "--max", paramLabel = "CPU,MEMORY",
        description = "Maximum (with --set; required there).")
    String max;

    @Option(names = "--delete", paramLabel = "GROUP",
        description = "Delete this group (refused while an application in it runs).")
    String deleteGroup;

    @Override
    public Integer call() throws Exception {
      if (group != null && deleteGroup != null) {
        throw new IllegalArgumentException("--set and --delete cannot be used together");
      }
      if (deleteGroup != null && max != null) {
        throw new IllegalArgumentException("--max goes with --set, not --delete");
      }
      try (FuxiClient client = connection.open()) {
        if (group != null) {
          if (max == null) {
            throw new IllegalArgumentException("--set needs --max CPU,MEMORY");
          }
          client.setQuotaGroup(group, parseResources("--min", min), parseResources("--max", max));
        }
        if (deleteGroup != null) {
          client.deleteQuotaGroup(deleteGroup);
        }
        String format = "%-20s %18s %18s %18s%n";
        System.out.printf(format, "GROUP", "MIN (m / MiB)", "MAX (m / MiB)", "USED (m / MiB)");
        for (QuotaGroupStatus q : client.quotaGroups()) {
          System.out.printf(format, q.getName(), resources(q.getMin()), resources(q.getMax()),
              resources(q.getUsed()));
        }
      }
      return 0;
    }

    static Resources parseResources(String option, String value) {
      String[] parts = value.split(",");
      try {
        if (parts.length == 2) {
          return Resources.newBuilder().setCpuMillis(Long.parseLong(parts[0].strip()))
              .setMemoryMib(Long.parseLong(parts[1].strip())).build();
        }
      } catch (NumberFormatException e) {
        // below
      }
      throw new IllegalArgumentException(option + " takes CPU_MILLICORES,MEMORY_MIB, not "
          + value);
    }
  }

  static void print(ApplicationStatus a) {
    System.out.println("application  " + a.getApplicationId() + (a.getName().isEmpty() ? ""
        : "  (" + a.getName() + ")"));
    System.out.println("state        " + state(a));
    System.out.println("quota group  " + a.getQuotaGroup()
        + (a.getTenant().isEmpty() ? "" : "   tenant " + a.getTenant()));
    System.out.println("AM           attempt " + a.getAmAttempt()
        + (a.getAmMachineId().isEmpty() ? "" : " on " + a.getAmMachineId()));
    System.out.println("held         " + resources(a.getAllocated()) + "   pending units "
        + a.getPendingUnits());
    if (!a.getDiagnostics().isEmpty()) {
      System.out.println("diagnostics  " + a.getDiagnostics());
    }
    for (RoleStatus r : a.getRolesList()) {
      System.out.println("  role " + r.getRole() + ": unit " + resources(r.getShape())
          + ", priority " + r.getPriority() + ", held " + r.getHeldUnits() + ", pending "
          + r.getPendingUnits());
    }
  }

  static boolean finished(ApplicationStatus.State state) {
    return state == ApplicationStatus.State.SUCCEEDED || state == ApplicationStatus.State.FAILED
        || state == ApplicationStatus.State.KILLED;
  }

  static String state(ApplicationStatus a) {
    return a.getState().name().toLowerCase(Locale.ROOT);
  }

  /**
   * A quota maximum at or above a million cores means "no maximum": the master's default group
   * is bounded only by what its limits allow.
   */
  static final long UNLIMITED_CPU_MILLIS = 1_000_000_000L;

  static String resources(Resources r) {
    return r.getCpuMillis() >= UNLIMITED_CPU_MILLIS ? "unlimited"
        : r.getCpuMillis() + " / " + r.getMemoryMib();
  }
}
