package org.apsara.bench.nuwa;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apsara.bench.cluster.EtcdCluster;
import org.apsara.common.time.MonotonicClock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The workload engine against a real single-member etcd, for well under a second per step. */
class EtcdWorkloadSmokeTest {
  private static final Duration OPERATION_TIMEOUT = Duration.ofSeconds(5);

  @TempDir Path temp;

  @Test
  void putsAndLinearizableGetsAgainstARealEtcd() throws Exception {
    Optional<Path> etcd = EtcdCluster.findBinaryOnPath();
    assumeTrue(etcd.isPresent(), "etcd is not installed (no etcd on the PATH): test skipped");
    KeySpace keys = new KeySpace(100, 256, 3);
    ClosedLoopWorkload workload = new ClosedLoopWorkload(MonotonicClock.SYSTEM, OPERATION_TIMEOUT);

    try (KvSystem system =
        new JetcdKvSystem(
            EtcdCluster.start(etcd.get(), 1, temp, Duration.ofSeconds(30)),
            "etcd",
            OPERATION_TIMEOUT)) {
      assertThat(system.leaderIndex()).contains(0);
      try (KvConnection connection = system.connect(0, keys)) {
        ClosedLoopWorkload.prepare(List.of(connection), keys, Duration.ofSeconds(30));
        for (Operation operation : List.of(Operation.PUT, Operation.GET)) {
          StepResult result =
              workload.run(
                  operation,
                  4,
                  List.of(connection),
                  keys.count(),
                  Duration.ofMillis(200),
                  Duration.ofMillis(500),
                  1,
                  CpuMeter.NONE);

          assertThat(result.errors()).as(result.firstError().orElse("")).isZero();
          assertThat(result.operations()).isPositive();
          assertThat(result.p50Nanos()).isPositive().isLessThanOrEqualTo(result.p99Nanos());
        }
      }
    }
  }
}
