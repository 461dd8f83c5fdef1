package org.apsara.nuwa.server.grpc;

import io.etcd.jetcd.api.lock.LockGrpc;
import io.etcd.jetcd.api.lock.LockRequest;
import io.etcd.jetcd.api.lock.LockResponse;
import io.etcd.jetcd.api.lock.UnlockRequest;
import io.etcd.jetcd.api.lock.UnlockResponse;
import io.grpc.Context;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import org.apsara.nuwa.api.NuwaErrors;

/**
 * etcd's v3lock service: {@code Lock} blocks until the caller holds the named lock under its
 * lease and returns the key that proves it; {@code Unlock} deletes that key. The lock is
 * released by itself when the lease ends.
 */
final class LockService extends LockGrpc.LockImplBase {
  private final ServerContext ctx;
  private final Recipes recipes;

  LockService(ServerContext ctx, Recipes recipes) {
    this.ctx = ctx;
    this.recipes = recipes;
  }

  @Override
  public void lock(LockRequest request, StreamObserver<LockResponse> observer) {
    if (request.getName().isEmpty()) {
      observer.onError(NuwaErrors.EMPTY_KEY.asRuntimeException());
      return;
    }
    if (request.getLease() == 0) {
      observer.onError(NuwaErrors.LEASE_NOT_FOUND.asRuntimeException());
      return;
    }
    var key = Recipes.contenderKey(request.getName(), request.getLease());
    CompletableFuture<LockResponse> acquired = recipes
        .createOrGet(key, com.google.protobuf.ByteString.EMPTY, request.getLease())
        .thenCompose(me -> recipes.awaitOlderDeleted(Recipes.prefixOf(request.getName()),
            me.createRevision()))
        .thenApply(held -> LockResponse.newBuilder().setHeader(ctx.header()).setKey(key).build());
    // A caller that gives up while waiting must not keep its place in the queue.
    Context.current().addListener(context -> {
      if (!acquired.isDone()) {
        acquired.cancel(false);
        recipes.delete(key);
      }
    }, Runnable::run);
    acquired.whenComplete((response, failure) -> {
      if (failure != null) {
        observer.onError(ServerContext.toStatusException(failure));
      } else {
        observer.onNext(response);
        observer.onCompleted();
      }
    });
  }

  @Override
  public void unlock(UnlockRequest request, StreamObserver<UnlockResponse> observer) {
    if (request.getKey().isEmpty()) {
      observer.onError(NuwaErrors.EMPTY_KEY.asRuntimeException());
      return;
    }
    recipes.delete(request.getKey()).whenComplete((ok, failure) -> {
      if (failure != null) {
        observer.onError(ServerContext.toStatusException(failure));
      } else {
        observer.onNext(UnlockResponse.newBuilder().setHeader(ctx.header()).build());
        observer.onCompleted();
      }
    });
  }
}
