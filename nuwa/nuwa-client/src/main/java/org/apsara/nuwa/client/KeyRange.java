package org.apsara.nuwa.client;

import com.google.protobuf.ByteString;
import java.util.Objects;

/**
 * A set of keys in etcd's terms: a start key and an exclusive end. Immutable.
 *
 * <p>An empty end means the start key alone; an end of a single zero byte means every key from the
 * start key on. Keys compare as unsigned bytes.
 */
public final class KeyRange {
  private static final ByteString ZERO = ByteString.copyFrom(new byte[] {0});
  private static final KeyRange ALL = new KeyRange(ZERO, ZERO);

  private final ByteString key;
  private final ByteString rangeEnd;

  private KeyRange(ByteString key, ByteString rangeEnd) {
    this.key = Objects.requireNonNull(key, "key");
    this.rangeEnd = Objects.requireNonNull(rangeEnd, "rangeEnd");
  }

  /** The one key {@code key}. */
  public static KeyRange key(ByteString key) {
    if (key.isEmpty()) {
      throw new IllegalArgumentException("key must not be empty");
    }
    return new KeyRange(key, ByteString.EMPTY);
  }

  public static KeyRange key(String key) {
    return key(ByteString.copyFromUtf8(key));
  }

  /** Every key that starts with {@code prefix}; every key at all if the prefix is empty. */
  public static KeyRange prefix(ByteString prefix) {
    if (prefix.isEmpty()) {
      return ALL;
    }
    return new KeyRange(prefix, prefixEnd(prefix));
  }

  public static KeyRange prefix(String prefix) {
    return prefix(ByteString.copyFromUtf8(prefix));
  }

  /** Keys from {@code from} (inclusive) to {@code toExclusive}. */
  public static KeyRange between(ByteString from, ByteString toExclusive) {
    if (from.isEmpty() || toExclusive.isEmpty()) {
      throw new IllegalArgumentException("range bounds must not be empty");
    }
    return new KeyRange(from, toExclusive);
  }

  public static KeyRange between(String from, String toExclusive) {
    return between(ByteString.copyFromUtf8(from), ByteString.copyFromUtf8(toExclusive));
  }

  /** Every key greater than or equal to {@code from}. */
  public static KeyRange atLeast(ByteString from) {
    if (from.isEmpty()) {
      throw new IllegalArgumentException("key must not be empty");
    }
    return new KeyRange(from, ZERO);
  }

  public static KeyRange atLeast(String from) {
    return atLeast(ByteString.copyFromUtf8(from));
  }

  /** Every key. */
  public static KeyRange all() {
    return ALL;
  }

  /** The first key of the range. */
  public ByteString key() {
    return key;
  }

  /** The exclusive end as etcd encodes it: empty for a single key, {@code \0} for no bound. */
  public ByteString rangeEnd() {
    return rangeEnd;
  }

  public boolean isSingleKey() {
    return rangeEnd.isEmpty();
  }

  /** Whether {@code candidate} falls in this range. */
  public boolean contains(ByteString candidate) {
    if (isSingleKey()) {
      return key.equals(candidate);
    }
    if (ByteString.unsignedLexicographicalComparator().compare(candidate, key) < 0) {
      return false;
    }
    return rangeEnd.equals(ZERO)
        || ByteString.unsignedLexicographicalComparator().compare(candidate, rangeEnd) < 0;
  }

  /**
   * The smallest key greater than every key with this prefix: the prefix with its last byte that is
   * not 0xff incremented, and what follows dropped. A prefix of only 0xff bytes has no such key, so
   * the range runs to the end of the key space.
   */
  static ByteString prefixEnd(ByteString prefix) {
    byte[] end = prefix.toByteArray();
    for (int i = end.length - 1; i >= 0; i--) {
      if (end[i] != (byte) 0xff) {
        end[i]++;
        return ByteString.copyFrom(end, 0, i + 1);
      }
    }
    return ZERO;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KeyRange other && key.equals(other.key) && rangeEnd.equals(other.rangeEnd);
  }

  @Override
  public int hashCode() {
    return 31 * key.hashCode() + rangeEnd.hashCode();
  }

  @Override
  public String toString() {
    if (isSingleKey()) {
      return "KeyRange[" + key.toStringUtf8() + "]";
    }
    String end = rangeEnd.equals(ZERO) ? "end" : rangeEnd.toStringUtf8();
    return "KeyRange[" + key.toStringUtf8() + ", " + end + ")";
  }
}
