package org.apsara.nuwa.server.mvcc;

import static org.apsara.nuwa.server.mvcc.Kv.all;
import static org.apsara.nuwa.server.mvcc.Kv.assertFails;
import static org.apsara.nuwa.server.mvcc.Kv.bs;
import static org.apsara.nuwa.server.mvcc.Kv.delete;
import static org.apsara.nuwa.server.mvcc.Kv.get;
import static org.apsara.nuwa.server.mvcc.Kv.grant;
import static org.apsara.nuwa.server.mvcc.Kv.keys;
import static org.apsara.nuwa.server.mvcc.Kv.only;
import static org.apsara.nuwa.server.mvcc.Kv.op;
import static org.apsara.nuwa.server.mvcc.Kv.put;
import static org.apsara.nuwa.server.mvcc.Kv.revoke;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.LeaseGrantResponse;
import io.etcd.jetcd.api.LeaseRevokeResponse;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.TxnRequest;
import java.util.ArrayList;
import java.util.List;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.api.NuwaLimits;
import org.junit.jupiter.api.Test;

class MvccStoreLeaseTest {
  private final MvccStore store = new MvccStore();

  private List<String> leaseKeys(long id) {
    return store.lease(id).orElseThrow().keys().stream().map(ByteString::toStringUtf8).toList();
  }

  @Test
  void grantsALeaseWithTheCallersId() {
    store.put(put("x", "1"));
    LeaseGrantResponse response = store.leaseGrant(grant(42, 30));
    assertThat(response.getID()).isEqualTo(42);
    assertThat(response.getTTL()).isEqualTo(30);
    assertThat(response.getHeader().getRevision()).isEqualTo(2);
    assertThat(store.revision()).as("a grant is not a key write").isEqualTo(2);
    assertThat(store.lease(42)).contains(new MvccStore.LeaseInfo(42, 30, List.of()));
    assertThat(store.lease(43)).isEmpty();
  }

  @Test
  void refusesTakenIdsZeroIdAndHugeTtls() {
    store.leaseGrant(grant(42, 30));
    assertFails(() -> store.leaseGrant(grant(42, 10)), NuwaErrors.LEASE_EXISTS);
    assertFails(() -> store.leaseGrant(grant(0, 10)), NuwaErrors.LEASE_NOT_FOUND);
    assertFails(() -> store.leaseGrant(grant(43, NuwaLimits.MAX_LEASE_TTL_SECONDS + 1)),
        NuwaErrors.LEASE_TTL_TOO_LARGE);
    assertThat(store.leaseIds()).containsExactly(42L);
    assertThat(store.lease(42).orElseThrow().grantedTtlSeconds()).isEqualTo(30);
  }

  @Test
  void raisesATtlBelowTheMinimum() {
    assertThat(store.leaseGrant(grant(1, 0)).getTTL()).isEqualTo(NuwaLimits.MIN_LEASE_TTL_SECONDS);
    assertThat(store.lease(1).orElseThrow().grantedTtlSeconds())
        .isEqualTo(NuwaLimits.MIN_LEASE_TTL_SECONDS);
  }

  @Test
  void listsLeaseIdsAscending() {
    for (long id : new long[] {9, -3, 5, 100}) {
      store.leaseGrant(grant(id, 10));
    }
    assertThat(store.leaseIds()).containsExactly(-3L, 5L, 9L, 100L);
  }

  @Test
  void aPutWithAnUnknownLeaseFailsWithoutChange() {
    assertFails(() -> store.put(put("a", "1", 5)), NuwaErrors.LEASE_NOT_FOUND);
    assertThat(store.revision()).isEqualTo(1);
  }

  @Test
  void keysMoveBetweenLeasesAndDetachOnPutWithoutLeaseOrDelete() {
    store.leaseGrant(grant(1, 10));
    store.leaseGrant(grant(2, 10));
    store.put(put("b", "1", 1));
    store.put(put("a", "1", 1));
    store.put(put("c", "1", 1));
    assertThat(leaseKeys(1)).containsExactly("a", "b", "c");

    store.put(put("a", "2", 2));
    assertThat(leaseKeys(1)).containsExactly("b", "c");
    assertThat(leaseKeys(2)).containsExactly("a");

    store.put(put("b", "2"));
    assertThat(leaseKeys(1)).containsExactly("c");
    assertThat(only(store.range(get("b"))).getLease()).isZero();

    store.deleteRange(delete("c"));
    assertThat(leaseKeys(1)).isEmpty();
  }

