package org.apsara.nuwa.server.mvcc;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KeyValue;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Predicate;

/**
 * Every key's {@link KeyHistory}, in key order. Written by the apply thread only; read by any
 * thread through {@link #at(long)}, which filters out versions newer than the reader's revision,
 * so versions the writer has appended but not yet published stay invisible.
 */
final class KeyIndex {
  /**
   * Rough heap cost of one version beyond its key and value bytes: the {@link KeyValue} object
   * and its slots in the key's history and in the event log.
   */
  static final long VERSION_OVERHEAD_BYTES = 96;

  /** In key order, for ranges and snapshots. */
  private final ConcurrentSkipListMap<ByteString, KeyHistory> histories =
      new ConcurrentSkipListMap<>(KeyRange.KEY_ORDER);
  /**
   * The same histories by key, for the lookups of single keys that every write makes (three
   * per put): a hash lookup touches a few cache lines where the ordered map compares the key
   * with a dozen others. Updated after {@link #histories}; a reader that finds a key in one map
   * and not yet in the other sees it a moment earlier or later, which its revision hides.
   */
  private final ConcurrentHashMap<ByteString, KeyHistory> byKey = new ConcurrentHashMap<>();
  /** Sum of {@link #approximateBytes(KeyValue)} over every version held; single writer. */
  private volatile long approximateBytes;

  /** A view of the live keys as of {@code revision}. */
  KvReader at(long revision) {
    return new RevisionView(revision);
  }

  KeyHistory history(ByteString key) {
    return byKey.get(key);
  }

  /**
   * The instance of {@code key} the index already holds, so that new versions share it rather
   * than keep the copy each request carries.
   */
  ByteString canonicalKey(ByteString key) {
    KeyHistory history = byKey.get(key);
    return history == null ? key : history.key();
  }

  /**
   * Appends a version (apply thread only) and returns the key's previous newest version, or
   * {@code null} if the key had none.
   */
  KeyValue append(KeyValue kv) {
    approximateBytes += approximateBytes(kv);
    KeyHistory history = byKey.get(kv.getKey());
    if (history == null) {
      // Built complete before it is inserted, so no reader ever sees an empty history.
      KeyHistory first = new KeyHistory(kv);
      histories.put(kv.getKey(), first);
      byKey.put(kv.getKey(), first);
      return null;
    }
    KeyValue previous = history.latest();
    history.append(kv);
    return previous;
  }

  /** Drops the versions that compaction at {@code revision} makes unreachable. */
  void compact(long revision) {
    long bytes = 0;
    Iterator<Map.Entry<ByteString, KeyHistory>> it = histories.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<ByteString, KeyHistory> entry = it.next();
      KeyHistory before = entry.getValue();
      KeyHistory after = before.compactedAt(revision);
      if (after == null) {
        it.remove();
        byKey.remove(entry.getKey());
        continue;
      }
      if (after != before) {
        // A whole new history, never an edit in place: readers may still hold the old one.
        histories.put(entry.getKey(), after);
        byKey.put(entry.getKey(), after);
      }
      for (int i = 0; i < after.size(); i++) {
        bytes += approximateBytes(after.version(i));
      }
    }
    approximateBytes = bytes;
  }

  /** Roughly how many bytes of heap the versions held take. */
  long approximateBytes() {
    return approximateBytes;
  }

  private static long approximateBytes(KeyValue kv) {
    return kv.getKey().size() + kv.getValue().size() + VERSION_OVERHEAD_BYTES;
  }

  /** All histories in key order; for snapshots and checks on the apply thread. */
  Collection<KeyHistory> histories() {
    return histories.values();
  }

  private final class RevisionView implements KvReader {
    private final long revision;

    RevisionView(long revision) {
      this.revision = revision;
    }

    @Override
    public KeyValue get(ByteString key) {
      KeyHistory history = byKey.get(key);
      return history == null ? null : live(history.at(revision));
    }

    @Override
    public void scan(KeyRange range, Predicate<KeyValue> visitor) {
      if (range.isSingleKey()) {
        KeyValue kv = get(range.begin());
        if (kv != null) {
          visitor.test(kv);
        }
        return;
      }
      for (KeyHistory history : range.slice(histories).values()) {
        KeyValue kv = live(history.at(revision));
        if (kv != null && !visitor.test(kv)) {
          return;
        }
      }
    }
  }

  static KeyValue live(KeyValue kv) {
    return kv == null || KeyHistory.isTombstone(kv) ? null : kv;
  }
}
