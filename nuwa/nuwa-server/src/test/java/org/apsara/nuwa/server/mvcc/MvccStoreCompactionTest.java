package org.apsara.nuwa.server.mvcc;

import static org.apsara.nuwa.server.mvcc.Kv.all;
import static org.apsara.nuwa.server.mvcc.Kv.assertFails;
import static org.apsara.nuwa.server.mvcc.Kv.bs;
import static org.apsara.nuwa.server.mvcc.Kv.delete;
import static org.apsara.nuwa.server.mvcc.Kv.get;
import static org.apsara.nuwa.server.mvcc.Kv.keys;
import static org.apsara.nuwa.server.mvcc.Kv.kv;
import static org.apsara.nuwa.server.mvcc.Kv.only;
import static org.apsara.nuwa.server.mvcc.Kv.put;
import static org.apsara.nuwa.server.mvcc.Kv.values;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.CompactionResponse;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.TxnRequest;
import org.apsara.nuwa.api.NuwaErrors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MvccStoreCompactionTest {
  private final MvccStore store = new MvccStore();

  private static CompactionRequest at(long revision) {
    return CompactionRequest.newBuilder().setRevision(revision).build();
  }

  @BeforeEach
  void setUp() {
    store.put(put("a", "1")); // 2
    store.put(put("b", "1")); // 3
    store.put(put("a", "2")); // 4
    store.deleteRange(delete("b")); // 5
    store.put(put("c", "1")); // 6
    store.put(put("a", "3")); // 7
  }

  @Test
  void refusesRevisionsNotAboveTheLastCompactionOrInTheFuture() {
    assertFails(() -> store.compact(at(8)), NuwaErrors.FUTURE_REVISION);
    assertFails(() -> store.compact(at(0)), NuwaErrors.COMPACTED);
    store.compact(at(4));
    assertFails(() -> store.compact(at(4)), NuwaErrors.COMPACTED);
    assertFails(() -> store.compact(at(3)), NuwaErrors.COMPACTED);
    assertThat(store.compactRevision()).isEqualTo(4);
  }

  @Test
  void keepsTheStateAtTheCompactRevisionAndAfter() {
    RangeResponse atFive = store.range(all().setRevision(5).build());
    RangeResponse atSix = store.range(all().setRevision(6).build());
    CompactionResponse response = store.compact(at(5));
    assertThat(response.getHeader().getRevision()).isEqualTo(7);
    assertThat(store.revision()).as("compaction is not a write").isEqualTo(7);
    assertThat(store.range(all().setRevision(5).build())).isEqualTo(atFive);
    assertThat(store.range(all().setRevision(6).build())).isEqualTo(atSix);
    assertFails(() -> store.range(all().setRevision(4).build()), NuwaErrors.COMPACTED);
    assertThat(only(store.range(get("a")))).isEqualTo(kv("a", "3", 2, 7, 3, 0));
  }

  @Test
  void dropsEventsBeforeTheCompactRevisionOnly() {
    store.compact(at(5));
    assertFails(() -> store.events(4, bs("\0"), bs("\0"), false, 100), NuwaErrors.COMPACTED);
    assertThat(store.events(5, bs("\0"), bs("\0"), false, 100))
        .extracting(e -> e.getKv().getModRevision())
        .as("the deletion at the compact revision stays watchable")
        .containsExactly(5L, 6L, 7L);
    assertThat(store.events(5, bs("\0"), bs("\0"), true, 100).get(0).hasPrevKv())
        .as("its previous version is compacted").isFalse();
    Event seven = store.events(7, bs("a"), bs(""), true, 100).get(0);
    assertThat(seven.getPrevKv()).as("prev of a later event is readable")
        .isEqualTo(kv("a", "2", 2, 4, 2, 0));
  }

  @Test
  void forgetsKeysDeletedAtOrBeforeTheCompactRevision() {
    store.compact(at(5));
    assertThat(keys(store.range(all().setRevision(5).build()))).containsExactly("a");
    store.put(put("b", "again")); // 8
    assertThat(only(store.range(get("b")))).isEqualTo(kv("b", "again", 8, 8, 1, 0));
    assertThat(store.range(get("b").toBuilder().setRevision(7).build()).getCount()).isZero();
  }

  @Test
  void compactsAtTheCurrentRevision() {
    store.compact(at(7));
    assertThat(keys(store.range(all().build()))).containsExactly("a", "c");
    assertThat(store.events(7, bs("\0"), bs("\0"), false, 100)).hasSize(1);
    store.txn(TxnRequest.newBuilder().addSuccess(Kv.op(put("d", "1"))).build());
    assertThat(values(store.range(all().build()))).containsExactly("3", "1", "1");
    assertThat(store.events(7, bs("\0"), bs("\0"), false, 100)).hasSize(2);
  }

  @Test
  void compactsRepeatedly() {
    store.compact(at(3));
    store.compact(at(6));
    assertThat(store.compactRevision()).isEqualTo(6);
    assertThat(keys(store.range(all().setRevision(6).build()))).containsExactly("a", "c");
    assertThat(values(store.range(get("a").toBuilder().setRevision(6).build())))
        .containsExactly("2");
  }
}
