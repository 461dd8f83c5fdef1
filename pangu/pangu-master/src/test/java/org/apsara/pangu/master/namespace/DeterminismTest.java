package org.apsara.pangu.master.namespace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.apsara.pangu.master.namespace.NamespaceStore.Column;
import org.apsara.pangu.master.namespace.proto.NamespaceRecord;
import org.apsara.pangu.master.namespace.proto.RecordBatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same records give the same bytes everywhere: on a fresh replica, after a snapshot and
 * restore, after a restart, and when the leader packs them into record batches.
 */
class DeterminismTest {
  static final int STEPS = 1500;

  @TempDir Path dir;

  @Test
  void replicasApplyingTheSameLogHoldIdenticalColumnFamilies() {
    long seed = System.nanoTime();
    try (TestNamespace leader = new TestNamespace(dir.resolve("leader"),
            new ProposerConfig(TestNamespace.LEASE, 5));
        Namespace follower = Namespace.open(dir.resolve("follower"))) {
      new RandomWorkload(leader, seed).run(STEPS);
      System.out.printf("seed %d: %d records, %d failed at apply%n", seed, leader.log.size(),
          leader.failedAtApply);
      assertThat(leader.log.size()).as("seed %d", seed).isGreaterThan(STEPS / 3);
      assertThat(leader.failedAtApply).as("seed %d", seed).isGreaterThan(STEPS / 20);
      assertThat(leader.log.stream().filter(r -> r.getOpCase()
          == NamespaceRecord.OpCase.RECLAIM_DELETED).count()).as("seed %d", seed).isPositive();
      replay(follower, leader.log, 0);

      assertThat(dump(follower)).as("seed %d", seed).isEqualTo(dump(leader.namespace));
      assertThat(follower.stateDigest()).isEqualTo(leader.namespace.stateDigest());
      assertThat(follower.lastApplied()).isEqualTo(leader.namespace.lastApplied());
    }
  }

  @Test
  void snapshotThenRestoreThenContinueEqualsNoSnapshot() {
    long seed = System.nanoTime();
    try (TestNamespace leader = new TestNamespace(dir.resolve("leader"),
        new ProposerConfig(TestNamespace.LEASE, 5))) {
      RandomWorkload workload = new RandomWorkload(leader, seed);
      workload.run(STEPS / 2);
      int snapshotAt = leader.log.size();
      AppliedIndex checkpointed = leader.namespace.checkpoint(dir.resolve("checkpoint"));
      assertThat(checkpointed.index()).isEqualTo(snapshotAt);
      workload.run(STEPS / 2);

      try (Namespace restored = Namespace.restore(dir.resolve("checkpoint"), dir.resolve("restored"))) {
        assertThat(restored.lastApplied()).isEqualTo(checkpointed);
        // Raft may replay entries the snapshot already holds: they are skipped.
        assertThat(restored.apply(TestNamespace.TERM, snapshotAt, leader.log.get(snapshotAt - 1)))
            .isEqualTo(new NamespaceReply.AlreadyApplied(snapshotAt));
        replay(restored, leader.log, snapshotAt);
        assertThat(dump(restored)).as("seed %d", seed).isEqualTo(dump(leader.namespace));
      }
      // Restoring over a directory that holds another namespace replaces it.
      try (Namespace again = Namespace.restore(dir.resolve("checkpoint"), dir.resolve("restored"))) {
        assertThat(again.lastApplied()).isEqualTo(checkpointed);
      }
    }
  }

  @Test
  void aRestartResumesFromTheAppliedIndexItStored() {
    long seed = System.nanoTime();
    List<NamespaceRecord> log;
    String digest;
    try (TestNamespace leader = new TestNamespace(dir.resolve("leader"))) {
      new RandomWorkload(leader, seed).run(300);
      log = List.copyOf(leader.log);
      digest = leader.namespace.stateDigest();
    }
    try (Namespace reopened = Namespace.open(dir.resolve("leader"))) {
      assertThat(reopened.stateDigest()).as("seed %d", seed).isEqualTo(digest);
      assertThat(reopened.lastApplied().index()).isEqualTo(log.size());
      // Replaying the whole log over the newer state changes nothing.
      replay(reopened, log, 0);
      assertThat(reopened.stateDigest()).isEqualTo(digest);
    }
  }

