package org.apsara.bench.nuwa;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;

/**
 * Collects the step results of all rounds and renders them as Markdown: a results table with the
 * median over rounds of each figure and the spread of throughput, then the ratios of the first
 * system to each other one. Not thread-safe; filled and rendered by the benchmark's driving
 * thread.
 */
final class BenchmarkReport {
  /** One step's result in one round. */
  record Measurement(int round, String system, StepResult result) {}

  private final List<String> systems;
  private final List<Operation> operations;
  private final List<Integer> clientCounts;
  private final List<Measurement> measurements = new ArrayList<>();

  BenchmarkReport(List<String> systems, List<Operation> operations, List<Integer> clientCounts) {
    if (systems.isEmpty() || operations.isEmpty() || clientCounts.isEmpty()) {
      throw new IllegalArgumentException("nothing to report");
    }
    this.systems = List.copyOf(systems);
    this.operations = List.copyOf(operations);
    this.clientCounts = List.copyOf(clientCounts);
  }

  void add(int round, String system, StepResult result) {
    if (!systems.contains(system)) {
      throw new IllegalArgumentException("unknown system " + system);
    }
    measurements.add(new Measurement(round, system, result));
  }

  List<Measurement> measurements() {
    return List.copyOf(measurements);
  }

  /** The median over rounds of one step's ops/s, empty if the step never ran. */
  Optional<Double> medianRate(String system, Operation operation, int clients) {
    double[] values =
        rounds(system, operation, clients).stream()
            .mapToDouble(StepResult::operationsPerSecond)
            .toArray();
    return values.length == 0 ? Optional.empty() : Optional.of(median(values));
  }

  /**
   * The median over rounds of one step's latency figure, counting only rounds that completed an
   * operation; empty if none did.
   */
  Optional<Double> medianLatency(
      String system, Operation operation, int clients, ToDoubleFunction<StepResult> figure) {
    double[] values =
        rounds(system, operation, clients).stream()
            .filter(r -> r.operations() > 0)
            .mapToDouble(figure)
            .toArray();
    return values.length == 0 ? Optional.empty() : Optional.of(median(values));
  }

