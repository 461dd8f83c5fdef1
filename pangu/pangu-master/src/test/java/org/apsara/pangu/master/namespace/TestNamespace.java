package org.apsara.pangu.master.namespace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apsara.testkit.TestClock;
import org.assertj.core.api.ThrowingConsumer;
import org.apsara.pangu.master.namespace.NamespaceStore.Column;
import org.apsara.pangu.master.namespace.proto.NamespaceMeta;
import org.apsara.pangu.master.namespace.proto.NamespaceRecord;

/**
 * A single replica with its leader side, as the Raft wiring will drive it: propose, append to an
 * in-memory log, apply at the next index. Keeps the log so tests can replay it elsewhere.
 */
final class TestNamespace implements AutoCloseable {
  static final String OWNER = "alice";
  static final String GROUP = "staff";
  static final long CHUNK = 64 * 1024;
  static final Duration LEASE = Duration.ofSeconds(60);
  static final long TERM = 1;

  final Path directory;
  final TestClock clock;
  final Namespace namespace;
  final NamespaceProposer proposer;
  /** Builds records without the leader's dry run, to show the apply refuses them by itself. */
  final NamespaceProposer unchecked;
  final List<NamespaceRecord> log = new ArrayList<>();
  private long index;
  /** Records the apply refused. */
  int failedAtApply;

  TestNamespace(Path directory) {
    this(directory, new ProposerConfig(LEASE, ProposerConfig.DEFAULT_RECLAIM_UNITS_PER_RECORD));
  }

  TestNamespace(Path directory, ProposerConfig config) {
    this.directory = directory;
    this.clock = new TestClock(Instant.ofEpochMilli(1_700_000_000_000L));
    this.namespace = Namespace.open(directory);
    this.index = namespace.lastApplied().index();
    this.proposer = new NamespaceProposer(namespace, clock, config);
    this.unchecked = new NamespaceProposer(namespace, clock, config, false);
  }

  @FunctionalInterface
  interface Proposal {
    NamespaceRecord build(NamespaceProposer proposer) throws NamespaceException;
  }

  /** Proposes, applies and returns the reply; a refusal (at proposal or apply) is thrown. */
  NamespaceReply run(Proposal proposal) throws NamespaceException {
    return apply(proposal.build(proposer)).orThrow();
  }

  /** Appends {@code record} to the log and applies it, whatever it is. */
  NamespaceReply apply(NamespaceRecord record) {
    log.add(record);
    NamespaceReply reply = namespace.apply(TERM, ++index, record);
    if (reply instanceof NamespaceReply.Failed) {
      failedAtApply++;
    }
    return reply;
  }

  FileStatus status(Proposal proposal) throws NamespaceException {
    return ((NamespaceReply.Status) run(proposal)).status();
  }

  FileStatus mkdirs(String path) throws NamespaceException {
    return status(p -> p.mkdirs(path, 0755, OWNER, GROUP));
  }

  FileStatus create(String path, String client) throws NamespaceException {
    return status(p -> p.create(path, client, false, 3, CHUNK, 0644, OWNER, GROUP));
  }

  FileStatus create(String path, String client, boolean overwrite, int replication)
      throws NamespaceException {
    return status(p -> p.create(path, client, overwrite, replication, CHUNK, 0644, OWNER, GROUP));
  }

  ChunkInfo addChunk(long fileId, String client) throws NamespaceException {
    return ((NamespaceReply.Chunk) run(p -> p.addChunk(fileId, client))).chunk();
  }

  ChunkInfo commit(ChunkInfo chunk, String client, long length) throws NamespaceException {
    return ((NamespaceReply.Chunk) run(p -> p.commitChunk(
        chunk.fileId(), client, chunk.index(), chunk.chunkId(), chunk.generation(), length)))
        .chunk();
  }

  FileStatus close(long fileId, String client) throws NamespaceException {
    return status(p -> p.close(fileId, client));
  }

  /** Creates a closed file with the given chunk lengths. */
  FileStatus writeFile(String path, String client, long... chunkLengths)
      throws NamespaceException {
    FileStatus created = create(path, client);
    for (long length : chunkLengths) {
      commit(addChunk(created.inodeId(), client), client, length);
    }
    return close(created.inodeId(), client);
  }

  NamespaceReply.Deleted delete(String path, boolean recursive) throws NamespaceException {
    return (NamespaceReply.Deleted) run(p -> p.delete(path, recursive));
  }

  /** Applies reclaim records until the queue is empty; returns how many it took. */
  int reclaimAll() throws NamespaceException {
    int records = 0;
    while (namespace.reclaimPending()) {
      run(NamespaceProposer::reclaimDeleted);
      records++;
    }
    return records;
  }

  /**
   * Every stored entry, with the meta record's position in the log (applied index and term, last
   * record time) cleared: what must not change when a record is refused.
   */
  List<String> stateIgnoringPosition() {
    List<String> lines = new ArrayList<>();
    for (Namespace.RawEntry e : namespace.rawEntries()) {
      byte[] value = e.value();
      if (e.column() == Column.META) {
        value = NamespaceTxn.parse(NamespaceMeta.parser(), value, "meta").toBuilder()
            .clearAppliedIndex().clearAppliedTerm().clearLastRecordTimeMs().build().toByteArray();
      }
      lines.add(e.column() + " " + java.util.HexFormat.of().formatHex(e.key()) + " "
          + java.util.HexFormat.of().formatHex(value));
    }
    return lines;
  }

  /**
   * Asserts that the leader refuses the command with {@code code} and a message containing
   * {@code messageParts}, that the apply of the same command (put into the log without the dry
   * run) refuses it the same way, and that neither changed anything.
   */
  void assertRefused(NamespaceErrorCode code, Proposal proposal, String... messageParts) {
    List<String> before = stateIgnoringPosition();
    long indexBefore = namespace.lastApplied().index();
    assertThatThrownBy(() -> proposal.build(proposer))
        .isInstanceOfSatisfying(NamespaceException.class, e -> {
          assertThat(e.code()).isEqualTo(code);
          assertMessage(e, messageParts);
        });
    assertThat(namespace.lastApplied().index()).isEqualTo(indexBefore);
    NamespaceRecord record;
    try {
      record = proposal.build(unchecked);
    } catch (NamespaceException e) {
      throw new AssertionError("the unchecked proposer judged the command", e);
    }
    NamespaceReply reply = apply(record);
    assertThat(reply).isInstanceOfSatisfying(NamespaceReply.Failed.class, failed -> {
      assertThat(failed.error().code()).isEqualTo(code);
      assertMessage(failed.error(), messageParts);
    });
    assertThat(namespace.lastApplied().index()).isEqualTo(indexBefore + 1);
    assertThat(stateIgnoringPosition()).isEqualTo(before);
  }

  /** For {@code assertThatThrownBy(...).satisfies(refusedWith(code))}. */
  static ThrowingConsumer<Throwable> refusedWith(NamespaceErrorCode code) {
    return t -> assertThat(t).isInstanceOfSatisfying(NamespaceException.class,
        e -> assertThat(e.code()).isEqualTo(code));
  }

  private static void assertMessage(NamespaceException e, String... parts) {
    for (String part : parts) {
      assertThat(e.getMessage()).contains(part);
    }
  }

  @Override
  public void close() {
    namespace.close();
  }
}
