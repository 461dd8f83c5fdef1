package org.apsara.pangu.master.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apsara.common.io.FileTrees;
import org.apsara.testkit.LogRecorder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A member whose snapshots fail (a failing disk) keeps serving, and still stops. */
class SnapshotFailureTest {
  /** Ratis's apply thread logs each failed snapshot (and failed cleanup) as it meets it. */
  static final String UPDATER_LOGGER = "org.apache.ratis.server.impl.StateMachineUpdater";
  static final String SNAPSHOT_FAILED = "Failed to take snapshot";

  /** Far more than stopping takes: a member that cannot stop never does. */
  static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);

  @TempDir Path dir;
  MasterCluster cluster;

  @AfterEach
  void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aFailedSnapshotWaitsBeforeTheNextTryAndTheMemberServesOn() throws Exception {
    cluster = new MasterCluster(dir, 1, b -> b.snapshotEveryEntries(5)).startAll();
    cluster.awaitLeader();
    // Where snapshots go is now a file: every checkpoint fails with an IOException.
    Path snapshots = stateMachineDir("m1");
    FileTrees.delete(snapshots);
    Files.writeString(snapshots, "not a directory");
    try (LogRecorder updaterLog = LogRecorder.of(UPDATER_LOGGER)) {
      for (int i = 0; i < 30; i++) {
        int n = i;
        cluster.submit(p -> p.mkdirs("/d" + n, 0755, "alice", "staff"));
      }

      // Due after the fifth entry, and again after every entry since: tried once.
      assertThat(cluster.counter("m1", "snapshots.failed")).isEqualTo(1);
      assertThat(cluster.counter("m1", "snapshots.taken")).isZero();
      // Logged: the failure, and the first look for old snapshots to delete (the directory
      // cannot be listed either); not another look after every entry since.
      assertThat(updaterLog.count(SNAPSHOT_FAILED)).isLessThanOrEqualTo(2);
    }
    assertThat(cluster.node("m1").getStatus("/d29", ReadConsistency.LINEARIZABLE).get()
        .directory()).isTrue();
  }

  @Test
  void aMemberWhoseNamespaceFilesVanishedStillStops() throws Exception {
    cluster = new MasterCluster(dir, 1).startAll();
    cluster.awaitLeader();
    for (int i = 0; i < 10; i++) {
      int n = i;
      cluster.submit(p -> p.mkdirs("/d" + n, 0755, "alice", "staff"));
    }
    // The store's files are gone from under it: the snapshot Ratis takes as the member stops
    // fails inside RocksDB. Reported as anything but an IOException, Ratis's apply thread would
    // try it again without end, and stopping would never return.
    FileTrees.delete(dir.resolve("m1").resolve("namespace"));

    assertTimeoutPreemptively(STOP_TIMEOUT, () -> cluster.stop("m1"));
    assertThat(cluster.counter("m1", "snapshots.failed")).isEqualTo(1);
  }

  private Path stateMachineDir(String member) {
    return dir.resolve(member).resolve("raft").resolve(MasterNode.GROUP_ID.getUuid().toString())
        .resolve("sm");
  }
}
