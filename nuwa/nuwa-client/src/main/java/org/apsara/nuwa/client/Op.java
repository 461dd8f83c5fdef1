package org.apsara.nuwa.client;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.RequestOp;
import java.util.Objects;

/**
 * One operation inside a transaction branch: a get, put, delete or nested transaction. Immutable.
 */
public final class Op {
  private final RequestOp proto;
  private final boolean readOnly;

  private Op(RequestOp proto, boolean readOnly) {
    this.proto = proto;
    this.readOnly = readOnly;
  }

  public static Op get(KeyRange range, GetOptions options) {
    return new Op(RequestOp.newBuilder().setRequestRange(options.toProto(range)).build(), true);
  }

  public static Op get(String key) {
    return get(KeyRange.key(key), GetOptions.DEFAULT);
  }

  public static Op get(ByteString key) {
    return get(KeyRange.key(key), GetOptions.DEFAULT);
  }

  public static Op put(ByteString key, ByteString value, PutOptions options) {
    checkKey(key);
    Objects.requireNonNull(value, "value");
    return new Op(RequestOp.newBuilder().setRequestPut(options.toProto(key, value)).build(), false);
  }

  public static Op put(ByteString key, ByteString value) {
    return put(key, value, PutOptions.DEFAULT);
  }

  public static Op put(String key, String value) {
    return put(ByteString.copyFromUtf8(key), ByteString.copyFromUtf8(value), PutOptions.DEFAULT);
  }

  public static Op put(String key, String value, PutOptions options) {
    return put(ByteString.copyFromUtf8(key), ByteString.copyFromUtf8(value), options);
  }

  public static Op delete(KeyRange range, DeleteOptions options) {
    return new Op(
        RequestOp.newBuilder().setRequestDeleteRange(options.toProto(range)).build(), false);
  }

  public static Op delete(String key) {
    return delete(KeyRange.key(key), DeleteOptions.DEFAULT);
  }

  public static Op delete(ByteString key) {
    return delete(KeyRange.key(key), DeleteOptions.DEFAULT);
  }

  /**
   * A transaction nested in a branch of another. As in etcd, every comparison of the whole tree is
   * evaluated against the store as it was before the outer transaction, so a nested comparison does
   * not see writes made earlier in the outer branch.
   */
  public static Op txn(Txn txn) {
    return new Op(RequestOp.newBuilder().setRequestTxn(txn.toProto()).build(), txn.isReadOnly());
  }

  /** Whether the operation only reads, so that it may safely be sent again. */
  public boolean isReadOnly() {
    return readOnly;
  }

  RequestOp toProto() {
    return proto;
  }

  static void checkKey(ByteString key) {
    Objects.requireNonNull(key, "key");
    if (key.isEmpty()) {
      throw new IllegalArgumentException("key must not be empty");
    }
  }

  @Override
  public String toString() {
    return "Op{" + proto.toString().replace('\n', ' ').trim() + "}";
  }
}
