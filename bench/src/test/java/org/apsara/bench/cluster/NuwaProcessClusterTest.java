package org.apsara.bench.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NuwaProcessClusterTest {
  @TempDir Path temp;

  @Test
  void buildsTheRunNuwaCommandLine() {
    assertThat(
            NuwaProcessCluster.memberArguments(
                "n2", "n1=127.0.0.1:7001,n2=127.0.0.1:7002", Path.of("d"), 2379,
                List.of("--append-batch-wait", "250us")))
        .containsExactly(
            "run", "nuwa",
            "--id", "n2",
            "--peers", "n1=127.0.0.1:7001,n2=127.0.0.1:7002",
            "--data", "d",
            "--client-port", "2379",
            "--append-batch-wait", "250us");
  }

  @Test
  void withoutTheLauncherOnTheClassPathTheErrorSaysHowToRunIt() {
    // The command line module depends on this one, so its launcher is never on this class path.
    assertThat(NuwaProcessCluster.launcherAvailable()).isFalse();

    ClusterStartException error =
        catchThrowableOfType(
            ClusterStartException.class,
            () -> NuwaProcessCluster.start(3, temp, Duration.ofSeconds(5), List.of()));

    assertThat(error.getMessage()).contains("Nuwa", NuwaProcessCluster.MAIN_CLASS, "apsara bench nuwa");
  }
}
