package org.apsara.bench.nuwa;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apsara.bench.nuwa.NuwaBenchmark.Settings;
import org.apsara.bench.nuwa.NuwaBenchmark.SystemUnderTest;
import org.junit.jupiter.api.Test;

class SettingsTest {
  @Test
  void parsesTheCommandLineOptions() {
    Settings settings =
        Settings.fromArguments(
            "--duration", "5s", "--warmup", "500ms", "--cluster-warmup", "30s",
            "--clients", "1, 16,128",
            "--systems", "etcd,ZooKeeper", "--rounds", "3", "--out", "report.md",
            "--value-size", "512", "--keys", "200", "--members", "1");

    assertThat(settings.duration()).isEqualTo(Duration.ofSeconds(5));
    assertThat(settings.warmup()).isEqualTo(Duration.ofMillis(500));
    assertThat(settings.clusterWarmup()).isEqualTo(Duration.ofSeconds(30));
    assertThat(settings.clientCounts()).containsExactly(1, 16, 128);
    assertThat(settings.systems()).containsExactly(SystemUnderTest.ETCD, SystemUnderTest.ZOOKEEPER);
    assertThat(settings.rounds()).isEqualTo(3);
    assertThat(settings.outputFile()).contains(Path.of("report.md"));
    assertThat(settings.valueSizeBytes()).isEqualTo(512);
    assertThat(settings.keyCount()).isEqualTo(200);
    assertThat(settings.members()).isEqualTo(1);
  }

  @Test
  void printsACommandThatReproducesTheSettings() {
    Settings settings = Settings.defaults().withDuration(Duration.ofMillis(1500))
        .withSystems(List.of(SystemUnderTest.ETCD))
        .withNuwaAppendBatchWait(Duration.ofNanos(250_000));

    Settings again = Settings.fromArguments(settings.toCommandLine()
        .replace("apsara bench nuwa ", "").split(" "));

    assertThat(again).isEqualTo(settings);
    assertThat(settings.toCommandLine())
        .contains("--duration 1500ms", "--systems etcd", "--nuwa-append-batch-wait 250us");
    assertThat(Settings.defaults().toCommandLine()).doesNotContain("--nuwa-append-batch-wait");
  }

  @Test
  void defaultsMatchTheDocumentedBenchmark() {
    Settings settings = Settings.defaults();
    assertThat(settings.warmup()).isEqualTo(Duration.ofSeconds(3));
    assertThat(settings.clusterWarmup()).isEqualTo(Duration.ofMinutes(10));
    assertThat(settings.duration()).isEqualTo(Duration.ofSeconds(10));
    assertThat(settings.clientCounts()).containsExactly(1, 16, 128);
    assertThat(settings.valueSizeBytes()).isEqualTo(256);
    assertThat(settings.members()).isEqualTo(3);
    assertThat(settings.systems()).first().isEqualTo(SystemUnderTest.NUWA);
  }

  @Test
  void rejectsValuesOutsideTheLimitsNamingTheOption() {
    assertThatThrownBy(() -> Settings.fromArguments("--rounds", "0"))
        .hasMessageContaining("--rounds 0");
    assertThatThrownBy(() -> Settings.fromArguments("--clients", "1,2000"))
        .hasMessageContaining("2000");
    assertThatThrownBy(() -> Settings.fromArguments("--systems", "etcd,etcd"))
        .hasMessageContaining("distinct");
    assertThatThrownBy(() -> Settings.fromArguments("--systems", "consul"))
        .hasMessageContaining("unknown system");
    assertThatThrownBy(() -> Settings.fromArguments("--duration", "soon"))
        .hasMessageContaining("not a duration");
    assertThatThrownBy(() -> Settings.fromArguments("--duration"))
        .hasMessageContaining("needs a value");
    assertThatThrownBy(() -> Settings.fromArguments("--nuwa-append-batch-wait", "1s"))
        .hasMessageContaining("--nuwa-append-batch-wait 1s: Nuwa append batch wait");
    assertThatThrownBy(() -> Settings.fromArguments("--colour", "red"))
        .hasMessageContaining("unknown option");
  }

  @Test
  void parsesShortAndIsoDurations() {
    assertThat(NuwaBenchmark.parseDuration("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(NuwaBenchmark.parseDuration("250us")).isEqualTo(Duration.ofNanos(250_000));
    assertThat(NuwaBenchmark.parseDuration("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(NuwaBenchmark.parseDuration("PT1.5S")).isEqualTo(Duration.ofMillis(1500));
  }
}
