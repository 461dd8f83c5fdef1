package org.apsara.nuwa.client;

/**
 * Receives what a watch sees. Callbacks for one watch run one at a time, in order, on the executor
 * given in {@link WatchOptions} (the client's callback executor by default); the next batch is not
 * fetched from the server until the previous callback returned, so a slow listener slows its own
 * watch and no other.
 */
public interface WatchListener {
  /** Changes, each delivered exactly once and in revision order, across reconnects. */
  void onNext(WatchResponse response);

  /**
   * Every change up to {@code revision} has been delivered (sent when the watch asked for progress
   * notifications, or after {@link Watcher#requestProgress()}).
   */
  default void onProgress(long revision) {}

  /**
   * The watch ended and will deliver nothing more: {@link CompactedException} if the history it
   * needed was compacted, a {@link NuwaException} with code {@code CANCELLED} if the client was
   * closed, another {@link NuwaException} if the server cancelled or refused the watch. Not called
   * when the caller cancels the watch, nor for connection failures, which the watch recovers from
   * by itself.
   */
  default void onError(NuwaException error) {}
}
