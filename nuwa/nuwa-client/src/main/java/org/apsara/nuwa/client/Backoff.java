package org.apsara.nuwa.client;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with jitter between retries. Jitter spreads out clients that all lost the
 * same server at the same moment, so that they do not reconnect in lockstep.
 */
final class Backoff {
  private static final double MULTIPLIER = 2.0;
  private static final double JITTER_FRACTION = 0.2;

  private final long initialNanos;
  private final long maxNanos;

  Backoff(Duration initial, Duration max) {
    if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
      throw new IllegalArgumentException("bad backoff bounds " + initial + ", " + max);
    }
    this.initialNanos = initial.toNanos();
    this.maxNanos = max.toNanos();
  }

  /** The pause before retry number {@code attempt} (1 for the first retry). */
  long delayNanos(int attempt) {
    double base = initialNanos * Math.pow(MULTIPLIER, Math.max(0, attempt - 1));
    double capped = Math.min(base, maxNanos);
    double jitter = 1 + JITTER_FRACTION * (2 * ThreadLocalRandom.current().nextDouble() - 1);
    return (long) (capped * jitter);
  }
}
