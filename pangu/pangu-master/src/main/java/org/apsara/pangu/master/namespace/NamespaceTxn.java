package org.apsara.pangu.master.namespace;

import com.google.protobuf.InvalidProtocolBufferException;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import org.apsara.pangu.master.namespace.NamespaceStore.Column;
import org.apsara.pangu.master.namespace.NamespaceStore.EntryVisitor;
import org.apsara.pangu.master.namespace.proto.ChunkEntry;
import org.apsara.pangu.master.namespace.proto.GarbageChunk;
import org.apsara.pangu.master.namespace.proto.Inode;
import org.apsara.pangu.master.namespace.proto.NamespaceMeta;
import org.rocksdb.ReadOptions;
import org.rocksdb.WriteBatch;
import org.rocksdb.RocksDBException;

/**
 * The changes of one record, staged over a read view of the store. Reads see the staged changes
 * (a record may create a directory and then a child in it); nothing reaches the store until the
 * caller writes {@link #toWriteBatch()}, so a refused record is simply dropped. The leader's dry
 * run and the replicas' apply run the same code on a txn, which is why both judge a record the
 * same way. A txn may also be staged over another txn (each record of a record batch over the
 * batch's txn) and merged into it with {@link #mergeIntoParent()} once its record passed. Not
 * thread-safe: one txn per record, on one thread.
 */
final class NamespaceTxn {
  /** Marks a staged delete; compared by identity. */
  private static final byte[] DELETED = new byte[0];

  private final NamespaceStore store;
  private final ReadOptions readOptions;
  /** Stands in for store reads of cached columns; null reads everything from the store. */
  private final AppliedValueCache cache;
  /** The applied index the state this txn reads holds at least, for the cache. */
  private final long stateIndex;
  /** Whether store reads enter the cache: only for the apply's reads of the latest state. */
  private final boolean fillsCache;
  /** The txn this one is staged over, or null when it is staged over the store. */
  private final NamespaceTxn parent;
  private final EnumMap<Column, TreeMap<byte[], byte[]>> staged = new EnumMap<>(Column.class);
  private final LeaseCounts leaseCounts;
  /** Leases gained (+) and released (-) by this txn's staged changes, per holder. */
  private final Map<String, Integer> leaseDeltas = new HashMap<>();
  private NamespaceMeta meta;

  NamespaceTxn(NamespaceStore store, ReadOptions readOptions, LeaseCounts leaseCounts) {
    this(store, readOptions, leaseCounts, null, 0, false);
  }

  /**
   * A txn over the store that reads cached inodes and directory entries from {@code cache} (see
   * {@link AppliedValueCache} for when that is allowed).
   *
   * @param stateIndex the applied index that the state {@code readOptions} reads holds at least
   * @param fillsCache whether values read from the store enter the cache as valid from {@code
   *     stateIndex}: only for the apply, which reads the latest state under the apply lock
   */
  NamespaceTxn(NamespaceStore store, ReadOptions readOptions, LeaseCounts leaseCounts,
      AppliedValueCache cache, long stateIndex, boolean fillsCache) {
    this.store = store;
    this.readOptions = readOptions;
    this.parent = null;
    this.leaseCounts = leaseCounts;
    this.cache = cache;
    this.stateIndex = stateIndex;
    this.fillsCache = fillsCache;
  }

  /** A txn that reads {@code parent}'s staged changes over the store and stages its own. */
  NamespaceTxn(NamespaceTxn parent) {
    this.store = parent.store;
    this.readOptions = parent.readOptions;
    this.parent = parent;
    this.leaseCounts = parent.leaseCounts;
    // Reads reach the store only through the txn at the bottom of the chain.
    this.cache = null;
    this.stateIndex = 0;
    this.fillsCache = false;
  }

  /** Moves this txn's staged changes, meta and lease deltas into its parent's. */
  void mergeIntoParent() {
    if (parent == null) {
      throw new IllegalStateException("a txn over the store has no parent to merge into");
    }
    for (Map.Entry<Column, TreeMap<byte[], byte[]>> e : staged.entrySet()) {
      parent.writes(e.getKey()).putAll(e.getValue());
    }
    if (meta != null) {
      parent.meta = meta;
    }
    leaseDeltas.forEach((holder, delta) -> parent.leaseDeltas.merge(holder, delta, Integer::sum));
  }

  // ------------------------------------------------------------------ raw access

  byte[] get(Column column, byte[] key) {
    TreeMap<byte[], byte[]> writes = staged.get(column);
    if (writes != null) {
      byte[] value = writes.get(key);
      if (value != null) {
        return value == DELETED ? null : value;
      }
    }
    return parent != null ? parent.get(column, key) : stored(column, key);
  }

