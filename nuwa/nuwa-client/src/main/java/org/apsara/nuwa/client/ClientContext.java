package org.apsara.nuwa.client;

import io.grpc.Channel;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import org.apsara.common.time.MonotonicClock;

/**
 * What the parts of one client share: the channels, the retrying invoker, the timer thread, the
 * callback executor, the clock, and the long-lived streams to stop when the client closes.
 *
 * @param streamChannel the channel for watch and keep-alive streams, which asks the server to
 *     refuse them while it has no leader so that they move to a member that has one
 * @param auth the client's auth token, which the channels attach to every call; null if the
 *     client was built without a user
 */
record ClientContext(
    Channel streamChannel,
    RpcInvoker rpc,
    ScheduledExecutorService scheduler,
    Executor callbackExecutor,
    MonotonicClock clock,
    Duration requestTimeout,
    Set<ClientStream> openStreams,
    AuthTokens auth) {

  static Set<ClientStream> newOpenStreamSet() {
    return ConcurrentHashMap.newKeySet();
  }
}
