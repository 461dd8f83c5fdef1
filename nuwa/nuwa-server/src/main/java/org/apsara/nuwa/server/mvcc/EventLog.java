package org.apsara.nuwa.server.mvcc;

import io.etcd.jetcd.api.KeyValue;
import java.util.Arrays;

/**
 * The changes of every revision since compaction, in revision order; within a revision, in
 * sub-revision order. A change is the {@link KeyValue} the revision wrote (a tombstone for a
 * deletion), the very object the key's {@link KeyHistory} holds.
 *
 * <p>Every revision after the first has at least one change, so revision {@code r} lives at
 * index {@code r - firstRevision}. One writer appends; readers look up concurrently without
 * locks, with the same publication rule as {@link KeyHistory}. Compaction builds a new log.
 */
final class EventLog {
  /** The first revision that can carry changes: the store starts empty at revision 1. */
  static final long FIRST_WRITE_REVISION = 2;

  private static final int INITIAL_CAPACITY = 1024;

  private final long firstRevision;
  private volatile KeyValue[][] revisions;
  private volatile int size;

  EventLog(long firstRevision) {
    this(firstRevision, new KeyValue[INITIAL_CAPACITY][], 0);
  }

  private EventLog(long firstRevision, KeyValue[][] revisions, int size) {
    this.firstRevision = firstRevision;
    this.revisions = revisions;
    this.size = size;
  }

  /** The oldest revision the log can hold changes of. */
  long firstRevision() {
    return firstRevision;
  }

  /** The changes of {@code revision}, or {@code null} if the log does not hold it. */
  KeyValue[] changesAt(long revision) {
    int n = size;
    KeyValue[][] r = revisions;
    long index = revision - firstRevision;
    if (index < 0 || index >= n) {
      return null;
    }
    return r[(int) index];
  }

  /** Appends the changes of the next revision; called by the single writer only. */
  void append(long revision, KeyValue[] changes) {
    int n = size;
    if (revision != firstRevision + n) {
      throw new IllegalStateException(
          "revision " + revision + " appended after " + (firstRevision + n - 1));
    }
    if (changes.length == 0) {
      throw new IllegalStateException("revision " + revision + " has no changes");
    }
    KeyValue[][] r = revisions;
    if (n == r.length) {
      r = Arrays.copyOf(r, n * 2);
      revisions = r;
    }
    r[n] = changes;
    size = n + 1;
  }

  /** The log without the revisions before {@code revision}. */
  EventLog compactedAt(long revision) {
    int n = size;
    KeyValue[][] r = revisions;
    long drop = Math.min(Math.max(0, revision - firstRevision), n);
    if (drop == 0) {
      return this;
    }
    int kept = n - (int) drop;
    KeyValue[][] copy = new KeyValue[Math.max(INITIAL_CAPACITY, kept * 2)][];
    System.arraycopy(r, (int) drop, copy, 0, kept);
    return new EventLog(firstRevision + drop, copy, kept);
  }
}
