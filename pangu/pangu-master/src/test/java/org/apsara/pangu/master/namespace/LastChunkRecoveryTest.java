package org.apsara.pangu.master.namespace;

import static org.apsara.pangu.master.namespace.NamespaceErrorCode.CHUNK_MISMATCH;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.INVALID_ARGUMENT;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.LEASE_HELD_BY_OTHER;
import static org.apsara.pangu.master.namespace.TestNamespace.CHUNK;
import static org.apsara.pangu.master.namespace.TestNamespace.LEASE;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The namespace half of lease recovery that keeps synced bytes: a RecoverLease record commits
 * the uncommitted last chunk with the recovered generation and length and closes the file in
 * one step; and the chunk-owner index the chunk manager asks about reported replicas.
 */
class LastChunkRecoveryTest {
  @TempDir Path dir;
  TestNamespace ns;

  @BeforeEach
  void open() {
    ns = new TestNamespace(dir.resolve("ns"));
  }

  @AfterEach
  void close() {
    ns.close();
  }

  @Test
  void recoveryCommitsTheLastChunkAtTheRecoveredLengthAndClosesTheFile() throws Exception {
    FileStatus f = ns.create("/f", "w");
    ns.commit(ns.addChunk(f.inodeId(), "w"), "w", 100);
    ChunkInfo open = ns.addChunk(f.inodeId(), "w");
    ns.clock.advance(LEASE);

    FileStatus closed = ns.status(p -> p.recoverLeaseCommittingLastChunk("/f", "recoverer",
        open.index(), open.chunkId(), 2, 4000));

    assertThat(closed.open()).isFalse();
    assertThat(closed.lastChunkOpen()).isFalse();
    assertThat(closed.chunkCount()).isEqualTo(2);
    assertThat(closed.lengthBytes()).isEqualTo(4100);
    assertThat(ns.namespace.chunks("/f", 1, 1)).containsExactly(
        new ChunkInfo(f.inodeId(), 1, open.chunkId(), 2, 4000, true));
    // The quota charge of the open chunk (a whole chunk) became its real length.
    assertThat(ns.namespace.contentSummary("/").spaceConsumedBytes()).isEqualTo(3 * 4100);
    assertThat(ns.namespace.garbageChunks(0, 10)).isEmpty();
    assertThat(ns.namespace.openFiles(null, 10)).isEmpty();
  }

  @Test
  void aRecoveryThatNamesTheWrongChunkOrAnOlderGenerationChangesNothing() throws Exception {
    FileStatus f = ns.create("/f", "w");
    ChunkInfo open = ns.addChunk(f.inodeId(), "w");
    ns.clock.advance(LEASE);

    ns.assertRefused(CHUNK_MISMATCH, p -> p.recoverLeaseCommittingLastChunk("/f", "r",
        open.index(), open.chunkId() + 1, 2, 10), "is chunk " + open.chunkId());
    ns.assertRefused(CHUNK_MISMATCH, p -> p.recoverLeaseCommittingLastChunk("/f", "r",
        open.index() + 1, open.chunkId(), 2, 10), "at index 0");
    ns.assertRefused(CHUNK_MISMATCH, p -> p.recoverLeaseCommittingLastChunk("/f", "r",
        open.index(), open.chunkId(), 0, 10), "older than 1");
    ns.assertRefused(INVALID_ARGUMENT, p -> p.recoverLeaseCommittingLastChunk("/f", "r",
        open.index(), open.chunkId(), 2, CHUNK + 1), "recovered length");
  }

  @Test
  void aLiveLeaseOfAnotherClientIsNotRecovered() throws Exception {
    FileStatus f = ns.create("/f", "w");
    ChunkInfo open = ns.addChunk(f.inodeId(), "w");
    ns.assertRefused(LEASE_HELD_BY_OTHER, p -> p.recoverLeaseCommittingLastChunk("/f", "r",
        open.index(), open.chunkId(), 2, 10), "client 'w'");
  }

  @Test
  void chunkOwnershipFollowsAChunkFromAllocationToGarbageToOrphan() throws Exception {
    FileStatus f = ns.create("/f", "w");
    ChunkInfo open = ns.addChunk(f.inodeId(), "w");
    long next = open.chunkId() + 1;

    assertThat(ns.namespace.chunkOwnership(open.chunkId())).isEqualTo(
        new ChunkOwnership.InFile(open, 3, CHUNK));
    assertThat(ns.namespace.chunkOwnership(next))
        .isEqualTo(new ChunkOwnership.NotYetAllocated(next));

    ChunkInfo committed = ns.commit(open, "w", 10);
    assertThat(ns.namespace.chunkOwnership(open.chunkId()))
        .isInstanceOfSatisfying(ChunkOwnership.InFile.class, in -> {
          assertThat(in.committed()).isTrue();
          assertThat(in.chunk()).isEqualTo(committed);
        });
    assertThat(ns.namespace.chunksInFiles(0, 10)).extracting(ChunkOwnership.InFile::chunk)
        .containsExactly(committed);

    ns.close(f.inodeId(), "w");
    ns.delete("/f", false);
    assertThat(ns.namespace.chunkOwnership(open.chunkId())).isEqualTo(new ChunkOwnership.Garbage(
        new GarbageChunkInfo(open.chunkId(), f.inodeId(), 1, 10)));
    assertThat(ns.namespace.chunksInFiles(0, 10)).isEmpty();

    ns.run(p -> p.forgetGarbageChunks(List.of(open.chunkId())));
    assertThat(ns.namespace.chunkOwnerships(List.of(open.chunkId(), next))).containsExactly(
        new ChunkOwnership.Orphan(open.chunkId()), new ChunkOwnership.NotYetAllocated(next));
  }

  @Test
  void droppingTheLastChunkMakesItGarbageAndTakesItOutOfTheIndex() throws Exception {
    FileStatus f = ns.create("/f", "w");
    ChunkInfo open = ns.addChunk(f.inodeId(), "w");
    ns.clock.advance(LEASE);
    ns.status(p -> p.recoverLeaseDroppingLastChunk("/f", "r"));
    assertThat(ns.namespace.chunkOwnership(open.chunkId()))
        .isInstanceOf(ChunkOwnership.Garbage.class);
    assertThat(ns.namespace.chunksInFiles(0, 10)).isEmpty();
  }
}
