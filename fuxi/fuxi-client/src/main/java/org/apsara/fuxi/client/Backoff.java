package org.apsara.fuxi.client;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Pauses between retries: doubling from a minimum to a maximum, each drawn from the upper half of
 * its step so that many clients retrying one member are not in step. Immutable; thread-safe.
 *
 * @param min the first pause
 * @param max the longest pause
 */
public record Backoff(Duration min, Duration max) {
  /** Doublings before the pause is simply the maximum (keeps the shift from overflowing). */
  private static final int DOUBLINGS_MAX = 20;

  public Backoff {
    FuxiClientConfig.requirePositive(min, "minimum backoff");
    FuxiClientConfig.requirePositive(max, "maximum backoff");
    if (max.compareTo(min) < 0) {
      throw new IllegalArgumentException("maximum backoff " + max + " is below " + min);
    }
  }

  /** The pause in nanoseconds after {@code failuresInARow} failures (0 for the first retry). */
  public long pauseNanos(int failuresInARow) {
    long step = min.toNanos() << Math.min(Math.max(failuresInARow, 0), DOUBLINGS_MAX);
    if (step <= 0 || step > max.toNanos()) {
      step = max.toNanos();
    }
    return step / 2 + ThreadLocalRandom.current().nextLong(step / 2 + 1);
  }
}
