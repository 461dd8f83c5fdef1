package org.apsara.nuwa.client;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.KVGrpc;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import org.apsara.nuwa.client.RpcInvoker.Idempotency;

/**
 * Reads and writes keys. Obtained from {@link NuwaClient#kv()}; thread-safe, and shared by all
 * users of the client.
 *
 * <p>Every call has the client's request timeout. Blocking calls throw {@link NuwaException} (or a
 * subclass); asynchronous calls complete their future exceptionally with one, on an internal
 * thread, so dependent stages should not block. Reads are linearizable unless {@link
 * GetOptions.Builder#serializable} is asked. Reads (and read-only transactions) that fail because
 * an endpoint is unavailable are retried on another endpoint; writes are retried only when the
 * failure proves they were not applied. A write that fails with {@link NuwaUnavailableException} or
 * {@link NuwaTimeoutException} may or may not have been applied.
 */
public final class KvClient {
  private final RpcInvoker rpc;

  KvClient(RpcInvoker rpc) {
    this.rpc = rpc;
  }

  /** Reads one key. */
  public GetResponse get(ByteString key) {
    return Errors.await(getAsync(KeyRange.key(key), GetOptions.DEFAULT));
  }

  /** Reads one key, named in UTF-8. */
  public GetResponse get(String key) {
    return get(ByteString.copyFromUtf8(key));
  }

  /** Reads a range of keys. */
  public GetResponse get(KeyRange range, GetOptions options) {
    return Errors.await(getAsync(range, options));
  }

  /** Reads every key that starts with {@code prefix}, in key order. */
  public GetResponse getPrefix(String prefix) {
    return get(KeyRange.prefix(prefix), GetOptions.DEFAULT);
  }

  public CompletableFuture<GetResponse> getAsync(KeyRange range, GetOptions options) {
    Objects.requireNonNull(range, "range");
    Objects.requireNonNull(options, "options");
    return rpc.call(KVGrpc.getRangeMethod(), options.toProto(range), Idempotency.IDEMPOTENT)
        .thenApply(GetResponse::fromProto);
  }

  /** Writes {@code value} at {@code key}, creating a new revision. */
  public PutResponse put(ByteString key, ByteString value) {
    return put(key, value, PutOptions.DEFAULT);
  }

  public PutResponse put(String key, String value) {
    return put(ByteString.copyFromUtf8(key), ByteString.copyFromUtf8(value), PutOptions.DEFAULT);
  }

  public PutResponse put(String key, String value, PutOptions options) {
    return put(ByteString.copyFromUtf8(key), ByteString.copyFromUtf8(value), options);
  }

  public PutResponse put(ByteString key, ByteString value, PutOptions options) {
    return Errors.await(putAsync(key, value, options));
  }

  public CompletableFuture<PutResponse> putAsync(
      ByteString key, ByteString value, PutOptions options) {
    Op.checkKey(key);
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(options, "options");
    return rpc.call(KVGrpc.getPutMethod(), options.toProto(key, value), Idempotency.NOT_IDEMPOTENT)
        .thenApply(PutResponse::fromProto);
  }

  /** Deletes one key; {@link DeleteResponse#deleted()} is 0 if it did not exist. */
  public DeleteResponse delete(ByteString key) {
    return delete(KeyRange.key(key), DeleteOptions.DEFAULT);
  }

  public DeleteResponse delete(String key) {
    return delete(ByteString.copyFromUtf8(key));
  }

  /** Deletes every key in {@code range}. */
  public DeleteResponse delete(KeyRange range, DeleteOptions options) {
    return Errors.await(deleteAsync(range, options));
  }

  /** Deletes every key that starts with {@code prefix}. */
  public DeleteResponse deletePrefix(String prefix) {
    return delete(KeyRange.prefix(prefix), DeleteOptions.DEFAULT);
  }

  public CompletableFuture<DeleteResponse> deleteAsync(KeyRange range, DeleteOptions options) {
    Objects.requireNonNull(range, "range");
    Objects.requireNonNull(options, "options");
    return rpc.call(
            KVGrpc.getDeleteRangeMethod(), options.toProto(range), Idempotency.NOT_IDEMPOTENT)
        .thenApply(DeleteResponse::fromProto);
  }

  /** Runs a transaction atomically. */
  public TxnResponse txn(Txn txn) {
    return Errors.await(txnAsync(txn));
  }

  public CompletableFuture<TxnResponse> txnAsync(Txn txn) {
    Objects.requireNonNull(txn, "txn");
    Idempotency idempotency =
        txn.isReadOnly() ? Idempotency.IDEMPOTENT : Idempotency.NOT_IDEMPOTENT;
    return rpc.call(KVGrpc.getTxnMethod(), txn.toProto(), idempotency)
        .thenApply(TxnResponse::fromProto);
  }

  /**
   * Discards the history of every key before {@code revision}: reads and watches at older revisions
   * then fail with {@link CompactedException}. Returns once the compaction is recorded; the space
   * is reclaimed in the background.
   */
  public ResponseHeader compact(long revision) {
    return compact(revision, false);
  }

  /**
   * Like {@link #compact(long)}; with {@code physical} the call returns only once the compacted
   * history has been removed from the backend as well.
   */
  public ResponseHeader compact(long revision, boolean physical) {
    if (revision <= 0) {
      throw new IllegalArgumentException("revision must be positive: " + revision);
    }
    CompactionRequest request =
        CompactionRequest.newBuilder().setRevision(revision).setPhysical(physical).build();
    return Errors.await(
        rpc.call(KVGrpc.getCompactMethod(), request, Idempotency.NOT_IDEMPOTENT)
            .thenApply(r -> ResponseHeader.fromProto(r.getHeader())));
  }
}
