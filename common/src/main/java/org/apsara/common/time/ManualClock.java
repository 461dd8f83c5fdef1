package org.apsara.common.time;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A {@link MonotonicClock} that only moves when told to; for deterministic tests and simulations. */
public final class ManualClock implements MonotonicClock {
  private final AtomicLong nanos = new AtomicLong();

  @Override
  public long nanos() {
    return nanos.get();
  }

  public void advance(Duration duration) {
    if (duration.isNegative()) {
      throw new IllegalArgumentException("time cannot go backwards: " + duration);
    }
    nanos.addAndGet(duration.toNanos());
  }
}
