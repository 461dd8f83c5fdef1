package org.apsara.nuwa.server.mvcc;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KeyValue;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ConcurrentSkipListSet;

/**
 * The granted leases and the keys attached to each. Which lease a key is attached to is part of
 * the key's current version ({@link KeyValue#getLease()}); this table is the reverse index, kept
 * in step by {@link #onKeyChanged} as each change is committed.
 *
 * <p>Written by the apply thread only; readers on other threads see each lease and key set as
 * of some moment, not tied to a revision.
 */
final class LeaseTable {
  static final long NO_LEASE = 0;

  /** One granted lease. */
  static final class Lease {
    final long id;
    final long ttlSeconds;
    /** Attached keys in key order, which is also the order a revocation deletes them in. */
    final ConcurrentSkipListSet<ByteString> keys = new ConcurrentSkipListSet<>(KeyRange.KEY_ORDER);

    Lease(long id, long ttlSeconds) {
      this.id = id;
      this.ttlSeconds = ttlSeconds;
    }
  }

  private final ConcurrentSkipListMap<Long, Lease> leases = new ConcurrentSkipListMap<>();
  /** How many leases there are, kept beside the map, whose {@code size()} walks it. */
  private volatile int count;

  boolean contains(long id) {
    return leases.containsKey(id);
  }

  Lease get(long id) {
    return leases.get(id);
  }

  void grant(long id, long ttlSeconds) {
    if (leases.putIfAbsent(id, new Lease(id, ttlSeconds)) != null) {
      throw new IllegalStateException("lease " + id + " granted twice");
    }
    count++; // single writer
  }

  Lease remove(long id) {
    Lease removed = leases.remove(id);
    if (removed != null) {
      count--;
    }
    return removed;
  }

  /** The number of granted leases; any thread. */
  int count() {
    return count;
  }

  /** Lease IDs in ascending order. */
  List<Long> ids() {
    return new ArrayList<>(leases.keySet());
  }

  /** All leases in ascending ID order. */
  Collection<Lease> all() {
    return leases.values();
  }

  /**
   * Moves {@code key} from the lease of its old version to the lease of its new one; either may
   * be absent or a tombstone, which belongs to no lease.
   */
  void onKeyChanged(ByteString key, KeyValue before, KeyValue after) {
    long from = leaseOf(before);
    long to = leaseOf(after);
    if (from == to) {
      return;
    }
    if (from != NO_LEASE) {
      Lease old = leases.get(from);
      if (old != null) {
        old.keys.remove(key);
      }
    }
    if (to != NO_LEASE) {
      Lease lease = leases.get(to);
      if (lease == null) {
        // The write path checks the lease before staging anything; reaching this is a bug.
        throw new IllegalStateException("key attached to unknown lease " + to);
      }
      lease.keys.add(key);
    }
  }

  private static long leaseOf(KeyValue kv) {
    return kv == null || KeyHistory.isTombstone(kv) ? NO_LEASE : kv.getLease();
  }
}
