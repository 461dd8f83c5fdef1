package org.apsara.pangu.master.namespace;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apsara.pangu.master.namespace.NamespaceStore.Column;
import org.rocksdb.ReadOptions;

/**
 * How many leases each client holds, kept in memory beside the {@code leases} column so that the
 * open-file limit is checked in constant time. Counting the client's lease keys instead meant a
 * RocksDB scan per create that had to step over the tombstone of every lease the client ever
 * released: creating files slowed down with every file closed.
 *
 * <p>Derived state: built from the column when the namespace opens, then moved by the deltas of
 * each applied record, so every replica has the same counts. Thread-safe: the applier updates it,
 * the leader's dry runs read it.
 */
final class LeaseCounts {
  private final Map<String, Integer> counts = new ConcurrentHashMap<>();

  /** Counts the leases in {@code store}; one scan, when the namespace opens. */
  static LeaseCounts of(NamespaceStore store) {
    LeaseCounts leases = new LeaseCounts();
    try (ReadOptions ro = new ReadOptions()) {
      store.scan(Column.LEASES, ro, null, null, (key, value) -> {
        leases.counts.merge(Keys.leaseHolder(key), 1, Integer::sum);
        return true;
      });
    }
    return leases;
  }

  int get(String holder) {
    return counts.getOrDefault(holder, 0);
  }

  /** Adds what an applied record changed, holder by holder. */
  void apply(Map<String, Integer> deltas) {
    deltas.forEach((holder, delta) -> {
      if (delta != 0) {
        counts.compute(holder, (h, count) -> {
          int updated = (count == null ? 0 : count) + delta;
          if (updated < 0) {
            throw new IllegalStateException("client " + holder + " would hold " + updated
                + " leases");
          }
          return updated == 0 ? null : updated;
        });
      }
    });
  }
}
