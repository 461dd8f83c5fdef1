package org.apsara.bench.fuxi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apsara.bench.fuxi.FuxiBenchmark.Options;
import org.apsara.bench.fuxi.FuxiBenchmark.PhaseResult;
import org.apsara.bench.fuxi.FuxiBenchmark.Report;
import org.junit.jupiter.api.Test;

class FuxiBenchmarkTest {
  /** 50 machines (1,600 cores), 20 applications, short tasks: a few seconds in all. */
  private static Options tiny() {
    return new Options(50, 32, 128, 20, 3, Duration.ofMillis(500), Duration.ofSeconds(1), 7L,
        Duration.ofMillis(20), Duration.ofMillis(100), 0.8, 1.3);
  }

  @Test
  void aTinyRunGrantsWithinCapacityAndReportsSaneFigures() {
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    Report report =
        FuxiBenchmark.run(tiny(), new PrintStream(progress, true, StandardCharsets.UTF_8));

    assertThat(report.clusterCores()).isEqualTo(50 * 32);
    assertThat(report.phases()).hasSize(2);
    for (PhaseResult phase : report.phases()) {
      assertThat(phase.grantedUnits()).as(phase.name()).isPositive();
      assertThat(phase.grantsPerSecond()).as(phase.name()).isPositive();
      assertThat(phase.latencyP50Millis()).as(phase.name())
          .isBetween(0.0, phase.latencyP99Millis());
      assertThat(phase.latencyP99Millis()).as(phase.name())
          .isLessThanOrEqualTo(phase.latencyMaxMillis());
      assertThat(phase.schedulerCalls()).as(phase.name()).isPositive();
      assertThat(phase.schedulerBusyShare()).as(phase.name()).isBetween(0.0, 1.0);
      assertThat(phase.saturatedSampleShare()).as(phase.name()).isBetween(0.0, 1.0);
      assertThat(phase.waitsByPriority()).hasSize(4);
      assertThat(phase.waitsByPriority().stream().mapToLong(w -> w.units()).sum())
          .as(phase.name()).isEqualTo(phase.grantedUnits() + phase.unitsWaitingAtEnd());
    }
    // Demand at 1.3x the cluster keeps units waiting: the share is measured, and within [0, 1].
    PhaseResult saturated = report.saturated();
    assertThat(saturated.saturatedSampleShare()).isPositive();
    assertThat(saturated.saturatedCpuShare()).isBetween(0.0, 1.0);
    assertThat(saturated.saturatedCpuShareMin()).isBetween(0.0, saturated.saturatedCpuShare());
    assertThat(saturated.unitsWaitingAtEnd()).isPositive();
    // No machine runs more than it has, and the machines' view agrees with the applications'.
    assertThat(report.overAllocatedMachines()).isZero();
    assertThat(report.heldUnitsReported()).isPositive().isEqualTo(report.heldUnitsExpected());
    assertThat(report.schedulerHeapBytes()).isPositive();
    assertThat(report.heapUsedAfterGcBytes()).isGreaterThan(report.schedulerHeapBytes());

    String markdown = FuxiBenchmark.toMarkdown(report);
    assertThat(markdown).contains("| below saturation | 0.80x |", "| saturated | 1.30x |",
        "0 over-allocated machines");
    assertThat(progress.toString(StandardCharsets.UTF_8)).contains("measuring saturated");
  }

  @Test
  void optionsRefuseValuesOutsideTheirLimits() {
    Options ok = tiny();
    assertThatThrownBy(() -> new Options(0, 32, 128, 20, 3, ok.warmup(), ok.duration(), 1,
        ok.taskMin(), ok.taskMax(), 0.8, 1.3))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("machines");
    assertThatThrownBy(() -> new Options(50, 32, 128, 20, 3, ok.warmup(), ok.duration(), 1,
        Duration.ofMillis(200), Duration.ofMillis(100), 0.8, 1.3))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("longest task");
    assertThatThrownBy(() -> new Options(50, 32, 128, 20, 3, ok.warmup(), ok.duration(), 1,
        ok.taskMin(), ok.taskMax(), 1.2, 1.1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("saturated load");
  }
}
