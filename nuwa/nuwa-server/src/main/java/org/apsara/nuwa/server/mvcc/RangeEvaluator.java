package org.apsara.nuwa.server.mvcc;

import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeRequest.SortOrder;
import io.etcd.jetcd.api.RangeRequest.SortTarget;
import io.etcd.jetcd.api.RangeResponse;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Answers a {@link RangeRequest} from a {@link KvReader}, applying limit, sorting, revision
 * filters, {@code keys_only} and {@code count_only} the way etcd 3.5's
 * {@code applierV3backend.Range} does:
 *
 * <ul>
 *   <li>{@code count} is the number of keys in the range at the revision, before the
 *       min/max revision filters and the limit;
 *   <li>with a sort order or a filter, every match is fetched, filtered, sorted, then cut to the
 *       limit; otherwise the first {@code limit + 1} keys in key order are fetched (and then
 *       sorted ascending if the sort target is not the key), so {@code more} says whether
 *       anything was cut;
 *   <li>a sort target other than the key with no sort order sorts ascending.
 * </ul>
 *
 * Sorting is stable, so keys that tie on the sort target stay in key order on every member.
 */
final class RangeEvaluator {
  private RangeEvaluator() {}

  static RangeResponse evaluate(KvReader reader, RangeRequest request, long headerRevision) {
    KeyRange range = KeyRange.of(request.getKey(), request.getRangeEnd());
    boolean filtered = request.getMinModRevision() != 0 || request.getMaxModRevision() != 0
        || request.getMinCreateRevision() != 0 || request.getMaxCreateRevision() != 0;
    long limit = request.getLimit();
    long fetchLimit;
    if (request.getCountOnly()) {
      fetchLimit = 0;
    } else if (limit > 0 && request.getSortOrder() == SortOrder.NONE && !filtered) {
      fetchLimit = limit == Long.MAX_VALUE ? limit : limit + 1;
    } else {
      fetchLimit = Long.MAX_VALUE;
    }

    List<KeyValue> kvs = new ArrayList<>();
    long[] total = {0};
    reader.scan(range, kv -> {
      total[0]++;
      if (kvs.size() < fetchLimit) {
        kvs.add(kv);
      }
      return true;
    });

    if (filtered) {
      kvs.removeIf(kv -> !passesFilters(kv, request));
    }
    SortOrder order = request.getSortOrder();
    if (request.getSortTarget() != SortTarget.KEY && order == SortOrder.NONE) {
      order = SortOrder.ASCEND;
    }
    if (order != SortOrder.NONE) {
      Comparator<KeyValue> comparator = comparator(request.getSortTarget());
      kvs.sort(order == SortOrder.DESCEND ? comparator.reversed() : comparator);
    }
    boolean more = false;
    List<KeyValue> result = kvs;
    if (limit > 0 && kvs.size() > limit) {
      result = kvs.subList(0, (int) limit);
      more = true;
    }

    RangeResponse.Builder response = RangeResponse.newBuilder()
        .setHeader(WriteBatch.header(headerRevision))
        .setMore(more)
        .setCount(total[0]);
    for (KeyValue kv : result) {
      response.addKvs(request.getKeysOnly() ? kv.toBuilder().clearValue().build() : kv);
    }
    return response.build();
  }

  private static boolean passesFilters(KeyValue kv, RangeRequest request) {
    return (request.getMaxModRevision() == 0 || kv.getModRevision() <= request.getMaxModRevision())
        && (request.getMinModRevision() == 0 || kv.getModRevision() >= request.getMinModRevision())
        && (request.getMaxCreateRevision() == 0
            || kv.getCreateRevision() <= request.getMaxCreateRevision())
        && (request.getMinCreateRevision() == 0
            || kv.getCreateRevision() >= request.getMinCreateRevision());
  }

  private static Comparator<KeyValue> comparator(SortTarget target) {
    switch (target) {
      case KEY:
        return Comparator.comparing(KeyValue::getKey, KeyRange.KEY_ORDER);
      case VERSION:
        return Comparator.comparingLong(KeyValue::getVersion);
      case CREATE:
        return Comparator.comparingLong(KeyValue::getCreateRevision);
      case MOD:
        return Comparator.comparingLong(KeyValue::getModRevision);
      case VALUE:
        return Comparator.comparing(KeyValue::getValue, KeyRange.KEY_ORDER);
      default:
        // RequestValidator rejects unknown targets before a request gets here.
        throw new IllegalArgumentException("unknown sort target " + target);
    }
  }
}
