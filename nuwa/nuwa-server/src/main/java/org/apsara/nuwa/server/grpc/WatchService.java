package org.apsara.nuwa.server.grpc;

import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.apsara.nuwa.server.mvcc.MvccStore;

/**
 * etcd's Watch service. Every member serves watches from its own applied state: after each
 * applied revision the state machine tells this service which keys changed, and the streams
 * whose watchers cover those keys pull the new events from the store's history. Because each
 * watcher pulls from its own next revision, a slow watcher, a watch from an old revision and a
 * live one all go through the same path, and no event is lost, repeated or reordered.
 */
final class WatchService extends WatchGrpc.WatchImplBase implements MvccStore.ChangeListener {
  private final ServerContext ctx;
  private final ExecutorService senders;
  private final Set<WatchStream> streams = ConcurrentHashMap.newKeySet();
  private final ScheduledFuture<?> progressTask;

  WatchService(ServerContext ctx, ExecutorService senders) {
    this.ctx = ctx;
    this.senders = senders;
    long intervalMs = ctx.config.progressNotifyInterval().toMillis();
    this.progressTask = ctx.scheduler.scheduleWithFixedDelay(
        () -> streams.forEach(WatchStream::sendProgressNotifications),
        intervalMs, intervalMs, TimeUnit.MILLISECONDS);
  }

  @Override
  public StreamObserver<WatchRequest> watch(StreamObserver<WatchResponse> responses) {
    WatchStream stream = new WatchStream(ctx, (ServerCallStreamObserver<WatchResponse>) responses,
        senders, streams::remove);
    streams.add(stream);
    return stream;
  }

  @Override
  public void onChange(long revision, List<Event> events) {
    for (WatchStream stream : streams) {
      stream.changed(events);
    }
  }

  /** Number of open watch streams, for metrics. */
  int streamCount() {
    return streams.size();
  }

  void close() {
    progressTask.cancel(false);
    streams.forEach(WatchStream::closeFromServer);
  }
}
