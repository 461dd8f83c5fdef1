package org.apsara.pangu.master.namespace;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;
import org.apsara.pangu.master.namespace.NamespaceStore.Column;

/**
 * Stored values that every path resolution reads (inodes and directory entries), kept in the
 * heap so that the leader's dry run, the apply and the reads do not each fetch them from RocksDB
 * again: a file's create, close, stat and delete all walk the same ancestors.
 *
 * <p><b>Why a cached value is the one a reader's snapshot holds.</b> Each entry carries the applied
 * index from which its value holds; it holds until the entry is removed, and the apply removes the
 * entry of every key it writes before that write reaches RocksDB. A reader whose RocksDB snapshot
 * holds at least applied index S (the applied index it read before taking the snapshot) uses an
 * entry valid from W &lt;= S only: any write of that key its snapshot holds reached RocksDB before
 * the snapshot was taken, so it removed the entry before the reader looked it up, and whatever
 * entry the apply put back afterwards is valid from that write's index, which the reader skips
 * unless it is at most S. Only the apply adds entries, holding the apply lock, with values it read
 * from or wrote to the latest state, so a reader of an older snapshot never puts back an outdated
 * value. Absent keys are not cached.
 *
 * <p>Values are shared, never copied: nobody may modify an array it got from the cache.
 *
 * <p>Thread-safe: the apply thread adds and removes, any thread looks up.
 */
final class AppliedValueCache {
  /**
   * Heap an entry takes, estimated high: its key and value arrays (an inode some 60 bytes, a
   * directory entry's name as long as it is), the key's {@code ByteBuffer}, the entry record and
   * the map's node.
   */
  static final long BYTES_PER_ENTRY = 256;
  /** The share of the heap the cache may fill: 1 in {@value}. */
  static final long HEAP_SHARE_DIVISOR = 8;
  /** Entries kept at least, whatever the heap: enough for the paths of a busy directory. */
  static final int ENTRIES_MIN = 10_000;

  private record Entry(byte[] value, long validFromIndex) {}

  private final int entriesMax;
  private final ConcurrentHashMap<ByteBuffer, Entry> inodes = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<ByteBuffer, Entry> dentries = new ConcurrentHashMap<>();

  /** A cache sized to this JVM's heap (see {@link #entriesFor}). */
  AppliedValueCache() {
    this(entriesFor(Runtime.getRuntime().maxMemory()));
  }

  /**
   * A cache of at most {@code entriesMax} values. When it is full it starts over empty: a rare,
   * cheap reset that only costs misses, instead of bookkeeping on every hit.
   */
  AppliedValueCache(int entriesMax) {
    if (entriesMax < 1) {
      throw new IllegalArgumentException("entriesMax must be positive: " + entriesMax);
    }
    this.entriesMax = entriesMax;
  }

  /**
   * The entries a heap of {@code heapBytes} holds in an eighth of itself (a 1 GiB heap: 524,288,
   * the inodes and directory entries of a quarter of a million files), at least {@link
   * #ENTRIES_MIN}. A fixed bound would make every namespace walk read RocksDB again as soon as the
   * files in use outgrow it.
   */
  static int entriesFor(long heapBytes) {
    long entries = heapBytes / HEAP_SHARE_DIVISOR / BYTES_PER_ENTRY;
    return (int) Math.max(ENTRIES_MIN, Math.min(Integer.MAX_VALUE, entries));
  }

  /** Entries kept at most. */
  int entriesMax() {
    return entriesMax;
  }

  /** Whether values of {@code column} are cached. */
  static boolean caches(Column column) {
    return column == Column.INODES || column == Column.DENTRIES;
  }

  /**
   * The value of {@code key} in a state that holds at least applied index {@code stateIndex}, or
   * null if the cache cannot tell (read it from the store then).
   */
  byte[] get(Column column, byte[] key, long stateIndex) {
    Entry entry = map(column).get(ByteBuffer.wrap(key));
    return entry != null && entry.validFromIndex <= stateIndex ? entry.value : null;
  }

  /**
   * Records that {@code key} holds {@code value} from applied index {@code validFromIndex} on.
   * Only the apply may call this, holding the apply lock, with a value of the latest state.
   */
  void put(Column column, byte[] key, byte[] value, long validFromIndex) {
    ConcurrentHashMap<ByteBuffer, Entry> map = map(column);
    if (inodes.size() + dentries.size() >= entriesMax) {
      inodes.clear();
      dentries.clear();
    }
    map.put(ByteBuffer.wrap(key), new Entry(value, validFromIndex));
  }

  /** Forgets {@code key}; the apply calls it before a write of the key reaches the store. */
  void remove(Column column, byte[] key) {
    map(column).remove(ByteBuffer.wrap(key));
  }

  /** Entries held, for tests. */
  int size() {
    return inodes.size() + dentries.size();
  }

  private ConcurrentHashMap<ByteBuffer, Entry> map(Column column) {
    return switch (column) {
      case INODES -> inodes;
      case DENTRIES -> dentries;
      default -> throw new IllegalArgumentException(column + " is not cached");
    };
  }
}
