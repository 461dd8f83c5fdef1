package org.apsara.nuwa.server.mvcc;

import static org.apsara.nuwa.server.mvcc.Kv.assertFails;
import static org.apsara.nuwa.server.mvcc.Kv.assertInvalid;
import static org.apsara.nuwa.server.mvcc.Kv.bs;
import static org.apsara.nuwa.server.mvcc.Kv.compare;
import static org.apsara.nuwa.server.mvcc.Kv.delete;
import static org.apsara.nuwa.server.mvcc.Kv.get;
import static org.apsara.nuwa.server.mvcc.Kv.grant;
import static org.apsara.nuwa.server.mvcc.Kv.op;
import static org.apsara.nuwa.server.mvcc.Kv.put;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.Compare.CompareResult;
import io.etcd.jetcd.api.Compare.CompareTarget;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.api.NuwaLimits;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class RequestValidatorTest {
  private static void valid(TxnRequest.Builder txn) {
    assertThatCode(() -> RequestValidator.validateTxn(txn.build())).doesNotThrowAnyException();
  }

  private static void duplicate(TxnRequest.Builder txn) {
    assertFails(() -> RequestValidator.validateTxn(txn.build()), NuwaErrors.DUPLICATE_KEY);
  }

  private static TxnRequest.Builder puts(String prefix, int count) {
    TxnRequest.Builder txn = TxnRequest.newBuilder();
    for (int i = 0; i < count; i++) {
      txn.addSuccess(op(put(prefix + i, "v")));
    }
    return txn;
  }

  @Nested
  class OperationCount {
    @Test
    void eachListMayHoldTheMaximum() {
      TxnRequest.Builder txn = puts("s", NuwaLimits.MAX_TXN_OPS);
      for (int i = 0; i < NuwaLimits.MAX_TXN_OPS; i++) {
        txn.addFailure(op(put("f" + i, "v")));
        txn.addCompare(compare("c" + i, CompareTarget.VERSION, CompareResult.EQUAL));
      }
      valid(txn);
    }

    @Test
    void oneMoreInAnyListIsTooMany() {
      int tooMany = NuwaLimits.MAX_TXN_OPS + 1;
      assertFails(() -> RequestValidator.validateTxn(puts("s", tooMany).build()),
          NuwaErrors.TOO_MANY_OPS);
      TxnRequest.Builder failures = TxnRequest.newBuilder();
      TxnRequest.Builder compares = TxnRequest.newBuilder();
      for (int i = 0; i < tooMany; i++) {
        failures.addFailure(op(get("k")));
        compares.addCompare(compare("k", CompareTarget.VERSION, CompareResult.EQUAL));
      }
      assertFails(() -> RequestValidator.validateTxn(failures.build()), NuwaErrors.TOO_MANY_OPS);
      assertFails(() -> RequestValidator.validateTxn(compares.build()), NuwaErrors.TOO_MANY_OPS);
    }

    @Test
    void nestedTransactionsShareWhatTheParentLeaves() {
      int half = NuwaLimits.MAX_TXN_OPS / 2;
      TxnRequest.Builder fits = puts("outer", half);
      fits.addSuccess(op(puts("inner", half - 1).build()));
      valid(fits);
      TxnRequest.Builder over = puts("outer", half);
      over.addSuccess(op(puts("inner", half).build()));
      assertFails(() -> RequestValidator.validateTxn(over.build()), NuwaErrors.TOO_MANY_OPS);
    }
  }

  @Nested
  class Overlaps {
    @Test
    void aKeyPutTwiceInABranch() {
      duplicate(TxnRequest.newBuilder()
          .addSuccess(op(put("a", "1"))).addSuccess(op(put("a", "2"))));
    }

    @Test
    void aKeyPutAndDeleted() {
      duplicate(TxnRequest.newBuilder().addSuccess(op(delete("a"))).addSuccess(op(put("a", "1"))));
      duplicate(TxnRequest.newBuilder()
          .addSuccess(op(put("b", "1"))).addSuccess(op(delete("a", "c"))));
    }

    @Test
    void differentBranchesAndDisjointKeysAreFine() {
      valid(TxnRequest.newBuilder().addSuccess(op(put("a", "1"))).addFailure(op(put("a", "2"))));
      valid(TxnRequest.newBuilder().addSuccess(op(put("c", "1"))).addSuccess(op(delete("a", "c"))));
      valid(TxnRequest.newBuilder().addSuccess(op(delete("a"))).addSuccess(op(delete("a", "z"))));
    }

    @Test
    void nestedThenAndElseMayPutTheSameKey() {
      TxnRequest nested = TxnRequest.newBuilder()
          .addSuccess(op(put("a", "1"))).addFailure(op(put("a", "2"))).build();
      valid(TxnRequest.newBuilder().addSuccess(op(nested)));
    }

    @Test
    void nestedPutsClashWithTheParentsPutsAndDeletes() {
      TxnRequest nested = TxnRequest.newBuilder().addSuccess(op(put("a", "1"))).build();
      duplicate(TxnRequest.newBuilder().addSuccess(op(nested)).addSuccess(op(put("a", "2"))));
      duplicate(TxnRequest.newBuilder().addSuccess(op(delete("a"))).addSuccess(op(nested)));
      TxnRequest nestedElse = TxnRequest.newBuilder().addFailure(op(put("a", "1"))).build();
      duplicate(TxnRequest.newBuilder().addSuccess(op(nested)).addSuccess(op(nestedElse)));
    }

    @Test
    void nestedDeletesClashWithTheParentsPuts() {
      TxnRequest nested = TxnRequest.newBuilder().addSuccess(op(delete("a", "b"))).build();
      duplicate(TxnRequest.newBuilder().addSuccess(op(nested)).addSuccess(op(put("a1", "x"))));
    }

    @Test
    void fromKeyDeletesAreTakenLiterallyAsEtcdDoes() {
      valid(TxnRequest.newBuilder()
          .addSuccess(op(delete("a", "\0"))).addSuccess(op(put("b", "1"))));
    }
  }

  @Test
  void operationsInsideATransactionAreValidatedToo() {
    assertFails(() -> RequestValidator.validateTxn(TxnRequest.newBuilder()
        .addSuccess(RequestOp.getDefaultInstance()).build()), NuwaErrors.KEY_NOT_FOUND);
    assertFails(() -> RequestValidator.validateTxn(TxnRequest.newBuilder()
        .addCompare(compare("", CompareTarget.VERSION, CompareResult.EQUAL)).build()),
        NuwaErrors.EMPTY_KEY);
    assertFails(() -> RequestValidator.validateTxn(TxnRequest.newBuilder()
        .addFailure(op(put("a", "v").toBuilder().setIgnoreValue(true).build())).build()),
        NuwaErrors.VALUE_PROVIDED);
    TxnRequest nested = TxnRequest.newBuilder().addSuccess(op(delete(""))).build();
    assertFails(() -> RequestValidator.validateTxn(TxnRequest.newBuilder()
        .addSuccess(op(nested)).build()), NuwaErrors.EMPTY_KEY);
    assertInvalid(() -> RequestValidator.validateTxn(TxnRequest.newBuilder()
        .addSuccess(op(get("a").toBuilder().setLimit(-5).build())).build()));
    assertInvalid(() -> RequestValidator.validateTxn(TxnRequest.newBuilder()
        .addCompare(compare("a", CompareTarget.VERSION, CompareResult.EQUAL).setTargetValue(9))
        .build()));
    assertInvalid(() -> RequestValidator.validateTxn(TxnRequest.newBuilder()
        .addCompare(compare("a", CompareTarget.VERSION, CompareResult.EQUAL).setResultValue(9))
        .build()));
  }

  @Test
  void leaseGrantBoundsTheTtlOnly() {
    assertFails(() -> RequestValidator.validateLeaseGrant(
        grant(1, NuwaLimits.MAX_LEASE_TTL_SECONDS + 1)), NuwaErrors.LEASE_TTL_TOO_LARGE);
    assertThatCode(() -> RequestValidator.validateLeaseGrant(
        grant(0, NuwaLimits.MAX_LEASE_TTL_SECONDS))).doesNotThrowAnyException();
    assertThatCode(() -> RequestValidator.validateLeaseGrant(grant(0, 0)))
        .doesNotThrowAnyException();
  }

  @Test
  void compactionRevisionMustNotBeNegative() {
    assertInvalid(() -> RequestValidator.validateCompaction(
        CompactionRequest.newBuilder().setRevision(-1).build()));
    assertThatCode(() -> RequestValidator.validateCompaction(
        CompactionRequest.newBuilder().setRevision(0).build())).doesNotThrowAnyException();
  }

  @Test
  void putChecks() {
    assertFails(() -> RequestValidator.validatePut(put("", "v")), NuwaErrors.EMPTY_KEY);
    assertFails(() -> RequestValidator.validatePut(put("k", "v").toBuilder().setIgnoreLease(true)
        .setLease(3).build()), NuwaErrors.LEASE_PROVIDED);
    assertThatCode(() -> RequestValidator.validatePut(put("k", "").toBuilder().setIgnoreValue(true)
        .setIgnoreLease(true).build())).doesNotThrowAnyException();
    assertThatCode(() -> RequestValidator.validateRange(get("k").toBuilder()
        .setRangeEnd(bs("\0")).build())).doesNotThrowAnyException();
  }
}
