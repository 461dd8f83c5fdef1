package org.apsara.pangu.master.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apsara.pangu.master.namespace.FileStatus;
import org.apsara.pangu.master.namespace.NamespaceErrorCode;
import org.apsara.pangu.master.namespace.NamespaceException;
import org.apsara.pangu.master.namespace.NamespaceReply;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Commands that arrive together share log entries, and each is still judged and answered on its
 * own; a restart keeps every acknowledged one.
 */
class CommandBatcherTest {
  static final int COMMANDS = 600;

  @TempDir Path dir;
  MasterCluster cluster;

  @AfterEach
  void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void concurrentCommandsShareEntriesAndEachGetsItsOwnAnswer() throws Exception {
    cluster = new MasterCluster(dir, 1).startAll();
    MasterNode node = cluster.awaitLeader();
    cluster.submit(p -> p.mkdirs("/d", 0755, "alice", "staff"));
    long appliedBefore = node.appliedIndex();

    // Submitted without waiting: far more than the entries in flight carry one by one. Every third
    // command creates a path another command creates too: both pass the leader's dry run
    // (neither is applied yet), so the second is refused when it applies, inside a batch.
    List<CompletableFuture<NamespaceReply>> replies = new ArrayList<>();
    for (int i = 0; i < COMMANDS; i++) {
      String path = "/d/f" + (i % 3 == 2 ? i - 1 : i);
      replies.add(node.submit(p -> p.create(path, "client-1", false, 3, 1 << 20, 0644,
          "alice", "staff")));
    }
    int created = 0;
    int refused = 0;
    for (CompletableFuture<NamespaceReply> reply : replies) {
      try {
        FileStatus status = ((NamespaceReply.Status) reply.get(30, TimeUnit.SECONDS)).status();
        assertThat(status.open()).isTrue();
        created++;
      } catch (ExecutionException e) {
        assertThat(e.getCause()).isInstanceOfSatisfying(NamespaceException.class,
            refusal -> assertThat(refusal.code()).isEqualTo(NamespaceErrorCode.ALREADY_EXISTS));
        refused++;
      }
    }
    assertThat(created).isEqualTo(COMMANDS - COMMANDS / 3);
    assertThat(refused).isEqualTo(COMMANDS / 3);
    assertThat(node.list("/d", "", 1000, ReadConsistency.LINEARIZABLE).get().entries())
        .hasSize(created);
    assertThat(node.appliedIndex() - appliedBefore)
        .as("log entries for %d commands", COMMANDS).isLessThan(COMMANDS / 2);

    String digest = node.stateDigest();
    cluster.stop("m1");
    MasterNode restarted = cluster.start("m1");
    cluster.awaitLeader();
    assertThat(restarted.stateDigest()).isEqualTo(digest);
  }

  @Test
  void aFollowerRefusesAtOnceAndThreeMembersAgreeOnBatchedEntries() throws Exception {
    cluster = new MasterCluster(dir, 3).startAll();
    MasterNode leader = cluster.awaitLeader();
    MasterNode follower = cluster.runningNodes().stream().filter(n -> n != leader)
        .findFirst().orElseThrow();
    CompletableFuture<NamespaceReply> refused =
        follower.submit(p -> p.mkdirs("/x", 0755, "alice", "staff"));
    assertThat(refused).failsWithin(java.time.Duration.ofSeconds(5))
        .withThrowableOfType(ExecutionException.class)
        .havingCause().isInstanceOfSatisfying(MasterUnavailableException.class,
            e -> assertThat(e.nothingHappened()).isTrue());

    List<CompletableFuture<NamespaceReply>> replies = new ArrayList<>();
    for (int i = 0; i < COMMANDS / 3; i++) {
      String path = "/m/d" + i;
      replies.add(leader.submit(p -> p.mkdirs(path, 0755, "alice", "staff")));
    }
    for (CompletableFuture<NamespaceReply> reply : replies) {
      assertThat(reply.get(30, TimeUnit.SECONDS)).isInstanceOf(NamespaceReply.Status.class);
    }
    cluster.awaitConverged();
    assertThat(follower.namespace().list("/m", "", 1000).entries()).hasSize(COMMANDS / 3);
  }
}