  private byte[] stored(Column column, byte[] key) {
    if (cache == null || !AppliedValueCache.caches(column)) {
      return store.get(column, readOptions, key);
    }
    byte[] value = cache.get(column, key, stateIndex);
    if (value == null) {
      value = store.get(column, readOptions, key);
      if (value != null && fillsCache) {
        cache.put(column, key, value, stateIndex);
      }
    }
    return value;
  }

  /** Removes the cached values this txn's write replaces; call before writing it. */
  void forgetStaged(AppliedValueCache cache) {
    for (Map.Entry<Column, TreeMap<byte[], byte[]>> e : staged.entrySet()) {
      if (AppliedValueCache.caches(e.getKey())) {
        for (byte[] key : e.getValue().keySet()) {
          cache.remove(e.getKey(), key);
        }
      }
    }
  }

  /**
   * Enters the values this txn wrote into the cache as valid from {@code index}; call after the
   * write reached the store, still holding the apply lock.
   */
  void cacheWritten(AppliedValueCache cache, long index) {
    for (Map.Entry<Column, TreeMap<byte[], byte[]>> e : staged.entrySet()) {
      if (AppliedValueCache.caches(e.getKey())) {
        for (Map.Entry<byte[], byte[]> w : e.getValue().entrySet()) {
          if (w.getValue() != DELETED) {
            cache.put(e.getKey(), w.getKey(), w.getValue(), index);
          }
        }
      }
    }
  }

  void put(Column column, byte[] key, byte[] value) {
    writes(column).put(key, value);
  }

  void delete(Column column, byte[] key) {
    writes(column).put(key, DELETED);
  }

  private TreeMap<byte[], byte[]> writes(Column column) {
    return staged.computeIfAbsent(column, c -> new TreeMap<>(Arrays::compareUnsigned));
  }

  /**
   * Visits the entries in [from, to) in key order, staged changes included, until the visitor
   * returns false. The visitor may stage changes to keys it has already visited.
   */
  void scan(Column column, byte[] from, byte[] to, EntryVisitor visitor) {
    if (from == null) {
      from = new byte[0];
    }
    TreeMap<byte[], byte[]> writes = staged.get(column);
    if (writes == null || writes.isEmpty()) {
      scanBelow(column, from, to, visitor);
      return;
    }
    // Snapshot the staged range first: the visitor may stage more while we scan.
    NavigableMap<byte[], byte[]> range = new TreeMap<>(Arrays::compareUnsigned);
    range.putAll(to == null ? writes.tailMap(from, true) : writes.subMap(from, true, to, false));
    MergedScan merged = new MergedScan(range.entrySet().iterator(), visitor);
    scanBelow(column, from, to, merged::visitStored);
    merged.finish();
  }

  /** Scans what this txn is staged over: its parent's view, or the store. */
  private void scanBelow(Column column, byte[] from, byte[] to, EntryVisitor visitor) {
    if (parent != null) {
      parent.scan(column, from, to, visitor);
    } else {
      store.scan(column, readOptions, from, to, visitor);
    }
  }

  /** Merges staged entries into a scan of the stored ones; staged values win. */
  private static final class MergedScan {
    private final Iterator<Map.Entry<byte[], byte[]>> staged;
    private final EntryVisitor visitor;
    private Map.Entry<byte[], byte[]> next;
    private boolean stopped;

    MergedScan(Iterator<Map.Entry<byte[], byte[]>> staged, EntryVisitor visitor) {
      this.staged = staged;
      this.visitor = visitor;
      advance();
    }

    private void advance() {
      next = staged.hasNext() ? staged.next() : null;
    }

    boolean visitStored(byte[] key, byte[] value) {
      while (next != null && Arrays.compareUnsigned(next.getKey(), key) < 0) {
        Map.Entry<byte[], byte[]> entry = next;
        advance();
        if (!emit(entry, visitor)) {
          stopped = true;
          return false;
        }
      }
      if (next != null && Arrays.compareUnsigned(next.getKey(), key) == 0) {
        Map.Entry<byte[], byte[]> entry = next;
        advance();
        stopped = !emit(entry, visitor);
        return !stopped;
      }
      stopped = !visitor.visit(key, value);
      return !stopped;
    }

    void finish() {
      while (!stopped && next != null) {
        Map.Entry<byte[], byte[]> entry = next;
        advance();
        stopped = !emit(entry, visitor);
      }
    }
  }

  private static boolean emit(Map.Entry<byte[], byte[]> entry, EntryVisitor visitor) {
    return entry.getValue() == DELETED || visitor.visit(entry.getKey(), entry.getValue());
  }

