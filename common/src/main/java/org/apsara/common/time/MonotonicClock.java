package org.apsara.common.time;

/**
 * A source of monotonic time, injected wherever code measures durations or deadlines so that
 * tests and simulations can drive time by hand ({@link ManualClock}).
 */
@FunctionalInterface
public interface MonotonicClock {
  /** Nanoseconds from an arbitrary origin; never goes backwards. */
  long nanos();

  default long millis() {
    return nanos() / 1_000_000L;
  }

  /** The JVM's {@link System#nanoTime()}. */
  MonotonicClock SYSTEM = System::nanoTime;
}
