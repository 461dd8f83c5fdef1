package org.apsara.nuwa.server.grpc;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.lock.LockGrpc;
import io.etcd.jetcd.api.lock.LockRequest;
import io.etcd.jetcd.api.lock.LockResponse;
import io.etcd.jetcd.api.lock.UnlockRequest;
import io.etcd.jetcd.api.lock.UnlockResponse;
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
    ctx.guard(observer, () -> ServerContext.complete(recipes
        .acquire(ctx.caller(), request.getName(), ByteString.EMPTY, request.getLease(),
            me -> CompletableFuture.completedFuture(null))
        .thenApply(me -> LockResponse.newBuilder().setHeader(ctx.header()).setKey(me.key())
            .build()), observer));
  }

  @Override
  public void unlock(UnlockRequest request, StreamObserver<UnlockResponse> observer) {
    if (request.getKey().isEmpty()) {
      observer.onError(NuwaErrors.EMPTY_KEY.asRuntimeException());
      return;
    }
    ctx.guard(observer, () -> ServerContext.complete(
        recipes.delete(ctx.caller(), request.getKey())
            .thenApply(ok -> UnlockResponse.newBuilder().setHeader(ctx.header()).build()),
        observer));
  }
}