  @Test
  void recordsInBatchesApplyAsIfEachHadItsOwnEntry() {
    long seed = System.nanoTime();
    try (TestNamespace leader = new TestNamespace(dir.resolve("leader"),
            new ProposerConfig(TestNamespace.LEASE, 5));
        Namespace single = Namespace.open(dir.resolve("single"));
        Namespace batched = Namespace.open(dir.resolve("batched"))) {
      new RandomWorkload(leader, seed).run(STEPS);
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < leader.log.size(); i++) {
        expected.add(describe(single.apply(TestNamespace.TERM, i + 1, leader.log.get(i))));
      }

      Random random = new Random(seed);
      List<String> replies = new ArrayList<>();
      long index = 0;
      for (int from = 0; from < leader.log.size(); ) {
        List<NamespaceRecord> records = leader.log.subList(from,
            Math.min(leader.log.size(), from + 1 + random.nextInt(8)));
        NamespaceRecord batch = NamespaceRecord.newBuilder()
            .setTimeMs(records.get(records.size() - 1).getTimeMs())
            .setBatch(RecordBatch.newBuilder().addAllRecords(records))
            .build();
        NamespaceReply reply = batched.apply(TestNamespace.TERM, ++index, batch);
        ((NamespaceReply.Batch) reply).replies().forEach(r -> replies.add(describe(r)));
        // A replayed batch is skipped whole.
        assertThat(batched.apply(TestNamespace.TERM, index, batch))
            .isEqualTo(new NamespaceReply.AlreadyApplied(index));
        from += records.size();
      }

      assertThat(replies).as("seed %d", seed).isEqualTo(expected);
      assertThat(replies).as("seed %d: some records refused inside batches", seed)
          .anyMatch(r -> r.startsWith("refused"));
      assertThat(dumpWithoutMeta(batched)).as("seed %d", seed).isEqualTo(dumpWithoutMeta(single));
      assertThat(batched.meta().toBuilder().clearAppliedIndex().build())
          .isEqualTo(single.meta().toBuilder().clearAppliedIndex().build());
      assertThat(batched.lastApplied().index()).isEqualTo(index);
    }
  }

  @Test
  void aBatchInsideABatchIsRefusedAndChangesNothing() {
    try (TestNamespace leader = new TestNamespace(dir.resolve("leader"))) {
      NamespaceRecord mkdirs;
      try {
        mkdirs = leader.proposer.mkdirs("/a", 0755, TestNamespace.OWNER, TestNamespace.GROUP);
      } catch (NamespaceException e) {
        throw new AssertionError(e);
      }
      NamespaceRecord inner = NamespaceRecord.newBuilder()
          .setBatch(RecordBatch.newBuilder().addRecords(mkdirs)).build();
      NamespaceReply reply = leader.apply(NamespaceRecord.newBuilder()
          .setBatch(RecordBatch.newBuilder().addRecords(inner)).build());
      assertThat(((NamespaceReply.Batch) reply).replies()).singleElement()
          .isInstanceOfSatisfying(NamespaceReply.Failed.class, f -> assertThat(f.error().code())
              .isEqualTo(NamespaceErrorCode.INVALID_ARGUMENT));
      assertThatThrownBy(() -> leader.namespace.getStatus("/a"))
          .isInstanceOf(NamespaceException.class);
    }
  }

  /** A reply as text: a refusal by its code and message (exceptions compare by identity). */
  private static String describe(NamespaceReply reply) {
    return reply instanceof NamespaceReply.Failed f
        ? "refused " + f.error().code() + " " + f.error().getMessage() : reply.toString();
  }

  private static List<String> dumpWithoutMeta(Namespace namespace) {
    return dump(namespace).stream().filter(line -> !line.startsWith(Column.META + " ")).toList();
  }

  private static void replay(Namespace namespace, List<NamespaceRecord> log, int from) {
    for (int i = from; i < log.size(); i++) {
      namespace.apply(TestNamespace.TERM, i + 1, log.get(i));
    }
  }

  private static List<String> dump(Namespace namespace) {
    HexFormat hex = HexFormat.of();
    return namespace.rawEntries().stream()
        .map(e -> e.column() + " " + hex.formatHex(e.key()) + " " + hex.formatHex(e.value()))
        .toList();
  }
}
