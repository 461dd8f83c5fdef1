package org.apsara.pangu.chunkserver.store;

import static org.apsara.pangu.chunkserver.store.StoreTesting.appendContent;
import static org.apsara.pangu.chunkserver.store.StoreTesting.config;
import static org.apsara.pangu.chunkserver.store.StoreTesting.content;
import static org.apsara.pangu.chunkserver.store.StoreTesting.read;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apsara.common.time.MonotonicClock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Disk errors: a replica the disk cannot read is reported, a volume that no longer works is taken
 * out of service with its replicas, and the store opens without a broken volume. A broken volume
 * is made here by putting a plain file where its chunks directory was, so that every path into it
 * fails with the file system's error, as paths on a disk that went away do; a replica the disk
 * cannot read has a directory in place of its data file, which opens and then fails every read.
 */
class VolumeFailureTest {
  private static final int LENGTH = 3 * StoreTesting.BLOCK + 100;
  private static final Duration AWAIT = Duration.ofSeconds(10);

  @TempDir Path first;
  @TempDir Path second;
  private final StoreTesting.RecordingListener listener = new StoreTesting.RecordingListener();

  @Test
  void theScrubberReportsAReplicaItCannotReadOnAVolumeThatWorks() throws Exception {
    try (ChunkStore store = ChunkStore.open(config(first), listener)) {
      writeSealed(store, 1);
      writeSealed(store, 2);
      Path data = StoreTesting.dataFile(first, 1);
      Files.delete(data);
      Files.createDirectory(data);

      Scrubber.PassResult pass = scrubber(store).runPass();

      assertThat(pass.corruptFound()).isEqualTo(1);
      assertThat(listener.reports).singleElement().satisfies(report -> {
        assertThat(report.chunkId()).isEqualTo(1);
        assertThat(report.reason()).contains("reading it failed on a volume that otherwise works")
            .contains("Is a directory");
      });
      assertThat(store.replica(1).orElseThrow().corrupt()).isTrue();
      assertThat(read(store, 2, 1, 0, LENGTH)).isEqualTo(content(2, 0, LENGTH));
      assertThat(store.volumeUsage()).singleElement()
          .satisfies(volume -> assertThat(volume.failed()).isFalse());
      assertThat(store.anyVolumeFailed()).isFalse();
      assertThat(first.resolve(Volume.CHUNKS_DIRECTORY).resolve(Volume.CHECK_FILE)).doesNotExist();
    }
  }

  @Test
  void theScrubberFailsABrokenVolumeInsteadOfReportingItsReplicas() throws Exception {
    try (ChunkStore store = ChunkStore.open(config(first), listener)) {
      writeSealed(store, 1);
      breakVolume(first);

      scrubber(store).runPass();

      assertThat(listener.reports).isEmpty();
      assertThat(store.replicas()).isEmpty();
      assertThat(store.volumeUsage()).singleElement().satisfies(volume -> {
        assertThat(volume.failure()).contains("its check failed")
            .contains(first.resolve(Volume.CHUNKS_DIRECTORY) + " is not a directory");
        assertThat(volume.acceptsNewReplicas()).isFalse();
        assertThat(volume.freeBytes()).isZero();
      });
    }
  }

  @Test
  void aVolumeThatFailsItsCheckLeavesWithItsReplicasAndTheOtherVolumeCarriesOn()
      throws Exception {
    placeReplica(first, 1);
    placeReplica(second, 2);
    try (ChunkStore store = ChunkStore.open(config(first, second), listener)) {
      assertThat(store.replicas()).extracting(ReplicaInfo::chunkId).containsExactly(1L, 2L);
      breakVolume(first);

      // A read meets the disk error; the volume is checked off the reader's thread.
      assertThatThrownBy(() -> read(store, 1, 1, 0, LENGTH)).isInstanceOf(IOException.class)
          .isNotInstanceOf(ChunkStoreException.class);
      await().atMost(AWAIT).until(store::anyVolumeFailed);

      assertThat(store.replicas()).extracting(ReplicaInfo::chunkId).containsExactly(2L);
      assertThatThrownBy(() -> read(store, 1, 1, 0, LENGTH))
          .isInstanceOf(ReplicaNotFoundException.class);
      assertThat(read(store, 2, 1, 0, LENGTH)).isEqualTo(content(2, 0, LENGTH));
      List<VolumeUsage> usage = store.volumeUsage();
      assertThat(usage.get(0).failure()).contains("is not a directory");
      assertThat(usage.get(1).failed()).isFalse();
      // New replicas go to the volume that works, whichever has more room.
      writeSealed(store, 3);
      assertThat(store.replica(3).orElseThrow().volume()).isEqualTo(second);
      assertThat(listener.reports).isEmpty();
    }
  }

  @Test
  void aVolumeWhoseFilesAreAllGoneIsFailedAtTheFirstMissingOne() throws Exception {
    placeReplica(first, 1);
    placeReplica(second, 2);
    try (ChunkStore store = ChunkStore.open(config(first, second), listener)) {
      // As after the disk was unmounted under the chunkserver: the paths lead nowhere.
      Files.move(first.resolve(Volume.CHUNKS_DIRECTORY), first.resolve("chunks.gone"));

      assertThatThrownBy(() -> read(store, 1, 1, 0, LENGTH))
          .isInstanceOf(CorruptReplicaException.class).hasMessageContaining("is missing");
      await().atMost(AWAIT).until(store::anyVolumeFailed);

      assertThat(store.volumeUsage().get(0).failure()).contains("is not a directory");
      assertThat(store.replicas()).extracting(ReplicaInfo::chunkId).containsExactly(2L);
    }
  }

