package org.apsara.pangu.chunkserver.store;

import static org.apsara.pangu.chunkserver.store.StoreTesting.appendContent;
import static org.apsara.pangu.chunkserver.store.StoreTesting.content;
import static org.apsara.pangu.chunkserver.store.StoreTesting.read;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Capacity limits stand in for small disks: the accounting is the same. */
class VolumeSpaceTest {
  private static final long SEED = 3;
  private static final long BIG_CAPACITY = 1L << 20;
  private static final long BIG_RESERVE = 256L << 10;
  private static final long SMALL_CAPACITY = 512L << 10;
  private static final long SMALL_RESERVE = 128L << 10;
  private static final int PIECE = 1000;

  @TempDir Path big;
  @TempDir Path small;

  @Test
  void fullVolumeRefusesAppendsAndNewReplicasWhichGoToTheOtherVolume() throws Exception {
    ChunkStoreConfig config = ChunkStoreConfig.builder()
        .chunkSizeBytes(StoreTesting.TEST_CHUNK_SIZE_BYTES)
        .volume(new VolumeConfig(big, BIG_CAPACITY, BIG_RESERVE))
        .volume(new VolumeConfig(small, SMALL_CAPACITY, SMALL_RESERVE))
        .build();
    try (ChunkStore store = ChunkStore.open(config, CorruptReplicaListener.IGNORE)) {
      assertThat(store.create(1, 1).volume()).as("the volume with most free space").isEqualTo(big);

      long length = fillUntilRefused(store, 1, big, BIG_RESERVE);
      VolumeUsage bigUsage = store.volumeUsage().get(0);
      assertThat(bigUsage.freeBytes()).isGreaterThanOrEqualTo(BIG_RESERVE)
          .isLessThan(BIG_RESERVE + Replica.initialMetaBytes());
      assertThat(bigUsage.usedBytes()).isEqualTo(BIG_CAPACITY - bigUsage.freeBytes());
      assertThat(bigUsage.acceptsNewReplicas()).isFalse();
      assertThat(read(store, 1, 1, 0, (int) length)).as("refused appends left no trace")
          .isEqualTo(content(SEED, 0, (int) length));

      assertThat(store.create(2, 1).volume()).as("fallback").isEqualTo(small);
      fillUntilRefused(store, 2, small, SMALL_RESERVE);
      assertThat(store.volumeUsage()).noneMatch(VolumeUsage::acceptsNewReplicas);

      assertThatThrownBy(() -> store.create(3, 1))
          .isInstanceOfSatisfying(NoVolumeAvailableException.class,
              e -> assertThat(e.volumes()).hasSize(2))
          .hasMessageContaining(big + " free ")
          .hasMessageContaining("reserved " + BIG_RESERVE + " bytes")
          .hasMessageContaining(small + " free ")
          .hasMessageContaining("reserved " + SMALL_RESERVE + " bytes");

      store.delete(1, 1);
      assertThat(store.volumeUsage().get(0).usedBytes()).isZero();
      assertThat(store.create(3, 1).volume()).isEqualTo(big);
    }
  }

  @Test
  void usageIsRebuiltFromTheFilesOnOpen() throws Exception {
    ChunkStoreConfig config = ChunkStoreConfig.builder()
        .volume(new VolumeConfig(big, BIG_CAPACITY, 0)).build();
    long used;
    try (ChunkStore store = ChunkStore.open(config, CorruptReplicaListener.IGNORE)) {
      store.create(1, 1);
      appendContent(store, 1, 1, SEED, 0, 50_000);
      store.sync(1, 1);
      store.create(2, 1);
      appendContent(store, 2, 1, SEED, 0, 9_000);
      store.seal(2, 1, 9_000);
      used = store.volumeUsage().get(0).usedBytes();
      assertThat(store.volumeUsage().get(0).replicaCount()).isEqualTo(2);
    }
    try (ChunkStore store = ChunkStore.open(config, CorruptReplicaListener.IGNORE)) {
      VolumeUsage usage = store.volumeUsage().get(0);
      assertThat(usage.usedBytes()).isEqualTo(used);
      assertThat(usage.replicaCount()).isEqualTo(2);
      assertThat(usage.capacityBytes()).isEqualTo(BIG_CAPACITY);
      assertThat(usage.freeBytes()).isEqualTo(BIG_CAPACITY - used);
    }
  }

  /** Appends pieces until the volume refuses one; checks the refusal; returns the length. */
  private static long fillUntilRefused(ChunkStore store, long chunkId, Path volume,
      long reserve) throws Exception {
    long length = 0;
    while (true) {
      try {
        length = appendContent(store, chunkId, 1, SEED, length, PIECE);
      } catch (VolumeFullException e) {
        assertThat(e.volume()).isEqualTo(volume);
        assertThat(e.reservedBytes()).isEqualTo(reserve);
        assertThat(e.freeBytes() - e.requestedBytes()).isLessThan(reserve);
        assertThat(e.freeBytes()).isGreaterThanOrEqualTo(reserve);
        assertThat(e).hasMessageContaining("volume " + volume + " is full")
            .hasMessageContaining("reserved " + reserve + " bytes")
            .hasMessageContaining("free now: " + e.freeBytes() + " bytes");
        assertThat(store.replica(chunkId).orElseThrow().length()).isEqualTo(length);
        return length;
      }
    }
  }
}
