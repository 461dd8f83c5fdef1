package org.apsara.nuwa.server.mvcc;

import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.ResponseHeader;
import io.etcd.jetcd.api.ResponseOp;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.TxnResponse;
import java.util.ArrayList;
import java.util.List;
import org.apsara.nuwa.api.NuwaErrors;

/**
 * Executes an etcd transaction in etcd 3.5's order ({@code applierV3backend.Txn}):
 *
 * <ol>
 *   <li>every compare, nested ones included, is evaluated against the state before the
 *       transaction, which fixes the branch each level takes;
 *   <li>the puts of the chosen branches are checked (a key that {@code ignore_value} or
 *       {@code ignore_lease} needs exists; a lease exists), then their ranges (revision neither
 *       compacted nor in the future);
 *   <li>the operations run in order on a {@link WriteBatch}, so later ones see earlier writes.
 * </ol>
 *
 * An error at any step leaves the batch uncommitted, so the store does not change.
 */
final class TxnExecutor {
  /** The branch one transaction takes, and the plans of the nested transactions it runs. */
  record Plan(boolean succeeded, List<Plan> nested) {}

  private static final KeyValue ABSENT = KeyValue.getDefaultInstance();

  private TxnExecutor() {}

  static Plan plan(TxnRequest txn, KvReader before) {
    boolean succeeded = true;
    for (Compare compare : txn.getCompareList()) {
      if (!compare(before, compare)) {
        succeeded = false;
        break;
      }
    }
    List<Plan> nested = new ArrayList<>();
    for (RequestOp op : branch(txn, succeeded)) {
      if (op.hasRequestTxn()) {
        nested.add(plan(op.getRequestTxn(), before));
      }
    }
    return new Plan(succeeded, nested);
  }

  /** Checks the puts of the chosen branches against the state before the transaction. */
  static void checkPuts(TxnRequest txn, Plan plan, KvReader before, LeaseTable leases) {
    int nested = 0;
    for (RequestOp op : branch(txn, plan.succeeded())) {
      if (op.hasRequestTxn()) {
        checkPuts(op.getRequestTxn(), plan.nested().get(nested++), before, leases);
      } else if (op.hasRequestPut()) {
        PutRequest put = op.getRequestPut();
        if ((put.getIgnoreValue() || put.getIgnoreLease()) && before.get(put.getKey()) == null) {
          throw NuwaErrors.KEY_NOT_FOUND.asRuntimeException();
        }
        if (put.getLease() != LeaseTable.NO_LEASE && !leases.contains(put.getLease())) {
          throw NuwaErrors.LEASE_NOT_FOUND.asRuntimeException();
        }
      }
    }
  }

  /** Checks the revisions of the ranges of the chosen branches. */
  static void checkRanges(TxnRequest txn, Plan plan, long beginRevision, long compactRevision) {
    int nested = 0;
    for (RequestOp op : branch(txn, plan.succeeded())) {
      if (op.hasRequestTxn()) {
        checkRanges(
            op.getRequestTxn(), plan.nested().get(nested++), beginRevision, compactRevision);
      } else if (op.hasRequestRange()) {
        long revision = op.getRequestRange().getRevision();
        if (revision > beginRevision) {
          throw NuwaErrors.FUTURE_REVISION.asRuntimeException();
        }
        if (revision != 0 && revision < compactRevision) {
          throw NuwaErrors.COMPACTED.asRuntimeException();
        }
      }
    }
  }

