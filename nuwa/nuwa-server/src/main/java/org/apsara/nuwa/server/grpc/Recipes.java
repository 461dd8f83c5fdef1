package org.apsara.nuwa.server.grpc;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.TxnResponse;
import io.grpc.Context;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.server.auth.Access;
import org.apsara.nuwa.server.mvcc.MvccStore;
import org.apsara.nuwa.server.mvcc.QuotaCost;
import org.apsara.nuwa.server.raft.proto.Query;

/**
 * The server side of etcd's lock and election services, built like etcd's Go {@code concurrency}
 * package so that they interoperate with {@code etcdctl lock} and {@code etcdctl elect}: each
 * contender owns the key {@code <name>/<lease in hex>}, attached to its lease; the contender with
 * the lowest create revision holds the lock (or leads), and the others wait for every older key
 * to be deleted.
 *
 * <p>As in etcd, where these services are clients of the KV service, they act with the caller's
 * permissions: each request a recipe makes is checked as if the caller had sent it, those that are
 * known at the start before anything is written, and every write carries the caller's auth stamp.
 */
final class Recipes {
  private final ServerContext ctx;

  Recipes(ServerContext ctx) {
    this.ctx = ctx;
  }

  static ByteString contenderKey(ByteString name, long lease) {
    return name.concat(ByteString.copyFromUtf8("/" + Long.toHexString(lease)));
  }

  static ByteString prefixOf(ByteString name) {
    return name.concat(ByteString.copyFromUtf8("/"));
  }

  /** The key after every key that starts with {@code prefix}, as etcd's {@code GetPrefixRangeEnd}. */
  static ByteString prefixEnd(ByteString prefix) {
    byte[] end = prefix.toByteArray();
    for (int i = end.length - 1; i >= 0; i--) {
      if (end[i] != (byte) 0xff) {
        end[i]++;
        return ByteString.copyFrom(end, 0, i + 1);
      }
    }
    return ByteString.copyFrom(new byte[] {0});
  }

  /** A contender's key once it exists: its create revision and current value. */
  record Contender(ByteString key, long createRevision, ByteString value, long headerRevision) {}

