package org.apsara.pangu.master.raft;

import static org.apsara.pangu.master.raft.SingleMemberTest.CHUNK_BYTES;
import static org.apsara.pangu.master.raft.SingleMemberTest.status;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.pangu.master.namespace.ChunkInfo;
import org.apsara.pangu.master.namespace.FileStatus;
import org.apsara.pangu.master.namespace.NamespaceErrorCode;
import org.apsara.pangu.master.namespace.NamespaceException;
import org.apsara.pangu.master.namespace.NamespaceReply;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Three members in one JVM: replication, leader failover under load, full restart. */
class ThreeMemberTest {
  /** Creates each writer acknowledges before, and after, the leader is stopped. */
  static final int CREATES_BEFORE_FAILOVER = 15;
  static final int CREATES_PER_WRITER = 40;
  static final int WRITERS = 2;
  /** Tries of one create before the test gives up on the group. */
  static final int ATTEMPTS_MAX = 1000;

  @TempDir Path dir;
  MasterCluster cluster;

  @AfterEach
  void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void replicatesFailsOverAndSurvivesAFullRestart() throws Exception {
    cluster = new MasterCluster(dir, 3).startAll();
    MasterNode leader = cluster.awaitLeader();

    // A file's whole life replicates to every member.
    cluster.submitIdempotent(p -> p.mkdirs("/stream", 0755, "alice", "staff"));
    FileStatus file = status(cluster.submit(p -> p.create("/stream/first", "client-0", false, 3,
        CHUNK_BYTES, 0644, "alice", "staff")));
    ChunkInfo chunk = ((NamespaceReply.Chunk) cluster.submit(
        p -> p.addChunk(file.inodeId(), "client-0"))).chunk();
    cluster.submit(p -> p.commitChunk(file.inodeId(), "client-0", 0, chunk.chunkId(), 1, 777));
    cluster.submit(p -> p.close(file.inodeId(), "client-0"));
    cluster.awaitConverged();
    for (MasterNode node : cluster.runningNodes()) {
      FileStatus replica = node.getStatus("/stream/first", ReadConsistency.STALE).get();
      assertThat(replica.open()).isFalse();
      assertThat(replica.lengthBytes()).isEqualTo(777);
    }

    // A follower refuses commands and linearizable reads, naming the leader.
    MasterNode follower = cluster.runningNodes().stream().filter(n -> n != leader).findFirst()
        .orElseThrow();
    await().atMost(MasterCluster.AWAIT).until(() -> follower.leaderId().isPresent());
    assertUnavailable(() -> follower.submit(p -> p.mkdirs("/nope", 0755, "a", "b")).get(),
        MasterUnavailableException.Reason.NOT_LEADER,
        "not leader: member " + follower.memberId() + " is a follower, leader is "
            + leader.memberId());
    assertUnavailable(
        () -> follower.getStatus("/stream", ReadConsistency.LINEARIZABLE).get(),
        MasterUnavailableException.Reason.NOT_LEADER, "leader is " + leader.memberId());

    // Stop the leader while writers create files; they retry at the new leader.
    Map<String, Long> acknowledged = new ConcurrentHashMap<>();
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    AtomicInteger ambiguous = new AtomicInteger();
    List<Thread> writers = new ArrayList<>();
    for (int w = 0; w < WRITERS; w++) {
      int writer = w;
      Thread thread = new Thread(() -> {
        for (int i = 0; i < CREATES_PER_WRITER; i++) {
          try {
            createRetrying("/stream/w" + writer + "-" + i, "client-" + writer, acknowledged,
                ambiguous);
          } catch (Throwable t) {
            failures.add(t);
            return;
          }
        }
      }, "writer-" + w);
      thread.start();
      writers.add(thread);
    }
    await().atMost(MasterCluster.AWAIT)
        .until(() -> acknowledged.size() >= CREATES_BEFORE_FAILOVER || !failures.isEmpty());
    String oldLeader = leader.memberId();
    cluster.stop(oldLeader);
    for (Thread writer : writers) {
      writer.join(MasterCluster.AWAIT.toMillis() * 2);
      assertThat(writer.isAlive()).isFalse();
    }
    assertThat(failures).isEmpty();
    MasterNode newLeader = cluster.awaitLeader();
    assertThat(newLeader.memberId()).isNotEqualTo(oldLeader);
    assertThat(acknowledged).hasSizeGreaterThan(CREATES_BEFORE_FAILOVER);

    // Nothing acknowledged is lost, and ids are unique, on both survivors.
    cluster.awaitConverged();
    assertEveryAcknowledgedCreateIsThere(acknowledged);

    // The stopped member comes back and catches up.
    cluster.start(oldLeader);
    String digest = cluster.awaitConverged();
    assertEveryAcknowledgedCreateIsThere(acknowledged);

    // Stop everyone, start everyone: the namespace is intact.
    cluster.stopAll();
    cluster.startAll();
    cluster.awaitLeader();
    assertThat(cluster.awaitConverged()).isEqualTo(digest);
    assertEveryAcknowledgedCreateIsThere(acknowledged);
    for (String member : cluster.memberIds()) {
      assertThat(cluster.counter(member, "snapshots.restored"))
          .as("%s reopened its namespace in place", member).isZero();
    }
  }