  /**
   * Runs the chosen branch on {@code batch}. A nested transaction's response carries an empty
   * header, as etcd's does; the caller sets the top-level one.
   */
  static TxnResponse.Builder execute(TxnRequest txn, Plan plan, WriteBatch batch, KeyIndex index) {
    TxnResponse.Builder response = TxnResponse.newBuilder()
        .setHeader(ResponseHeader.getDefaultInstance())
        .setSucceeded(plan.succeeded());
    int nested = 0;
    for (RequestOp op : branch(txn, plan.succeeded())) {
      ResponseOp.Builder result = ResponseOp.newBuilder();
      switch (op.getRequestCase()) {
        case REQUEST_RANGE: {
          RangeRequest range = op.getRequestRange();
          // Revision 0 reads the transaction's own writes; an explicit one reads history,
          // which the checks above bound to revisions committed before the transaction.
          KvReader reader = range.getRevision() == 0 ? batch : index.at(range.getRevision());
          result.setResponseRange(RangeEvaluator.evaluate(reader, range, batch.currentRevision()));
          break;
        }
        case REQUEST_PUT:
          result.setResponsePut(batch.put(op.getRequestPut()));
          break;
        case REQUEST_DELETE_RANGE:
          result.setResponseDeleteRange(batch.deleteRange(op.getRequestDeleteRange()));
          break;
        case REQUEST_TXN:
          result.setResponseTxn(
              execute(op.getRequestTxn(), plan.nested().get(nested++), batch, index));
          break;
        default:
          // RequestValidator rejects empty operations before a transaction gets here.
          throw NuwaErrors.KEY_NOT_FOUND.asRuntimeException();
      }
      response.addResponses(result);
    }
    return response;
  }

  /** etcd's {@code applyCompare}: true if every key in the compare's range satisfies it. */
  static boolean compare(KvReader reader, Compare compare) {
    boolean[] found = {false};
    boolean[] satisfied = {true};
    reader.scan(KeyRange.of(compare.getKey(), compare.getRangeEnd()), kv -> {
      found[0] = true;
      satisfied[0] = compareKv(compare, kv);
      return satisfied[0];
    });
    if (!found[0]) {
      // A missing key has no value to compare (gRPC cannot tell empty from absent), so a value
      // compare fails; the other targets compare against zero.
      return compare.getTargetValue() != Compare.CompareTarget.VALUE_VALUE
          && compareKv(compare, ABSENT);
    }
    return satisfied[0];
  }

  private static boolean compareKv(Compare compare, KeyValue kv) {
    int result;
    switch (compare.getTargetValue()) {
      case Compare.CompareTarget.VALUE_VALUE:
        // getValue() is empty when the compare carries another target value, as in etcd.
        result = KeyRange.KEY_ORDER.compare(kv.getValue(), compare.getValue());
        break;
      case Compare.CompareTarget.CREATE_VALUE:
        result = Long.compare(kv.getCreateRevision(), compare.getCreateRevision());
        break;
      case Compare.CompareTarget.MOD_VALUE:
        result = Long.compare(kv.getModRevision(), compare.getModRevision());
        break;
      case Compare.CompareTarget.VERSION_VALUE:
        result = Long.compare(kv.getVersion(), compare.getVersion());
        break;
      case RequestValidator.COMPARE_TARGET_LEASE:
        result = Long.compare(kv.getLease(), leaseOf(compare));
        break;
      default:
        throw NuwaErrors.invalidArgument("unknown compare target " + compare.getTargetValue());
    }
    switch (compare.getResult()) {
      case EQUAL:
        return result == 0;
      case NOT_EQUAL:
        return result != 0;
      case GREATER:
        return result > 0;
      case LESS:
        return result < 0;
      default:
        throw NuwaErrors.invalidArgument("unknown compare result " + compare.getResultValue());
    }
  }

  /** The lease a LEASE compare names; 0 if absent, as for any other unset target value. */
  private static long leaseOf(Compare compare) {
    List<Long> values =
        compare.getUnknownFields().getField(RequestValidator.COMPARE_LEASE_FIELD).getVarintList();
    return values.isEmpty() ? 0 : values.get(values.size() - 1);
  }

  private static List<RequestOp> branch(TxnRequest txn, boolean succeeded) {
    return succeeded ? txn.getSuccessList() : txn.getFailureList();
  }
}