  /** The transaction that creates a contender's key with the value, or reads it if it exists. */
  private static TxnRequest createOrGetTxn(ByteString key, ByteString value, long lease) {
    return TxnRequest.newBuilder()
        .addCompare(Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.CREATE)
            .setResult(Compare.CompareResult.EQUAL).setCreateRevision(0))
        .addSuccess(RequestOp.newBuilder().setRequestPut(
            PutRequest.newBuilder().setKey(key).setValue(value).setLease(lease)))
        .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(key)))
        .build();
  }

  /** Creates the contender's key with the value if it does not exist yet; either way returns it. */
  private CompletableFuture<Contender> createOrGet(Access caller, TxnRequest txn) {
    ByteString key = txn.getSuccess(0).getRequestPut().getKey();
    ByteString value = txn.getSuccess(0).getRequestPut().getValue();
    return ctx.raft.propose(ServerContext.record(caller).setTxn(txn).build()).thenApply(reply -> {
      TxnResponse response = reply.getTxn();
      long revision = response.getHeader().getRevision();
      if (response.getSucceeded()) {
        return new Contender(key, revision, value, revision);
      }
      KeyValue existing = response.getResponses(0).getResponseRange().getKvs(0);
      return new Contender(key, existing.getCreateRevision(), existing.getValue(), revision);
    });
  }

  /**
   * The contender's path shared by Lock and Campaign: check the request, create (or find) the
   * contender's key under its lease, run {@code beforeWaiting} on it, then wait until it is the
   * oldest contender. If the caller gives up while waiting, its key is deleted, so that it does
   * not keep a place in the queue.
   *
   * @throws io.grpc.StatusRuntimeException at once, before anything is proposed, if the caller may not
   *     make the requests the recipe needs (see {@link ServerContext#guard}), or if the store is
   *     at its quota
   */
  CompletableFuture<Contender> acquire(Access caller, ByteString name, ByteString value,
      long lease, Function<Contender, CompletableFuture<Void>> beforeWaiting) {
    if (name.isEmpty()) {
      return CompletableFuture.failedFuture(NuwaErrors.EMPTY_KEY.asRuntimeException());
    }
    if (lease == 0) {
      // A contender without a lease would hold its place forever if it died.
      return CompletableFuture.failedFuture(NuwaErrors.LEASE_NOT_FOUND.asRuntimeException());
    }
    ByteString key = contenderKey(name, lease);
    TxnRequest create = createOrGetTxn(key, value, lease);
    ByteString prefix = prefixOf(name);
    caller.checkTxn(create);
    caller.checkRead(prefix, prefixEnd(prefix)); // to find the older contenders
    ctx.checkQuota(QuotaCost.of(create));
    CompletableFuture<Contender> acquired = createOrGet(caller, create)
        .thenCompose(me -> beforeWaiting.apply(me)
            .thenCompose(ok -> awaitOlderDeleted(prefixOf(name), me.createRevision()))
            .thenApply(ok -> me));
    Context.current().addListener(context -> {
      if (!acquired.isDone()) {
        acquired.cancel(false);
        delete(caller, key);
      }
    }, Runnable::run);
    return acquired;
  }

  /** Completes once no key under {@code prefix} created before {@code createRevision} remains. */
  CompletableFuture<Void> awaitOlderDeleted(ByteString prefix, long createRevision) {
    RangeRequest newestOlder = RangeRequest.newBuilder()
        .setKey(prefix).setRangeEnd(prefixEnd(prefix))
        .setMaxCreateRevision(createRevision - 1)
        .setSortTarget(RangeRequest.SortTarget.CREATE)
        .setSortOrder(RangeRequest.SortOrder.DESCEND)
        .setLimit(1)
        .build();
    return range(newestOlder).thenCompose(response -> {
      if (response.getKvsCount() == 0) {
        return CompletableFuture.completedFuture(null);
      }
      return awaitDeleted(response.getKvs(0).getKey(), response.getHeader().getRevision() + 1)
          .thenCompose(deleted -> awaitOlderDeleted(prefix, createRevision));
    });
  }

  /** The oldest key under the prefix: the lock holder or election leader. */
  CompletableFuture<Optional<KeyValue>> oldest(ByteString prefix) {
    return range(RangeRequest.newBuilder()
        .setKey(prefix).setRangeEnd(prefixEnd(prefix))
        .setSortTarget(RangeRequest.SortTarget.CREATE)
        .setSortOrder(RangeRequest.SortOrder.ASCEND)
        .setLimit(1)
        .build()).thenApply(r -> r.getKvsCount() == 0 ? Optional.empty() : Optional.of(r.getKvs(0)));
  }

  CompletableFuture<RangeResponse> range(RangeRequest request) {
    return ctx.raft.readLinearizable(Query.newBuilder().setRange(request).build())
        .thenApply(reply -> ServerContext.checkReply(reply).getRange());
  }

  /**
   * Deletes the key with the caller's permissions.
   *
   * @throws io.grpc.StatusRuntimeException at once, before anything is proposed, if the caller may not
   *     delete it
   */
  CompletableFuture<Void> delete(Access caller, ByteString key) {
    DeleteRangeRequest request = DeleteRangeRequest.newBuilder().setKey(key).build();
    caller.checkDeleteRange(request);
    return ctx.raft.propose(ServerContext.record(caller).setDeleteRange(request).build())
        .thenApply(r -> null);
  }

  /**
   * Completes when {@code key} is deleted at or after {@code fromRevision}: watches this member's
   * applied state, after checking the history it already has.
   */
  CompletableFuture<Void> awaitDeleted(ByteString key, long fromRevision) {
    CompletableFuture<Void> deleted = new CompletableFuture<>();
    MvccStore.ChangeListener listener = (revision, events) -> {
      for (Event event : events) {
        if (event.getType() == Event.EventType.DELETE && event.getKv().getKey().equals(key)) {
          deleted.complete(null);
        }
      }
    };
    ctx.stateMachine.addChangeListener(listener);
    deleted.whenComplete((ok, failure) -> ctx.stateMachine.removeChangeListener(listener));
    try {
      List<Event> history = ctx.stateMachine.store().events(fromRevision, key, ByteString.EMPTY,
          false, Integer.MAX_VALUE);
      if (history.stream().anyMatch(e -> e.getType() == Event.EventType.DELETE)) {
        deleted.complete(null);
      }
    } catch (RuntimeException compacted) {
      // The history is gone; look at the key itself instead.
      range(RangeRequest.newBuilder().setKey(key).setCountOnly(true).build()).thenAccept(r -> {
        if (r.getCount() == 0) {
          deleted.complete(null);
        }
      });
    }
    return deleted;
  }

  static String describe(ByteString key) {
    return key.toString(StandardCharsets.UTF_8);
  }
}
