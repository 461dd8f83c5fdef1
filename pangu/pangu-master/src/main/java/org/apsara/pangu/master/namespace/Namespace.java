package org.apsara.pangu.master.namespace;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apsara.common.io.FileTrees;
import org.apsara.pangu.master.namespace.NamespaceStore.Column;
import org.apsara.pangu.master.namespace.NamespaceTree.Chain;
import org.apsara.pangu.master.namespace.proto.ChunkEntry;
import org.apsara.pangu.master.namespace.proto.DirectoryCounts;
import org.apsara.pangu.master.namespace.proto.GarbageChunk;
import org.apsara.pangu.master.namespace.proto.Inode;
import org.apsara.pangu.master.namespace.proto.InodeKind;
import org.apsara.pangu.master.namespace.proto.NamespaceMeta;
import org.apsara.pangu.master.namespace.proto.NamespaceRecord;
import org.rocksdb.ReadOptions;
import org.rocksdb.Snapshot;
import org.rocksdb.WriteBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Pangu master's replicated namespace, stored in RocksDB: the state machine's state.
 *
 * <p>Changes come only from {@link #apply}: one {@link NamespaceRecord} per Raft entry, in log
 * order, each written in one atomic batch together with its term and index. Records are built
 * and pre-validated on the leader by a {@link NamespaceProposer}.
 *
 * <p>Threading: {@link #apply} and {@link #checkpoint} are serialized (the Raft apply thread calls
 * them). Reads ({@link #getStatus}, {@link #list}, ...) may run on any thread at the same time;
 * each sees one consistent applied state, never half a record. {@link #close} waits for running
 * calls; later calls throw {@link IllegalStateException}.
 */
public final class Namespace implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Namespace.class);

  private final NamespaceStore store;
  private final ReadOptions latest = new ReadOptions();
  /** Inodes and directory entries of the applied state; see {@link AppliedValueCache}. */
  private final AppliedValueCache cache = new AppliedValueCache();
  private final LeaseCounts leaseCounts;
  private volatile AppliedIndex lastApplied;

  private Namespace(NamespaceStore store) {
    this.store = store;
    this.leaseCounts = LeaseCounts.of(store);
    NamespaceMeta meta = new NamespaceTxn(store, latest, leaseCounts).meta();
    if (meta.getFormatVersion() != NamespaceLimits.FORMAT_VERSION) {
      throw new NamespaceStorageException("namespace in " + store.directory() + " has format "
          + meta.getFormatVersion() + ", this code reads format " + NamespaceLimits.FORMAT_VERSION);
    }
    this.lastApplied = new AppliedIndex(meta.getAppliedTerm(), meta.getAppliedIndex());
  }

  /**
   * Opens the namespace in {@code directory}, formatting an empty one (just the root, at index 0)
   * if there is none. Formatting is deterministic, so every replica starts identical.
   */
  public static Namespace open(Path directory) {
    NamespaceStore store = NamespaceStore.open(directory);
    try {
      formatIfEmpty(store);
      return new Namespace(store);
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
  }

  /**
   * Replaces whatever {@code directory} holds by a copy of the checkpoint in
   * {@code checkpointDirectory} (see {@link #checkpoint}) and opens it. No namespace may be open
   * on {@code directory}. Used when a replica installs a snapshot from the leader.
   */
  public static Namespace restore(Path checkpointDirectory, Path directory) {
    if (checkpointDirectory.toAbsolutePath().normalize()
        .equals(directory.toAbsolutePath().normalize())) {
      throw new IllegalArgumentException("cannot restore " + directory + " onto itself");
    }
    try {
      FileTrees.delete(directory);
      Files.createDirectories(directory);
      try (Stream<Path> files = Files.list(checkpointDirectory)) {
        for (Path file : (Iterable<Path>) files::iterator) {
          if (!Files.isRegularFile(file)) {
            throw new IOException("unexpected entry " + file + " in a namespace checkpoint");
          }
          Files.copy(file, directory.resolve(file.getFileName()));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot restore namespace from " + checkpointDirectory, e);
    }
    Namespace restored = open(directory);
    LOG.info("restored namespace in {} from checkpoint {} at {}", directory, checkpointDirectory,
        restored.lastApplied());
    return restored;
  }

  private static void formatIfEmpty(NamespaceStore store) {
    try (ReadOptions ro = new ReadOptions()) {
      if (store.get(Column.META, ro, Keys.META) != null) {
        return;
      }
      NamespaceTxn txn = new NamespaceTxn(store, ro, new LeaseCounts());
      txn.setMeta(NamespaceMeta.newBuilder()
          .setFormatVersion(NamespaceLimits.FORMAT_VERSION)
          .setNextInodeId(NamespaceTree.FIRST_INODE_ID)
          .setNextChunkId(NamespaceTree.FIRST_CHUNK_ID)
          .build());
      txn.putInode(NamespaceTree.ROOT_ID, Inode.newBuilder()
          .setKind(InodeKind.INODE_KIND_DIRECTORY)
          .setMode(NamespaceTree.ROOT_MODE)
          .setOwner(NamespaceTree.ROOT_OWNER)
          .setGroup(NamespaceTree.ROOT_GROUP)
          .setCounts(DirectoryCounts.newBuilder().setDirectories(1))
          .build());
      try (WriteBatch batch = txn.toWriteBatch()) {
        store.write(batch);
      }
      LOG.info("formatted a new namespace (format {}) in {}", NamespaceLimits.FORMAT_VERSION,
          store.directory());
    }
  }

  // ------------------------------------------------------------------ apply

  /**
   * Applies the record at ({@code term}, {@code index}): validates it against the current state
   * and, if valid, writes its changes; either way writes {@code index} as the applied index in
   * the same atomic batch. Deterministic: every replica gets the same reply and the same state.
   * A record at or below the applied index is skipped ({@link NamespaceReply.AlreadyApplied}), so
   * replaying the log over a newer state is harmless.
   *
   * @throws NamespaceStorageException if RocksDB fails; the replica must stop
   */
  public synchronized NamespaceReply apply(long term, long index, NamespaceRecord record) {
    AppliedIndex last = lastApplied;
    if (index <= last.index()) {
      return new NamespaceReply.AlreadyApplied(index);
    }
    if (term < last.term()) {
      throw new IllegalArgumentException("term " + term + " of index " + index
          + " is below the applied term " + last.term());
    }
    NamespaceTxn txn = applyTxn(last);
    NamespaceReply reply;
    if (record.hasBatch()) {
      // Each record judged on its own over the ones before it; all of them in one write.
      List<NamespaceReply> replies = new ArrayList<>(record.getBatch().getRecordsCount());
      for (NamespaceRecord each : record.getBatch().getRecordsList()) {
        replies.add(applyOne(new NamespaceTxn(txn), each, true));
      }
      reply = new NamespaceReply.Batch(replies);
    } else {
      reply = applyOne(txn, record, false);
      if (reply instanceof NamespaceReply.Failed) {
        txn = applyTxn(last);
      }
    }
    NamespaceMeta meta = txn.meta();
    txn.setMeta(meta.toBuilder()
        .setAppliedTerm(term)
        .setAppliedIndex(index)
        .setLastRecordTimeMs(Math.max(meta.getLastRecordTimeMs(), record.getTimeMs()))
        .build());
    try (WriteBatch batch = txn.toWriteBatch()) {
      txn.forgetStaged(cache);
      store.write(batch);
    }
    txn.cacheWritten(cache, index);
    leaseCounts.apply(txn.leaseDeltas());
    lastApplied = new AppliedIndex(term, index);
    return reply;
  }

  /** A txn of the apply over the latest state, which holds exactly {@code last}. */
  private NamespaceTxn applyTxn(AppliedIndex last) {
    return new NamespaceTxn(store, latest, leaseCounts, cache, last.index(), true);
  }

  /**
   * Applies one record to {@code txn}; a refused record leaves the txn as it was only when
   * {@code merge} (the txn is then a child, merged into its parent if the record passed).
   */
  private static NamespaceReply applyOne(NamespaceTxn txn, NamespaceRecord record, boolean merge) {
    try {
      NamespaceReply reply = RecordApplier.apply(txn, record);
      if (merge) {
        txn.mergeIntoParent();
      }
      return reply;
    } catch (NamespaceException e) {
      return new NamespaceReply.Failed(e);
    }
  }

  /** The leases {@code holder} holds in the applied state. */
  int leaseCount(String holder) {
    return leaseCounts.get(holder);
  }

  /** Inodes and directory entries the read cache holds, for tests. */
  int cachedValues() {
    return cache.size();
  }

  /** The term and index of the last applied record. */
  public AppliedIndex lastApplied() {
    return lastApplied;
  }

  /**
   * Writes a RocksDB checkpoint of the current state into {@code target} (which must not exist)
   * and returns the applied index it holds. Call it from the apply thread (Ratis takes snapshots
   * there), so no record is half in it.
   */
  public synchronized AppliedIndex checkpoint(Path target) {
    store.checkpoint(target);
    return lastApplied;
  }

  // ------------------------------------------------------------------ reads

  /** The status of {@code path}. */
  public FileStatus getStatus(String path) throws NamespaceException {
    NamespacePath parsed = NamespacePath.parse(path);
    return read(tree -> {
      Chain chain = tree.require(parsed);
      return NamespaceTree.statusOf(parsed.toString(), chain.id(), chain.inode());
    });
  }

  /**
   * One page of the directory {@code path}: up to {@code limit} (1 to
   * {@link NamespaceLimits#MAX_LIST_ENTRIES}) entries whose names sort after {@code startAfter}
   * (empty: from the first), in byte order of their UTF-8 names.
   */
  public DirectoryListing list(String path, String startAfter, int limit)
      throws NamespaceException {
    NamespacePath parsed = NamespacePath.parse(path);
    if (limit < 1 || limit > NamespaceLimits.MAX_LIST_ENTRIES) {
      throw new NamespaceException(NamespaceErrorCode.INVALID_ARGUMENT, parsed.toString(),
          "listing limit " + limit + " is outside 1.." + NamespaceLimits.MAX_LIST_ENTRIES);
    }
    if (!startAfter.isEmpty()) {
      NamespacePath.checkComponent(startAfter, startAfter);
    }
    return read(tree -> {
      Chain chain = tree.require(parsed);
      if (!NamespaceTree.isDirectory(chain.inode())) {
        throw new NamespaceException(NamespaceErrorCode.NOT_A_DIRECTORY, parsed.toString(),
            parsed + " is a file, not a directory");
      }
      long dirId = chain.id();
      byte[] from = Keys.dentry(dirId, startAfter);
      String prefix = parsed.isRoot() ? "/" : parsed + "/";
      List<FileStatus> entries = new ArrayList<>();
      boolean[] more = {false};
      tree.txn.scan(Column.DENTRIES, from, Keys.dentryUpperBound(dirId), (k, v) -> {
        String name = Keys.dentryName(k);
        if (name.equals(startAfter)) {
          return true;
        }
        if (entries.size() == limit) {
          more[0] = true;
          return false;
        }
        long childId = Keys.readId(v, 0);
        entries.add(NamespaceTree.statusOf(prefix + name, childId, tree.existing(childId)));
        return true;
      });
      return new DirectoryListing(entries, more[0]);
    });
  }

  /**
   * What the subtree at {@code path} holds. Computed from the counters each directory keeps
   * exact, so it costs one lookup however big the subtree.
   */
  public ContentSummary contentSummary(String path) throws NamespaceException {
    NamespacePath parsed = NamespacePath.parse(path);
    return read(tree -> NamespaceTree.summaryOf(tree.require(parsed).inode()));
  }

  /**
   * Up to {@code limit} (1 to {@link NamespaceLimits#MAX_READ_ENTRIES}) chunks of the file
   * {@code path} from index {@code fromIndex}.
   */
  public List<ChunkInfo> chunks(String path, int fromIndex, int limit) throws NamespaceException {
    NamespacePath parsed = NamespacePath.parse(path);
    checkReadLimit(limit, parsed.toString());
    if (fromIndex < 0) {
      throw new NamespaceException(NamespaceErrorCode.INVALID_ARGUMENT, parsed.toString(),
          "chunk index " + fromIndex + " is negative");
    }
    return read(tree -> {
      Chain chain = tree.require(parsed);
      if (NamespaceTree.isDirectory(chain.inode())) {
        throw new NamespaceException(NamespaceErrorCode.IS_A_DIRECTORY, parsed.toString(),
            parsed + " is a directory");
      }
      long fileId = chain.id();
      List<ChunkInfo> chunks = new ArrayList<>();
      tree.txn.scan(Column.CHUNKS, Keys.chunk(fileId, fromIndex), Keys.id(fileId + 1), (k, v) -> {
        ChunkEntry c = NamespaceTxn.parse(ChunkEntry.parser(), v, "chunk");
        chunks.add(new ChunkInfo(fileId, Keys.chunkIndex(k), c.getChunkId(), c.getGeneration(),
            c.getLengthBytes(), c.getSealed()));
        return chunks.size() < limit;
      });
      return chunks;
    });
  }

  /**
   * Up to {@code limit} garbage chunks with ids above {@code afterChunkId}, in id order: chunks no
   * file refers to any more, whose replicas the chunk manager should delete.
   */
  public List<GarbageChunkInfo> garbageChunks(long afterChunkId, int limit)
      throws NamespaceException {
    checkReadLimit(limit, "");
    return read(tree -> {
      List<GarbageChunkInfo> garbage = new ArrayList<>();
      tree.txn.scan(Column.GARBAGE, Keys.id(Math.max(0, afterChunkId) + 1), null, (k, v) -> {
        GarbageChunk g = NamespaceTxn.parse(GarbageChunk.parser(), v, "garbage chunk");
        garbage.add(new GarbageChunkInfo(Keys.readId(k, 0), g.getFileId(), g.getGeneration(),
            g.getLengthBytes()));
        return garbage.size() < limit;
      });
      return garbage;
    });
  }

  /**
   * What the namespace says about {@code chunkId}: in a file, garbage, an orphan (allocated once,
   * now neither), or not allocated yet. Everything is read from one consistent state, so a chunk
   * allocated after that state is never mistaken for an orphan.
   */
  public ChunkOwnership chunkOwnership(long chunkId) {
    try {
      return read(tree -> ownershipOf(tree, chunkId, new HashMap<>()));
    } catch (NamespaceException e) {
      throw new AssertionError("a chunk lookup cannot be refused", e);
    }
  }

  /** As {@link #chunkOwnership}, for many ids read from one consistent state. */
  public List<ChunkOwnership> chunkOwnerships(List<Long> chunkIds) throws NamespaceException {
    checkReadLimit(Math.max(1, chunkIds.size()), "");
    return read(tree -> {
      Map<Long, Inode> files = new HashMap<>();
      List<ChunkOwnership> result = new ArrayList<>(chunkIds.size());
      for (long chunkId : chunkIds) {
        result.add(ownershipOf(tree, chunkId, files));
      }
      return result;
    });
  }

  /**
   * Up to {@code limit} chunks that belong to files, with ids above {@code afterChunkId} (0 for
   * the first), in id order: what the leader's replication monitor walks to find chunks with too few replicas,
   * including those no chunkserver reports at all.
   */
  public List<ChunkOwnership.InFile> chunksInFiles(long afterChunkId, int limit)
      throws NamespaceException {
    checkReadLimit(limit, "");
    return read(tree -> {
      Map<Long, Inode> files = new HashMap<>();
      List<ChunkOwnership.InFile> chunks = new ArrayList<>();
      tree.txn.scan(Column.CHUNK_OWNERS, Keys.id(Math.max(0, afterChunkId) + 1), null, (k, v) -> {
        chunks.add(inFile(tree, Keys.readId(k, 0), v, files));
        return chunks.size() < limit;
      });
      return chunks;
    });
  }

  private static ChunkOwnership ownershipOf(NamespaceTree tree, long chunkId,
      Map<Long, Inode> files) {
    byte[] owner = tree.txn.get(Column.CHUNK_OWNERS, Keys.id(chunkId));
    if (owner != null) {
      return inFile(tree, chunkId, owner, files);
    }
    byte[] garbage = tree.txn.get(Column.GARBAGE, Keys.id(chunkId));
    if (garbage != null) {
      GarbageChunk g = NamespaceTxn.parse(GarbageChunk.parser(), garbage, "garbage chunk");
      return new ChunkOwnership.Garbage(new GarbageChunkInfo(chunkId, g.getFileId(),
          g.getGeneration(), g.getLengthBytes()));
    }
    // Ids are unsigned in the contract; anything the counter has not reached is not ours yet.
    if (Long.compareUnsigned(chunkId, tree.txn.meta().getNextChunkId()) >= 0) {
      return new ChunkOwnership.NotYetAllocated(chunkId);
    }
    return new ChunkOwnership.Orphan(chunkId);
  }

  private static ChunkOwnership.InFile inFile(NamespaceTree tree, long chunkId, byte[] owner,
      Map<Long, Inode> files) {
    long fileId = Keys.readId(owner, 0);
    int index = Keys.chunkIndex(owner);
    byte[] entry = tree.txn.get(Column.CHUNKS, owner);
    if (entry == null) {
      throw new NamespaceStorageException("chunk " + chunkId + " is indexed to file " + fileId
          + " chunk " + index + ", which does not exist");
    }
    ChunkEntry c = NamespaceTxn.parse(ChunkEntry.parser(), entry, "chunk");
    Inode file = files.computeIfAbsent(fileId, tree::existing);
    return new ChunkOwnership.InFile(new ChunkInfo(fileId, index, c.getChunkId(),
        c.getGeneration(), c.getLengthBytes(), c.getSealed()), file.getReplication(),
        file.getChunkSizeBytes());
  }

  /**
   * The status of the file or directory {@code inodeId}, under its current path: what a writer
   * that addresses its open file by id needs.
   *
   * @throws NamespaceException {@link NamespaceErrorCode#NOT_FOUND} if there is no such inode or
   *     it belongs to a deleted subtree
   */
  public FileStatus statusOf(long inodeId) throws NamespaceException {
    return read(tree -> {
      Chain chain = tree.locate(inodeId);
      return NamespaceTree.statusOf(chain.path(), chain.id(), chain.inode());
    });
  }

  /**
   * Up to {@code limit} leases after {@code after} (null: from the first), ordered by client
   * name then file id: what the leader's lease monitor pages through to find expired leases.
   */
  public List<OpenFile> openFiles(OpenFile after, int limit) throws NamespaceException {
    checkReadLimit(limit, "");
    byte[] from = after == null ? new byte[0] : Keys.lease(after.clientName(), after.fileId());
    return read(tree -> {
      List<OpenFile> open = new ArrayList<>();
      tree.txn.scan(Column.LEASES, from, null, (k, v) -> {
        if (after != null && java.util.Arrays.equals(k, from)) {
          return true;
        }
        long fileId = Keys.leaseFileId(k);
        open.add(new OpenFile(Keys.leaseHolder(k), fileId,
            tree.existing(fileId).getLeaseExpiryMs()));
        return open.size() < limit;
      });
      return open;
    });
  }

  /**
   * The path of the file or directory {@code inodeId}, built by walking its parents up to the
   * root: what the lease monitor needs to recover a lease it found by file id.
   *
   * @throws NamespaceException {@link NamespaceErrorCode#NOT_FOUND} if there is no such inode or
   *     it belongs to a deleted subtree waiting to be reclaimed
   */
  public String pathOf(long inodeId) throws NamespaceException {
    return read(tree -> tree.locate(inodeId).path());
  }

  /** True while deleted subtrees wait to be reclaimed by {@code ReclaimDeleted} records. */
  public boolean reclaimPending() {
    try {
      return read(tree -> {
        boolean[] pending = {false};
        tree.txn.scan(Column.RECLAIM, Keys.id(0), null, (k, v) -> {
          pending[0] = true;
          return false;
        });
        return pending[0];
      });
    } catch (NamespaceException e) {
      throw new AssertionError("reading the reclaim queue cannot be refused", e);
    }
  }

  /**
   * A SHA-256 over every key and value of every column family, in order: equal on replicas that
   * applied the same records. Reads the whole store; for checks and tests, not the hot path.
   */
  public String stateDigest() {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JVM has SHA-256", e);
    }
    for (RawEntry e : rawEntries()) {
      digest.update(e.column().cfName.getBytes(StandardCharsets.UTF_8));
      updateLengthPrefixed(digest, e.key());
      updateLengthPrefixed(digest, e.value());
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  private static void updateLengthPrefixed(MessageDigest digest, byte[] bytes) {
    digest.update(java.nio.ByteBuffer.allocate(4).putInt(bytes.length).array());
    digest.update(bytes);
  }

  /** One stored entry. */
  record RawEntry(Column column, byte[] key, byte[] value) {}

  /** Every entry of every column family, in column then key order, from one snapshot. */
  List<RawEntry> rawEntries() {
    List<RawEntry> entries = new ArrayList<>();
    Snapshot snapshot = store.snapshot();
    try (ReadOptions ro = new ReadOptions().setSnapshot(snapshot)) {
      for (Column column : Column.values()) {
        store.scan(column, ro, null, null, (k, v) -> entries.add(new RawEntry(column, k, v)));
      }
    } finally {
      store.releaseSnapshot(snapshot);
    }
    return entries;
  }

  /** The leader's dry run: judges {@code record} against the current state, changes nothing. */
  NamespaceReply dryRun(NamespaceRecord record) throws NamespaceException {
    return read(tree -> RecordApplier.apply(tree.txn, record));
  }

  /** The meta record of the current state. */
  NamespaceMeta meta() {
    try {
      return read(tree -> tree.txn.meta());
    } catch (NamespaceException e) {
      throw new AssertionError("reading meta cannot be refused", e);
    }
  }

  @FunctionalInterface
  private interface Read<T> {
    T run(NamespaceTree tree) throws NamespaceException;
  }

  private <T> T read(Read<T> read) throws NamespaceException {
    // Read before the snapshot is taken: the snapshot holds at least this index, which is what
    // lets the read use cached values (see AppliedValueCache).
    long stateIndex = lastApplied.index();
    Snapshot snapshot = store.snapshot();
    try (ReadOptions ro = new ReadOptions().setSnapshot(snapshot)) {
      return read.run(new NamespaceTree(
          new NamespaceTxn(store, ro, leaseCounts, cache, stateIndex, false)));
    } finally {
      store.releaseSnapshot(snapshot);
    }
  }

  private static void checkReadLimit(int limit, String path) throws NamespaceException {
    if (limit < 1 || limit > NamespaceLimits.MAX_READ_ENTRIES) {
      throw new NamespaceException(NamespaceErrorCode.INVALID_ARGUMENT, path,
          "limit " + limit + " is outside 1.." + NamespaceLimits.MAX_READ_ENTRIES);
    }
  }

  @Override
  public void close() {
    synchronized (this) {
      store.close();
      latest.close();
    }
  }
}
