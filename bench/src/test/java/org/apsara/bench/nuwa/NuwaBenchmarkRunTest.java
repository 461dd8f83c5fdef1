package org.apsara.bench.nuwa;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apsara.bench.cluster.EtcdCluster;
import org.apsara.bench.nuwa.NuwaBenchmark.Settings;
import org.apsara.bench.nuwa.NuwaBenchmark.SystemUnderTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole benchmark, shrunk to one-member clusters and sub-second steps. */
class NuwaBenchmarkRunTest {
  private static final Pattern ROW =
      Pattern.compile("\\| (put|get) \\| (\\d+) \\| (etcd|ZooKeeper) \\| (\\d+) \\| ([\\d.]+) \\| ([\\d.]+) \\|[^|]*\\| ([\\d.]+) \\| ([\\d.]+) \\| (\\d+)% \\| (\\d+) \\|");

  @TempDir Path temp;

  @Test
  void runsEtcdAndZooKeeperSideBySideAndWritesTheReport() throws Exception {
    assumeTrue(
        EtcdCluster.findBinaryOnPath().isPresent(),
        "etcd is not installed (no etcd on the PATH): test skipped");
    Path reportFile = temp.resolve("out/report.md");
    Path work = temp.resolve("work");
    Settings settings =
        Settings.defaults()
            .withSystems(List.of(SystemUnderTest.ETCD, SystemUnderTest.ZOOKEEPER))
            .withMembers(1)
            .withClientCounts(List.of(1, 4))
            .withClusterWarmup(Duration.ofMillis(400))
            .withWarmup(Duration.ofMillis(100))
            .withDuration(Duration.ofMillis(300))
            .withKeyCount(50)
            .withRounds(1)
            .withWorkDirectory(work)
            .withOutputFile(reportFile);
    ByteArrayOutputStream printed = new ByteArrayOutputStream();

    String markdown;
    try (PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8)) {
      markdown = new NuwaBenchmark(settings).run(out);
    }

    assertThat(Files.readString(reportFile)).isEqualTo(markdown);
    assertThat(printed.toString(StandardCharsets.UTF_8))
        .contains("[bench] round 1/1",
            "warming up until its throughput settles and its JIT compilers are quiet,"
                + " at most 400ms",
            "warmed up: etcd ", markdown);
    assertThat(markdown)
        .contains("## etcd vs ZooKeeper")
        .contains("Machine: ")
        .contains("O_DSYNC appends")
        .contains("ZooKeeper: puts are setData", "sync + getData")
        .contains("etcd: puts are Put; gets are linearizable Range")
        .contains("Ratios of etcd to each other system")
        .contains("Command: `apsara bench nuwa");
    Matcher row = ROW.matcher(markdown);
    int rows = 0;
    while (row.find()) {
      rows++;
      assertThat(Long.parseLong(row.group(4))).as(row.group()).isPositive();
      assertThat(Double.parseDouble(row.group(5)))
          .as(row.group())
          .isLessThanOrEqualTo(Double.parseDouble(row.group(6)));
      // The members are processes of their own, and their CPU is counted: every operation
      // costs some.
      assertThat(Double.parseDouble(row.group(7))).as(row.group()).isPositive();
      assertThat(Double.parseDouble(row.group(8))).as(row.group()).isPositive();
      // The share of that CPU the JIT compilers used (the clients' JVM compiles for both).
      assertThat(Integer.parseInt(row.group(9))).as(row.group()).isBetween(0, 100);
      assertThat(row.group(10)).as(row.group()).isEqualTo("0");
    }
    // 2 operations x 2 client counts x 2 systems.
    assertThat(rows).isEqualTo(8);
    // Every cluster's temporary directory is gone.
    try (var left = Files.list(work)) {
      assertThat(left).isEmpty();
    }
  }

  @Test
  void refusesNuwaWhenItsLauncherIsNotOnTheClassPath() {
    // Nuwa alone, so that the answer does not depend on whether etcd is installed.
    Settings settings = Settings.defaults().withWorkDirectory(temp)
        .withSystems(List.of(SystemUnderTest.NUWA));
    assertThatThrownBy(() -> new NuwaBenchmark(settings).run(System.out))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("apsara bench nuwa");
  }
}
