package org.apsara.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class SnapshotRetryTest {
  private final AtomicLong nanos = new AtomicLong(Long.MAX_VALUE - SnapshotRetry.DELAY.toNanos());
  private final SnapshotRetry retry = new SnapshotRetry(nanos::get);

  @Test
  void aFailureHoldsTheNextTryBackForTheDelayEvenAcrossTheClocksWrap() {
    assertThat(retry.mayTry()).isTrue();

    IOException reported = retry.failed("snapshot at 7", new IllegalStateException("disk full"));
    assertThat(reported).hasMessage("snapshot at 7 failed; the next try is in 30 s")
        .hasCauseInstanceOf(IllegalStateException.class);
    assertThat(retry.mayTry()).isFalse();
    nanos.addAndGet(SnapshotRetry.DELAY.toNanos() - 1);
    assertThat(retry.mayTry()).isFalse();
    nanos.incrementAndGet();
    assertThat(retry.mayTry()).isTrue();
  }

  @Test
  void aSnapshotTakenClearsTheFailure() {
    retry.failed("snapshot at 7", new IOException("disk full"));
    retry.succeeded();
    assertThat(retry.mayTry()).isTrue();
  }
}
