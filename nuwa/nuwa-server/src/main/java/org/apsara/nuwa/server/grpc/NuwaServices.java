package org.apsara.nuwa.server.grpc;

import io.grpc.ServerServiceDefinition;
import java.util.List;
import java.util.concurrent.ExecutorService;

/** The etcd-compatible gRPC services of one member, wired to its state. */
public final class NuwaServices {
  private final WatchService watch;
  private final List<ServerServiceDefinition> definitions;
  private final ServerContext ctx;

  public NuwaServices(ServerContext ctx, ExecutorService watchSenders) {
    this.ctx = ctx;
    this.watch = new WatchService(ctx, watchSenders);
    ctx.stateMachine.addChangeListener(watch);
    Recipes recipes = new Recipes(ctx);
    this.definitions = List.of(
        new LockService(ctx, recipes).bindService(),
        new ElectionService(ctx, recipes).bindService(),
        new KvService(ctx).bindService(),
        watch.bindService(),
        new LeaseService(ctx).definition(),
        new ClusterService(ctx).bindService(),
        new MaintenanceService(ctx).bindService(),
        new AuthService(ctx).definition());
  }

  public List<ServerServiceDefinition> definitions() {
    return definitions;
  }

  public void close() {
    ctx.stateMachine.removeChangeListener(watch);
    watch.close();
  }
}
