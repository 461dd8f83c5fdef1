package org.apsara.nuwa.client.recipes;

/** A running observation that delivers to a listener until closed. Thread-safe. */
public interface Subscription extends AutoCloseable {
  /** Stops delivering. Once this returns, no callback starts (one already running may finish). */
  @Override
  void close();
}