  @Test
  void ignoreLeaseKeepsTheAttachment() {
    store.leaseGrant(grant(1, 10));
    store.put(put("a", "1", 1));
    store.put(PutRequest.newBuilder().setKey(bs("a")).setValue(bs("2")).setIgnoreLease(true)
        .build());
    assertThat(only(store.range(get("a"))).getLease()).isEqualTo(1);
    assertThat(leaseKeys(1)).containsExactly("a");
  }

  @Test
  void revokeDeletesEveryAttachedKeyInOneRevision() {
    store.leaseGrant(grant(1, 10));
    store.put(put("c", "1", 1)); // 2
    store.put(put("a", "1", 1)); // 3
    store.put(put("free", "1")); // 4
    store.txn(TxnRequest.newBuilder().addSuccess(op(put("b", "1", 1))).build()); // 5
    List<Long> notified = new ArrayList<>();
    store.setChangeListener((revision, events) -> notified.add(revision));

    LeaseRevokeResponse response = store.leaseRevoke(revoke(1));

    assertThat(response.getHeader().getRevision()).isEqualTo(6);
    assertThat(store.revision()).isEqualTo(6);
    assertThat(keys(store.range(all().build()))).containsExactly("free");
    assertThat(store.lease(1)).isEmpty();
    assertThat(store.leaseIds()).isEmpty();
    List<Event> events = store.events(6, bs("\0"), bs("\0"), false, 100);
    assertThat(events).extracting(Event::getType).containsOnly(Event.EventType.DELETE);
    assertThat(events).extracting(e -> e.getKv().getKey().toStringUtf8())
        .containsExactly("a", "b", "c");
    assertThat(notified).containsExactly(6L);
  }

  @Test
  void revokingALeaseWithoutKeysKeepsTheRevision() {
    store.leaseGrant(grant(1, 10));
    assertThat(store.leaseRevoke(revoke(1)).getHeader().getRevision()).isEqualTo(1);
    assertThat(store.revision()).isEqualTo(1);
  }

  @Test
  void revokingAnUnknownLeaseFails() {
    assertFails(() -> store.leaseRevoke(revoke(9)), NuwaErrors.LEASE_NOT_FOUND);
    store.leaseGrant(grant(9, 10));
    store.leaseRevoke(revoke(9));
    assertFails(() -> store.leaseRevoke(revoke(9)), NuwaErrors.LEASE_NOT_FOUND);
  }

  @Test
  void aTransactionMovesAttachmentsOnlyWhenItCommits() {
    store.leaseGrant(grant(1, 10));
    store.put(put("a", "1", 1));
    assertFails(() -> store.txn(TxnRequest.newBuilder()
        .addSuccess(op(put("a", "2")))
        .addSuccess(op(put("b", "2", 99)))
        .build()), NuwaErrors.LEASE_NOT_FOUND);
    assertThat(leaseKeys(1)).containsExactly("a");
    store.txn(TxnRequest.newBuilder().addSuccess(op(put("a", "2"))).build());
    assertThat(leaseKeys(1)).isEmpty();
  }

  @Test
  void leasesCountInTheStoresSizeSoThatTheQuotaBoundsThem() throws Exception {
    long empty = store.approximateBytes();
    store.leaseGrant(grant(1, 30));
    store.leaseGrant(grant(2, 30));
    assertThat(store.approximateBytes()).isEqualTo(empty + 2 * QuotaCost.LEASE_BYTES);
    store.leaseRevoke(revoke(1));
    assertThat(store.approximateBytes()).isEqualTo(empty + QuotaCost.LEASE_BYTES);
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    store.writeSnapshot(bytes);
    assertThat(MvccStore.readSnapshot(new java.io.ByteArrayInputStream(bytes.toByteArray()))
        .approximateBytes()).isEqualTo(store.approximateBytes());
  }
}