  static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int middle = sorted.length / 2;
    return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  }

  private List<StepResult> rounds(String system, Operation operation, int clients) {
    return measurements.stream()
        .filter(m -> m.system().equals(system))
        .map(Measurement::result)
        .filter(r -> r.operation() == operation && r.clients() == clients)
        .toList();
  }

  /** The results table. */
  String resultsTable() {
    StringBuilder table = new StringBuilder();
    table.append(
        "| Operation | Clients | System | ops/s | p50 ms | p99 ms | ops/s per round (spread) |"
            + " CPU ms/op: members | clients | JIT share | Errors |\n");
    table.append("|---|---:|---|---:|---:|---:|---|---:|---:|---:|---:|\n");
    for (Operation operation : operations) {
      for (int clients : clientCounts) {
        for (String system : systems) {
          List<StepResult> rounds = rounds(system, operation, clients);
          if (rounds.isEmpty()) {
            continue;
          }
          double[] rates = rounds.stream().mapToDouble(StepResult::operationsPerSecond).toArray();
          double rate = median(rates);
          Optional<Double> p50 = medianLatency(system, operation, clients, StepResult::p50Nanos);
          Optional<Double> p99 = medianLatency(system, operation, clients, StepResult::p99Nanos);
          long errors = rounds.stream().mapToLong(StepResult::errors).sum();
          int stuck = rounds.stream().mapToInt(StepResult::stuckClients).sum();
          table.append(
              String.format(
                  Locale.ROOT,
                  "| %s | %d | %s | %.0f | %s | %s | %s | %s | %s | %s | %s |%n",
                  operation.label(),
                  clients,
                  system,
                  rate,
                  p50.map(BenchmarkReport::millis).orElse("n/a"),
                  p99.map(BenchmarkReport::millis).orElse("n/a"),
                  perRound(rates, rate),
                  medianCpu(rounds, CpuMeter.CpuTimes::members),
                  medianCpu(rounds, CpuMeter.CpuTimes::client),
                  medianCompilerShare(rounds),
                  errors + (stuck > 0 ? " (" + stuck + " clients stuck)" : "")));
        }
      }
    }
    return table.toString();
  }

  /**
   * The ratios of the first system to each other system, or empty with a single system. Ratios
   * use the medians of the results table.
   */
  String ratioTable() {
    if (systems.size() < 2) {
      return "";
    }
    String subject = systems.get(0);
    List<String> others = systems.subList(1, systems.size());
    StringBuilder table = new StringBuilder();
    table.append("| Operation | Clients |");
    for (String other : others) {
      String pair = subject + "/" + other;
      table.append(" ops/s ").append(pair).append(" | p50 ").append(pair);
      table.append(" | p99 ").append(pair).append(" |");
    }
    table.append('\n').append("|---|---:|");
    table.append("---:|---:|---:|".repeat(others.size()));
    table.append('\n');
    for (Operation operation : operations) {
      for (int clients : clientCounts) {
        table.append("| ").append(operation.label()).append(" | ").append(clients).append(" |");
        for (String other : others) {
          table.append(' ').append(ratio(
              medianRate(subject, operation, clients), medianRate(other, operation, clients)));
          table.append(" | ").append(ratio(
              medianLatency(subject, operation, clients, StepResult::p50Nanos),
              medianLatency(other, operation, clients, StepResult::p50Nanos)));
          table.append(" | ").append(ratio(
              medianLatency(subject, operation, clients, StepResult::p99Nanos),
              medianLatency(other, operation, clients, StepResult::p99Nanos)));
          table.append(" |");
        }
        table.append('\n');
      }
    }
    return table.toString();
  }

  /**
   * The median over the rounds that report it of one side's CPU per operation, in milliseconds;
   * "n/a" where no round does.
   */
  private static String medianCpu(
      List<StepResult> rounds, Function<CpuMeter.CpuTimes, Duration> side) {
    double[] millis = rounds.stream()
        .flatMap(r -> r.cpuPerOperation().stream())
        .mapToDouble(cpu -> side.apply(cpu).toNanos() / 1e6)
        .toArray();
    return millis.length == 0 ? "n/a" : String.format(Locale.ROOT, "%.3f", median(millis));
  }

  /**
   * The median over the rounds that report it of the share of CPU that went to JIT compilers, in
   * percent; "n/a" where no round does.
   */
  private static String medianCompilerShare(List<StepResult> rounds) {
    double[] shares = rounds.stream()
        .flatMap(r -> r.cpu().stream())
        .mapToDouble(CpuMeter.CpuTimes::compilerShare)
        .toArray();
    return shares.length == 0 ? "n/a"
        : String.format(Locale.ROOT, "%.0f%%", median(shares) * 100);
  }

  private static String ratio(Optional<Double> numerator, Optional<Double> denominator) {
    if (numerator.isEmpty() || denominator.isEmpty() || denominator.get() == 0) {
      return "n/a";
    }
    return String.format(Locale.ROOT, "%.2f", numerator.get() / denominator.get());
  }

  private static String millis(Double nanos) {
    return String.format(Locale.ROOT, nanos < 10_000_000 ? "%.2f" : "%.1f", nanos / 1e6);
  }

  /** {@code 530, 551 (4%)}: each round's rate and (max - min) / median. */
  private static String perRound(double[] rates, double median) {
    String each =
        Arrays.stream(rates)
            .mapToObj(rate -> String.format(Locale.ROOT, "%.0f", rate))
            .collect(Collectors.joining(", "));
    if (rates.length < 2) {
      return each;
    }
    double spread =
        median == 0
            ? 0
            : (Arrays.stream(rates).max().getAsDouble() - Arrays.stream(rates).min().getAsDouble())
                / median;
    return String.format(Locale.ROOT, "%s (%.0f%%)", each, spread * 100);
  }
}
