package org.apsara.nuwa.server.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ReadRoundsTest {
  /** The rounds started so far, each completed by the test. */
  private final List<CompletableFuture<Void>> started = new ArrayList<>();
  private final ReadRounds<Void> rounds = new ReadRounds<>(() -> {
    CompletableFuture<Void> round = new CompletableFuture<>();
    synchronized (started) {
      started.add(round);
    }
    return round;
  }, Runnable::run);

  @Test
  void aLoneReadStartsARoundAtOnce() {
    CompletableFuture<Void> read = rounds.awaitRound();

    assertThat(started).hasSize(1);
    assertThat(read).isNotDone();
    started.get(0).complete(null);
    assertThat(read).isCompleted();
  }

  @Test
  void readsArrivingDuringARoundWaitForTheNextOneAndShareIt() {
    CompletableFuture<Void> first = rounds.awaitRound();
    CompletableFuture<Void> second = rounds.awaitRound();
    CompletableFuture<Void> third = rounds.awaitRound();
    assertThat(started).hasSize(1);

    started.get(0).complete(null);

    // The round under way when they arrived may have taken its index before they arrived.
    assertThat(first).isCompleted();
    assertThat(second).isNotDone();
    assertThat(third).isNotDone();
    assertThat(started).hasSize(2);
    started.get(1).complete(null);
    assertThat(second).isCompleted();
    assertThat(third).isCompleted();
    assertThat(started).hasSize(2);
  }

  @Test
  void aFailedRoundFailsItsOwnReadsOnly() {
    CompletableFuture<Void> first = rounds.awaitRound();
    CompletableFuture<Void> second = rounds.awaitRound();

    started.get(0).completeExceptionally(new IOException("no leader"));

    assertThat(first).isCompletedExceptionally();
    assertThat(second).isNotDone();
    started.get(1).complete(null);
    assertThat(second).isCompleted();
    CompletableFuture<Void> later = rounds.awaitRound();
    assertThat(started).hasSize(3);
    assertThat(later).isNotDone();
  }

  @Test
  void aRoundThatCannotStartFailsItsReads() {
    ReadRounds<Void> broken = new ReadRounds<>(() -> {
      throw new IllegalStateException("closed");
    }, Runnable::run);

    assertThat(broken.awaitRound()).isCompletedExceptionally();
    assertThat(broken.awaitRound()).isCompletedExceptionally();
  }

  /**
   * Many threads, rounds completed by another thread: every read is served, and by a round that
   * started after it arrived.
   */
  @Test
  void noReadIsServedByARoundThatStartedBeforeIt() throws Exception {
    AtomicLong clock = new AtomicLong();
    ExecutorService completer = Executors.newSingleThreadExecutor();
    ExecutorService followUps = Executors.newSingleThreadExecutor();
    AtomicInteger roundCount = new AtomicInteger();
    // A round yields the tick at which it started.
    ReadRounds<Long> timed = new ReadRounds<>(() -> {
      long startedAt = clock.incrementAndGet();
      roundCount.incrementAndGet();
      return CompletableFuture.supplyAsync(() -> startedAt, completer);
    }, followUps);
    int threads = 8;
    int readsEach = 2_000;
    AtomicInteger violations = new AtomicInteger();
    AtomicInteger served = new AtomicInteger();
    CountDownLatch done = new CountDownLatch(threads);
    ExecutorService readers = Executors.newFixedThreadPool(threads);
    try {
      for (int t = 0; t < threads; t++) {
        readers.execute(() -> {
          for (int i = 0; i < readsEach; i++) {
            long arrivedAt = clock.get();
            long roundStartedAt = timed.awaitRound().join();
            if (roundStartedAt <= arrivedAt) {
              violations.incrementAndGet();
            }
            served.incrementAndGet();
          }
          done.countDown();
        });
      }
      assertThat(done.await(60, TimeUnit.SECONDS)).isTrue();
    } finally {
      readers.shutdownNow();
      completer.shutdownNow();
      followUps.shutdownNow();
    }
    assertThat(served).hasValue(threads * readsEach);
    assertThat(violations).hasValue(0);
    // Reads shared rounds.
    assertThat(roundCount.get()).isLessThan(threads * readsEach);
  }
}
