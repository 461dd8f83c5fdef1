package org.apsara.nuwa.server.mvcc;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KeyValue;
import java.util.Arrays;

/**
 * The versions of one key, oldest first: each a {@link KeyValue} as etcd would return it, or a
 * tombstone (a {@code KeyValue} holding only the key and the deletion revision, version 0).
 *
 * <p>One writer appends; any number of readers look up versions concurrently without locks.
 * The writer stores a version in the array before it publishes the new size, and replaces the
 * array only by a larger copy, so a reader that reads the size and then the array always sees
 * at least that many fully built versions. Compaction never edits a history in place: it builds
 * a new one, so a reader holding the old one keeps a consistent view.
 */
final class KeyHistory {
  /** Room for a new key's first versions before its array must grow. */
  private static final int INITIAL_CAPACITY = 2;

  private final ByteString key;
  private volatile KeyValue[] versions;
  private volatile int size;

  KeyHistory(KeyValue first) {
    this.key = first.getKey();
    KeyValue[] initial = new KeyValue[INITIAL_CAPACITY];
    initial[0] = first;
    this.versions = initial;
    this.size = 1;
  }

  private KeyHistory(ByteString key, KeyValue[] versions) {
    this.key = key;
    this.versions = versions;
    this.size = versions.length;
  }

  static boolean isTombstone(KeyValue kv) {
    // A live key always has version >= 1; etcd marks a deletion by resetting it to 0.
    return kv.getVersion() == 0;
  }

  /** The same key as in every version; shared so that versions do not each hold a copy. */
  ByteString key() {
    return key;
  }

  int size() {
    return size;
  }

  KeyValue version(int index) {
    int n = size;
    if (index < 0 || index >= n) {
      throw new IndexOutOfBoundsException(index);
    }
    return versions[index];
  }

  /** The newest version, possibly a tombstone. */
  KeyValue latest() {
    int n = size;
    return versions[n - 1];
  }

  /**
   * The newest version written at or before {@code revision} (possibly a tombstone), or
   * {@code null} if the key had no version then.
   */
  KeyValue at(long revision) {
    int n = size;
    KeyValue[] v = versions;
    // Every write and every read at the current revision wants the newest version: no search.
    if (v[n - 1].getModRevision() <= revision) {
      return v[n - 1];
    }
    int low = 0;
    int high = n - 2;
    int found = -1;
    while (low <= high) {
      int mid = (low + high) >>> 1;
      if (v[mid].getModRevision() <= revision) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found < 0 ? null : v[found];
  }

  /** Appends a version; called by the single writer only. */
  void append(KeyValue kv) {
    int n = size;
    KeyValue[] v = versions;
    if (kv.getModRevision() < v[n - 1].getModRevision() || !kv.getKey().equals(key)) {
      throw new IllegalStateException("version " + kv.getModRevision() + " appended out of order");
    }
    if (n == v.length) {
      v = Arrays.copyOf(v, n * 2);
      versions = v;
    }
    v[n] = kv;
    size = n + 1;
  }

  /**
   * This history as compaction at {@code revision} leaves it: the newest version at or before
   * the revision is kept unless it is a tombstone, and everything older goes. Returns this
   * history if nothing goes, and {@code null} if nothing is left.
   */
  KeyHistory compactedAt(long revision) {
    int n = size;
    KeyValue[] v = versions;
    int newestAtOrBefore = -1;
    while (newestAtOrBefore + 1 < n && v[newestAtOrBefore + 1].getModRevision() <= revision) {
      newestAtOrBefore++;
    }
    if (newestAtOrBefore < 0) {
      return this;
    }
    int keepFrom = isTombstone(v[newestAtOrBefore]) ? newestAtOrBefore + 1 : newestAtOrBefore;
    if (keepFrom == 0) {
      return this;
    }
    if (keepFrom == n) {
      return null;
    }
    return new KeyHistory(key, Arrays.copyOfRange(v, keepFrom, n));
  }
}
