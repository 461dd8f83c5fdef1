package org.apsara.bench.nuwa;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class BenchmarkReportTest {
  private static final Duration SECOND = Duration.ofSeconds(1);

  private static StepResult step(Operation operation, int clients, long ops, double p50Ms, double p99Ms) {
    return new StepResult(
        operation,
        clients,
        ops,
        0,
        SECOND,
        (long) (p50Ms * 1e6),
        (long) (p99Ms * 1e6),
        (long) (p99Ms * 2e6),
        0,
        Optional.empty(),
        Optional.empty());
  }

  @Test
  void medianOfOddAndEvenCounts() {
    assertThat(BenchmarkReport.median(new double[] {3, 1, 2})).isEqualTo(2);
    assertThat(BenchmarkReport.median(new double[] {4, 1, 3, 2})).isEqualTo(2.5);
    assertThat(BenchmarkReport.median(new double[] {7})).isEqualTo(7);
  }

  @Test
  void reportsMediansSpreadAndRatiosOfTheFirstSystem() {
    BenchmarkReport report =
        new BenchmarkReport(List.of("Nuwa", "etcd"), List.of(Operation.PUT), List.of(1));
    report.add(1, "Nuwa", step(Operation.PUT, 1, 900, 1.0, 2.0));
    report.add(1, "etcd", step(Operation.PUT, 1, 500, 2.0, 4.0));
    report.add(2, "Nuwa", step(Operation.PUT, 1, 1100, 1.0, 2.0));
    report.add(2, "etcd", step(Operation.PUT, 1, 500, 2.0, 4.0));

    assertThat(report.medianRate("Nuwa", Operation.PUT, 1))
        .hasValue(1000.0);

    String table = report.resultsTable();
    // Nuwa: median 1000 ops/s, rounds 900 and 1100, spread (1100 - 900) / 1000 = 20%.
    // No CPU was measured: n/a in the CPU columns and the JIT share.
    assertThat(table)
        .contains("| put | 1 | Nuwa | 1000 | 1.00 | 2.00 | 900, 1100 (20%) | n/a | n/a | n/a "
            + "| 0 |");
    assertThat(table)
        .contains("| put | 1 | etcd | 500 | 2.00 | 4.00 | 500, 500 (0%) | n/a | n/a | n/a "
            + "| 0 |");

    String ratios = report.ratioTable();
    assertThat(ratios).contains("ops/s Nuwa/etcd | p50 Nuwa/etcd | p99 Nuwa/etcd");
    assertThat(ratios).contains("| put | 1 | 2.00 | 0.50 | 0.50 |");
  }

  @Test
  void marksStepsWithoutSuccessfulOperations() {
    BenchmarkReport report =
        new BenchmarkReport(List.of("etcd", "ZooKeeper"), List.of(Operation.GET), List.of(16));
    report.add(
        1,
        "etcd",
        new StepResult(Operation.GET, 16, 0, 12, SECOND, 0, 0, 0, 2, Optional.of("boom"),
            Optional.empty()));
    report.add(1, "ZooKeeper", step(Operation.GET, 16, 300, 3.0, 9.0));

    assertThat(report.resultsTable())
        .contains("| get | 16 | etcd | 0 | n/a | n/a | 0 | n/a | n/a | n/a "
            + "| 12 (2 clients stuck) |");
    assertThat(report.ratioTable()).contains("| get | 16 | 0.00 | n/a | n/a |");
  }

  @Test
  void hasNoRatiosForASingleSystem() {
    BenchmarkReport report =
        new BenchmarkReport(List.of("etcd"), List.of(Operation.PUT), List.of(1));
    report.add(1, "etcd", step(Operation.PUT, 1, 10, 1, 1));
    assertThat(report.ratioTable()).isEmpty();
  }

  @Test
  void reportsTheMedianCpuPerOperationOfTheRoundsThatMeasuredIt() {
    BenchmarkReport report =
        new BenchmarkReport(List.of("Nuwa"), List.of(Operation.PUT), List.of(128));
    // 1,000 operations: 0.5, 0.7 and 0.6 ms of members' CPU per operation, and 0.2 ms of the
    // clients'; compilers 10%, 40% and 20% of it; a round without a reading does not count.
    long[][] rounds = {{500, 70}, {700, 360}, {600, 160}};
    for (long[] millis : rounds) {
      report.add(1, "Nuwa", withCpu(step(Operation.PUT, 128, 1000, 1.0, 2.0),
          Duration.ofMillis(millis[0]), Duration.ofMillis(200), Duration.ofMillis(millis[1])));
    }
    report.add(2, "Nuwa", step(Operation.PUT, 128, 1000, 1.0, 2.0));

    assertThat(report.resultsTable()).contains("| 0.600 | 0.200 | 20% | 0 |");
  }

  private static StepResult withCpu(StepResult step, Duration members, Duration client,
      Duration compilers) {
    return new StepResult(step.operation(), step.clients(), step.operations(), step.errors(),
        step.window(), step.p50Nanos(), step.p99Nanos(), step.maxNanos(), step.stuckClients(),
        step.firstError(), Optional.of(new CpuMeter.CpuTimes(members, client, compilers)));
  }
}