  /** The staged changes as one batch, meta included; the caller owns and closes it. */
  WriteBatch toWriteBatch() {
    if (parent != null) {
      throw new IllegalStateException("a txn staged over another is merged, not written");
    }
    WriteBatch batch = new WriteBatch();
    try {
      if (meta != null) {
        put(Column.META, Keys.META, meta.toByteArray());
      }
      for (Map.Entry<Column, TreeMap<byte[], byte[]>> e : staged.entrySet()) {
        var handle = store.handle(e.getKey());
        for (Map.Entry<byte[], byte[]> w : e.getValue().entrySet()) {
          if (w.getValue() == DELETED) {
            batch.delete(handle, w.getKey());
          } else {
            batch.put(handle, w.getKey(), w.getValue());
          }
        }
      }
      return batch;
    } catch (RocksDBException e) {
      batch.close();
      throw new NamespaceStorageException("cannot build the write batch", e);
    }
  }

  // ------------------------------------------------------------------ typed access

  NamespaceMeta meta() {
    if (meta == null && parent != null) {
      return parent.meta();
    }
    if (meta == null) {
      byte[] bytes = store.get(Column.META, readOptions, Keys.META);
      if (bytes == null) {
        throw new NamespaceStorageException("namespace store has no meta record");
      }
      meta = parse(NamespaceMeta.parser(), bytes, "meta");
    }
    return meta;
  }

  void setMeta(NamespaceMeta meta) {
    this.meta = meta;
  }

  Inode inode(long id) {
    byte[] bytes = get(Column.INODES, Keys.id(id));
    return bytes == null ? null : parse(Inode.parser(), bytes, "inode " + id);
  }

  void putInode(long id, Inode inode) {
    put(Column.INODES, Keys.id(id), inode.toByteArray());
  }

  void deleteInode(long id) {
    delete(Column.INODES, Keys.id(id));
  }

  /** The id of {@code name} in directory {@code parentId}, or 0. */
  long child(long parentId, String name) {
    byte[] value = get(Column.DENTRIES, Keys.dentry(parentId, name));
    return value == null ? 0 : Keys.readId(value, 0);
  }

  void putDentry(long parentId, String name, long childId) {
    put(Column.DENTRIES, Keys.dentry(parentId, name), Keys.id(childId));
  }

  void deleteDentry(long parentId, String name) {
    delete(Column.DENTRIES, Keys.dentry(parentId, name));
  }

  ChunkEntry chunk(long fileId, int index) {
    byte[] bytes = get(Column.CHUNKS, Keys.chunk(fileId, index));
    return bytes == null
        ? null
        : parse(ChunkEntry.parser(), bytes, "chunk " + fileId + "/" + index);
  }

  /** Stages the chunk and its entry in the chunk-owner index, which always goes with it. */
  void putChunk(long fileId, int index, ChunkEntry chunk) {
    byte[] key = Keys.chunk(fileId, index);
    put(Column.CHUNKS, key, chunk.toByteArray());
    put(Column.CHUNK_OWNERS, Keys.id(chunk.getChunkId()), key);
  }

  void deleteChunk(long fileId, int index, long chunkId) {
    delete(Column.CHUNKS, Keys.chunk(fileId, index));
    delete(Column.CHUNK_OWNERS, Keys.id(chunkId));
  }

  void putGarbage(long chunkId, GarbageChunk garbage) {
    put(Column.GARBAGE, Keys.id(chunkId), garbage.toByteArray());
  }

  boolean isGarbage(long chunkId) {
    return get(Column.GARBAGE, Keys.id(chunkId)) != null;
  }

  void deleteGarbage(long chunkId) {
    delete(Column.GARBAGE, Keys.id(chunkId));
  }

  void putLease(String holder, long fileId) {
    byte[] key = Keys.lease(holder, fileId);
    if (get(Column.LEASES, key) == null) {
      leaseDeltas.merge(holder, 1, Integer::sum);
    }
    put(Column.LEASES, key, new byte[0]);
  }

  void deleteLease(String holder, long fileId) {
    byte[] key = Keys.lease(holder, fileId);
    if (get(Column.LEASES, key) != null) {
      leaseDeltas.merge(holder, -1, Integer::sum);
    }
    delete(Column.LEASES, key);
  }

  /** The leases {@code holder} holds, this txn's staged changes included. */
  int leaseCount(String holder) {
    return (parent != null ? parent.leaseCount(holder) : leaseCounts.get(holder))
        + leaseDeltas.getOrDefault(holder, 0);
  }

  /** What this txn changes in the lease counts, for {@link LeaseCounts#apply} once it commits. */
  Map<String, Integer> leaseDeltas() {
    return leaseDeltas;
  }

  void enqueueReclaim(long id) {
    put(Column.RECLAIM, Keys.id(id), new byte[0]);
  }

  void dequeueReclaim(long id) {
    delete(Column.RECLAIM, Keys.id(id));
  }

  static <T> T parse(com.google.protobuf.Parser<T> parser, byte[] bytes, String what) {
    try {
      return parser.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new NamespaceStorageException("corrupt " + what + " in the namespace store", e);
    }
  }
}
