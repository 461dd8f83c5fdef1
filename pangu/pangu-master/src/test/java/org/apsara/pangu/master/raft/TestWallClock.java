package org.apsara.pangu.master.raft;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/** A wall clock that moves only when a test says so; shared by every member of a test group. */
final class TestWallClock extends Clock {
  /** Some day in 2023: far from 0, so no expiry arithmetic meets a special value. */
  static final long START_MS = 1_700_000_000_000L;

  private final AtomicLong millis = new AtomicLong(START_MS);

  void advance(Duration duration) {
    millis.addAndGet(duration.toMillis());
  }

  @Override
  public long millis() {
    return millis.get();
  }

  @Override
  public Instant instant() {
    return Instant.ofEpochMilli(millis.get());
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    throw new UnsupportedOperationException("tests use UTC");
  }
}
