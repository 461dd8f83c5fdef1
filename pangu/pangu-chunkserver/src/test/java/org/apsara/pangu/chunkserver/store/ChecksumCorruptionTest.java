package org.apsara.pangu.chunkserver.store;

import static org.apsara.pangu.chunkserver.store.StoreTesting.BLOCK;
import static org.apsara.pangu.chunkserver.store.StoreTesting.appendContent;
import static org.apsara.pangu.chunkserver.store.StoreTesting.config;
import static org.apsara.pangu.chunkserver.store.StoreTesting.content;
import static org.apsara.pangu.chunkserver.store.StoreTesting.flipByte;
import static org.apsara.pangu.chunkserver.store.StoreTesting.read;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bit rot on disk, in the data or in its checksums, found by reads. */
class ChecksumCorruptionTest {
  private static final long CHUNK = 77;
  private static final long GEN = 2;
  private static final long SEED = 5;
  /** Ten full blocks and a partial eleventh. */
  private static final int LENGTH = 10 * BLOCK + 1500;

  @TempDir Path volume;
  private final StoreTesting.RecordingListener listener = new StoreTesting.RecordingListener();

  @Test
  void flippedDataByteInASealedReplicaFailsOnlyReadsOfItsBlock() throws Exception {
    writeSealedReplica();
    long rotten = 6L * BLOCK + 1234;
    flipByte(StoreTesting.dataFile(volume, CHUNK), rotten);
    try (ChunkStore store = ChunkStore.open(config(volume), listener)) {
      assertThat(listener.reports).as("opening does not read sealed data").isEmpty();
      // A small read anywhere in the block verifies the whole block, and fails.
      assertThatThrownBy(() -> read(store, CHUNK, GEN, 6L * BLOCK + 10, 5))
          .isInstanceOfSatisfying(ChecksumMismatchException.class, e -> {
            assertThat(e.chunkId()).isEqualTo(CHUNK);
            assertThat(e.generation()).isEqualTo(GEN);
            assertThat(e.blockIndex()).isEqualTo(6);
            assertThat(e.fileOffset()).isEqualTo(6L * BLOCK);
          })
          .hasMessageContaining("chunk 77 generation 2")
          .hasMessageContaining("block 6 (file offset 24576)");
      assertThat(listener.reports).singleElement().satisfies(report -> {
        assertThat(report.chunkId()).isEqualTo(CHUNK);
        assertThat(report.generation()).isEqualTo(GEN);
        assertThat(report.blockIndex()).isEqualTo(OptionalLong.of(6));
        assertThat(report.volume()).isEqualTo(volume);
      });
      assertThat(store.replica(CHUNK).orElseThrow().corrupt()).isTrue();

      // Every other block still reads and verifies, up to the bytes next to the bad block.
      assertThat(read(store, CHUNK, GEN, 0, 6 * BLOCK)).isEqualTo(content(SEED, 0, 6 * BLOCK));
      assertThat(read(store, CHUNK, GEN, 7L * BLOCK, LENGTH - 7 * BLOCK))
          .isEqualTo(content(SEED, 7L * BLOCK, LENGTH - 7 * BLOCK));
      // A read spanning the bad block fails again, but the master is told only once.
      assertThatThrownBy(() -> read(store, CHUNK, GEN, 5L * BLOCK, 3 * BLOCK))
          .isInstanceOfSatisfying(ChecksumMismatchException.class,
              e -> assertThat(e.blockIndex()).isEqualTo(6));
      assertThat(listener.reports).hasSize(1);
    }
  }

  @Test
  void flippedByteInTheLastPartialBlockIsFound() throws Exception {
    writeSealedReplica();
    flipByte(StoreTesting.dataFile(volume, CHUNK), LENGTH - 1);
    try (ChunkStore store = ChunkStore.open(config(volume), listener)) {
      assertThatThrownBy(() -> read(store, CHUNK, GEN, LENGTH - 1500, 1))
          .isInstanceOfSatisfying(ChecksumMismatchException.class,
              e -> assertThat(e.blockIndex()).isEqualTo(10));
      assertThat(read(store, CHUNK, GEN, 0, 10 * BLOCK)).isEqualTo(content(SEED, 0, 10 * BLOCK));
    }
    assertThat(listener.reports).hasSize(1);
  }

