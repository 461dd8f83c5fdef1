package org.apsara.pangu.chunkserver.store;

import static org.apsara.pangu.chunkserver.store.StoreTesting.BLOCK;
import static org.apsara.pangu.chunkserver.store.StoreTesting.appendContent;
import static org.apsara.pangu.chunkserver.store.StoreTesting.config;
import static org.apsara.pangu.chunkserver.store.StoreTesting.content;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Readers racing one writer: every read must return exactly the bytes written, verified, however
 * close to the moving end it reads; and a seal that cuts the tail must not look like corruption.
 */
class ConcurrentReadTest {
  private static final long CHUNK = 8;
  private static final long GEN = 1;
  private static final long SEED = 21;
  private static final int READERS = 3;
  private static final int APPENDS = 1500;
  /** Reads this close to the end hit the partial block the writer is extending. */
  private static final int TAIL_WINDOW = 2 * BLOCK;
  /** Room for {@link #APPENDS} appends of up to two blocks. */
  private static final long CHUNK_SIZE = 8L << 20;

  @TempDir Path volume;

  @Test
  void readersDuringAppendsAndSealSeeOnlyVerifiedWrittenBytes() throws Exception {
    StoreTesting.RecordingListener listener = new StoreTesting.RecordingListener();
    long seed = new Random().nextLong();
    ExecutorService readers = Executors.newFixedThreadPool(READERS);
    try (ChunkStore store = ChunkStore.open(config(CHUNK_SIZE, volume), listener)) {
      store.create(CHUNK, GEN);
      AtomicBoolean sealing = new AtomicBoolean();
      AtomicBoolean done = new AtomicBoolean();
      AtomicLong readsDuringAppends = new AtomicLong();
      AtomicLong readsAfterSeal = new AtomicLong();
      List<Future<?>> results = new ArrayList<>();
      for (int r = 0; r < READERS; r++) {
        Random random = new Random(seed + r);
        results.add(readers.submit(() -> {
          while (!done.get()) {
            long length = store.replica(CHUNK).orElseThrow().length();
            if (length == 0) {
              Thread.onSpinWait();
              continue;
            }
            long offset = random.nextBoolean()
                ? Math.max(0, length - 1 - random.nextInt(TAIL_WINDOW))
                : (long) (random.nextDouble() * length);
            int size = (int) Math.min(length - offset, 1 + random.nextInt(3 * BLOCK));
            boolean duringSeal = sealing.get();
            ByteBuffer target = ByteBuffer.allocate(size);
            try {
              store.read(CHUNK, GEN, offset, target);
            } catch (ReadBeyondEndException e) {
              // Only a seal shortens a replica.
              assertThat(duringSeal || sealing.get()).as("seed %d: %s", seed, e).isTrue();
              continue;
            }
            assertThat(target.array()).as("seed %d: %d bytes at %d", seed, size, offset)
                .isEqualTo(content(SEED, offset, size));
            (duringSeal ? readsAfterSeal : readsDuringAppends).incrementAndGet();
          }
          return null;
        }));
      }

      Random writer = new Random(seed);
      long length = 0;
      for (int i = 0; i < APPENDS; i++) {
        length = appendContent(store, CHUNK, GEN, SEED, length, 1 + writer.nextInt(2 * BLOCK));
        if (i % 250 == 0) {
          store.sync(CHUNK, GEN);
        }
      }
      sealing.set(true);
      store.seal(CHUNK, GEN, length - BLOCK - 123); // cuts bytes readers may be reading
      long sealedAt = length - BLOCK - 123;
      // Let the readers run against the sealed replica too.
      await().atMost(Duration.ofSeconds(20)).until(() -> readsAfterSeal.get() >= 100);
      done.set(true);
      for (Future<?> result : results) {
        result.get(30, TimeUnit.SECONDS); // rethrows a reader's assertion failure
      }
      assertThat(readsDuringAppends.get()).as("readers overlapped the writer")
          .isGreaterThan(100);
      ByteBuffer all = ByteBuffer.allocate((int) sealedAt);
      store.read(CHUNK, GEN, 0, all);
      assertThat(Arrays.equals(all.array(), content(SEED, 0, (int) sealedAt))).isTrue();
    } finally {
      readers.shutdownNow();
      assertThat(readers.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(listener.reports).as("a race must never look like corruption").isEmpty();
  }
}
