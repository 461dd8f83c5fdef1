package org.apsara.pangu.master.namespace;

import static org.apsara.pangu.master.namespace.NamespaceErrorCode.ALREADY_EXISTS;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.CHUNK_MISMATCH;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.CHUNK_NOT_COMMITTED;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.DIRECTORY_NOT_EMPTY;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.ID_CONFLICT;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.INVALID_ARGUMENT;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.INVALID_PATH;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.IS_A_DIRECTORY;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.LEASE_HELD_BY_OTHER;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.NOT_A_DIRECTORY;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.NOT_FOUND;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.NOT_LEASE_HOLDER;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.RENAME_INTO_OWN_SUBTREE;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.ROOT_NOT_ALLOWED;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.TOO_MANY_OPEN_FILES;
import static org.apsara.pangu.master.namespace.TestNamespace.CHUNK;
import static org.apsara.pangu.master.namespace.TestNamespace.GROUP;
import static org.apsara.pangu.master.namespace.TestNamespace.OWNER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apsara.pangu.master.namespace.proto.CommitChunk;
import org.apsara.pangu.master.namespace.proto.NamespaceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NamespaceOperationsTest {
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
  void aNewNamespaceHoldsOnlyTheRoot() throws Exception {
    FileStatus root = ns.namespace.getStatus("/");
    assertThat(root.directory()).isTrue();
    assertThat(root.inodeId()).isEqualTo(NamespaceTree.ROOT_ID);
    assertThat(root.owner()).isEqualTo("pangu");
    assertThat(root.mode()).isEqualTo(0755);
    assertThat(ns.namespace.list("/", "", 10).entries()).isEmpty();
    assertThat(ns.namespace.contentSummary("/"))
        .isEqualTo(new ContentSummary(0, 1, 0, 0, -1, -1));
    assertThat(ns.namespace.lastApplied()).isEqualTo(AppliedIndex.NONE);
  }

  // ------------------------------------------------------------------ mkdirs

  @Test
  void mkdirsCreatesMissingParentsAndIsIdempotent() throws Exception {
    long before = ns.clock.millis();
    FileStatus c = ns.mkdirs("/a/b/c");
    assertThat(c.path()).isEqualTo("/a/b/c");
    assertThat(c.directory()).isTrue();
    assertThat(c.owner()).isEqualTo(OWNER);
    assertThat(c.group()).isEqualTo(GROUP);
    assertThat(c.mtimeMs()).isEqualTo(before);
    assertThat(ns.namespace.getStatus("/a/b").directory()).isTrue();
    assertThat(ns.namespace.contentSummary("/").directories()).isEqualTo(4);
    assertThat(ns.namespace.contentSummary("/a").directories()).isEqualTo(3);

    List<String> state = ns.stateIgnoringPosition();
    assertThat(ns.mkdirs("/a/b/c")).isEqualTo(c);
    assertThat(ns.stateIgnoringPosition()).isEqualTo(state);

    ns.mkdirs("/a/b/d");
    assertThat(ns.namespace.list("/a/b", "", 10).entries())
        .extracting(FileStatus::name).containsExactly("c", "d");
  }

  @Test
  void mkdirsRefusesFilesInTheWayAndBadArguments() throws Exception {
    ns.writeFile("/f", "c1");
    ns.assertRefused(ALREADY_EXISTS, p -> p.mkdirs("/f", 0755, OWNER, GROUP), "/f exists as a file");
    ns.assertRefused(NOT_A_DIRECTORY, p -> p.mkdirs("/f/g/h", 0755, OWNER, GROUP),
        "/f is a file, not a directory");
    ns.assertRefused(INVALID_PATH, p -> p.mkdirs("/a/../b", 0755, OWNER, GROUP), "'..'");
    ns.assertRefused(INVALID_PATH, p -> p.mkdirs("relative", 0755, OWNER, GROUP), "not absolute");
    ns.assertRefused(INVALID_ARGUMENT, p -> p.mkdirs("/m", 010000, OWNER, GROUP), "mode");
    ns.assertRefused(INVALID_ARGUMENT, p -> p.mkdirs("/m", 0755, "", GROUP), "owner");
    ns.assertRefused(INVALID_ARGUMENT, p -> p.mkdirs("/m", 0755, OWNER, "g\0"), "group");
  }

  // ------------------------------------------------------------------ create, write, close

  @Test
  void createOpensAFileUnderTheWritersLease() throws Exception {
    ns.mkdirs("/d");
    FileStatus f = ns.create("/d/f", "writer");
    assertThat(f.directory()).isFalse();
    assertThat(f.open()).isTrue();
    assertThat(f.leaseHolder()).isEqualTo("writer");
    assertThat(f.leaseExpiryMs()).isEqualTo(ns.clock.millis() + TestNamespace.LEASE.toMillis());
    assertThat(f.replication()).isEqualTo(3);
    assertThat(f.chunkSizeBytes()).isEqualTo(CHUNK);
    assertThat(ns.namespace.getStatus("/d").mtimeMs()).isEqualTo(ns.clock.millis());
    assertThat(ns.namespace.openFiles(null, 10))
        .containsExactly(new OpenFile("writer", f.inodeId(), f.leaseExpiryMs()));
  }

  @Test
  void createRefusesWhatHdfsRefuses() throws Exception {
    ns.mkdirs("/d");
    ns.writeFile("/d/closed", "c1", 100);
    ns.create("/d/open", "c1");
    ns.assertRefused(NOT_FOUND, p -> p.create("/missing/f", "c", false, 3, CHUNK, 0644, OWNER, GROUP),
        "directory /missing does not exist");
    ns.assertRefused(IS_A_DIRECTORY, p -> p.create("/d", "c", true, 3, CHUNK, 0644, OWNER, GROUP),
        "/d is a directory");
    ns.assertRefused(IS_A_DIRECTORY, p -> p.create("/", "c", true, 3, CHUNK, 0644, OWNER, GROUP));
    ns.assertRefused(ALREADY_EXISTS,
        p -> p.create("/d/closed", "c", false, 3, CHUNK, 0644, OWNER, GROUP), "/d/closed");
    ns.assertRefused(LEASE_HELD_BY_OTHER,
        p -> p.create("/d/open", "c2", true, 3, CHUNK, 0644, OWNER, GROUP), "client 'c1'");
    ns.assertRefused(NOT_A_DIRECTORY,
        p -> p.create("/d/closed/x", "c", false, 3, CHUNK, 0644, OWNER, GROUP));
    ns.assertRefused(INVALID_ARGUMENT, p -> p.create("/d/g", "c", false, 0, CHUNK, 0644, OWNER, GROUP),
        "replication 0");
    ns.assertRefused(INVALID_ARGUMENT, p -> p.create("/d/g", "c", false, 17, CHUNK, 0644, OWNER, GROUP),
        "replication 17");
    ns.assertRefused(INVALID_ARGUMENT, p -> p.create("/d/g", "c", false, 3, 100, 0644, OWNER, GROUP),
        "chunk size 100");
    ns.assertRefused(INVALID_ARGUMENT, p -> p.create("/d/g", "", false, 3, CHUNK, 0644, OWNER, GROUP),
        "client name");
    ns.assertRefused(INVALID_ARGUMENT,
        p -> p.create("/d/g", "x".repeat(256), false, 3, CHUNK, 0644, OWNER, GROUP), "256 bytes");
  }

  @Test
  void overwriteReplacesAFileAndItsChunksBecomeGarbage() throws Exception {
    FileStatus old = ns.writeFile("/f", "c1", 10, 20);
    List<ChunkInfo> oldChunks = ns.namespace.chunks("/f", 0, 10);
    FileStatus fresh = ns.create("/f", "c2", true, 2);
    assertThat(fresh.inodeId()).isNotEqualTo(old.inodeId());
    assertThat(fresh.lengthBytes()).isZero();
    assertThat(ns.namespace.chunks("/f", 0, 10)).isEmpty();
    assertThat(ns.namespace.garbageChunks(0, 10)).extracting(GarbageChunkInfo::chunkId)
        .containsExactlyElementsOf(oldChunks.stream().map(ChunkInfo::chunkId).toList());
    assertThat(ns.namespace.contentSummary("/")).isEqualTo(new ContentSummary(1, 1, 0, 0, -1, -1));
  }

  @Test
  void chunksAreAllocatedCommittedAndClosed() throws Exception {
    ns.mkdirs("/d");
    FileStatus f = ns.create("/d/f", "w");
    ChunkInfo first = ns.addChunk(f.inodeId(), "w");
    assertThat(first).isEqualTo(new ChunkInfo(f.inodeId(), 0, 1, 1, 0, false));
    // An uncommitted chunk is charged a whole chunk size times replication.
    assertThat(ns.namespace.contentSummary("/d").spaceConsumedBytes()).isEqualTo(3 * CHUNK);

    ns.assertRefused(CHUNK_NOT_COMMITTED, p -> p.addChunk(f.inodeId(), "w"), "chunk 0 of /d/f");
    ns.assertRefused(CHUNK_NOT_COMMITTED, p -> p.close(f.inodeId(), "w"), "cannot close /d/f");
    ns.assertRefused(CHUNK_MISMATCH, p -> p.commitChunk(f.inodeId(), "w", 0, 99, 1, 5),
        "no chunk 99 at index 0");
    ns.assertRefused(CHUNK_MISMATCH, p -> p.commitChunk(f.inodeId(), "w", 1, first.chunkId(), 1, 5));
    ns.assertRefused(INVALID_ARGUMENT,
        p -> p.commitChunk(f.inodeId(), "w", 0, first.chunkId(), 1, CHUNK + 1), "chunk length");
    ns.assertRefused(INVALID_ARGUMENT,
        p -> p.commitChunk(f.inodeId(), "w", 0, first.chunkId(), 0, 5), "generation 0");
    ns.assertRefused(NOT_LEASE_HOLDER, p -> p.addChunk(f.inodeId(), "intruder"),
        "client 'intruder' does not hold the lease on /d/f; client 'w' does");
    ns.assertRefused(NOT_FOUND, p -> p.addChunk(999, "w"), "file id 999");

    ChunkInfo sealed = ns.commit(first, "w", 1000);
    assertThat(sealed).isEqualTo(new ChunkInfo(f.inodeId(), 0, 1, 1, 1000, true));
    // A retried commit with the same result is accepted; a different one is not.
    assertThat(ns.commit(first, "w", 1000)).isEqualTo(sealed);
    ns.assertRefused(CHUNK_MISMATCH,
        p -> p.commitChunk(f.inodeId(), "w", 0, first.chunkId(), 1, 999), "already committed");

    ChunkInfo second = ns.addChunk(f.inodeId(), "w");
    assertThat(second.index()).isEqualTo(1);
    assertThat(second.chunkId()).isEqualTo(2);
    ns.commit(new ChunkInfo(f.inodeId(), 1, second.chunkId(), 5, 0, false), "w", 24);
    FileStatus closed = ns.close(f.inodeId(), "w");
    assertThat(closed.open()).isFalse();
    assertThat(closed.leaseHolder()).isEmpty();
    assertThat(closed.lengthBytes()).isEqualTo(1024);
    assertThat(closed.chunkCount()).isEqualTo(2);
    assertThat(ns.namespace.chunks("/d/f", 0, 10)).containsExactly(
        new ChunkInfo(f.inodeId(), 0, 1, 1, 1000, true),
        new ChunkInfo(f.inodeId(), 1, 2, 5, 24, true));
    assertThat(ns.namespace.chunks("/d/f", 1, 1)).hasSize(1);
    assertThat(ns.namespace.contentSummary("/d"))
        .isEqualTo(new ContentSummary(1, 1, 1024, 3 * 1024, -1, -1));
    assertThat(ns.namespace.openFiles(null, 10)).isEmpty();
    ns.assertRefused(NOT_LEASE_HOLDER, p -> p.addChunk(f.inodeId(), "w"), "not open for writing");
    ns.assertRefused(IS_A_DIRECTORY, p -> p.addChunk(ns.namespace.getStatus("/d").inodeId(), "w"));
  }

  @Test
  void addChunkAndCloseCommitTheLastChunkFirstInTheSameRecordOrDoNeither() throws Exception {
    FileStatus f = ns.create("/f", "w");
    ChunkInfo first = ns.addChunk(f.inodeId(), "w");
    // Refused as CommitChunk would refuse the commit, and then nothing is allocated either.
    ns.assertRefused(CHUNK_MISMATCH, p -> p.addChunk(f.inodeId(), "w",
        commitOf(new ChunkInfo(f.inodeId(), 0, 99, 1, 0, false), 1, CHUNK)),
        "no chunk 99 at index 0");
    ns.assertRefused(INVALID_ARGUMENT, p -> p.addChunk(f.inodeId(), "w",
        commitOf(first, 1, CHUNK + 1)), "chunk length");
    ns.assertRefused(NOT_LEASE_HOLDER, p -> p.addChunk(f.inodeId(), "intruder",
        commitOf(first, 1, CHUNK)), "client 'intruder' does not hold the lease");

    ChunkInfo second = ((NamespaceReply.Chunk) ns.run(p -> p.addChunk(f.inodeId(), "w",
        commitOf(first, 1, CHUNK)))).chunk();
    assertThat(second).isEqualTo(new ChunkInfo(f.inodeId(), 1, first.chunkId() + 1, 1, 0,
        false));
    assertThat(ns.namespace.chunks("/f", 0, 10)).containsExactly(
        new ChunkInfo(f.inodeId(), 0, first.chunkId(), 1, CHUNK, true), second);
    assertThat(ns.namespace.getStatus("/f").lengthBytes()).isEqualTo(CHUNK);
    // The first chunk's charge shrank to its length, the second is charged a whole chunk.
    assertThat(ns.namespace.contentSummary("/").spaceConsumedBytes()).isEqualTo(6 * CHUNK);
    // Committing the same chunk again (a retry of a call whose answer was lost) is no conflict,
    // but the chunk it allocated is still open.
    ns.assertRefused(CHUNK_NOT_COMMITTED, p -> p.addChunk(f.inodeId(), "w",
        commitOf(first, 1, CHUNK)), "chunk 1 of /f is not committed yet");

    // CloseFile commits the last chunk the same way: a refused commit leaves the file open.
    ns.assertRefused(CHUNK_MISMATCH, p -> p.close(f.inodeId(), "w",
        commitOf(first, 1, 10)), "chunk 0 of /f is already committed");
    ns.assertRefused(INVALID_ARGUMENT, p -> p.close(f.inodeId(), "w",
        commitOf(second, 1, CHUNK + 1)), "chunk length");
    FileStatus closed = ns.status(p -> p.close(f.inodeId(), "w", commitOf(second, 1, 10)));
    assertThat(closed.open()).isFalse();
    assertThat(closed.lengthBytes()).isEqualTo(CHUNK + 10);
    assertThat(ns.namespace.chunks("/f", 1, 1)).containsExactly(
        new ChunkInfo(f.inodeId(), 1, second.chunkId(), 1, 10, true));
  }

  /** What a writer sends to commit {@code chunk} at {@code length} in its next AddChunk. */
  private static CommitChunk commitOf(ChunkInfo chunk, long generation, long length) {
    return CommitChunk.newBuilder().setChunkIndex(chunk.index()).setChunkId(chunk.chunkId())
        .setGeneration(generation).setLengthBytes(length).build();
  }

  @Test
  void appendReopensAClosedFileForOneWriter() throws Exception {
    FileStatus f = ns.writeFile("/f", "c1", 100);
    FileStatus reopened = ns.status(p -> p.append("/f", "c2"));
    assertThat(reopened.open()).isTrue();
    assertThat(reopened.leaseHolder()).isEqualTo("c2");
    assertThat(reopened.lengthBytes()).isEqualTo(100);
    // The same writer asking again is a retry, not a conflict.
    assertThat(ns.status(p -> p.append("/f", "c2")).leaseHolder()).isEqualTo("c2");
    ns.assertRefused(LEASE_HELD_BY_OTHER, p -> p.append("/f", "c3"),
        "/f is being written by client 'c2' whose lease expires at");
    ChunkInfo chunk = ns.addChunk(f.inodeId(), "c2");
    assertThat(chunk.index()).isEqualTo(1);
    ns.commit(chunk, "c2", 50);
    assertThat(ns.close(f.inodeId(), "c2").lengthBytes()).isEqualTo(150);

    ns.mkdirs("/d");
    ns.assertRefused(IS_A_DIRECTORY, p -> p.append("/d", "c2"));
    ns.assertRefused(NOT_FOUND, p -> p.append("/nope", "c2"), "/nope does not exist");
  }

  @Test
  void aClientHoldsAtMostTheLimitOfOpenFiles() throws Exception {
    ns.mkdirs("/d");
    for (int i = 0; i < NamespaceLimits.MAX_OPEN_FILES_PER_CLIENT; i++) {
      String path = "/d/f" + i;
      ns.apply(ns.unchecked.create(path, "busy", false, 1, CHUNK, 0644, OWNER, GROUP)).orThrow();
    }
    ns.assertRefused(TOO_MANY_OPEN_FILES,
        p -> p.create("/d/one-more", "busy", false, 1, CHUNK, 0644, OWNER, GROUP),
        "client 'busy' already holds the maximum of 4096 leases");
    // Replacing a file the client already writes does not take another lease.
    ns.create("/d/f0", "busy", true, 1);
    ns.create("/d/other", "someone-else");
  }

  @Test
  void leaseCountsFollowCreatesClosesAndOverwritesAndSurviveAReopen() throws Exception {
    ns.mkdirs("/d");
    FileStatus a = ns.create("/d/a", "c");
    ns.create("/d/b", "c");
    ns.create("/d/c", "c");
    ns.create("/d/x", "other");
    assertThat(ns.namespace.leaseCount("c")).isEqualTo(3);
    ns.close(a.inodeId(), "c");
    ns.create("/d/b", "c", true, 1); // replaces the file it writes: still one lease for it
    assertThat(ns.namespace.leaseCount("c")).isEqualTo(2);
    ns.assertRefused(LEASE_HELD_BY_OTHER, p -> p.create("/d/x", "c", true, 1, CHUNK, 0644,
        OWNER, GROUP));
    assertThat(ns.namespace.leaseCount("c")).isEqualTo(2);

    ns.close();
    ns = new TestNamespace(dir.resolve("ns"));
    assertThat(ns.namespace.leaseCount("c")).isEqualTo(2);
    assertThat(ns.namespace.leaseCount("other")).isEqualTo(1);
    assertThat(ns.namespace.leaseCount("nobody")).isZero();
  }

  // ------------------------------------------------------------------ rename

  @Test
  void renameMovesFilesAndDirectoriesWithTheirCounters() throws Exception {
    ns.mkdirs("/a/x");
    ns.mkdirs("/b");
    ns.writeFile("/a/x/f", "c", 100);
    ns.clock.advance(Duration.ofSeconds(1));
    FileStatus moved = ns.status(p -> p.rename("/a/x", "/b/y"));
    assertThat(moved.path()).isEqualTo("/b/y");
    assertThat(ns.namespace.getStatus("/b/y/f").lengthBytes()).isEqualTo(100);
    assertThatThrownBy(() -> ns.namespace.getStatus("/a/x"))
        .satisfies(TestNamespace.refusedWith(NOT_FOUND));
    assertThat(ns.namespace.contentSummary("/a")).isEqualTo(new ContentSummary(0, 1, 0, 0, -1, -1));
    assertThat(ns.namespace.contentSummary("/b").files()).isEqualTo(1);
    assertThat(ns.namespace.contentSummary("/b").directories()).isEqualTo(2);
    assertThat(ns.namespace.getStatus("/a").mtimeMs()).isEqualTo(ns.clock.millis());
    assertThat(ns.namespace.getStatus("/b").mtimeMs()).isEqualTo(ns.clock.millis());

    ns.status(p -> p.rename("/b/y/f", "/top"));
    assertThat(ns.namespace.getStatus("/top").lengthBytes()).isEqualTo(100);
  }

  @Test
  void aFileBeingWrittenCanBeRenamedAndTheWriterGoesOnById() throws Exception {
    ns.mkdirs("/tmp");
    FileStatus f = ns.create("/tmp/part", "w");
    ns.status(p -> p.rename("/tmp/part", "/final"));
    ChunkInfo chunk = ns.addChunk(f.inodeId(), "w");
    ns.commit(chunk, "w", 10);
    FileStatus closed = ns.close(f.inodeId(), "w");
    assertThat(closed.path()).isEqualTo("/final");
    assertThat(closed.lengthBytes()).isEqualTo(10);
  }

  @Test
  void renameRefusals() throws Exception {
    ns.mkdirs("/a/b");
    ns.mkdirs("/c");
    ns.writeFile("/f", "c");
    ns.assertRefused(ROOT_NOT_ALLOWED, p -> p.rename("/", "/z"), "root");
    ns.assertRefused(ROOT_NOT_ALLOWED, p -> p.rename("/a", "/"));
    ns.assertRefused(RENAME_INTO_OWN_SUBTREE, p -> p.rename("/a", "/a/b/a"),
        "cannot rename directory /a into its own subtree at /a/b/a");
    ns.assertRefused(NOT_FOUND, p -> p.rename("/nope", "/z"), "/nope does not exist");
    ns.assertRefused(NOT_FOUND, p -> p.rename("/a", "/x/y"), "directory /x does not exist");
    ns.assertRefused(ALREADY_EXISTS, p -> p.rename("/a", "/c"), "/c already exists");
    ns.assertRefused(ALREADY_EXISTS, p -> p.rename("/a", "/a"));
    ns.assertRefused(NOT_A_DIRECTORY, p -> p.rename("/a", "/f/a"), "/f is a file");
    ns.assertRefused(INVALID_PATH, p -> p.rename("/a", "/c/"));
  }

  // ------------------------------------------------------------------ delete

  @Test
  void deleteRemovesFilesAndDirectories() throws Exception {
    ns.mkdirs("/d/e");
    ns.writeFile("/d/e/f", "c", 10, 20, 30);
    ns.mkdirs("/empty");
    ns.assertRefused(DIRECTORY_NOT_EMPTY, p -> p.delete("/d", false),
        "/d is not empty (1 files, 1 directories below it)");
    ns.assertRefused(ROOT_NOT_ALLOWED, p -> p.delete("/", true), "root cannot be deleted");
    ns.assertRefused(NOT_FOUND, p -> p.delete("/nope", true));

    assertThat(ns.delete("/empty", false)).isEqualTo(new NamespaceReply.Deleted(false, 0));
    assertThat(ns.delete("/d/e/f", false)).isEqualTo(new NamespaceReply.Deleted(false, 3));
    assertThat(ns.namespace.garbageChunks(0, 10)).extracting(GarbageChunkInfo::lengthBytes)
        .containsExactly(10L, 20L, 30L);
    ns.writeFile("/d/e/g", "c", 5);
    assertThat(ns.delete("/d", true).detached()).isTrue();
    assertThat(ns.namespace.list("/", "", 10).entries()).isEmpty();
    assertThat(ns.namespace.contentSummary("/")).isEqualTo(new ContentSummary(0, 1, 0, 0, -1, -1));
    assertThat(ns.reclaimAll()).isEqualTo(1);
    assertThat(ns.namespace.garbageChunks(0, 10)).hasSize(4);

    // Forgetting garbage is idempotent and ignores unknown ids.
    List<Long> ids = ns.namespace.garbageChunks(0, 10).stream().map(GarbageChunkInfo::chunkId).toList();
    assertThat(ns.run(p -> p.forgetGarbageChunks(List.of(ids.get(0), ids.get(0), 12345L))))
        .isEqualTo(new NamespaceReply.GarbageForgotten(1));
    assertThat(ns.namespace.garbageChunks(ids.get(0), 10)).hasSize(3);
    assertThat(ns.namespace.garbageChunks(0, 10)).hasSize(3);
  }

  // ------------------------------------------------------------------ attributes and reads

  @Test
  void attributesChange() throws Exception {
    ns.writeFile("/f", "c");
    FileStatus times = ns.status(p -> p.setTimes("/f", 123, -1));
    assertThat(times.mtimeMs()).isEqualTo(123);
    assertThat(times.atimeMs()).isEqualTo(ns.clock.millis());
    assertThat(ns.status(p -> p.setTimes("/f", -1, 456)).atimeMs()).isEqualTo(456);
    assertThat(ns.status(p -> p.setPermission("/f", 0600)).mode()).isEqualTo(0600);
    FileStatus owned = ns.status(p -> p.setOwner("/f", "bob", ""));
    assertThat(owned.owner()).isEqualTo("bob");
    assertThat(owned.group()).isEqualTo(GROUP);
    assertThat(ns.status(p -> p.setOwner("/", "", "wheel")).group()).isEqualTo("wheel");

    ns.assertRefused(INVALID_ARGUMENT, p -> p.setTimes("/f", -2, 0), "times of /f");
    ns.assertRefused(NOT_FOUND, p -> p.setTimes("/g", 1, 1));
    ns.assertRefused(INVALID_ARGUMENT, p -> p.setPermission("/f", 077777), "mode");
    ns.assertRefused(NOT_FOUND, p -> p.setPermission("/g", 0644));
    ns.assertRefused(INVALID_ARGUMENT, p -> p.setOwner("/f", "", ""), "needs an owner or a group");
    ns.assertRefused(NOT_FOUND, p -> p.setOwner("/g", "x", ""));
  }

  @Test
  void listingIsPagedInNameOrder() throws Exception {
    ns.mkdirs("/d");
    for (String name : List.of("b", "a", "c", "\u00e9", "B", "d")) {
      ns.mkdirs("/d/" + name);
    }
    DirectoryListing first = ns.namespace.list("/d", "", 4);
    assertThat(first.entries()).extracting(FileStatus::name).containsExactly("B", "a", "b", "c");
    assertThat(first.hasMore()).isTrue();
    DirectoryListing second = ns.namespace.list("/d", "c", 4);
    assertThat(second.entries()).extracting(FileStatus::path).containsExactly("/d/d", "/d/\u00e9");
    assertThat(second.hasMore()).isFalse();
    // A cursor need not exist.
    assertThat(ns.namespace.list("/d", "bb", 1).entries()).extracting(FileStatus::name)
        .containsExactly("c");

    ns.writeFile("/d/file", "c");
    assertThatThrownBy(() -> ns.namespace.list("/d/file", "", 1))
        .satisfies(TestNamespace.refusedWith(NOT_A_DIRECTORY));
    assertThatThrownBy(() -> ns.namespace.list("/d", "", NamespaceLimits.MAX_LIST_ENTRIES + 1))
        .satisfies(TestNamespace.refusedWith(INVALID_ARGUMENT));
    assertThatThrownBy(() -> ns.namespace.list("/d", "a/b", 1))
        .satisfies(TestNamespace.refusedWith(INVALID_PATH));
    assertThatThrownBy(() -> ns.namespace.getStatus("/d/file/x"))
        .satisfies(TestNamespace.refusedWith(NOT_A_DIRECTORY));
    assertThatThrownBy(() -> ns.namespace.chunks("/d", 0, 1))
        .satisfies(TestNamespace.refusedWith(IS_A_DIRECTORY));
  }

  // ------------------------------------------------------------------ records and the log

  @Test
  void aRecordThatConflictsWithAnEarlierOneIsRefusedAtApply() throws Exception {
    ns.mkdirs("/d");
    // Two clients create the same file; both commands pass the leader's check before either applies.
    NamespaceRecord first = ns.proposer.create("/d/f", "c1", false, 3, CHUNK, 0644, OWNER, GROUP);
    NamespaceRecord second = ns.proposer.create("/d/f", "c2", false, 3, CHUNK, 0644, OWNER, GROUP);
    assertThat(ns.apply(first)).isInstanceOf(NamespaceReply.Status.class);
    List<String> state = ns.stateIgnoringPosition();
    NamespaceReply reply = ns.apply(second);
    assertThat(reply).isInstanceOfSatisfying(NamespaceReply.Failed.class,
        f -> assertThat(f.error().code()).isEqualTo(ALREADY_EXISTS));
    assertThat(ns.stateIgnoringPosition()).isEqualTo(state);
    assertThat(ns.namespace.getStatus("/d/f").leaseHolder()).isEqualTo("c1");
  }

  @Test
  void idsInFlightDoNotCollideAndAStaleLeaderIsRefused() throws Exception {
    NamespaceRecord a = ns.proposer.create("/a", "c", false, 1, CHUNK, 0644, OWNER, GROUP);
    NamespaceRecord b = ns.proposer.create("/b", "c", false, 1, CHUNK, 0644, OWNER, GROUP);
    assertThat(b.getCreateFile().getInodeId()).isEqualTo(a.getCreateFile().getInodeId() + 1);
    // A proposer that starts before the records in flight are applied reuses an id.
    NamespaceProposer stale = new NamespaceProposer(ns.namespace, ns.clock, ProposerConfig.DEFAULTS);
    NamespaceRecord c = stale.create("/c", "c", false, 1, CHUNK, 0644, OWNER, GROUP);
    ns.apply(a).orThrow();
    ns.apply(b).orThrow();
    List<String> state = ns.stateIgnoringPosition();
    assertThat(ns.apply(c)).isInstanceOfSatisfying(NamespaceReply.Failed.class,
        f -> assertThat(f.error().code()).isEqualTo(ID_CONFLICT));
    assertThat(ns.stateIgnoringPosition()).isEqualTo(state);
  }

  @Test
  void recordsWithBadBatchSizesOrNoOpAreRefused() throws Exception {
    List<Long> tooMany = java.util.stream.LongStream
        .rangeClosed(1, NamespaceLimits.MAX_FORGET_CHUNKS_PER_RECORD + 1).boxed().toList();
    ns.assertRefused(INVALID_ARGUMENT, p -> p.forgetGarbageChunks(tooMany),
        "10001 chunk ids are more than the limit of 10000 per record");
    List<String> state = ns.stateIgnoringPosition();
    for (NamespaceRecord bad : List.of(
        NamespaceRecord.newBuilder().setTimeMs(1).build(),
        NamespaceRecord.newBuilder().setReclaimDeleted(
            org.apsara.pangu.master.namespace.proto.ReclaimDeleted.newBuilder().setMaxUnits(0)).build(),
        NamespaceRecord.newBuilder().setReclaimDeleted(
            org.apsara.pangu.master.namespace.proto.ReclaimDeleted.newBuilder()
                .setMaxUnits(NamespaceLimits.MAX_RECLAIM_UNITS_PER_RECORD + 1)).build())) {
      assertThat(ns.apply(bad)).isInstanceOfSatisfying(NamespaceReply.Failed.class,
          f -> assertThat(f.error().code()).isEqualTo(INVALID_ARGUMENT));
    }
    assertThat(ns.stateIgnoringPosition()).isEqualTo(state);
  }

  @Test
  void anIndexIsAppliedOnceAndRecordTimesNeverGoBack() throws Exception {
    NamespaceRecord record = ns.proposer.mkdirs("/a", 0755, OWNER, GROUP);
    assertThat(ns.namespace.apply(1, 1, record)).isInstanceOf(NamespaceReply.Status.class);
    String digest = ns.namespace.stateDigest();
    assertThat(ns.namespace.apply(1, 1, record)).isEqualTo(new NamespaceReply.AlreadyApplied(1));
    assertThat(ns.namespace.stateDigest()).isEqualTo(digest);
    assertThat(ns.namespace.lastApplied()).isEqualTo(new AppliedIndex(1, 1));

    long stamped = record.getTimeMs();
    ns.clock.advance(Duration.ofHours(-1));
    NamespaceRecord later = ns.proposer.mkdirs("/b", 0755, OWNER, GROUP);
    assertThat(later.getTimeMs()).isEqualTo(stamped);
  }
}
