package org.apsara.nuwa.server.grpc;

import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.CompactionResponse;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.DeleteRangeResponse;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.PutResponse;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.TxnResponse;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import org.apsara.nuwa.server.auth.Access;
import org.apsara.nuwa.server.mvcc.QuotaCost;
import org.apsara.nuwa.server.mvcc.RequestValidator;
import org.apsara.nuwa.server.raft.proto.LogRecord;
import org.apsara.nuwa.server.raft.proto.Query;
import org.apsara.nuwa.server.raft.proto.Reply;

/**
 * etcd's KV service: reads by read index (or locally when serializable), writes through the log.
 * With authentication enabled, each request's keys are checked against the caller's permissions
 * as etcd checks them: a linearizable read once the read index has brought this member up to
 * date, anything else before it leaves the event loop (a write again, by its auth stamp, when it
 * applies; a refusal only once this member is up to date, see {@link ServerContext#guard}).
 */
final class KvService extends KVGrpc.KVImplBase {
  private final ServerContext ctx;

  KvService(ServerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void range(RangeRequest request, StreamObserver<RangeResponse> observer) {
    ctx.guard(observer, () -> {
      ctx.checkSize(request);
      RequestValidator.validateRange(request);
      Query query = Query.newBuilder().setRange(request).build();
      String token = AuthTokenInterceptor.currentToken();
      CompletableFuture<Reply> reply;
      if (request.getSerializable()) {
        ctx.caller().checkRange(request);
        reply = CompletableFuture.completedFuture(ctx.raft.readLocal(query));
      } else {
        // Judged once the read index has brought this member up to date, refusals included.
        reply = ctx.raft.readLinearizable(query).thenApply(r -> {
          ctx.access.authenticate(token).checkRange(request);
          return r;
        });
      }
      ServerContext.reply(reply, r -> {
        RangeResponse response = ServerContext.checkReply(r).getRange();
        return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
      }, observer);
    });
  }

  @Override
  public void put(PutRequest request, StreamObserver<PutResponse> observer) {
    ctx.guard(observer, () -> {
      ctx.checkSize(request);
      RequestValidator.validatePut(request);
      Access caller = ctx.caller();
      caller.checkPut(request);
      ctx.checkQuota(QuotaCost.of(request));
      LogRecord record = ServerContext.record(caller).setPut(request).build();
      ServerContext.reply(ctx.raft.propose(record), r -> {
        PutResponse response = r.getPut();
        return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
      }, observer);
    });
  }

  @Override
  public void deleteRange(DeleteRangeRequest request, StreamObserver<DeleteRangeResponse> observer) {
    ctx.guard(observer, () -> {
      ctx.checkSize(request);
      RequestValidator.validateDeleteRange(request);
      Access caller = ctx.caller();
      caller.checkDeleteRange(request);
      LogRecord record = ServerContext.record(caller).setDeleteRange(request).build();
      ServerContext.reply(ctx.raft.propose(record),
          r -> {
            DeleteRangeResponse response = r.getDeleteRange();
            return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
          }, observer);
    });
  }

  @Override
  public void txn(TxnRequest request, StreamObserver<TxnResponse> observer) {
    ctx.guard(observer, () -> {
      ctx.checkSize(request);
      RequestValidator.validateTxn(request);
      Access caller = ctx.caller();
      caller.checkTxn(request);
      ctx.checkQuota(QuotaCost.of(request));
      LogRecord record = ServerContext.record(caller).setTxn(request).build();
      ServerContext.reply(ctx.raft.propose(record), r -> {
        TxnResponse response = r.getTxn();
        return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
      }, observer);
    });
  }

  @Override
  public void compact(CompactionRequest request, StreamObserver<CompactionResponse> observer) {
    ctx.guard(observer, () -> {
      RequestValidator.validateCompaction(request);
      // etcd lets any caller compact; Nuwa keeps it to the root role, since a compaction destroys
      // history every watcher and reader of old revisions depends on.
      Access caller = ctx.caller();
      caller.requireAdmin();
      LogRecord record = ServerContext.record(caller).setCompaction(request).build();
      ServerContext.reply(ctx.raft.propose(record),
          r -> {
            CompactionResponse response = r.getCompaction();
            return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
          }, observer);
    });
  }
}
