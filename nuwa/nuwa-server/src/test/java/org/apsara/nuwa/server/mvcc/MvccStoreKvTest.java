package org.apsara.nuwa.server.mvcc;

import static org.apsara.nuwa.server.mvcc.Kv.all;
import static org.apsara.nuwa.server.mvcc.Kv.assertFails;
import static org.apsara.nuwa.server.mvcc.Kv.assertInvalid;
import static org.apsara.nuwa.server.mvcc.Kv.bs;
import static org.apsara.nuwa.server.mvcc.Kv.delete;
import static org.apsara.nuwa.server.mvcc.Kv.get;
import static org.apsara.nuwa.server.mvcc.Kv.keys;
import static org.apsara.nuwa.server.mvcc.Kv.kv;
import static org.apsara.nuwa.server.mvcc.Kv.only;
import static org.apsara.nuwa.server.mvcc.Kv.put;
import static org.apsara.nuwa.server.mvcc.Kv.range;
import static org.apsara.nuwa.server.mvcc.Kv.values;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.DeleteRangeResponse;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.PutResponse;
import io.etcd.jetcd.api.RangeRequest.SortOrder;
import io.etcd.jetcd.api.RangeRequest.SortTarget;
import io.etcd.jetcd.api.RangeResponse;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.api.NuwaLimits;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class MvccStoreKvTest {
  private final MvccStore store = new MvccStore();

  @Test
  void emptyStoreStartsAtRevisionOneNeverCompacted() {
    assertThat(store.revision()).isEqualTo(1);
    assertThat(store.compactRevision()).isZero();
    RangeResponse response = store.range(all().build());
    assertThat(response.getKvsList()).isEmpty();
    assertThat(response.getCount()).isZero();
    assertThat(response.getHeader().getRevision()).isEqualTo(1);
  }

  @Nested
  class Put {
    @Test
    void eachPutAdvancesTheRevisionByOne() {
      assertThat(store.put(put("a", "1")).getHeader().getRevision()).isEqualTo(2);
      assertThat(store.put(put("b", "1")).getHeader().getRevision()).isEqualTo(3);
      assertThat(store.put(put("a", "2")).getHeader().getRevision()).isEqualTo(4);
      assertThat(store.revision()).isEqualTo(4);
    }

    @Test
    void versionsCountModificationsAndCreateRevisionStays() {
      store.put(put("a", "1"));
      store.put(put("b", "x"));
      store.put(put("a", "2"));
      assertThat(only(store.range(get("a")))).isEqualTo(kv("a", "2", 2, 4, 2, 0));
      assertThat(only(store.range(get("b")))).isEqualTo(kv("b", "x", 3, 3, 1, 0));
    }

    @Test
    void deletionResetsVersionAndCreateRevision() {
      store.put(put("a", "1"));
      store.put(put("a", "2"));
      store.deleteRange(delete("a"));
      assertThat(store.range(get("a")).getKvsList()).isEmpty();
      store.put(put("a", "3"));
      assertThat(only(store.range(get("a")))).isEqualTo(kv("a", "3", 5, 5, 1, 0));
    }

    @Test
    void prevKvIsTheVersionReplaced() {
      PutResponse first = store.put(put("a", "1").toBuilder().setPrevKv(true).build());
      assertThat(first.hasPrevKv()).isFalse();
      PutResponse second = store.put(put("a", "2").toBuilder().setPrevKv(true).build());
      assertThat(second.getPrevKv()).isEqualTo(kv("a", "1", 2, 2, 1, 0));
      PutResponse third = store.put(put("a", "3"));
      assertThat(third.hasPrevKv()).as("only when asked").isFalse();
    }

    @Test
    void ignoreValueKeepsTheValue() {
      store.put(put("a", "1"));
      store.put(PutRequest.newBuilder().setKey(bs("a")).setIgnoreValue(true).build());
      assertThat(only(store.range(get("a")))).isEqualTo(kv("a", "1", 2, 3, 2, 0));
    }

    @Test
    void ignoreValueOrLeaseOnAMissingKeyFailsWithoutChange() {
      assertFails(() -> store.put(PutRequest.newBuilder().setKey(bs("a")).setIgnoreValue(true)
          .build()), NuwaErrors.KEY_NOT_FOUND);
      assertFails(() -> store.put(PutRequest.newBuilder().setKey(bs("a")).setValue(bs("v"))
          .setIgnoreLease(true).build()), NuwaErrors.KEY_NOT_FOUND);
      assertThat(store.revision()).isEqualTo(1);
    }

    @Test
    void invalidPutsAreRejected() {
      assertFails(() -> store.put(put("", "v")), NuwaErrors.EMPTY_KEY);
      assertFails(() -> store.put(put("a", "v").toBuilder().setIgnoreValue(true).build()),
          NuwaErrors.VALUE_PROVIDED);
      assertFails(() -> store.put(put("a", "v").toBuilder().setIgnoreLease(true).setLease(7)
          .build()), NuwaErrors.LEASE_PROVIDED);
      ByteString huge = ByteString.copyFrom(new byte[NuwaLimits.MAX_REQUEST_BYTES]);
      assertFails(() -> store.put(PutRequest.newBuilder().setKey(bs("a")).setValue(huge).build()),
          NuwaErrors.REQUEST_TOO_LARGE);
      assertThat(store.revision()).isEqualTo(1);
    }
  }

  @Nested
  class DeleteRange {
    @Test
    void deletesTheRangeInOneRevisionAndReportsPrevKvs() {
      store.put(put("a", "1"));
      store.put(put("b", "2"));
      store.put(put("c", "3"));
      DeleteRangeResponse response =
          store.deleteRange(delete("a", "c").toBuilder().setPrevKv(true).build());
      assertThat(response.getDeleted()).isEqualTo(2);
      assertThat(response.getHeader().getRevision()).isEqualTo(5);
      assertThat(response.getPrevKvsList())
          .containsExactly(kv("a", "1", 2, 2, 1, 0), kv("b", "2", 3, 3, 1, 0));
      assertThat(keys(store.range(all().build()))).containsExactly("c");
    }

    @Test
    void deletingNothingKeepsTheRevision() {
      store.put(put("a", "1"));
      DeleteRangeResponse response = store.deleteRange(delete("b"));
      assertThat(response.getDeleted()).isZero();
      assertThat(response.getHeader().getRevision()).isEqualTo(2);
      assertThat(store.revision()).isEqualTo(2);
      assertThat(store.events(0, bs("\0"), bs("\0"), false, 100)).hasSize(1);
    }

    @Test
    void prevKvsOnlyWhenAsked() {
      store.put(put("a", "1"));
      assertThat(store.deleteRange(delete("a")).getPrevKvsList()).isEmpty();
    }

    @Test
    void deleteFromKeyAndDeleteAll() {
      for (String key : new String[] {"a", "b", "c", "d"}) {
        store.put(put(key, key));
      }
      assertThat(store.deleteRange(delete("c", "\0")).getDeleted()).isEqualTo(2);
      assertThat(keys(store.range(all().build()))).containsExactly("a", "b");
      assertThat(store.deleteRange(delete("\0", "\0")).getDeleted()).isEqualTo(2);
      assertThat(store.range(all().build()).getCount()).isZero();
    }

    @Test
    void emptyKeyIsRejected() {
      assertFails(() -> store.deleteRange(delete("")), NuwaErrors.EMPTY_KEY);
    }
  }

  @Nested
  class Range {
    private void putAll(String... keysAndValues) {
      for (int i = 0; i < keysAndValues.length; i += 2) {
        store.put(put(keysAndValues[i], keysAndValues[i + 1]));
      }
    }

    @Test
    void keyRangesFollowEtcd() {
      putAll("a", "1", "ab", "2", "b", "3", "c", "4");
      assertThat(keys(store.range(get("a")))).containsExactly("a");
      assertThat(keys(store.range(range("a", "b").build()))).containsExactly("a", "ab");
      assertThat(keys(store.range(range("ab", "\0").build()))).containsExactly("ab", "b", "c");
      assertThat(keys(store.range(all().build()))).containsExactly("a", "ab", "b", "c");
      assertThat(keys(store.range(range("c", "a").build()))).as("inverted").isEmpty();
      assertThat(keys(store.range(get("zz")))).isEmpty();
    }

    @Test
    void keysAreOrderedAsUnsignedBytes() {
      ByteString high = ByteString.copyFrom(new byte[] {(byte) 0xff});
      store.put(PutRequest.newBuilder().setKey(high).setValue(bs("high")).build());
      store.put(put("a", "low"));
      RangeResponse response = store.range(all().build());
      assertThat(response.getKvs(0).getKey()).isEqualTo(bs("a"));
      assertThat(response.getKvs(1).getKey()).isEqualTo(high);
      assertThat(store.range(range("a", "b").build()).getCount()).isEqualTo(1);
    }

    @Test
    void limitCutsTheResultButCountsEveryMatch() {
      putAll("a", "1", "b", "2", "c", "3");
      RangeResponse limited = store.range(all().setLimit(2).build());
      assertThat(keys(limited)).containsExactly("a", "b");
      assertThat(limited.getMore()).isTrue();
      assertThat(limited.getCount()).isEqualTo(3);
      RangeResponse exact = store.range(all().setLimit(3).build());
      assertThat(exact.getMore()).isFalse();
      assertThat(keys(exact)).hasSize(3);
    }

    @Test
    void countOnlyReturnsNoKeyValues() {
      putAll("a", "1", "b", "2");
      RangeResponse response = store.range(all().setCountOnly(true).setLimit(1).build());
      assertThat(response.getKvsList()).isEmpty();
      assertThat(response.getCount()).isEqualTo(2);
      assertThat(response.getMore()).isFalse();
    }

    @Test
    void keysOnlyDropsValues() {
      putAll("a", "1");
      RangeResponse response = store.range(all().setKeysOnly(true).build());
      assertThat(only(response)).isEqualTo(kv("a", "", 2, 2, 1, 0));
      assertThat(values(store.range(get("a")))).as("stored value untouched").containsExactly("1");
    }

    @Test
    void sortsByEveryTargetInBothOrders() {
      // b: created first, modified last, version 2; a: value "z"; c: value "a".
      putAll("b", "m", "a", "z", "c", "a", "b", "n");
      assertThat(keys(sorted(SortTarget.KEY, SortOrder.DESCEND))).containsExactly("c", "b", "a");
      assertThat(keys(sorted(SortTarget.KEY, SortOrder.ASCEND))).containsExactly("a", "b", "c");
      assertThat(keys(sorted(SortTarget.CREATE, SortOrder.ASCEND))).containsExactly("b", "a", "c");
      assertThat(keys(sorted(SortTarget.MOD, SortOrder.DESCEND))).containsExactly("b", "c", "a");
      assertThat(keys(sorted(SortTarget.VALUE, SortOrder.ASCEND))).containsExactly("c", "b", "a");
      // Ties on the target keep key order, in both directions.
      assertThat(keys(sorted(SortTarget.VERSION, SortOrder.DESCEND)))
          .containsExactly("b", "a", "c");
      assertThat(keys(sorted(SortTarget.VERSION, SortOrder.ASCEND))).containsExactly("a", "c", "b");
    }

    @Test
    void aTargetOtherThanKeyWithoutOrderSortsAscending() {
      putAll("b", "1", "b", "2", "a", "1", "c", "1");
      assertThat(keys(sorted(SortTarget.VERSION, SortOrder.NONE))).containsExactly("a", "c", "b");
    }

    @Test
    void withoutSortOrderALimitCutsInKeyOrderBeforeSorting() {
      // etcd fetches limit + 1 keys in key order, sorts those, then cuts to the limit.
      putAll("a", "1", "a", "2", "a", "3", "b", "1", "c", "1");
      RangeResponse response = store.range(all().setLimit(1).setSortTarget(SortTarget.VERSION)
          .build());
      assertThat(keys(response)).containsExactly("b");
      assertThat(response.getMore()).isTrue();
      RangeResponse ordered = store.range(all().setLimit(1).setSortTarget(SortTarget.VERSION)
          .setSortOrder(SortOrder.DESCEND).build());
      assertThat(keys(ordered)).containsExactly("a");
    }

    @Test
    void revisionFiltersPruneWithoutChangingCount() {
      putAll("a", "1", "b", "1", "a", "2", "c", "1");
      // a: create 2, mod 4; b: create 3, mod 3; c: create 5, mod 5.
      assertThat(keys(store.range(all().setMinModRevision(4).build()))).containsExactly("a", "c");
      assertThat(keys(store.range(all().setMaxModRevision(3).build()))).containsExactly("b");
      assertThat(keys(store.range(all().setMinCreateRevision(3).build())))
          .containsExactly("b", "c");
      RangeResponse response = store.range(all().setMaxCreateRevision(2).build());
      assertThat(keys(response)).containsExactly("a");
      assertThat(response.getCount()).as("count is taken before filtering").isEqualTo(3);
      RangeResponse limited = store.range(all().setMinModRevision(4).setLimit(1).build());
      assertThat(keys(limited)).containsExactly("a");
      assertThat(limited.getMore()).isTrue();
    }

    @Test
    void readsHistoryAtOlderRevisions() {
      store.put(put("a", "1")); // 2
      store.put(put("b", "1")); // 3
      store.put(put("a", "2")); // 4
      store.deleteRange(delete("b")); // 5
      assertThat(values(store.range(all().setRevision(2).build()))).containsExactly("1");
      assertThat(keys(store.range(all().setRevision(3).build()))).containsExactly("a", "b");
      assertThat(values(store.range(get("a").toBuilder().setRevision(4).build())))
          .containsExactly("2");
      assertThat(keys(store.range(all().setRevision(5).build()))).containsExactly("a");
      assertThat(store.range(all().setRevision(1).build()).getCount()).isZero();
      RangeResponse old = store.range(all().setRevision(3).build());
      assertThat(old.getHeader().getRevision()).as("header has the current revision").isEqualTo(5);
    }

    @Test
    void futureRevisionsAreRefused() {
      store.put(put("a", "1"));
      assertFails(() -> store.range(all().setRevision(3).build()), NuwaErrors.FUTURE_REVISION);
    }

    @Test
    void invalidRangesAreRejected() {
      assertFails(() -> store.range(get("")), NuwaErrors.EMPTY_KEY);
      assertInvalid(() -> store.range(all().setLimit(-1).build()));
      assertInvalid(() -> store.range(all().setRevision(-1).build()));
      assertInvalid(() -> store.range(all().setSortOrderValue(7).build()));
      assertInvalid(() -> store.range(all().setSortTargetValue(9).build()));
    }

    private RangeResponse sorted(SortTarget target, SortOrder order) {
      return store.range(all().setSortTarget(target).setSortOrder(order).build());
    }
  }

  @Test
  void approximateBytesGrowWithDataAndShrinkWithCompaction() {
    long empty = store.approximateBytes();
    store.put(put("key", "value"));
    store.put(put("key", "value2"));
    long twoVersions = store.approximateBytes();
    assertThat(twoVersions).isGreaterThan(empty + 2 * ("key".length() + "value".length()));
    store.compact(io.etcd.jetcd.api.CompactionRequest.newBuilder().setRevision(3).build());
    assertThat(store.approximateBytes()).isLessThan(twoVersions).isGreaterThan(empty);
  }
}
