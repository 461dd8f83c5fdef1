package org.apsara.nuwa.server.auth;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A set of keys given as sorted, disjoint, non-touching half-open intervals: the keys one user may
 * read, or write, merged from all its roles' permissions. Because the intervals are merged, a
 * request's range is permitted exactly when one interval contains it, which one binary search
 * finds; a range that only the union of several permissions covers is therefore permitted too.
 *
 * <p>Ranges follow etcd's convention for both permissions and requests: an empty end is the single
 * key, an end of {@code "\0"} is every key from the start on, any other end is exclusive. Keys are
 * ordered as unsigned bytes. Immutable and thread-safe.
 */
public final class KeyIntervals {
  static final Comparator<ByteString> KEY_ORDER = ByteString.unsignedLexicographicalComparator();
  private static final ByteString FROM_KEY = ByteString.copyFrom(new byte[] {0});
  private static final ByteString ZERO_BYTE = FROM_KEY;

  public static final KeyIntervals EMPTY = new KeyIntervals(new ByteString[0], new ByteString[0]);

  /** Interval starts, ascending. */
  private final ByteString[] begins;
  /** Exclusive ends; {@code null} for an interval without end. Ascending, each past its begin. */
  private final ByteString[] ends;

  private KeyIntervals(ByteString[] begins, ByteString[] ends) {
    this.begins = begins;
    this.ends = ends;
  }

  /** One half-open interval [begin, end); {@code end == null} means no upper bound. */
  record Interval(ByteString begin, ByteString end) {
    /** The keys an etcd range names: see the class comment. */
    static Interval of(ByteString key, ByteString rangeEnd) {
      if (rangeEnd.isEmpty()) {
        // The single key is [key, key + "\0"): nothing sorts between a key and that successor.
        return new Interval(key, key.concat(ZERO_BYTE));
      }
      return new Interval(key, rangeEnd.equals(FROM_KEY) ? null : rangeEnd);
    }

    boolean isEmpty() {
      return end != null && KEY_ORDER.compare(begin, end) >= 0;
    }
  }

  /** The union of the given intervals; empty ones are ignored. */
  static KeyIntervals union(List<Interval> intervals) {
    List<Interval> sorted = new ArrayList<>();
    for (Interval interval : intervals) {
      if (!interval.isEmpty()) {
        sorted.add(interval);
      }
    }
    if (sorted.isEmpty()) {
      return EMPTY;
    }
    sorted.sort(Comparator.comparing(Interval::begin, KEY_ORDER));
    List<ByteString> begins = new ArrayList<>();
    List<ByteString> ends = new ArrayList<>();
    ByteString begin = sorted.get(0).begin();
    ByteString end = sorted.get(0).end();
    for (int i = 1; i < sorted.size(); i++) {
      Interval next = sorted.get(i);
      if (end == null || KEY_ORDER.compare(next.begin(), end) <= 0) {
        // Overlapping or touching: one interval. An unbounded end stays unbounded.
        if (end != null && (next.end() == null || KEY_ORDER.compare(next.end(), end) > 0)) {
          end = next.end();
        }
        continue;
      }
      begins.add(begin);
      ends.add(end);
      begin = next.begin();
      end = next.end();
    }
    begins.add(begin);
    ends.add(end);
    return new KeyIntervals(begins.toArray(new ByteString[0]), ends.toArray(new ByteString[0]));
  }

  /**
   * Whether every key of the etcd range ({@code key}, {@code rangeEnd}) is in this set. An empty
   * or inverted range is never covered (as in etcd, which denies it).
   */
  public boolean covers(ByteString key, ByteString rangeEnd) {
    Interval wanted = Interval.of(key, rangeEnd);
    if (wanted.isEmpty()) {
      return false;
    }
    int i = lastBeginAtOrBefore(wanted.begin());
    if (i < 0) {
      return false;
    }
    ByteString end = ends[i];
    if (end == null) {
      return true;
    }
    return wanted.end() != null && KEY_ORDER.compare(wanted.end(), end) <= 0;
  }

  /** Index of the last interval starting at or before {@code key}, or -1. */
  private int lastBeginAtOrBefore(ByteString key) {
    int low = 0;
    int high = begins.length - 1;
    int found = -1;
    while (low <= high) {
      int mid = (low + high) >>> 1;
      if (KEY_ORDER.compare(begins[mid], key) <= 0) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found;
  }

  /** Number of disjoint intervals, for tests and diagnostics. */
  int size() {
    return begins.length;
  }

  @Override
  public String toString() {
    StringBuilder text = new StringBuilder("{");
    for (int i = 0; i < begins.length; i++) {
      text.append(i == 0 ? "" : ", ").append('[').append(begins[i].toStringUtf8()).append(", ")
          .append(ends[i] == null ? "+inf" : ends[i].toStringUtf8()).append(')');
    }
    return text.append('}').toString();
  }
}