  @Test
  void corruptedChecksumEntryFailsReadsOfThatBlock() throws Exception {
    writeSealedReplica();
    flipByte(StoreTesting.metaFile(volume, CHUNK), MetaFormat.checksumOffset(3) + 2);
    try (ChunkStore store = ChunkStore.open(config(volume), listener)) {
      assertThatThrownBy(() -> read(store, CHUNK, GEN, 3L * BLOCK, BLOCK))
          .isInstanceOfSatisfying(ChecksumMismatchException.class, e -> {
            assertThat(e.blockIndex()).isEqualTo(3);
            assertThat(e.expectedChecksum()).isNotEqualTo(e.actualChecksum());
          });
      assertThat(read(store, CHUNK, GEN, 0, 3 * BLOCK)).isEqualTo(content(SEED, 0, 3 * BLOCK));
      assertThat(read(store, CHUNK, GEN, 4L * BLOCK, BLOCK)).isEqualTo(
          content(SEED, 4L * BLOCK, BLOCK));
    }
    assertThat(listener.reports).singleElement()
        .satisfies(report -> assertThat(report.blockIndex()).isEqualTo(OptionalLong.of(3)));
  }

  @Test
  void corruptionInAnOpenReplicaIsFoundByReadsAndStopsItsWrites() throws Exception {
    try (ChunkStore store = ChunkStore.open(config(volume), listener)) {
      store.create(CHUNK, GEN);
      appendContent(store, CHUNK, GEN, SEED, 0, LENGTH);
      // The disk rots under a live replica (the page cache holds the same file).
      flipByte(StoreTesting.dataFile(volume, CHUNK), 2L * BLOCK + 5);
      assertThatThrownBy(() -> read(store, CHUNK, GEN, 2L * BLOCK, 10))
          .isInstanceOfSatisfying(ChecksumMismatchException.class,
              e -> assertThat(e.blockIndex()).isEqualTo(2));
      assertThat(read(store, CHUNK, GEN, 3L * BLOCK, LENGTH - 3 * BLOCK))
          .isEqualTo(content(SEED, 3L * BLOCK, LENGTH - 3 * BLOCK));
      assertThatThrownBy(() -> store.append(CHUNK, GEN, LENGTH, ByteBuffer.allocate(1)))
          .isInstanceOf(CorruptReplicaException.class).hasMessageContaining("block 2");
      assertThatThrownBy(() -> store.seal(CHUNK, GEN, LENGTH))
          .isInstanceOf(CorruptReplicaException.class);
      store.delete(CHUNK, GEN); // what the master asks for next
      assertThat(store.replicas()).isEmpty();
    }
    assertThat(listener.reports).hasSize(1);
  }

  @Test
  void corruptionFoundBySealIsReportedAfterTheReplicaIsUnlocked() throws Exception {
    List<Throwable> listenerFailures = new CopyOnWriteArrayList<>();
    AtomicReference<ChunkStore> storeRef = new AtomicReference<>();
    // A listener that hands the replica to another thread, as a reporting queue would; had the
    // store called it under the replica's lock, the delete would wait for that lock forever.
    CorruptReplicaListener deleting = report -> {
      listener.onCorruptReplica(report);
      try {
        CompletableFuture.runAsync(() -> {
          try {
            storeRef.get().delete(report.chunkId(), report.generation());
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }).get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        listenerFailures.add(e);
      }
    };
    try (ChunkStore store = ChunkStore.open(config(volume), deleting)) {
      storeRef.set(store);
      store.create(CHUNK, GEN);
      appendContent(store, CHUNK, GEN, SEED, 0, 3 * BLOCK + 100);
      flipByte(StoreTesting.dataFile(volume, CHUNK), BLOCK + 10);
      // Sealing inside block 1 recomputes its checksum, so it must verify the block first.
      assertThatThrownBy(() -> store.seal(CHUNK, GEN, BLOCK + 50))
          .isInstanceOfSatisfying(ChecksumMismatchException.class,
              e -> assertThat(e.blockIndex()).isEqualTo(1));
      assertThat(listenerFailures).isEmpty();
      assertThat(listener.reports).hasSize(1);
      assertThat(store.replicas()).isEmpty();
    }
  }

  private void writeSealedReplica() throws Exception {
    try (ChunkStore store = ChunkStore.open(config(volume), listener)) {
      store.create(CHUNK, GEN);
      appendContent(store, CHUNK, GEN, SEED, 0, LENGTH);
      store.seal(CHUNK, GEN, LENGTH);
    }
  }
}
