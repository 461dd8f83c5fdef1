package org.apsara.pangu.master.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import org.apsara.pangu.master.namespace.ChunkInfo;
import org.apsara.pangu.master.namespace.FileStatus;
import org.apsara.pangu.master.namespace.NamespaceErrorCode;
import org.apsara.pangu.master.namespace.NamespaceException;
import org.apsara.pangu.master.namespace.NamespaceReply;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A group of one: commands apply, reads see them, a restart keeps every acknowledged change. */
class SingleMemberTest {
  static final long CHUNK_BYTES = 1 << 20;

  @TempDir Path dir;
  MasterCluster cluster;

  @AfterEach
  void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void commandsApplyAndSurviveARestart() throws Exception {
    cluster = new MasterCluster(dir, 1).startAll();
    MasterNode node = cluster.awaitLeader();

    FileStatus made = status(cluster.submit(p -> p.mkdirs("/data/logs", 0755, "alice", "staff")));
    assertThat(made.directory()).isTrue();
    FileStatus file = status(cluster.submit(p -> p.create("/data/logs/app.log", "client-1", false,
        3, CHUNK_BYTES, 0644, "alice", "staff")));
    assertThat(file.open()).isTrue();
    ChunkInfo chunk = ((NamespaceReply.Chunk) cluster.submit(
        p -> p.addChunk(file.inodeId(), "client-1"))).chunk();
    ChunkInfo sealed = ((NamespaceReply.Chunk) cluster.submit(p -> p.commitChunk(file.inodeId(),
        "client-1", 0, chunk.chunkId(), 1, 4096))).chunk();
    assertThat(sealed.sealed()).isTrue();
    FileStatus closed = status(cluster.submit(p -> p.close(file.inodeId(), "client-1")));
    assertThat(closed.open()).isFalse();
    assertThat(closed.lengthBytes()).isEqualTo(4096);

    // The leader's dry run refuses a bad command before it reaches the log.
    long appliedBefore = node.namespace().lastApplied().index();
    assertThatThrownBy(() -> cluster.submit(p -> p.mkdirs("/data/logs/app.log/x", 0755, "a", "b")))
        .isInstanceOfSatisfying(NamespaceException.class,
            e -> assertThat(e.code()).isEqualTo(NamespaceErrorCode.NOT_A_DIRECTORY));
    assertThat(node.namespace().lastApplied().index()).isEqualTo(appliedBefore);

    assertThat(node.getStatus("/data/logs/app.log", ReadConsistency.LINEARIZABLE).get())
        .isEqualTo(closed);
    assertThat(node.list("/data/logs", "", 10, ReadConsistency.STALE).get().entries())
        .extracting(FileStatus::path).containsExactly("/data/logs/app.log");
    assertThat(node.contentSummary("/", ReadConsistency.LINEARIZABLE).get().lengthBytes())
        .isEqualTo(4096);
    assertThat(node.healthCheck().check().healthy()).isTrue();
    String digest = node.stateDigest();

    cluster.stop("m1");
    MasterNode restarted = cluster.start("m1");
    cluster.awaitLeader();
    assertThat(restarted.stateDigest()).isEqualTo(digest);
    assertThat(restarted.getStatus("/data/logs/app.log", ReadConsistency.LINEARIZABLE).get())
        .isEqualTo(closed);
    // New ids continue past the old ones after the restart.
    FileStatus next = status(cluster.submit(p -> p.create("/data/logs/next.log", "client-1",
        false, 3, CHUNK_BYTES, 0644, "alice", "staff")));
    assertThat(next.inodeId()).isGreaterThan(file.inodeId());
  }

  @Test
  void theLeaderReclaimsADeletedSubtreeInTheBackground() throws Exception {
    cluster = new MasterCluster(dir, 1, b -> b.reclaimInterval(Duration.ofMillis(50))).startAll();
    MasterNode node = cluster.awaitLeader();
    for (int i = 0; i < 5; i++) {
      int n = i;
      cluster.submit(p -> p.mkdirs("/big/d" + n, 0755, "alice", "staff"));
      cluster.submit(p -> p.create("/big/d" + n + "/f", "client-1", false, 3, CHUNK_BYTES, 0644,
          "alice", "staff"));
    }
    NamespaceReply deleted = cluster.submit(p -> p.delete("/big", true));
    assertThat(deleted).isEqualTo(new NamespaceReply.Deleted(true, 0));

    await("the reclaim queue drains").atMost(MasterCluster.AWAIT)
        .until(() -> !node.namespace().reclaimPending());
    assertThat(cluster.counter("m1", "reclaim.records")).isGreaterThanOrEqualTo(1);
    assertThat(node.contentSummary("/", ReadConsistency.STALE).get().names()).isEqualTo(1);
  }

  static FileStatus status(NamespaceReply reply) {
    assertThat(reply).isInstanceOf(NamespaceReply.Status.class);
    return ((NamespaceReply.Status) reply).status();
  }
}
