package org.apsara.nuwa.client;

/** A running watch. Thread-safe. Closing it is the same as {@link #cancel()}. */
public interface Watcher extends AutoCloseable {
  /**
   * Stops the watch. Once this returns, no callback starts for it (one already running may finish).
   * Idempotent.
   */
  void cancel();

  /** Whether the watch was cancelled or ended with an error. */
  boolean isClosed();

  /**
   * The revision the watch would resume from after a reconnect: one past the last revision known to
   * be fully delivered. {@code 0} until the server has confirmed the watch when it started from the
   * current revision.
   */
  long nextRevision();

  /**
   * Asks the server to report its current revision through {@link WatchListener#onProgress}. On
   * etcd 3.4 the reported revision may run ahead of events still in flight, so the watch does not
   * move its resume point on such reports.
   */
  void requestProgress();

  @Override
  default void close() {
    cancel();
  }
}
