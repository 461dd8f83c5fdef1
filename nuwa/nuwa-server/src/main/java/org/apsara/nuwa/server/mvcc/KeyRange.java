package org.apsara.nuwa.server.mvcc;

import com.google.protobuf.ByteString;
import java.util.Collections;
import java.util.Comparator;
import java.util.NavigableMap;

/**
 * A set of keys named the way etcd requests name them: {@code range_end} empty means the single
 * key {@code key}; {@code range_end} equal to {@code "\0"} means every key at or after
 * {@code key}; anything else means the half-open interval [{@code key}, {@code range_end}).
 * Keys are ordered as unsigned bytes, as etcd (Go's {@code bytes.Compare}) orders them.
 */
final class KeyRange {
  /** The order of keys everywhere in the store. */
  static final Comparator<ByteString> KEY_ORDER = ByteString.unsignedLexicographicalComparator();

  private static final ByteString FROM_KEY = ByteString.copyFrom(new byte[] {0});

  private final ByteString begin;
  /** Exclusive upper bound; {@code null} when the range has none. */
  private final ByteString end;
  private final boolean singleKey;

  private KeyRange(ByteString begin, ByteString end, boolean singleKey) {
    this.begin = begin;
    this.end = end;
    this.singleKey = singleKey;
  }

  static KeyRange of(ByteString key, ByteString rangeEnd) {
    if (rangeEnd.isEmpty()) {
      return single(key);
    }
    if (rangeEnd.equals(FROM_KEY)) {
      return new KeyRange(key, null, false);
    }
    return new KeyRange(key, rangeEnd, false);
  }

  static KeyRange single(ByteString key) {
    return new KeyRange(key, null, true);
  }

  boolean isSingleKey() {
    return singleKey;
  }

  /** The first key of the range (the only one of a single-key range). */
  ByteString begin() {
    return begin;
  }

  boolean contains(ByteString key) {
    if (singleKey) {
      return begin.equals(key);
    }
    return KEY_ORDER.compare(key, begin) >= 0 && (end == null || KEY_ORDER.compare(key, end) < 0);
  }

  /**
   * The entries of {@code map} (ordered by {@link #KEY_ORDER}) whose keys are in a range that is
   * not a single key; a single key is looked up directly instead.
   */
  <V> NavigableMap<ByteString, V> slice(NavigableMap<ByteString, V> map) {
    if (singleKey) {
      throw new IllegalStateException("a single-key range is looked up, not sliced");
    }
    if (end == null) {
      return map.tailMap(begin, true);
    }
    if (KEY_ORDER.compare(begin, end) >= 0) {
      // etcd answers an inverted interval with nothing; subMap would throw instead.
      return Collections.emptyNavigableMap();
    }
    return map.subMap(begin, true, end, false);
  }

  @Override
  public String toString() {
    if (singleKey) {
      return "[" + begin.toStringUtf8() + "]";
    }
    return "[" + begin.toStringUtf8() + ", " + (end == null ? "+inf" : end.toStringUtf8()) + ")";
  }
}
