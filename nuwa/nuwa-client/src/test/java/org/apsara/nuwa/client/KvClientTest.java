package org.apsara.nuwa.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apsara.nuwa.client.GetOptions.SortOrder;
import org.apsara.nuwa.client.GetOptions.SortTarget;
import org.apsara.nuwa.client.testing.NuwaTestServer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.apsara.nuwa.client.testing.EtcdClientExtension;

class KvClientTest {
  @RegisterExtension
  static final EtcdClientExtension etcd = new EtcdClientExtension("kv");

  private NuwaClient client;
  private KvClient kv;
  private String p;

  @BeforeEach
  void bind() {
    client = etcd.client();
    kv = client.kv();
    p = etcd.prefix();
  }

  @Test
  void putThenGetReturnsTheValueWithItsRevisions() {
    PutResponse put = kv.put(p + "a", "1");
    GetResponse get = kv.get(p + "a");

    KeyValue found = get.first().orElseThrow();
    assertThat(found.valueUtf8()).isEqualTo("1");
    assertThat(found.version()).isEqualTo(1);
    assertThat(found.createRevision()).isEqualTo(put.header().revision());
    assertThat(found.modRevision()).isEqualTo(put.header().revision());
    assertThat(get.header().revision()).isGreaterThanOrEqualTo(put.header().revision());
    assertThat(kv.get(p + "missing").isEmpty()).isTrue();
  }

  @Test
  void secondPutBumpsVersionAndReturnsPreviousValueWhenAsked() {
    long created = kv.put(p + "k", "old").header().revision();
    PutResponse second = kv.put(p + "k", "new", PutOptions.builder().prevKv(true).build());

    assertThat(second.prevKv())
        .hasValueSatisfying(prev -> assertThat(prev.valueUtf8()).isEqualTo("old"));
    KeyValue now = kv.get(p + "k").first().orElseThrow();
    assertThat(now.version()).isEqualTo(2);
    assertThat(now.createRevision()).isEqualTo(created);
    assertThat(now.modRevision()).isEqualTo(second.header().revision());
    assertThat(kv.put(p + "fresh", "x", PutOptions.builder().prevKv(true).build()).prevKv())
        .isEmpty();
  }

  @Test
  void prefixReadHonoursLimitSortKeysOnlyAndCountOnly() {
    for (String k : List.of("b", "a", "c", "d")) {
      kv.put(p + "r/" + k, "v-" + k);
    }
    kv.put(p + "s", "outside the prefix");
    KeyRange range = KeyRange.prefix(p + "r/");

    GetResponse all = kv.get(range, GetOptions.DEFAULT);
    assertThat(all.kvs())
        .extracting(KeyValue::keyUtf8)
        .containsExactly(p + "r/a", p + "r/b", p + "r/c", p + "r/d");

    GetResponse limited =
        kv.get(
            range, GetOptions.builder().limit(2).sort(SortTarget.KEY, SortOrder.DESCEND).build());
    assertThat(limited.kvs()).extracting(KeyValue::keyUtf8).containsExactly(p + "r/d", p + "r/c");
    assertThat(limited.more()).isTrue();
    assertThat(limited.count()).isEqualTo(4);

    GetResponse byCreate =
        kv.get(
            range, GetOptions.builder().sort(SortTarget.CREATE_REVISION, SortOrder.ASCEND).build());
    assertThat(byCreate.kvs())
        .extracting(KeyValue::keyUtf8)
        .containsExactly(p + "r/b", p + "r/a", p + "r/c", p + "r/d");

    GetResponse keysOnly = kv.get(range, GetOptions.builder().keysOnly(true).build());
    assertThat(keysOnly.kvs()).hasSize(4).allSatisfy(k -> assertThat(k.value().isEmpty()).isTrue());

    GetResponse countOnly = kv.get(range, GetOptions.builder().countOnly(true).build());
    assertThat(countOnly.kvs()).isEmpty();
    assertThat(countOnly.count()).isEqualTo(4);

    GetResponse serializable = kv.get(range, GetOptions.builder().serializable(true).build());
    assertThat(serializable.count()).isEqualTo(4);
  }

  @Test
  void readsAnOlderRevisionAndFiltersByRevisions() {
    long first = kv.put(p + "h", "v1").header().revision();
    long second = kv.put(p + "h", "v2").header().revision();
    kv.put(p + "later", "x");

    assertThat(
            kv.get(KeyRange.key(p + "h"), GetOptions.builder().revision(first).build())
                .first()
                .orElseThrow()
                .valueUtf8())
        .isEqualTo("v1");

    GetResponse modifiedSince =
        kv.get(KeyRange.prefix(p), GetOptions.builder().minModRevision(second + 1).build());
    assertThat(modifiedSince.kvs()).extracting(KeyValue::keyUtf8).containsExactly(p + "later");

    GetResponse createdBy =
        kv.get(KeyRange.prefix(p), GetOptions.builder().maxCreateRevision(first).build());
    assertThat(createdBy.kvs()).extracting(KeyValue::keyUtf8).containsExactly(p + "h");
  }

