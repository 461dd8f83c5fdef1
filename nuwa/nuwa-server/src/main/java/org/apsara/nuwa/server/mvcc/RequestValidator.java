package org.apsara.nuwa.server.mvcc;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.TreeSet;
import java.util.List;
import java.util.Set;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.api.NuwaLimits;

/**
 * The checks of a request that need no state, with the errors etcd answers them with (etcd's
 * {@code v3rpc} {@code checkXxxRequest} functions and {@code checkIntervals}).
 *
 * <p>The server runs them before proposing a request, so that a bad request never enters the
 * log; {@link MvccStore} runs them again when applying, so that nothing is ever half-applied.
 * Each method returns normally or throws a {@link StatusRuntimeException} carrying one of
 * {@link NuwaErrors}. Stateless and thread-safe.
 */
public final class RequestValidator {
  /** etcd's {@code Compare.LEASE} target, which the jetcd copy of etcd's .proto lacks. */
  static final int COMPARE_TARGET_LEASE = 4;
  /** Field number of etcd's {@code Compare.lease}; it arrives as an unknown field here. */
  static final int COMPARE_LEASE_FIELD = 8;

  private static final ByteString POINT_SUFFIX = ByteString.copyFrom(new byte[] {0});

  private RequestValidator() {}

  public static void validateRange(RangeRequest request) {
    if (request.getKey().isEmpty()) {
      throw NuwaErrors.EMPTY_KEY.asRuntimeException();
    }
    if (request.getLimit() < 0) {
      throw NuwaErrors.invalidArgument("range limit must not be negative");
    }
    if (request.getRevision() < 0) {
      throw NuwaErrors.invalidArgument("range revision must not be negative");
    }
    if (request.getSortOrder() == RangeRequest.SortOrder.UNRECOGNIZED) {
      throw NuwaErrors.invalidArgument("unknown sort order " + request.getSortOrderValue());
    }
    if (request.getSortTarget() == RangeRequest.SortTarget.UNRECOGNIZED) {
      throw NuwaErrors.invalidArgument("unknown sort target " + request.getSortTargetValue());
    }
  }

  public static void validatePut(PutRequest request) {
    if (request.getKey().isEmpty()) {
      throw NuwaErrors.EMPTY_KEY.asRuntimeException();
    }
    if (request.getIgnoreValue() && !request.getValue().isEmpty()) {
      throw NuwaErrors.VALUE_PROVIDED.asRuntimeException();
    }
    if (request.getIgnoreLease() && request.getLease() != LeaseTable.NO_LEASE) {
      throw NuwaErrors.LEASE_PROVIDED.asRuntimeException();
    }
    // The server bounds whole requests more tightly; this bound is what lets a snapshot
    // reader bound every key and value it allocates.
    if ((long) request.getKey().size() + request.getValue().size() > NuwaLimits.MAX_REQUEST_BYTES) {
      throw NuwaErrors.REQUEST_TOO_LARGE.asRuntimeException();
    }
  }

  public static void validateDeleteRange(DeleteRangeRequest request) {
    if (request.getKey().isEmpty()) {
      throw NuwaErrors.EMPTY_KEY.asRuntimeException();
    }
  }

  /**
   * Checks a transaction: at most {@link NuwaLimits#MAX_TXN_OPS} operations, counted as etcd
   * counts them (the largest of the compare, success and failure lists at each level, with
   * nested transactions sharing what their parent leaves of the budget); every operation valid
   * on its own; and no key both put and deleted, or put twice, in one branch.
   */
  public static void validateTxn(TxnRequest request) {
    checkTxn(request, NuwaLimits.MAX_TXN_OPS);
    // Overlaps are checked after the counts, so that a huge request cannot cost quadratic time.
    checkIntervals(request.getSuccessList());
    checkIntervals(request.getFailureList());
  }

  public static void validateCompaction(CompactionRequest request) {
    if (request.getRevision() < 0) {
      throw NuwaErrors.invalidArgument("compaction revision must not be negative");
    }
  }

  /**
   * Checks the TTL bound. The ID may still be 0 here (the server picks one before proposing),
   * and a TTL below {@link NuwaLimits#MIN_LEASE_TTL_SECONDS} is raised, not rejected.
   */
  public static void validateLeaseGrant(LeaseGrantRequest request) {
    if (request.getTTL() > NuwaLimits.MAX_LEASE_TTL_SECONDS) {
      throw NuwaErrors.LEASE_TTL_TOO_LARGE.asRuntimeException();
    }
  }

