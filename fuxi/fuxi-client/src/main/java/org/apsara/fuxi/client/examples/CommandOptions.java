package org.apsara.fuxi.client.examples;

import java.util.ArrayList;
import java.util.List;
import org.apsara.fuxi.api.v1.WorkerClass;

/**
 * The command line of {@link CommandAppMaster}: {@code [--instances N] [--cpu MILLICORES]
 * [--memory MIB] [--priority P] [--max-failures-per-instance K] [--max-failures-per-machine M]
 * [--class batch|latency-sensitive] -- COMMAND [ARGS...]}. Immutable.
 *
 * @param instances how many instances of the command to run, each to exit 0
 * @param cpuMillis each instance's CPU, in millicores
 * @param memoryMib each instance's memory, in MiB
 * @param priority the role's priority, 0..1000, larger first
 * @param maxFailuresPerInstance an instance is started again after each failure until it has
 *     failed this many times; then the application fails
 * @param maxFailuresPerMachine after this many failed instances on one machine, the machine is
 *     refused for the rest of the application
 * @param workerClass how Tubo treats the workers
 * @param command the program and its arguments
 */
public record CommandOptions(
    int instances,
    long cpuMillis,
    long memoryMib,
    int priority,
    int maxFailuresPerInstance,
    int maxFailuresPerMachine,
    WorkerClass workerClass,
    List<String> command) {

  /** More instances than this belong to a real batch framework, not this example. */
  public static final int INSTANCES_MAX = 10_000;
  /** The master's priority range. */
  public static final int PRIORITY_MAX = 1_000;
  public static final long DEFAULT_CPU_MILLIS = 1_000;
  public static final long DEFAULT_MEMORY_MIB = 512;
  public static final int DEFAULT_PRIORITY = 100;
  public static final int DEFAULT_MAX_FAILURES_PER_INSTANCE = 3;
  public static final int DEFAULT_MAX_FAILURES_PER_MACHINE = 3;

  public static final String USAGE = "usage: CommandAppMaster [--instances N] [--cpu MILLICORES]"
      + " [--memory MIB] [--priority 0..1000] [--max-failures-per-instance K]"
      + " [--max-failures-per-machine M] [--class batch|latency-sensitive] -- COMMAND [ARGS...]";

  public CommandOptions {
    command = List.copyOf(command);
    check(instances >= 1 && instances <= INSTANCES_MAX, "--instances must be 1.." + INSTANCES_MAX);
    check(cpuMillis > 0, "--cpu must be positive");
    check(memoryMib > 0, "--memory must be positive");
    check(priority >= 0 && priority <= PRIORITY_MAX, "--priority must be 0.." + PRIORITY_MAX);
    check(maxFailuresPerInstance >= 1, "--max-failures-per-instance must be at least 1");
    check(maxFailuresPerMachine >= 1, "--max-failures-per-machine must be at least 1");
    check(!command.isEmpty(), "a command is needed after --");
  }

  private static void check(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message + "\n" + USAGE);
    }
  }

  /**
   * Parses the arguments.
   *
   * @throws IllegalArgumentException naming what is wrong, with the usage
   */
  public static CommandOptions parse(String... args) {
    int instances = 1;
    long cpu = DEFAULT_CPU_MILLIS;
    long memory = DEFAULT_MEMORY_MIB;
    int priority = DEFAULT_PRIORITY;
    int perInstance = DEFAULT_MAX_FAILURES_PER_INSTANCE;
    int perMachine = DEFAULT_MAX_FAILURES_PER_MACHINE;
    WorkerClass workerClass = WorkerClass.BATCH;
    List<String> command = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("--")) {
        command.addAll(List.of(args).subList(i + 1, args.length));
        break;
      }
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException("'" + arg + "' needs a value or is unknown\n" + USAGE);
      }
      String value = args[++i];
      switch (arg) {
        case "--instances" -> instances = (int) number(arg, value);
        case "--cpu" -> cpu = number(arg, value);
        case "--memory" -> memory = number(arg, value);
        case "--priority" -> priority = (int) number(arg, value);
        case "--max-failures-per-instance" -> perInstance = (int) number(arg, value);
        case "--max-failures-per-machine" -> perMachine = (int) number(arg, value);
        case "--class" -> workerClass = switch (value) {
          case "batch" -> WorkerClass.BATCH;
          case "latency-sensitive" -> WorkerClass.LATENCY_SENSITIVE;
          default -> throw new IllegalArgumentException("--class is batch or latency-sensitive,"
              + " not '" + value + "'\n" + USAGE);
        };
        default -> throw new IllegalArgumentException("unknown option '" + arg + "'\n" + USAGE);
      }
    }
    return new CommandOptions(instances, cpu, memory, priority, perInstance, perMachine,
        workerClass, command);
  }

  private static long number(String option, String value) {
    try {
      long n = Long.parseLong(value);
      if (n < Integer.MIN_VALUE || n > Integer.MAX_VALUE) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(option + " needs a number, not '" + value + "'\n"
          + USAGE);
    }
  }
}
