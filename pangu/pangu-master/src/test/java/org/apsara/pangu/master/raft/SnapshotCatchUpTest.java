package org.apsara.pangu.master.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.apsara.pangu.master.namespace.FileStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A member that missed entries the others have purged catches up by installing the leader's
 * snapshot, and ends with the same namespace.
 */
class SnapshotCatchUpTest {
  static final long SNAPSHOT_EVERY_ENTRIES = 40;
  /** Small segments, so that snapshots let whole segments be purged quickly. */
  static final long SEGMENT_BYTES = 8 * 1024;
  /** Directories made while the member is away: several segments' worth of log. */
  static final int MISSED_RECORDS = 80;
  /** Long names make each record big, so few records fill a segment. */
  static final String MISSED_PREFIX = "/missed/" + "a-long-directory-name-".repeat(8);

  @TempDir Path dir;
  MasterCluster cluster;

  @AfterEach
  void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aLaggingMemberInstallsTheSnapshot() throws Exception {
    cluster = new MasterCluster(dir, 3, b -> b
        .snapshotEveryEntries(SNAPSHOT_EVERY_ENTRIES)
        .snapshotsRetained(2)
        .logSegmentSizeBytes(SEGMENT_BYTES)
        .logPurgeGap(1)).startAll();
    MasterNode leader = cluster.awaitLeader();
    cluster.submitIdempotent(p -> p.mkdirs("/before", 0755, "alice", "staff"));
    cluster.awaitConverged();

    String away = cluster.memberIds().stream().filter(id -> !id.equals(leader.memberId()))
        .findFirst().orElseThrow();
    long awayApplied = cluster.node(away).appliedIndex();
    cluster.stop(away);
    for (int i = 0; i < MISSED_RECORDS; i++) {
      int n = i;
      cluster.submitIdempotent(p -> p.mkdirs(MISSED_PREFIX + n, 0755, "alice", "staff"));
    }
    MasterNode current = cluster.awaitLeader();
    await("the leader purged what the lagging member needs").atMost(MasterCluster.AWAIT)
        .until(() -> current.logStartIndex() > awayApplied + 1);
    assertThat(cluster.counter(current.memberId(), "snapshots.taken")).isGreaterThan(0);

    MasterNode back = cluster.start(away);
    String digest = cluster.awaitConverged();
    assertThat(back.stateDigest()).isEqualTo(digest);
    assertThat(cluster.counter(away, "snapshots.installed")).isEqualTo(1);
    assertThat(cluster.counter(away, "snapshots.restored")).isEqualTo(1);
    FileStatus last = back.getStatus(MISSED_PREFIX + (MISSED_RECORDS - 1),
        ReadConsistency.STALE).get();
    assertThat(last.directory()).isTrue();

    // Old snapshots are deleted: each member keeps the newest ones only.
    for (String member : cluster.memberIds()) {
      Path snapshots = dir.resolve(member).resolve("raft")
          .resolve(MasterNode.GROUP_ID.getUuid().toString()).resolve("sm");
      await("old snapshots deleted on " + member).atMost(MasterCluster.AWAIT)
          .until(() -> snapshotCount(snapshots) <= 2);
    }

    // Restarted on the installed snapshot, it keeps the same state, and reopens its namespace
    // in place rather than copying the snapshot again (it is not older than the snapshot).
    cluster.stop(away);
    cluster.start(away);
    assertThat(cluster.awaitConverged()).isEqualTo(digest);
    assertThat(cluster.counter(away, "snapshots.restored")).isZero();
  }

  private static long snapshotCount(Path stateMachineDir) throws IOException {
    try (Stream<Path> entries = Files.list(stateMachineDir)) {
      return entries.filter(p -> p.getFileName().toString().matches("snapshot\\.\\d+_\\d+"))
          .count();
    }
  }
}