  private static void checkTxn(TxnRequest request, int maxOps) {
    int ops = Math.max(request.getCompareCount(),
        Math.max(request.getSuccessCount(), request.getFailureCount()));
    if (ops > maxOps) {
      throw NuwaErrors.TOO_MANY_OPS.asRuntimeException();
    }
    for (Compare compare : request.getCompareList()) {
      checkCompare(compare);
    }
    for (RequestOp op : request.getSuccessList()) {
      checkOp(op, maxOps - ops);
    }
    for (RequestOp op : request.getFailureList()) {
      checkOp(op, maxOps - ops);
    }
  }

  private static void checkCompare(Compare compare) {
    if (compare.getKey().isEmpty()) {
      throw NuwaErrors.EMPTY_KEY.asRuntimeException();
    }
    int target = compare.getTargetValue();
    if (target < 0 || target > COMPARE_TARGET_LEASE) {
      throw NuwaErrors.invalidArgument("unknown compare target " + target);
    }
    if (compare.getResult() == Compare.CompareResult.UNRECOGNIZED) {
      throw NuwaErrors.invalidArgument("unknown compare result " + compare.getResultValue());
    }
  }

  private static void checkOp(RequestOp op, int maxOps) {
    switch (op.getRequestCase()) {
      case REQUEST_RANGE:
        validateRange(op.getRequestRange());
        break;
      case REQUEST_PUT:
        validatePut(op.getRequestPut());
        break;
      case REQUEST_DELETE_RANGE:
        validateDeleteRange(op.getRequestDeleteRange());
        break;
      case REQUEST_TXN:
        checkTxn(op.getRequestTxn(), maxOps);
        break;
      default:
        // etcd answers an empty operation this way.
        throw NuwaErrors.KEY_NOT_FOUND.asRuntimeException();
    }
  }

  /** A deleted interval [begin, end) as etcd's {@code checkIntervals} builds it. */
  private record Interval(ByteString begin, ByteString end) {
    static Interval of(DeleteRangeRequest delete) {
      // etcd takes range_end literally here, so a "from key" delete ("\0") covers nothing.
      ByteString end = delete.getRangeEnd().isEmpty()
          ? delete.getKey().concat(POINT_SUFFIX)
          : delete.getRangeEnd();
      return new Interval(delete.getKey(), end);
    }

    boolean contains(ByteString key) {
      return KeyRange.KEY_ORDER.compare(key, begin) >= 0
          && KeyRange.KEY_ORDER.compare(key, end) < 0;
    }
  }

  /** The keys put and the intervals deleted by one list of operations and its nested ones. */
  private record Writes(Set<ByteString> puts, List<Interval> deletes) {
    boolean deletes(ByteString key) {
      for (Interval interval : deletes) {
        if (interval.contains(key)) {
          return true;
        }
      }
      return false;
    }
  }

  /**
   * etcd's {@code checkIntervals}: within one list of operations, a key may be put at most once
   * and must not fall in a range deleted at the same level or in an earlier nested transaction.
   * The success and failure lists of one nested transaction may put the same key, since only
   * one of them runs.
   */
  private static Writes checkIntervals(List<RequestOp> ops) {
    List<Interval> deletes = new ArrayList<>();
    for (RequestOp op : ops) {
      if (op.hasRequestDeleteRange()) {
        deletes.add(Interval.of(op.getRequestDeleteRange()));
      }
    }
    Writes writes = new Writes(new TreeSet<>(KeyRange.KEY_ORDER), deletes);
    for (RequestOp op : ops) {
      if (!op.hasRequestTxn()) {
        continue;
      }
      Writes success = checkIntervals(op.getRequestTxn().getSuccessList());
      Writes failure = checkIntervals(op.getRequestTxn().getFailureList());
      for (ByteString key : success.puts()) {
        if (writes.puts().contains(key) || writes.deletes(key)) {
          throw NuwaErrors.DUPLICATE_KEY.asRuntimeException();
        }
        writes.puts().add(key);
      }
      for (ByteString key : failure.puts()) {
        if (writes.puts().contains(key) && !success.puts().contains(key)) {
          throw NuwaErrors.DUPLICATE_KEY.asRuntimeException();
        }
        if (writes.deletes(key)) {
          throw NuwaErrors.DUPLICATE_KEY.asRuntimeException();
        }
        writes.puts().add(key);
      }
      deletes.addAll(success.deletes());
      deletes.addAll(failure.deletes());
    }
    for (RequestOp op : ops) {
      if (!op.hasRequestPut()) {
        continue;
      }
      ByteString key = op.getRequestPut().getKey();
      if (writes.puts().contains(key) || writes.deletes(key)) {
        throw NuwaErrors.DUPLICATE_KEY.asRuntimeException();
      }
      writes.puts().add(key);
    }
    return writes;
  }
}
