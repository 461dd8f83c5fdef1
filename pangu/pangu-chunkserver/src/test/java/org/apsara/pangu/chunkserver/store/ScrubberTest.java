package org.apsara.pangu.chunkserver.store;

import static org.apsara.pangu.chunkserver.store.StoreTesting.BLOCK;
import static org.apsara.pangu.chunkserver.store.StoreTesting.appendContent;
import static org.apsara.pangu.chunkserver.store.StoreTesting.config;
import static org.apsara.pangu.chunkserver.store.StoreTesting.flipByte;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.apsara.common.time.ManualClock;
import org.apsara.common.time.MonotonicClock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScrubberTest {
  private static final long SEED = 8;
  private static final long RATE_BYTES_PER_SECOND = 1L << 20;
  private static final int BATCH_BYTES = 64 << 10;

  @TempDir Path volume;
  private final StoreTesting.RecordingListener listener = new StoreTesting.RecordingListener();
  private final ManualClock clock = new ManualClock();
  private final List<Long> pauses = new ArrayList<>();
  /** Time passes only when the scrubber pauses: the pass is driven without sleeping. */
  private final Scrubber.Pacer pacer = nanos -> {
    pauses.add(nanos);
    clock.advance(Duration.ofNanos(nanos));
  };

  @Test
  void passFindsRotInAReplicaNobodyReadsAndReportsItOnce() throws Exception {
    try (ChunkStore store = ChunkStore.open(config(volume), listener)) {
      writeReplicas(store);
      flipByte(StoreTesting.dataFile(volume, 2), 40L * BLOCK + 7);
      Scrubber scrubber = new Scrubber(store, RATE_BYTES_PER_SECOND, BATCH_BYTES, clock, pacer);

      Scrubber.PassResult first = scrubber.runPass();
      assertThat(first.corruptFound()).isEqualTo(1);
      assertThat(listener.reports).singleElement().satisfies(report -> {
        assertThat(report.chunkId()).isEqualTo(2);
        assertThat(report.generation()).isEqualTo(1);
        assertThat(report.blockIndex()).isEqualTo(OptionalLong.of(40));
      });
      assertThat(store.replica(2).orElseThrow().corrupt()).isTrue();
      assertThat(first.replicasScanned()).isEqualTo(3);

      // The next pass skips the replica already reported instead of reporting it again.
      Scrubber.PassResult second = scrubber.runPass();
      assertThat(second.corruptFound()).isZero();
      assertThat(second.replicasScanned()).isEqualTo(2);
      assertThat(listener.reports).hasSize(1);
    }
  }

  @Test
  void passKeepsToTheConfiguredRate() throws Exception {
    try (ChunkStore store = ChunkStore.open(config(volume), listener)) {
      long total = writeReplicas(store);
      Scrubber scrubber = new Scrubber(store, RATE_BYTES_PER_SECOND, BATCH_BYTES, clock, pacer);

      Scrubber.PassResult result = scrubber.runPass();
      assertThat(result.bytesScanned()).isEqualTo(total);
      assertThat(result.corruptFound()).isZero();
      long expectedNanos = total * 1_000_000_000L / RATE_BYTES_PER_SECOND;
      // The verification itself takes no time on the manual clock, so the pass lasts exactly
      // as long as the rate demands.
      assertThat(result.elapsedNanos()).isBetween(expectedNanos - 1, expectedNanos + 1);
      // Paced in batches: no pause covers more than one batch's worth of time.
      long batchNanos = BATCH_BYTES * 1_000_000_000L / RATE_BYTES_PER_SECOND;
      assertThat(pauses).isNotEmpty().allSatisfy(p -> assertThat(p).isLessThanOrEqualTo(
          batchNanos + 1));
      assertThat(listener.reports).isEmpty();
    }
  }

  @Test
  void backgroundScrubberFindsCorruptionAndStopsOnClose() throws Exception {
    try (ChunkStore store = ChunkStore.open(config(volume), listener)) {
      writeReplicas(store);
      flipByte(StoreTesting.dataFile(volume, 3), 5);
      try (Scrubber scrubber = new Scrubber(store, 1L << 30, Scrubber.DEFAULT_BATCH_BYTES,
          MonotonicClock.SYSTEM, Scrubber.Pacer.PARK)) {
        scrubber.start(Duration.ofHours(1));
        await().atMost(Duration.ofSeconds(20)).until(() -> !listener.reports.isEmpty());
        assertThat(listener.reports).singleElement()
            .satisfies(report -> assertThat(report.chunkId()).isEqualTo(3));
      } // close() wakes the thread from its hour-long pause and joins it
    }
  }

  /** Two sealed replicas and one open one; returns their total length. */
  private static long writeReplicas(ChunkStore store) throws Exception {
    long total = 0;
    int[] lengths = {100 * BLOCK + 17, 64 * BLOCK, 3 * BLOCK + 5};
    for (int i = 0; i < lengths.length; i++) {
      long chunkId = i + 1;
      store.create(chunkId, 1);
      appendContent(store, chunkId, 1, SEED, 0, lengths[i]);
      if (i < 2) {
        store.seal(chunkId, 1, lengths[i]);
      }
      total += lengths[i];
    }
    return total;
  }
}
