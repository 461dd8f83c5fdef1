package org.apsara.nuwa.server.mvcc;

import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;

/**
 * How many bytes a write may add to the store, in the units of {@link
 * MvccStore#approximateBytes}, for the quota check (etcd's {@code quota.Cost}). Only puts and
 * lease grants add data: a delete, a read or a compaction costs nothing and is never refused for
 * space, so that an operator can always make room. Stateless.
 */
public final class QuotaCost {
  /** What a lease costs: its ID, TTL and entry in the lease table (etcd counts 64 bytes too). */
  public static final long LEASE_BYTES = 64;

  private QuotaCost() {}

  /** A put's key and value and one version's overhead. */
  public static long of(PutRequest put) {
    return put.getKey().size() + put.getValue().size() + KeyIndex.VERSION_OVERHEAD_BYTES;
  }

  /**
   * Every put in both branches, nested transactions included (which branch runs is not known
   * before the transaction applies); 0 for a transaction that only reads and deletes.
   */
  public static long of(TxnRequest txn) {
    return of(txn.getSuccessList()) + of(txn.getFailureList());
  }

  private static long of(Iterable<RequestOp> ops) {
    long cost = 0;
    for (RequestOp op : ops) {
      if (op.hasRequestPut()) {
        cost += of(op.getRequestPut());
      } else if (op.hasRequestTxn()) {
        cost += of(op.getRequestTxn());
      }
    }
    return cost;
  }
}
