package org.apsara.nuwa.server.mvcc;

import static org.apsara.nuwa.server.mvcc.Kv.all;
import static org.apsara.nuwa.server.mvcc.Kv.assertFails;
import static org.apsara.nuwa.server.mvcc.Kv.bs;
import static org.apsara.nuwa.server.mvcc.Kv.compare;
import static org.apsara.nuwa.server.mvcc.Kv.delete;
import static org.apsara.nuwa.server.mvcc.Kv.get;
import static org.apsara.nuwa.server.mvcc.Kv.grant;
import static org.apsara.nuwa.server.mvcc.Kv.keys;
import static org.apsara.nuwa.server.mvcc.Kv.kv;
import static org.apsara.nuwa.server.mvcc.Kv.only;
import static org.apsara.nuwa.server.mvcc.Kv.op;
import static org.apsara.nuwa.server.mvcc.Kv.put;
import static org.apsara.nuwa.server.mvcc.Kv.range;
import static org.apsara.nuwa.server.mvcc.Kv.values;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.UnknownFieldSet;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.Compare.CompareResult;
import io.etcd.jetcd.api.Compare.CompareTarget;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.ResponseHeader;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.TxnResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apsara.nuwa.api.NuwaErrors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class MvccStoreTxnTest {
  private final MvccStore store = new MvccStore();
  private final List<Long> notified = new ArrayList<>();

  @BeforeEach
  void setUp() {
    store.put(put("a", "1")); // revision 2
    store.put(put("b", "2")); // revision 3
    store.put(put("a", "3")); // revision 4: a has version 2, create 2, mod 4
    store.setChangeListener((revision, events) -> notified.add(revision));
  }

  private boolean holds(Compare.Builder compare) {
    return store.txn(TxnRequest.newBuilder().addCompare(compare).build()).getSucceeded();
  }

  @Nested
  class Compares {
    @Test
    void everyTargetWithEveryResult() {
      assertThat(holds(compare("a", CompareTarget.VERSION, CompareResult.EQUAL).setVersion(2)))
          .isTrue();
      assertThat(holds(compare("a", CompareTarget.VERSION, CompareResult.GREATER).setVersion(1)))
          .isTrue();
      assertThat(holds(compare("a", CompareTarget.VERSION, CompareResult.LESS).setVersion(2)))
          .isFalse();
      assertThat(holds(compare("a", CompareTarget.CREATE, CompareResult.EQUAL)
          .setCreateRevision(2))).isTrue();
      assertThat(holds(compare("a", CompareTarget.MOD, CompareResult.NOT_EQUAL)
          .setModRevision(4))).isFalse();
      assertThat(holds(compare("a", CompareTarget.MOD, CompareResult.LESS).setModRevision(5)))
          .isTrue();
      assertThat(holds(compare("a", CompareTarget.VALUE, CompareResult.EQUAL).setValue(bs("3"))))
          .isTrue();
      assertThat(holds(compare("a", CompareTarget.VALUE, CompareResult.GREATER)
          .setValue(bs("20")))).isTrue();
      assertThat(holds(compare("a", CompareTarget.VALUE, CompareResult.LESS).setValue(bs("3"))))
          .isFalse();
    }

    @Test
    void aMissingKeyHasZeroRevisionsAndNoValue() {
      assertThat(holds(compare("x", CompareTarget.VERSION, CompareResult.EQUAL).setVersion(0)))
          .isTrue();
      assertThat(holds(compare("x", CompareTarget.CREATE, CompareResult.EQUAL)
          .setCreateRevision(0))).isTrue();
      assertThat(holds(compare("x", CompareTarget.VALUE, CompareResult.EQUAL).setValue(bs(""))))
          .isFalse();
      assertThat(holds(compare("x", CompareTarget.VALUE, CompareResult.NOT_EQUAL)
          .setValue(bs("")))).isFalse();
    }

    @Test
    void aTargetValueOfAnotherKindComparesAsZero() {
      // Target VERSION but the mod_revision field set: etcd compares the version with 0.
      assertThat(holds(compare("a", CompareTarget.VERSION, CompareResult.GREATER)
          .setModRevision(100))).isTrue();
    }

    @Test
    void aRangeCompareMustHoldForEveryKey() {
      assertThat(holds(compare("a", CompareTarget.CREATE, CompareResult.GREATER)
          .setCreateRevision(1).setRangeEnd(bs("c")))).isTrue();
      assertThat(holds(compare("a", CompareTarget.VERSION, CompareResult.EQUAL).setVersion(2)
          .setRangeEnd(bs("c")))).as("b has version 1").isFalse();
      assertThat(holds(compare("a", CompareTarget.VERSION, CompareResult.GREATER).setVersion(0)
          .setRangeEnd(bs("\0")))).isTrue();
      assertThat(holds(compare("x", CompareTarget.VERSION, CompareResult.EQUAL).setVersion(0)
          .setRangeEnd(bs("z")))).as("an empty range compares as one missing key").isTrue();
    }

    @Test
    void leaseTargetArrivesAsAnUnknownFieldAndIsCompared() {
      store.leaseGrant(grant(77, 60));
      store.put(put("leased", "v", 77));
      assertThat(holds(leaseCompare("leased", CompareResult.EQUAL, 77))).isTrue();
      assertThat(holds(leaseCompare("leased", CompareResult.EQUAL, 78))).isFalse();
      assertThat(holds(leaseCompare("a", CompareResult.EQUAL, 0))).isTrue();
      assertThat(holds(leaseCompare("a", CompareResult.GREATER, 0))).isFalse();
    }

    private Compare.Builder leaseCompare(String key, CompareResult result, long lease) {
      // etcd's Compare.LEASE = 4 with the lease in field 8; jetcd's copy of the proto lacks both.
      return Compare.newBuilder().setKey(bs(key)).setTargetValue(4).setResult(result)
          .setUnknownFields(UnknownFieldSet.newBuilder()
              .addField(8, UnknownFieldSet.Field.newBuilder().addVarint(lease).build()).build());
    }
  }

  @Test
  void chosenBranchRunsAndResponsesFollowIt() {
    TxnResponse response = store.txn(TxnRequest.newBuilder()
        .addCompare(compare("a", CompareTarget.VALUE, CompareResult.EQUAL).setValue(bs("nope")))
        .addSuccess(op(put("s", "1")))
        .addFailure(op(put("f", "1")))
        .addFailure(op(get("a")))
        .build());
    assertThat(response.getSucceeded()).isFalse();
    assertThat(response.getResponsesCount()).isEqualTo(2);
    assertThat(response.getResponses(0).hasResponsePut()).isTrue();
    assertThat(values(response.getResponses(1).getResponseRange())).containsExactly("3");
    assertThat(keys(store.range(all().build()))).containsExactly("a", "b", "f");
  }

  @Test
  void allWritesShareOneRevisionWithSubRevisionsInOrder() {
    TxnResponse response = store.txn(TxnRequest.newBuilder()
        .addSuccess(op(put("c", "1")))
        .addSuccess(op(delete("b")))
        .addSuccess(op(put("a", "4").toBuilder().setPrevKv(true).build()))
        .build());
    assertThat(response.getHeader().getRevision()).isEqualTo(5);
    assertThat(response.getResponses(0).getResponsePut().getHeader().getRevision()).isEqualTo(5);
    assertThat(response.getResponses(1).getResponseDeleteRange().getDeleted()).isEqualTo(1);
    assertThat(response.getResponses(2).getResponsePut().getPrevKv())
        .isEqualTo(kv("a", "3", 2, 4, 2, 0));
    assertThat(store.revision()).isEqualTo(5);
    assertThat(only(store.range(get("a")))).isEqualTo(kv("a", "4", 2, 5, 3, 0));
    List<Event> events = store.events(5, bs("\0"), bs("\0"), false, 100);
    assertThat(events).extracting(e -> e.getKv().getKey().toStringUtf8())
        .containsExactly("c", "b", "a");
    assertThat(events).extracting(Event::getType)
        .containsExactly(Event.EventType.PUT, Event.EventType.DELETE, Event.EventType.PUT);
    assertThat(notified).containsExactly(5L);
  }

  @Test
  void aTransactionWithoutEffectiveWritesKeepsTheRevision() {
    TxnResponse readOnly = store.txn(TxnRequest.newBuilder().addSuccess(op(get("a"))).build());
    assertThat(readOnly.getHeader().getRevision()).isEqualTo(4);
    TxnResponse noOpDelete = store.txn(TxnRequest.newBuilder().addSuccess(op(delete("zz")))
        .build());
    assertThat(noOpDelete.getHeader().getRevision()).isEqualTo(4);
    assertThat(noOpDelete.getResponses(0).getResponseDeleteRange().getHeader().getRevision())
        .isEqualTo(4);
    assertThat(store.revision()).isEqualTo(4);
    assertThat(notified).isEmpty();
  }

  @Test
  void rangesSeeTheTransactionsOwnEarlierWrites() {
    TxnResponse response = store.txn(TxnRequest.newBuilder()
        .addSuccess(op(all().build()))
        .addSuccess(op(put("c", "new")))
        .addSuccess(op(delete("a")))
        .addSuccess(op(all().build()))
        .addSuccess(op(all().setRevision(4).build()))
        .build());
    var before = response.getResponses(0).getResponseRange();
    var after = response.getResponses(3).getResponseRange();
    var history = response.getResponses(4).getResponseRange();
    assertThat(keys(before)).containsExactly("a", "b");
    assertThat(before.getHeader().getRevision()).isEqualTo(4);
    assertThat(keys(after)).containsExactly("b", "c");
    assertThat(after.getKvs(1)).isEqualTo(kv("c", "new", 5, 5, 1, 0));
    assertThat(after.getHeader().getRevision()).isEqualTo(5);
    assertThat(keys(history)).as("an explicit revision reads history").containsExactly("a", "b");
  }

  @Test
  void nestedTransactionsDecideOnTheStateBeforeTheTransaction() {
    TxnRequest nested = TxnRequest.newBuilder()
        .addCompare(compare("a", CompareTarget.VALUE, CompareResult.EQUAL).setValue(bs("3")))
        .addSuccess(op(put("nested", "saw-old-a")))
        .addFailure(op(put("nested", "saw-new-a")))
        .build();
    TxnResponse response = store.txn(TxnRequest.newBuilder()
        .addSuccess(op(put("a", "changed")))
        .addSuccess(op(nested))
        .build());
    assertThat(values(store.range(get("nested")))).containsExactly("saw-old-a");
    TxnResponse inner = response.getResponses(1).getResponseTxn();
    assertThat(inner.getSucceeded()).isTrue();
    assertThat(inner.getHeader()).as("etcd leaves nested headers empty")
        .isEqualTo(ResponseHeader.getDefaultInstance());
    assertThat(inner.getResponses(0).getResponsePut().getHeader().getRevision()).isEqualTo(5);
    assertThat(response.getHeader().getRevision()).isEqualTo(5);
  }

  @Nested
  class Atomicity {
    @Test
    void aFailingPutLaterInTheBranchChangesNothing() throws IOException {
      byte[] before = snapshot();
      assertFails(() -> store.txn(TxnRequest.newBuilder()
          .addSuccess(op(put("c", "1")))
          .addSuccess(op(delete("a")))
          .addSuccess(op(put("d", "1", 12345)))
          .build()), NuwaErrors.LEASE_NOT_FOUND);
      assertUnchanged(before);
    }

    @Test
    void aMissingKeyForIgnoreValueChangesNothing() throws IOException {
      byte[] before = snapshot();
      assertFails(() -> store.txn(TxnRequest.newBuilder()
          .addSuccess(op(put("c", "1")))
          .addSuccess(op(PutRequest.newBuilder().setKey(bs("missing")).setIgnoreValue(true)
              .build()))
          .build()), NuwaErrors.KEY_NOT_FOUND);
      assertUnchanged(before);
    }

    @Test
    void aBadRangeRevisionChangesNothing() throws IOException {
      byte[] before = snapshot();
      assertFails(() -> store.txn(TxnRequest.newBuilder()
          .addSuccess(op(put("c", "1")))
          .addSuccess(op(all().setRevision(5).build()))
          .build()), NuwaErrors.FUTURE_REVISION);
      assertUnchanged(before);
    }

    @Test
    void checksOnlyTheChosenBranch() {
      TxnResponse response = store.txn(TxnRequest.newBuilder()
          .addCompare(compare("a", CompareTarget.VERSION, CompareResult.EQUAL).setVersion(2))
          .addSuccess(op(put("ok", "1")))
          .addFailure(op(put("bad", "1", 12345)))
          .build());
      assertThat(response.getSucceeded()).isTrue();
      assertThat(store.revision()).isEqualTo(5);
    }

    @Test
    void putChecksComeBeforeRangeChecks() {
      assertFails(() -> store.txn(TxnRequest.newBuilder()
          .addSuccess(op(all().setRevision(99).build()))
          .addSuccess(op(put("c", "1", 12345)))
          .build()), NuwaErrors.LEASE_NOT_FOUND);
    }

    @Test
    void aDeleteFromKeyHidingAKeyFromIgnoreValueChangesNothing() throws IOException {
      // checkIntervals takes range_end "\0" literally and lets this through; etcd then panics
      // while applying. Staging the writes turns it into a clean error.
      byte[] before = snapshot();
      assertFails(() -> store.txn(TxnRequest.newBuilder()
          .addSuccess(op(delete("a", "\0")))
          .addSuccess(op(PutRequest.newBuilder().setKey(bs("a")).setIgnoreValue(true).build()))
          .build()), NuwaErrors.KEY_NOT_FOUND);
      assertUnchanged(before);
    }

    @Test
    void aDeleteFromKeyAndAPutOfTheSameKeyBothTakeEffect() {
      store.txn(TxnRequest.newBuilder()
          .addSuccess(op(delete("a", "\0")))
          .addSuccess(op(put("a", "again")))
          .build());
      assertThat(only(store.range(get("a")))).isEqualTo(kv("a", "again", 5, 5, 1, 0));
      assertThat(keys(store.range(all().build()))).containsExactly("a");
      assertThat(store.events(5, bs("a"), bs(""), true, 10))
          .extracting(Event::getType, e -> e.getPrevKv().getValue().toStringUtf8())
          .containsExactly(org.assertj.core.groups.Tuple.tuple(Event.EventType.DELETE, "3"),
              org.assertj.core.groups.Tuple.tuple(Event.EventType.PUT, "3"));
    }

    private byte[] snapshot() throws IOException {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      store.writeSnapshot(out);
      return out.toByteArray();
    }

    private void assertUnchanged(byte[] before) throws IOException {
      assertThat(snapshot()).isEqualTo(before);
      assertThat(store.revision()).isEqualTo(4);
      assertThat(notified).isEmpty();
    }
  }

  @Test
  void invalidTransactionsAreRejectedBeforeAnythingHappens() {
    assertFails(() -> store.txn(TxnRequest.newBuilder()
        .addSuccess(op(put("c", "1")))
        .addSuccess(op(put("c", "2")))
        .build()), NuwaErrors.DUPLICATE_KEY);
    assertFails(() -> store.txn(TxnRequest.newBuilder()
        .addSuccess(op(put("c", "1")))
        .addSuccess(op(range("", "").build()))
        .build()), NuwaErrors.EMPTY_KEY);
    assertThat(store.revision()).isEqualTo(4);
  }
}
