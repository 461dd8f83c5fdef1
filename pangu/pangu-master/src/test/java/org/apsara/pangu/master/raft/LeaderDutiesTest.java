package org.apsara.pangu.master.raft;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import org.apsara.pangu.master.namespace.Namespace;
import org.apsara.pangu.master.namespace.NamespaceException;
import org.apsara.pangu.master.namespace.NamespaceProposer;
import org.apsara.pangu.master.namespace.NamespaceReply;
import org.apsara.pangu.master.namespace.ProposerConfig;
import org.apsara.pangu.master.namespace.proto.NamespaceRecord;
import org.apsara.pangu.master.raft.MasterStateMachine.LeaderTerm;
import org.apsara.testkit.TestClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The leader's duties, one round at a time, on an injected clock and a namespace that applies
 * what they propose at once (no Raft): the grace period, which leases are recovered, stopping
 * when leadership is lost, and draining the reclaim queue.
 */
class LeaderDutiesTest {
  static final Duration LEASE = Duration.ofSeconds(10);
  static final long TERM = 3;

  @TempDir Path dir;
  final TestClock clock =
      new TestClock(Instant.ofEpochMilli(MasterCluster.WALL_CLOCK_START_MS));
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  Namespace namespace;
  NamespaceProposer proposer;
  LeaderDuties duties;
  boolean leading = true;
  long nextIndex = 1;

  @BeforeEach
  void open() {
    namespace = Namespace.open(dir.resolve("ns"));
    proposer = new NamespaceProposer(namespace, clock,
        new ProposerConfig(LEASE, ProposerConfig.DEFAULT_RECLAIM_UNITS_PER_RECORD));
    duties = new LeaderDuties("m1", new DirectLeader(), clock, LEASE, Duration.ofHours(1),
        Duration.ofHours(1), Duration.ofSeconds(5), new MasterMetrics(registry));
  }

  @AfterEach
  void close() {
    duties.close();
    namespace.close();
  }

  /** Applies each command's record at the next index, as a group of one would. */
  final class DirectLeader implements LeaderDuties.Leader {
    @Override
    public boolean leading(long term) {
      return leading && term == TERM;
    }

    @Override
    public CompletableFuture<NamespaceReply> submit(MasterCommand command) {
      try {
        return CompletableFuture.completedFuture(run(command).orThrow());
      } catch (NamespaceException e) {
        return CompletableFuture.failedFuture(e);
      }
    }

    @Override
    public Namespace namespace() {
      return namespace;
    }
  }

  NamespaceReply run(MasterCommand command) throws NamespaceException {
    NamespaceRecord record = command.propose(proposer);
    return namespace.apply(TERM, nextIndex++, record);
  }

  long create(String path, String client) throws NamespaceException {
    NamespaceReply reply = run(p -> p.create(path, client, false, 3, 1 << 20, 0644, "a", "b"));
    return ((NamespaceReply.Status) reply.orThrow()).status().inodeId();
  }

  @Test
  void recoversExpiredLeasesOnlyAfterTheGracePeriod() throws Exception {
    create("/a", "w1");
    create("/b", "w1");
    create("/c", "w2");
    clock.advance(Duration.ofSeconds(5));
    LeaderTerm term = new LeaderTerm(TERM, proposer, clock.millis());
    // w2 keeps renewing; w1 has gone quiet.
    run(p -> p.renewLease("w2"));

    clock.advance(Duration.ofSeconds(6));
    assertThat(duties.leaseRound(term)).as("expired, but within the grace period").isZero();
    assertThat(namespace.getStatus("/a").open()).isTrue();
    run(p -> p.renewLease("w2"));

    clock.advance(Duration.ofSeconds(4));
    assertThat(duties.leaseRound(term)).isEqualTo(2);
    assertThat(namespace.getStatus("/a").open()).isFalse();
    assertThat(namespace.getStatus("/b").open()).isFalse();
    assertThat(namespace.getStatus("/c").open()).as("renewed").isTrue();
    assertThat(registry.get(MasterMetrics.PREFIX + "leases.recovered").counter().count())
        .isEqualTo(2);
    assertThat(duties.leaseRound(term)).as("nothing left to recover").isZero();
  }

  @Test
  void recoversNothingOnceLeadershipIsLost() throws Exception {
    create("/a", "w1");
    LeaderTerm term = new LeaderTerm(TERM, proposer, clock.millis());
    clock.advance(LEASE.multipliedBy(2));
    leading = false;
    assertThat(duties.leaseRound(term)).isZero();
    assertThat(namespace.getStatus("/a").open()).isTrue();
    leading = true;
    assertThat(duties.leaseRound(new LeaderTerm(TERM - 1, proposer, 0))).as("an old term")
        .isZero();
    assertThat(duties.leaseRound(term)).isEqualTo(1);
  }

  @Test
  void aLeaseOfADeletedSubtreeIsLeftToTheReclaim() throws Exception {
    run(p -> p.mkdirs("/d/e", 0755, "a", "b"));
    create("/d/e/f", "w1");
    run(p -> p.delete("/d", true));
    assertThat(namespace.openFiles(null, 10)).hasSize(1);
    LeaderTerm term = new LeaderTerm(TERM, proposer, clock.millis());
    clock.advance(LEASE.multipliedBy(2));
    assertThat(duties.leaseRound(term)).isZero();

    assertThat(namespace.reclaimPending()).isTrue();
    assertThat(duties.reclaimRound(term)).isGreaterThanOrEqualTo(1);
    assertThat(namespace.reclaimPending()).isFalse();
    assertThat(namespace.openFiles(null, 10)).isEmpty();
    assertThat(duties.reclaimRound(term)).as("nothing pending").isZero();
  }
}
