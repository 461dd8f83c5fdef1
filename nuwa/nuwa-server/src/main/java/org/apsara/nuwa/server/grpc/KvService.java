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
import org.apsara.nuwa.server.mvcc.RequestValidator;
import org.apsara.nuwa.server.raft.proto.LogRecord;
import org.apsara.nuwa.server.raft.proto.Query;
import org.apsara.nuwa.server.raft.proto.Reply;

/** etcd's KV service: reads by read index (or locally when serializable), writes through the log. */
final class KvService extends KVGrpc.KVImplBase {
  private final ServerContext ctx;

  KvService(ServerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void range(RangeRequest request, StreamObserver<RangeResponse> observer) {
    ServerContext.guard(observer, () -> {
      ctx.checkSize(request);
      RequestValidator.validateRange(request);
      Query query = Query.newBuilder().setRange(request).build();
      CompletableFuture<Reply> reply = request.getSerializable()
          ? CompletableFuture.completedFuture(ctx.raft.readLocal(query))
          : ctx.raft.readLinearizable(query);
      ServerContext.reply(reply, r -> {
        RangeResponse response = ServerContext.checkReply(r).getRange();
        return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
      }, observer);
    });
  }

  @Override
  public void put(PutRequest request, StreamObserver<PutResponse> observer) {
    ServerContext.guard(observer, () -> {
      ctx.checkSize(request);
      RequestValidator.validatePut(request);
      ServerContext.reply(ctx.raft.propose(LogRecord.newBuilder().setPut(request).build()), r -> {
        PutResponse response = r.getPut();
        return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
      }, observer);
    });
  }

  @Override
  public void deleteRange(DeleteRangeRequest request, StreamObserver<DeleteRangeResponse> observer) {
    ServerContext.guard(observer, () -> {
      ctx.checkSize(request);
      RequestValidator.validateDeleteRange(request);
      ServerContext.reply(ctx.raft.propose(LogRecord.newBuilder().setDeleteRange(request).build()),
          r -> {
            DeleteRangeResponse response = r.getDeleteRange();
            return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
          }, observer);
    });
  }

  @Override
  public void txn(TxnRequest request, StreamObserver<TxnResponse> observer) {
    ServerContext.guard(observer, () -> {
      ctx.checkSize(request);
      RequestValidator.validateTxn(request);
      ServerContext.reply(ctx.raft.propose(LogRecord.newBuilder().setTxn(request).build()), r -> {
        TxnResponse response = r.getTxn();
        return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
      }, observer);
    });
  }

  @Override
  public void compact(CompactionRequest request, StreamObserver<CompactionResponse> observer) {
    ServerContext.guard(observer, () -> {
      RequestValidator.validateCompaction(request);
      ServerContext.reply(ctx.raft.propose(LogRecord.newBuilder().setCompaction(request).build()),
          r -> {
            CompactionResponse response = r.getCompaction();
            return response.toBuilder().setHeader(ctx.header(response.getHeader())).build();
          }, observer);
    });
  }
}