  @Test
  void rangeBetweenAndAtLeastSelectTheRightKeys() {
    for (String k : List.of("a", "b", "c")) {
      kv.put(p + k, k);
    }
    assertThat(kv.get(KeyRange.between(p + "a", p + "c"), GetOptions.DEFAULT).kvs())
        .extracting(KeyValue::valueUtf8)
        .containsExactly("a", "b");
    assertThat(kv.get(KeyRange.atLeast(p + "b"), GetOptions.builder().limit(2).build()).kvs())
        .extracting(KeyValue::valueUtf8)
        .containsExactly("b", "c");
  }

  @Test
  void deletesOneKeyAPrefixOrARangeAndReturnsWhatWasDeleted() {
    kv.put(p + "x", "1");
    kv.put(p + "d/1", "a");
    kv.put(p + "d/2", "b");
    kv.put(p + "e/1", "c");
    kv.put(p + "f", "d");

    assertThat(kv.delete(p + "x").deleted()).isEqualTo(1);
    assertThat(kv.delete(p + "x").deleted()).isZero();

    DeleteResponse prefix =
        kv.delete(KeyRange.prefix(p + "d/"), DeleteOptions.builder().prevKv(true).build());
    assertThat(prefix.deleted()).isEqualTo(2);
    assertThat(prefix.prevKvs()).extracting(KeyValue::valueUtf8).containsExactly("a", "b");

    assertThat(kv.delete(KeyRange.between(p + "e", p + "f"), DeleteOptions.DEFAULT).deleted())
        .isEqualTo(1);
    assertThat(kv.getPrefix(p).kvs()).extracting(KeyValue::keyUtf8).containsExactly(p + "f");
  }

  @Test
  void putAttachesALeaseAndIgnoreValueKeepsTheValue() {
    LeaseGrant lease = client.lease().grant(30);
    try {
      kv.put(p + "l", "v", PutOptions.withLease(lease.id()));
      assertThat(kv.get(p + "l").first().orElseThrow().lease()).isEqualTo(lease.id());

      kv.put(
          ByteString.copyFromUtf8(p + "l"),
          ByteString.EMPTY,
          PutOptions.builder().ignoreValue(true).build());
      KeyValue after = kv.get(p + "l").first().orElseThrow();
      assertThat(after.valueUtf8()).isEqualTo("v");
      assertThat(after.lease()).isZero();
    } finally {
      client.lease().revoke(lease.id());
    }
  }

  @Test
  void putWithUnknownLeaseFailsWithLeaseNotFound() {
    assertThatThrownBy(() -> kv.put(p + "k", "v", PutOptions.withLease(0x7eadbeefL)))
        .isInstanceOf(LeaseNotFoundException.class)
        .hasMessage("etcdserver: requested lease not found");
  }