  @Test
  void aMemberWithoutAMajoritySaysSoAndStillServesStaleReads() throws Exception {
    cluster = new MasterCluster(dir, 3);
    MasterNode lone = cluster.start("m1");
    assertThat(lone.healthCheck().check().reason()).isEqualTo("member m1 knows no leader");
    assertUnavailable(() -> lone.submit(p -> p.mkdirs("/a", 0755, "a", "b")).get(),
        MasterUnavailableException.Reason.NOT_LEADER,
        "not leader: member m1 is a follower, leader is unknown (an election is under way)");
    assertUnavailable(() -> lone.getStatus("/", ReadConsistency.LINEARIZABLE).get(),
        MasterUnavailableException.Reason.NOT_LEADER, "leader is unknown");
    assertThat(lone.getStatus("/", ReadConsistency.STALE).get().directory()).isTrue();
  }

  /**
   * Creates {@code path} at whichever member leads, retrying when leadership moves. A retry
   * after an unknown outcome may find the file created by the first try: then it exists but was
   * never acknowledged, and is not counted.
   */
  private void createRetrying(String path, String client, Map<String, Long> acknowledged,
      AtomicInteger ambiguous) throws Exception {
    boolean outcomeUnknown = false;
    for (int attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
      MasterNode leader = cluster.awaitLeader();
      try {
        NamespaceReply reply = leader.submit(p -> p.create(path, client, false, 3, CHUNK_BYTES,
            0644, "alice", "staff")).get(MasterCluster.AWAIT.toMillis(), TimeUnit.MILLISECONDS);
        acknowledged.put(path, status(reply).inodeId());
        return;
      } catch (ExecutionException e) {
        if (e.getCause() instanceof MasterUnavailableException unavailable) {
          outcomeUnknown |= !unavailable.nothingHappened();
          continue;
        }
        if (e.getCause() instanceof NamespaceException refused && outcomeUnknown
            && refused.code() == NamespaceErrorCode.ALREADY_EXISTS) {
          ambiguous.incrementAndGet();
          return;
        }
        // ID_CONFLICT, or anything else, fails the test.
        throw new AssertionError("create " + path + " failed", e.getCause());
      }
    }
    throw new AssertionError("create " + path + " still unavailable after " + ATTEMPTS_MAX
        + " attempts");
  }

  private void assertEveryAcknowledgedCreateIsThere(Map<String, Long> acknowledged)
      throws Exception {
    assertThat(acknowledged.values()).doesNotHaveDuplicates();
    for (MasterNode node : cluster.runningNodes()) {
      for (Map.Entry<String, Long> create : acknowledged.entrySet()) {
        FileStatus status = node.getStatus(create.getKey(), ReadConsistency.STALE).get();
        assertThat(status.inodeId()).as("inode of %s on %s", create.getKey(), node.memberId())
            .isEqualTo(create.getValue());
      }
    }
  }

  @FunctionalInterface
  interface Call {
    Object call() throws Exception;
  }

  static void assertUnavailable(Call call, MasterUnavailableException.Reason reason,
      String message) {
    try {
      call.call();
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOfSatisfying(MasterUnavailableException.class, u -> {
        assertThat(u.reason()).isEqualTo(reason);
        assertThat(u.getMessage()).contains(message);
      });
      return;
    } catch (Exception e) {
      throw new AssertionError("unexpected failure", e);
    }
    throw new AssertionError("expected " + reason);
  }
}
