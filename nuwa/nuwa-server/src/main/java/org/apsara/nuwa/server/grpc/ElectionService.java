package org.apsara.nuwa.server.grpc;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.CampaignRequest;
import io.etcd.jetcd.api.CampaignResponse;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.ElectionGrpc;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.LeaderKey;
import io.etcd.jetcd.api.LeaderRequest;
import io.etcd.jetcd.api.LeaderResponse;
import io.etcd.jetcd.api.ProclaimRequest;
import io.etcd.jetcd.api.ProclaimResponse;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.ResignRequest;
import io.etcd.jetcd.api.ResignResponse;
import io.etcd.jetcd.api.TxnRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.apsara.nuwa.server.auth.Access;
import org.apsara.nuwa.server.mvcc.MvccStore;
import org.apsara.nuwa.server.mvcc.QuotaCost;

/**
 * etcd's v3election service: campaign for leadership of a named election under a lease, proclaim
 * a new value as leader, resign, ask who leads, and observe every change of leader or value.
 */
final class ElectionService extends ElectionGrpc.ElectionImplBase {
  static final Status NOT_LEADER = Status.FAILED_PRECONDITION.withDescription("election: not leader");
  static final Status NO_LEADER = Status.NOT_FOUND.withDescription("election: no leader");

  private final ServerContext ctx;
  private final Recipes recipes;

  ElectionService(ServerContext ctx, Recipes recipes) {
    this.ctx = ctx;
    this.recipes = recipes;
  }

  @Override
  public void campaign(CampaignRequest request, StreamObserver<CampaignResponse> observer) {
    ctx.guard(observer, () -> {
      Access caller = ctx.caller();
      ByteString name = request.getName();
      long lease = request.getLease();
      CompletableFuture<CampaignResponse> elected = recipes
          // Campaigning again with a new value updates it, as etcd's Campaign does.
          .acquire(caller, name, request.getValue(), lease,
              me -> me.value().equals(request.getValue())
                  ? CompletableFuture.completedFuture(null)
                  : proclaim(caller, leaderKey(name, me, lease), request.getValue()))
          .thenApply(me -> CampaignResponse.newBuilder().setHeader(ctx.header())
              .setLeader(leaderKey(name, me, lease)).build());
      ServerContext.complete(elected, observer);
    });
  }

  private static LeaderKey leaderKey(ByteString name, Recipes.Contender contender, long lease) {
    return LeaderKey.newBuilder().setName(name).setKey(contender.key())
        .setRev(contender.createRevision()).setLease(lease).build();
  }

  @Override
  public void proclaim(ProclaimRequest request, StreamObserver<ProclaimResponse> observer) {
    ctx.guard(observer, () -> ServerContext.complete(
        proclaim(ctx.caller(), request.getLeader(), request.getValue())
            .thenApply(ok -> ProclaimResponse.newBuilder().setHeader(ctx.header()).build()),
        observer));
  }

  private CompletableFuture<Void> proclaim(Access caller, LeaderKey leader, ByteString value) {
    TxnRequest txn = TxnRequest.newBuilder()
        .addCompare(ownsKey(leader))
        .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder()
            .setKey(leader.getKey()).setValue(value).setLease(leader.getLease())))
        .build();
    caller.checkTxn(txn); // throws at once: see ServerContext.guard
    ctx.checkQuota(QuotaCost.of(txn));
    return ctx.raft.propose(ServerContext.record(caller).setTxn(txn).build()).thenAccept(reply -> {
      if (!reply.getTxn().getSucceeded()) {
        throw NOT_LEADER.asRuntimeException();
      }
    });
  }

  @Override
  public void resign(ResignRequest request, StreamObserver<ResignResponse> observer) {
    ctx.guard(observer, () -> {
      LeaderKey leader = request.getLeader();
      TxnRequest txn = TxnRequest.newBuilder()
          .addCompare(ownsKey(leader))
          .addSuccess(RequestOp.newBuilder().setRequestDeleteRange(
              DeleteRangeRequest.newBuilder().setKey(leader.getKey())))
          .build();
      Access caller = ctx.caller();
      caller.checkTxn(txn);
      ServerContext.complete(ctx.raft.propose(ServerContext.record(caller).setTxn(txn).build())
          .thenApply(reply -> ResignResponse.newBuilder().setHeader(ctx.header()).build()),
          observer);
    });
  }

  private static Compare ownsKey(LeaderKey leader) {
    return Compare.newBuilder().setKey(leader.getKey()).setTarget(Compare.CompareTarget.CREATE)
        .setResult(Compare.CompareResult.EQUAL).setCreateRevision(leader.getRev()).build();
  }

  @Override
  public void leader(LeaderRequest request, StreamObserver<LeaderResponse> observer) {
    ctx.guard(observer, () -> {
      ByteString prefix = Recipes.prefixOf(request.getName());
      ctx.caller().checkRead(prefix, Recipes.prefixEnd(prefix));
      ServerContext.complete(recipes.oldest(prefix).thenApply(kv -> {
        if (kv.isEmpty()) {
          throw NO_LEADER.asRuntimeException();
        }
        return LeaderResponse.newBuilder().setHeader(ctx.header()).setKv(kv.get()).build();
      }), observer);
    });
  }

  /**
   * Streams the current leader, then every change of leader or of its value, until the client
   * cancels. Each applied change under the election's prefix triggers one fresh look.
   */
  @Override
  public void observe(LeaderRequest request, StreamObserver<LeaderResponse> responses) {
    ServerCallStreamObserver<LeaderResponse> stream = (ServerCallStreamObserver<LeaderResponse>) responses;
    ByteString prefix = Recipes.prefixOf(request.getName());
    ctx.guard(responses, () -> {
      ctx.caller().checkRead(prefix, Recipes.prefixEnd(prefix));
      observe(prefix, stream);
    });
  }

  private void observe(ByteString prefix, ServerCallStreamObserver<LeaderResponse> stream) {
    KeyRange range = new KeyRange(prefix, Recipes.prefixEnd(prefix));
    AtomicReference<KeyValue> lastSent = new AtomicReference<>();
    // Looks run one after another, so an older answer never overtakes a newer one.
    AtomicReference<CompletableFuture<Void>> looks =
        new AtomicReference<>(CompletableFuture.completedFuture(null));
    Runnable look = () -> looks.updateAndGet(previous -> previous
        .thenCompose(ignored -> recipes.oldest(prefix))
        .thenAccept(kv -> {
          if (kv.isEmpty() || stream.isCancelled()) {
            return;
          }
          KeyValue previousLeader = lastSent.get();
          boolean changed = previousLeader == null
              || !previousLeader.getKey().equals(kv.get().getKey())
              || previousLeader.getModRevision() < kv.get().getModRevision();
          if (changed) {
            lastSent.set(kv.get());
            try {
              stream.onNext(
                  LeaderResponse.newBuilder().setHeader(ctx.header()).setKv(kv.get()).build());
            } catch (IllegalStateException | StatusRuntimeException closed) {
              // The observer left.
            }
          }
        })
        .exceptionally(failure -> null));
    MvccStore.ChangeListener listener = (revision, events) -> {
      for (Event event : events) {
        if (range.contains(event.getKv().getKey())) {
          look.run();
          return;
        }
      }
    };
    ctx.stateMachine.addChangeListener(listener);
    stream.setOnCancelHandler(() -> ctx.stateMachine.removeChangeListener(listener));
    look.run();
  }
}
