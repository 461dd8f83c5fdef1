package org.apsara.tenant.server.store;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apsara.nuwa.client.Cmp;
import org.apsara.nuwa.client.GetOptions;
import org.apsara.nuwa.client.GetResponse;
import org.apsara.nuwa.client.KeyRange;
import org.apsara.nuwa.client.KeyValue;
import org.apsara.nuwa.client.KvClient;

/**
 * Reads the store as of one revision and remembers what was read, as guards: comparisons that hold
 * as long as nothing read has changed. A change decided from these reads and committed in one
 * transaction with the guards is applied only if the world it was decided in still holds, so
 * concurrent changes serialize (optimistic concurrency control, like etcd's STM with serializable
 * isolation).
 *
 * <p>A key read has a guard on its exact state: created at no revision (absent) or last modified at
 * the revision seen. A prefix read (a list or a count) has a guard that no key in it was created or
 * modified after the read revision; a key <em>deleted</em> from the prefix is not detected. Callers
 * use prefix reads only for what deletions cannot falsify: that something is absent, or that a count
 * is below a limit.
 *
 * <p>Not thread-safe: one instance serves one attempt of one change.
 */
final class SnapshotReads {
  private final KvClient kv;
  // Keyed by key or prefix, so that reading the same thing twice leaves one guard.
  private final Map<String, Cmp> guards = new LinkedHashMap<>();
  private long revision;

  SnapshotReads(KvClient kv) {
    this.kv = kv;
  }

  /** The revision every read sees; 0 before the first read. */
  long revision() {
    return revision;
  }

  /** The key, if it exists. */
  Optional<KeyValue> get(String key) {
    Optional<KeyValue> found = read(KeyRange.key(key), GetOptions.builder()).first();
    guards.put(key, found.isEmpty()
        ? Cmp.createRevision(key).equalTo(0)
        : Cmp.modRevision(key).equalTo(found.get().modRevision()));
    return found;
  }

  /** Every key under {@code prefix}, in key order. */
  List<KeyValue> list(String prefix) {
    List<KeyValue> kvs = read(KeyRange.prefix(prefix), GetOptions.builder()).kvs();
    guardPrefix(prefix);
    return kvs;
  }

  /** How many keys are under {@code prefix}. */
  long count(String prefix) {
    long count = read(KeyRange.prefix(prefix), GetOptions.builder().countOnly(true)).count();
    guardPrefix(prefix);
    return count;
  }

  /** The guards of every read so far. */
  List<Cmp> guards() {
    return new ArrayList<>(guards.values());
  }

  private void guardPrefix(String prefix) {
    guards.put(prefix, Cmp.modRevision(KeyRange.prefix(prefix)).lessThan(revision + 1));
  }

  private GetResponse read(KeyRange range, GetOptions.Builder options) {
    // The first read is linearizable and fixes the revision; later ones read as of it.
    GetResponse response = kv.get(range, options.revision(revision).build());
    if (revision == 0) {
      revision = response.header().revision();
    }
    return response;
  }
}