  @Test
  void txnRunsThenBranchWhenComparisonsHoldAndElseBranchOtherwise() {
    Txn createIfAbsent =
        Txn.builder()
            .when(Cmp.createRevision(p + "job").equalTo(0))
            .then(Op.put(p + "job", "mine"), Op.get(p + "job"))
            .orElse(Op.get(p + "job"))
            .build();

    TxnResponse first = kv.txn(createIfAbsent);
    assertThat(first.succeeded()).isTrue();
    assertThat(first.responses()).hasSize(2);
    assertThat(first.putResponse(0).header().revision()).isEqualTo(first.header().revision());
    assertThat(first.getResponse(1).first().orElseThrow().valueUtf8()).isEqualTo("mine");

    TxnResponse second = kv.txn(createIfAbsent);
    assertThat(second.succeeded()).isFalse();
    assertThat(second.getResponse(0).first().orElseThrow().valueUtf8()).isEqualTo("mine");
    assertThatThrownBy(() -> second.putResponse(0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void txnComparesValueVersionModRevisionAndLease() {
    long rev = kv.put(p + "c", "b").header().revision();
    LeaseGrant lease = client.lease().grant(30);
    try {
      kv.put(p + "leased", "x", PutOptions.withLease(lease.id()));

      assertThat(holds(Cmp.value(p + "c").equalTo("b"))).isTrue();
      assertThat(holds(Cmp.value(p + "c").greaterThan("a"))).isTrue();
      assertThat(holds(Cmp.value(p + "c").lessThan("a"))).isFalse();
      assertThat(holds(Cmp.value(p + "c").notEqualTo("b"))).isFalse();
      assertThat(holds(Cmp.version(p + "c").equalTo(1))).isTrue();
      assertThat(holds(Cmp.version(p + "c").greaterThan(1))).isFalse();
      assertThat(holds(Cmp.modRevision(p + "c").equalTo(rev))).isTrue();
      assertThat(holds(Cmp.modRevision(p + "c").lessThan(rev))).isFalse();
      assertThat(holds(Cmp.createRevision(p + "c").notEqualTo(0))).isTrue();
      assertThat(holds(Cmp.lease(p + "leased").equalTo(lease.id()))).isTrue();
      assertThat(holds(Cmp.lease(p + "leased").equalTo(lease.id() + 1))).isFalse();
      assertThat(holds(Cmp.lease(p + "c").equalTo(0))).isTrue();
      assertThat(holds(Cmp.version(KeyRange.prefix(p)).greaterThan(0))).isTrue();
    } finally {
      client.lease().revoke(lease.id());
    }
  }

  @Test
  void nestedTxnRunsInsideTheOuterBranchComparingTheStoreAsBeforeTheOuterTxn() {
    Txn inner =
        Txn.builder()
            .when(Cmp.value(p + "outer").equalTo("set"))
            .then(Op.put(p + "inner", "saw outer"))
            .orElse(Op.put(p + "inner", "missed outer"))
            .build();
    Txn outer =
        Txn.builder()
            .when(Cmp.createRevision(p + "outer").equalTo(0))
            .then(Op.put(p + "outer", "set"), Op.txn(inner))
            .build();

    TxnResponse response = kv.txn(outer);

    assertThat(response.succeeded()).isTrue();
    assertThat(response.txnResponse(1).succeeded()).isFalse();
    assertThat(kv.get(p + "inner").first().orElseThrow().valueUtf8()).isEqualTo("missed outer");
    assertThat(kv.get(p + "inner").first().orElseThrow().modRevision())
        .isEqualTo(kv.get(p + "outer").first().orElseThrow().modRevision());
    assertThat(Op.txn(inner).isReadOnly()).isFalse();
    assertThat(Op.txn(Txn.builder().then(Op.get(p + "x")).build()).isReadOnly()).isTrue();
  }

  @Test
  void txnWritingOneKeyTwiceIsRejectedWithTheServersMessage() {
    Txn twice = Txn.builder().then(Op.put(p + "k", "1"), Op.put(p + "k", "2")).build();

    assertThatThrownBy(() -> kv.txn(twice))
        .isInstanceOfSatisfying(
            NuwaException.class, e -> assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT))
        .hasMessage("etcdserver: duplicate key given in txn request");
  }

  @Test
  void asyncCallsCompleteWithTheirResults() throws Exception {
    ByteString key = ByteString.copyFromUtf8(p + "async");
    PutResponse put =
        kv.putAsync(key, ByteString.copyFromUtf8("v"), PutOptions.DEFAULT).get(5, TimeUnit.SECONDS);
    GetResponse get = kv.getAsync(KeyRange.key(key), GetOptions.DEFAULT).get(5, TimeUnit.SECONDS);
    TxnResponse txn =
        kv.txnAsync(
                Txn.builder().when(Cmp.value(key).equalTo(ByteString.copyFromUtf8("v"))).build())
            .get(5, TimeUnit.SECONDS);
    DeleteResponse delete =
        kv.deleteAsync(KeyRange.key(key), DeleteOptions.DEFAULT).get(5, TimeUnit.SECONDS);

    assertThat(get.first().orElseThrow().modRevision()).isEqualTo(put.header().revision());
    assertThat(txn.succeeded()).isTrue();
    assertThat(delete.deleted()).isEqualTo(1);
  }

  @Test
  void responsesLargerThanTheInboundLimitAreRefused() {
    String big = "x".repeat(300 * 1024);
    kv.put(p + "big/1", big);
    kv.put(p + "big/2", big);
    try (NuwaClient small =
        NuwaClient.builder()
            .endpoints(NuwaTestServer.endpoints())
            .maxInboundMessageBytes(512 * 1024)
            .build()) {
      assertThat(small.kv().get(p + "big/1").first()).isPresent();
      assertThatThrownBy(() -> small.kv().getPrefix(p + "big/"))
          .isInstanceOfSatisfying(
              NuwaException.class,
              e -> assertThat(e.code()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
    }
  }

  private boolean holds(Cmp cmp) {
    return kv.txn(Txn.builder().when(cmp).build()).succeeded();
  }
}