  @Test
  void withItsOnlyVolumeFailedTheStoreRefusesNewReplicasSayingWhy() throws Exception {
    try (ChunkStore store = ChunkStore.open(config(first), listener)) {
      breakVolume(first);

      assertThatThrownBy(() -> store.create(1, 1)).isInstanceOf(IOException.class)
          .isNotInstanceOf(ChunkStoreException.class);
      await().atMost(AWAIT).until(store::anyVolumeFailed);

      assertThatThrownBy(() -> store.create(2, 1)).isInstanceOf(NoVolumeAvailableException.class)
          .hasMessageContaining(first + " failed: its check failed after a disk error");
    }
  }

  @Test
  void aVolumeBrokenBeforeTheStoreOpensIsFailedAndTheOthersServe() throws Exception {
    placeReplica(second, 2);
    breakVolume(first);

    try (ChunkStore store = ChunkStore.open(config(first, second), listener)) {
      assertThat(store.volumeUsage().get(0).failure()).startsWith("when the store opened: ");
      assertThat(store.replicas()).extracting(ReplicaInfo::chunkId).containsExactly(2L);
      assertThat(read(store, 2, 1, 0, LENGTH)).isEqualTo(content(2, 0, LENGTH));
    }
  }

  @Test
  void aReplicaThatCannotBeReadWhenTheStoreOpensIsReportedAndTheRestServe() throws Exception {
    placeReplica(first, 1);
    placeReplica(first, 2);
    Path meta = StoreTesting.metaFile(first, 1);
    Files.delete(meta);
    Files.createDirectory(meta);

    try (ChunkStore store = ChunkStore.open(config(first), listener)) {
      assertThat(store.anyVolumeFailed()).isFalse();
      assertThat(store.replica(1).orElseThrow().corrupt()).isTrue();
      assertThat(listener.reports).singleElement().satisfies(report -> {
        assertThat(report.chunkId()).isEqualTo(1);
        assertThat(report.reason()).contains("reading its files failed when the store opened")
            .contains("Is a directory");
      });
      assertThatThrownBy(() -> read(store, 1, 1, 0, LENGTH))
          .isInstanceOf(CorruptReplicaException.class);
      assertThat(read(store, 2, 1, 0, LENGTH)).isEqualTo(content(2, 0, LENGTH));
      // The master deletes it by the generation it was listed with.
      store.delete(1, ChunkStore.UNKNOWN_GENERATION);
      assertThat(meta).doesNotExist();
    }
  }

  @Test
  void aVolumeThatComesBackWithAChunkCopiedToAnotherVolumeMeanwhileLeavesOneReplica()
      throws Exception {
    // The chunk was on the first volume when it failed; the master had it copied to the second
    // (after a recovery that raised its generation); then the first came back.
    placeReplica(first, 1);
    try (ChunkStore store = ChunkStore.open(config(second), listener)) {
      writeSealed(store, 1, 2);
    }

    try (ChunkStore store = ChunkStore.open(config(first, second), listener)) {
      assertThat(store.replicas()).singleElement().satisfies(replica -> {
        assertThat(replica.generation()).isEqualTo(2);
        assertThat(replica.volume()).isEqualTo(second);
      });
      assertThat(StoreTesting.dataFile(first, 1)).doesNotExist();
      assertThat(StoreTesting.metaFile(first, 1)).doesNotExist();
      assertThat(read(store, 1, 2, 0, LENGTH)).isEqualTo(content(1, 0, LENGTH));
      assertThat(store.volumeUsage()).allSatisfy(volume ->
          assertThat(volume.replicaCount()).isEqualTo(volume.directory().equals(second) ? 1 : 0));
    }
  }

  @Test
  void theStoreDoesNotOpenWhenNoVolumeWorks() throws Exception {
    breakVolume(first);
    breakVolume(second);

    assertThatThrownBy(() -> ChunkStore.open(config(first, second), listener))
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith("no volume works: " + first + ": when the store opened: ")
        .hasMessageContaining("; " + second + ": when the store opened: ");
  }

  /** Writes a sealed replica of {@code LENGTH} bytes of content {@code chunkId}. */
  private static void writeSealed(ChunkStore store, long chunkId) throws IOException {
    writeSealed(store, chunkId, 1);
  }

  private static void writeSealed(ChunkStore store, long chunkId, long generation)
      throws IOException {
    store.create(chunkId, generation);
    appendContent(store, chunkId, generation, chunkId, 0, LENGTH);
    store.sync(chunkId, generation);
    store.seal(chunkId, generation, LENGTH);
  }

  /** Leaves a sealed replica on {@code volume} alone, by opening a store of that volume only. */
  private void placeReplica(Path volume, long chunkId) throws IOException {
    try (ChunkStore store = ChunkStore.open(config(volume), listener)) {
      writeSealed(store, chunkId);
    }
  }

  /** A plain file in place of the volume's chunks directory: every path into it fails. */
  private static void breakVolume(Path volume) throws IOException {
    Path chunks = volume.resolve(Volume.CHUNKS_DIRECTORY);
    if (Files.exists(chunks)) {
      Files.move(chunks, volume.resolve("chunks.gone"));
    }
    Files.writeString(chunks, "not a directory");
  }

  private static Scrubber scrubber(ChunkStore store) {
    return new Scrubber(store, Long.MAX_VALUE, Scrubber.DEFAULT_BATCH_BYTES,
        MonotonicClock.SYSTEM, nanos -> { });
  }
}
