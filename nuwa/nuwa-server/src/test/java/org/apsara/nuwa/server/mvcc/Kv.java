package org.apsara.nuwa.server.mvcc;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseRevokeRequest;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/** Short builders and assertions for store tests. */
final class Kv {
  private Kv() {}

  static ByteString bs(String text) {
    return ByteString.copyFromUtf8(text);
  }

  static PutRequest put(String key, String value) {
    return PutRequest.newBuilder().setKey(bs(key)).setValue(bs(value)).build();
  }

  static PutRequest put(String key, String value, long lease) {
    return put(key, value).toBuilder().setLease(lease).build();
  }

  static DeleteRangeRequest delete(String key) {
    return DeleteRangeRequest.newBuilder().setKey(bs(key)).build();
  }

  static DeleteRangeRequest delete(String key, String rangeEnd) {
    return DeleteRangeRequest.newBuilder().setKey(bs(key)).setRangeEnd(bs(rangeEnd)).build();
  }

  static RangeRequest get(String key) {
    return RangeRequest.newBuilder().setKey(bs(key)).build();
  }

  static RangeRequest.Builder range(String key, String rangeEnd) {
    return RangeRequest.newBuilder().setKey(bs(key)).setRangeEnd(bs(rangeEnd));
  }

  /** Every key: etcd's key "\0" with range_end "\0". */
  static RangeRequest.Builder all() {
    return range("\0", "\0");
  }

  static LeaseGrantRequest grant(long id, long ttlSeconds) {
    return LeaseGrantRequest.newBuilder().setID(id).setTTL(ttlSeconds).build();
  }

  static LeaseRevokeRequest revoke(long id) {
    return LeaseRevokeRequest.newBuilder().setID(id).build();
  }

  static RequestOp op(PutRequest put) {
    return RequestOp.newBuilder().setRequestPut(put).build();
  }

  static RequestOp op(DeleteRangeRequest delete) {
    return RequestOp.newBuilder().setRequestDeleteRange(delete).build();
  }

  static RequestOp op(RangeRequest range) {
    return RequestOp.newBuilder().setRequestRange(range).build();
  }

  static RequestOp op(TxnRequest txn) {
    return RequestOp.newBuilder().setRequestTxn(txn).build();
  }

  static Compare.Builder compare(String key, Compare.CompareTarget target,
      Compare.CompareResult result) {
    return Compare.newBuilder().setKey(bs(key)).setTarget(target).setResult(result);
  }

  static List<String> keys(RangeResponse response) {
    return response.getKvsList().stream().map(kv -> kv.getKey().toStringUtf8()).toList();
  }

  static List<String> values(RangeResponse response) {
    return response.getKvsList().stream().map(kv -> kv.getValue().toStringUtf8()).toList();
  }

  static KeyValue only(RangeResponse response) {
    if (response.getKvsCount() != 1) {
      throw new AssertionError("expected one key-value, got " + response.getKvsList());
    }
    return response.getKvs(0);
  }

  static KeyValue kv(String key, String value, long create, long mod, long version, long lease) {
    return KeyValue.newBuilder().setKey(bs(key)).setValue(bs(value)).setCreateRevision(create)
        .setModRevision(mod).setVersion(version).setLease(lease).build();
  }

  /** Asserts that {@code call} fails with exactly {@code expected}'s code and message. */
  static void assertFails(ThrowingCallable call, Status expected) {
    assertThatThrownBy(call)
        .isInstanceOf(StatusRuntimeException.class)
        .satisfies(e -> {
          Status actual = ((StatusRuntimeException) e).getStatus();
          if (actual.getCode() != expected.getCode()
              || !String.valueOf(actual.getDescription()).equals(expected.getDescription())) {
            throw new AssertionError("expected " + expected + " but got " + actual);
          }
        });
  }

  /** Asserts that {@code call} fails with INVALID_ARGUMENT. */
  static void assertInvalid(ThrowingCallable call) {
    assertThatThrownBy(call)
        .isInstanceOf(StatusRuntimeException.class)
        .satisfies(e -> {
          if (((StatusRuntimeException) e).getStatus().getCode() != Status.Code.INVALID_ARGUMENT) {
            throw new AssertionError("expected INVALID_ARGUMENT but got " + e);
          }
        });
  }
}
