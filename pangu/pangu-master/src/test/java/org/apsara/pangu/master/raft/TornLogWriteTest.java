package org.apsara.pangu.master.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apsara.testkit.RaftLogFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A master whose Raft log ends in a torn write (the machine lost power before the write was
 * forced) starts again with every acknowledged change.
 */
class TornLogWriteTest {
  @TempDir Path dir;
  MasterCluster cluster;

  @AfterEach
  void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aTornLastWriteIsCutOffAndTheMasterStartsWithEveryChange() throws Exception {
    cluster = new MasterCluster(dir, 1).startAll();
    cluster.awaitLeader();
    for (int i = 0; i < 20; i++) {
      int n = i;
      cluster.submit(p -> p.mkdirs("/d" + n, 0755, "alice", "staff"));
    }
    String digest = cluster.node("m1").stateDigest();
    cluster.stop("m1");
    Path memberDir = dir.resolve("m1");
    Path segment = RaftLogFiles.openSegment(memberDir);
    long entriesEnd = Files.size(segment);
    // The master was writing one more entry when the power went.
    RaftLogFiles.appendTornEntry(segment);

    MasterNode restarted = cluster.start("m1");
    cluster.awaitLeader();

    assertThat(Files.size(RaftLogFiles.firstSegment(memberDir))).as("the torn write cut off")
        .isEqualTo(entriesEnd);
    assertThat(restarted.stateDigest()).isEqualTo(digest);
    assertThat(restarted.getStatus("/d19", ReadConsistency.LINEARIZABLE).get().directory())
        .isTrue();
  }
}
