package org.apsara.bench.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Start-up failures are bounded and name the system, the member and its log. */
class EtcdClusterStartupTest {
  @TempDir Path temp;

  private Path fakeEtcd(String body) throws IOException {
    Path script = temp.resolve("fake-etcd");
    Files.writeString(script, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    return script;
  }

  @Test
  void aMemberThatExitsFailsTheStartWithItsLog() throws IOException {
    Path binary = fakeEtcd("echo 'listen tcp: address already in use' >&2; exit 3");
    Path clusters = temp.resolve("clusters");

    ClusterStartException error =
        catchThrowableOfType(
            ClusterStartException.class,
            () -> EtcdCluster.start(binary, 3, clusters, Duration.ofSeconds(20)));

    assertThat(error.system()).isEqualTo("etcd");
    assertThat(error.getMessage())
        .contains("etcd member m1 exited with code 3")
        .contains("address already in use")
        .contains("member.log");
    assertThat(error.logFile().getFileName().toString()).isEqualTo("member.log");
    // Nothing is left behind: the cluster's directory is gone.
    try (var left = Files.list(clusters)) {
      assertThat(left).isEmpty();
    }
  }

  @Test
  void aMemberThatNeverAnswersFailsAfterTheTimeoutAndIsStopped() throws IOException {
    Path binary = fakeEtcd("echo starting; exec sleep 60");
    Path clusters = temp.resolve("clusters");
    long start = System.nanoTime();

    ClusterStartException error =
        catchThrowableOfType(
            ClusterStartException.class,
            () -> EtcdCluster.start(binary, 1, clusters, Duration.ofSeconds(2)));

    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
    assertThat(error.getMessage())
        .contains("etcd member m1 did not answer a Range request within 2 s")
        .contains("starting");
    try (var left = Files.list(clusters)) {
      assertThat(left).isEmpty();
    }
  }

  @Test
  void aMissingBinaryIsReportedBeforeAnythingStarts() {
    ClusterStartException error =
        catchThrowableOfType(
            ClusterStartException.class,
            () -> EtcdCluster.start(temp.resolve("no-etcd"), 3, temp, Duration.ofSeconds(5)));

    assertThat(error.getMessage()).contains("no executable etcd");
  }
}
