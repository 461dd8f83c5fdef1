package org.apsara.pangu.master.raft;

import static org.apsara.pangu.master.raft.SingleMemberTest.CHUNK_BYTES;
import static org.apsara.pangu.master.raft.SingleMemberTest.status;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import org.apsara.pangu.master.namespace.FileStatus;
import org.apsara.pangu.master.namespace.ProposerConfig;
import org.apsara.testkit.TestClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lease monitor on an injected wall clock: a new leader recovers an expired lease only after
 * a grace period of one lease duration from when it took office.
 */
class LeaseMonitorTest {
  static final Duration LEASE = Duration.ofSeconds(10);
  static final Duration MONITOR_INTERVAL = Duration.ofMillis(50);
  /** Monitor rounds the test lets pass to show that nothing is recovered in the grace period. */
  static final int ROUNDS_WITHOUT_RECOVERY = 3;

  @TempDir Path dir;
  MasterCluster cluster;

  @AfterEach
  void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aNewLeaderRecoversAnExpiredLeaseOnlyAfterTheGracePeriod() throws Exception {
    cluster = new MasterCluster(dir, 3, b -> b
        .proposer(new ProposerConfig(LEASE, ProposerConfig.DEFAULT_RECLAIM_UNITS_PER_RECORD))
        .leaseMonitorInterval(MONITOR_INTERVAL)).startAll();
    TestClock clock = cluster.clock;
    MasterNode first = cluster.awaitLeader();
    FileStatus file = status(cluster.submit(p -> p.create("/open", "writer", false, 3,
        CHUNK_BYTES, 0644, "alice", "staff")));
    assertThat(file.leaseExpiryMs()).isEqualTo(MasterCluster.WALL_CLOCK_START_MS + LEASE.toMillis());
    cluster.awaitConverged();

    // The writer goes quiet; before its lease runs out, the leader changes.
    clock.advance(Duration.ofSeconds(8));
    cluster.stop(first.memberId());
    MasterNode second = cluster.awaitLeader();
    long tookOfficeMs = clock.millis();

    // Past the lease's expiry but within the new leader's grace period: left alone.
    clock.advance(Duration.ofSeconds(3));
    assertThat(clock.millis()).isGreaterThan(file.leaseExpiryMs())
        .isLessThan(tookOfficeMs + LEASE.toMillis());
    double rounds = cluster.counter(second.memberId(), "lease.monitor.ticks");
    await("monitor rounds pass").atMost(MasterCluster.AWAIT).until(() ->
        cluster.counter(second.memberId(), "lease.monitor.ticks")
            >= rounds + ROUNDS_WITHOUT_RECOVERY);
    assertThat(second.getStatus("/open", ReadConsistency.LINEARIZABLE).get().open()).isTrue();
    assertThat(cluster.counter(second.memberId(), "leases.recovered")).isZero();

    // Once the grace period is over, the monitor recovers it.
    clock.advance(Duration.ofSeconds(7));
    await("the expired lease is recovered").atMost(MasterCluster.AWAIT).until(() ->
        !second.getStatus("/open", ReadConsistency.LINEARIZABLE).get().open());
    FileStatus recovered = second.getStatus("/open", ReadConsistency.LINEARIZABLE).get();
    assertThat(recovered.leaseHolder()).isEmpty();
    assertThat(cluster.counter(second.memberId(), "leases.recovered")).isEqualTo(1);
    cluster.awaitConverged();
  }
}
