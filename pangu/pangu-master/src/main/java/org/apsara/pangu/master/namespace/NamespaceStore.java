package org.apsara.pangu.master.namespace;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.Checkpoint;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.LRUCache;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Snapshot;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The RocksDB instance under the namespace: column families, reads, atomic batch writes,
 * checkpoints. Thread-safe; {@link #close()} waits for running operations and makes later ones
 * fail with {@link IllegalStateException} rather than touch freed native memory.
 */
final class NamespaceStore implements AutoCloseable {

  /** The column families, in the order they are opened. */
  enum Column {
    /** Holds only the meta record. */
    META("default"),
    INODES("inodes"),
    DENTRIES("dentries"),
    CHUNKS("chunks"),
    LEASES("leases"),
    RECLAIM("reclaim"),
    GARBAGE("garbage"),
    /** Chunk id -> (file id, chunk index): which file a replica a chunkserver reports belongs to. */
    CHUNK_OWNERS("chunk_owners");

    final String cfName;

    Column(String cfName) {
      this.cfName = cfName;
    }
  }

  static {
    RocksDbLibrary.load();
  }

  /**
   * Block cache shared by all column families. Path resolution reads a few inodes and directory
   * entries per component, so the hot upper levels of the tree should stay cached.
   */
  static final long BLOCK_CACHE_BYTES = 256L << 20;
  /**
   * Bloom filter bits per key: most lookups that miss are "does this name exist yet" checks
   * (create, mkdirs, rename), which a filter answers without reading a block.
   */
  static final double BLOOM_BITS_PER_KEY = 10;

  private final Path directory;
  private final DBOptions dbOptions;
  private final ColumnFamilyOptions cfOptions;
  private final LRUCache blockCache;
  private final BloomFilter bloomFilter;
  private final WriteOptions writeOptions;
  private final List<ColumnFamilyHandle> handles;
  private final RocksDB db;
  private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
  private boolean closed;

  private NamespaceStore(
      Path directory,
      DBOptions dbOptions,
      ColumnFamilyOptions cfOptions,
      LRUCache blockCache,
      BloomFilter bloomFilter,
      List<ColumnFamilyHandle> handles,
      RocksDB db) {
    this.directory = directory;
    this.dbOptions = dbOptions;
    this.cfOptions = cfOptions;
    this.blockCache = blockCache;
    this.bloomFilter = bloomFilter;
    this.handles = handles;
    this.db = db;
    // The Raft log is the durable record: after a crash RocksDB recovers a prefix of its WAL,
    // the applied index in that prefix says where replay resumes, so no fsync per batch.
    this.writeOptions = new WriteOptions().setSync(false);
  }

  static NamespaceStore open(Path directory) {
    try {
      Files.createDirectories(directory);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create namespace directory " + directory, e);
    }
    DBOptions dbOptions = new DBOptions()
        .setCreateIfMissing(true)
        .setCreateMissingColumnFamilies(true)
        // One apply thread writes; background work needs little parallelism.
        .setMaxBackgroundJobs(2);
    LRUCache blockCache = new LRUCache(BLOCK_CACHE_BYTES);
    BloomFilter bloomFilter = new BloomFilter(BLOOM_BITS_PER_KEY);
    ColumnFamilyOptions cfOptions = new ColumnFamilyOptions()
        .setTableFormatConfig(new BlockBasedTableConfig()
            .setBlockCache(blockCache)
            .setFilterPolicy(bloomFilter));
    List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
    for (Column column : Column.values()) {
      descriptors.add(new ColumnFamilyDescriptor(
          column.cfName.getBytes(StandardCharsets.UTF_8), cfOptions));
    }
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    try {
      RocksDB db = RocksDB.open(dbOptions, directory.toString(), descriptors, handles);
      return new NamespaceStore(
          directory, dbOptions, cfOptions, blockCache, bloomFilter, handles, db);
    } catch (RocksDBException e) {
      handles.forEach(ColumnFamilyHandle::close);
      cfOptions.close();
      bloomFilter.close();
      blockCache.close();
      dbOptions.close();
      throw new NamespaceStorageException("cannot open namespace store in " + directory, e);
    }
  }

  Path directory() {
    return directory;
  }

  byte[] get(Column column, ReadOptions readOptions, byte[] key) {
    lifecycle.readLock().lock();
    try {
      checkOpen();
      return db.get(handles.get(column.ordinal()), readOptions, key);
    } catch (RocksDBException e) {
      throw new NamespaceStorageException("read of " + column.cfName + " failed", e);
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  /**
   * Visits the entries of {@code column} from {@code from} (inclusive) to {@code to} (exclusive,
   * null for the end) in key order until the visitor returns false.
   */
  void scan(Column column, ReadOptions readOptions, byte[] from, byte[] to, EntryVisitor visitor) {
    lifecycle.readLock().lock();
    try {
      checkOpen();
      try (RocksIterator it = db.newIterator(handles.get(column.ordinal()), readOptions)) {
        if (from == null) {
          it.seekToFirst();
        } else {
          it.seek(from);
        }
        for (; it.isValid(); it.next()) {
          byte[] key = it.key();
          if (to != null && java.util.Arrays.compareUnsigned(key, to) >= 0) {
            break;
          }
          if (!visitor.visit(key, it.value())) {
            break;
          }
        }
        it.status();
      }
    } catch (RocksDBException e) {
      throw new NamespaceStorageException("scan of " + column.cfName + " failed", e);
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  /** Applies {@code batch} atomically: all of it or, after a crash, none of it. */
  void write(WriteBatch batch) {
    lifecycle.readLock().lock();
    try {
      checkOpen();
      db.write(writeOptions, batch);
    } catch (RocksDBException e) {
      throw new NamespaceStorageException("write of the namespace failed", e);
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  ColumnFamilyHandle handle(Column column) {
    return handles.get(column.ordinal());
  }

  /** A consistent point-in-time view; release with {@link #releaseSnapshot}. */
  Snapshot snapshot() {
    lifecycle.readLock().lock();
    try {
      checkOpen();
      return db.getSnapshot();
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  void releaseSnapshot(Snapshot snapshot) {
    lifecycle.readLock().lock();
    try {
      if (!closed) {
        db.releaseSnapshot(snapshot);
      }
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  /** Writes a RocksDB checkpoint (hard links where possible) into {@code target}, absent yet. */
  void checkpoint(Path target) {
    lifecycle.readLock().lock();
    try {
      checkOpen();
      try (Checkpoint checkpoint = Checkpoint.create(db)) {
        checkpoint.createCheckpoint(target.toString());
      }
    } catch (RocksDBException e) {
      throw new NamespaceStorageException("checkpoint into " + target + " failed", e);
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("namespace store " + directory + " is closed");
    }
  }

  @Override
  public void close() {
    lifecycle.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      handles.forEach(ColumnFamilyHandle::close);
      db.close();
      writeOptions.close();
      cfOptions.close();
      bloomFilter.close();
      blockCache.close();
      dbOptions.close();
    } finally {
      lifecycle.writeLock().unlock();
    }
  }

  @FunctionalInterface
  interface EntryVisitor {
    /** Returns false to stop the scan. */
    boolean visit(byte[] key, byte[] value);
  }
}
