package org.apsara.nuwa.client;

import java.util.Objects;

/**
 * Watches keys for changes. Obtained from {@link NuwaClient#watch()}; thread-safe.
 *
 * <p>Each watch runs over its own stream. When the stream fails (the server died, restarted, lost
 * its leader, or the connection broke) the watch reconnects, to any endpoint, and resumes right
 * after the last change it delivered: no change is lost, delivered twice, or reordered. The only
 * way it loses history is compaction, which ends the watch with {@link CompactedException}. Watches
 * stop when the client closes.
 */
public final class WatchClient {
  private final ClientContext context;

  WatchClient(ClientContext context) {
    this.context = context;
  }

  /** Watches {@code range} and delivers its changes to {@code listener} until cancelled. */
  public Watcher watch(KeyRange range, WatchOptions options, WatchListener listener) {
    Objects.requireNonNull(range, "range");
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(listener, "listener");
    WatchStream stream = new WatchStream(context, range, options, listener);
    context.openStreams().add(stream);
    stream.start();
    return stream;
  }

  /** Watches one key from the current revision on. */
  public Watcher watch(String key, WatchListener listener) {
    return watch(KeyRange.key(key), WatchOptions.DEFAULT, listener);
  }

  /** Watches every key under {@code prefix} from the current revision on. */
  public Watcher watchPrefix(String prefix, WatchListener listener) {
    return watch(KeyRange.prefix(prefix), WatchOptions.DEFAULT, listener);
  }
}
