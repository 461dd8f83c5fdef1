package org.apsara.pangu.chunkserver.store;

import static org.apsara.pangu.chunkserver.store.StoreTesting.BLOCK;
import static org.apsara.pangu.chunkserver.store.StoreTesting.appendContent;
import static org.apsara.pangu.chunkserver.store.StoreTesting.appendRaw;
import static org.apsara.pangu.chunkserver.store.StoreTesting.config;
import static org.apsara.pangu.chunkserver.store.StoreTesting.content;
import static org.apsara.pangu.chunkserver.store.StoreTesting.flipByte;
import static org.apsara.pangu.chunkserver.store.StoreTesting.read;
import static org.apsara.pangu.chunkserver.store.StoreTesting.truncate;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a crash (or a damaged disk) leaves on disk, made by hand between closing the store and
 * opening it again: {@link ChunkStore#close} forces nothing, so unsynced appends are on disk as
 * far as the page cache wrote them, like after a process crash.
 */
class CrashRecoveryTest {
  private static final long CHUNK = 1234;
  private static final long GEN = 9;
  private static final long SEED = 17;

  @TempDir Path volume;
  private final StoreTesting.RecordingListener listener = new StoreTesting.RecordingListener();

  @Test
  void dataFileTornMidBlockAfterTheSyncKeepsEveryVerifiedFullBlock() throws Exception {
    long synced = 2L * BLOCK + 100;
    writeOpenReplica(synced, 6 * BLOCK + 500);
    truncate(dataFile(), 4L * BLOCK + 2000); // the crash tore block 4

    try (ChunkStore store = open()) {
      ReplicaInfo info = store.replica(CHUNK).orElseThrow();
      // Blocks 2 and 3 filled after the sync, but their data and checksums made it: kept.
      assertThat(info.length()).isEqualTo(4L * BLOCK);
      assertThat(info.syncedLength()).isEqualTo(4L * BLOCK);
      assertThat(info.state()).isEqualTo(ReplicaState.OPEN);
      assertThat(info.corrupt()).isFalse();
      assertThat(Files.size(dataFile())).isEqualTo(4L * BLOCK);
      assertThat(Files.size(metaFile())).isEqualTo(MetaFormat.checksumOffset(4));
      assertThat(read(store, CHUNK, GEN, 0, 4 * BLOCK)).isEqualTo(content(SEED, 0, 4 * BLOCK));
      // The writer resumes at the recovered length.
      appendContent(store, CHUNK, GEN, SEED, 4L * BLOCK, BLOCK + 3);
      store.sync(CHUNK, GEN);
    }
    try (ChunkStore store = open()) {
      assertThat(read(store, CHUNK, GEN, 0, 5 * BLOCK + 3))
          .isEqualTo(content(SEED, 0, 5 * BLOCK + 3));
    }
    assertThat(listener.reports).isEmpty();
  }

  @Test
  void dataTornInsideTheSyncedBlockButAfterTheSyncedLengthKeepsTheSyncedBytes() throws Exception {
    long synced = 3L * BLOCK + 700;
    writeOpenReplica(synced, 3 * BLOCK + 3000);
    truncate(dataFile(), synced + 5); // part of the unsynced bytes of the same block made it
    try (ChunkStore store = open()) {
      ReplicaInfo info = store.replica(CHUNK).orElseThrow();
      assertThat(info.length()).isEqualTo(synced);
      assertThat(info.corrupt()).isFalse();
      assertThat(Files.size(dataFile())).isEqualTo(synced);
      assertThat(read(store, CHUNK, GEN, 0, (int) synced))
          .isEqualTo(content(SEED, 0, (int) synced));
    }
  }

  @Test
  void garbagePastTheChecksummedLengthIsDropped() throws Exception {
    long synced = 3L * BLOCK + 700;
    writeOpenReplica(synced, synced);
    byte[] garbage = new byte[3 * BLOCK];
    Arrays.fill(garbage, (byte) 0x5a);
    appendRaw(dataFile(), garbage); // fills block 3 and two more, with no checksums for them

    try (ChunkStore store = open()) {
      ReplicaInfo info = store.replica(CHUNK).orElseThrow();
      assertThat(info.length()).isEqualTo(synced);
      assertThat(info.corrupt()).isFalse();
      assertThat(Files.size(dataFile())).isEqualTo(synced);
      assertThat(read(store, CHUNK, GEN, 0, (int) synced))
          .isEqualTo(content(SEED, 0, (int) synced));
      appendContent(store, CHUNK, GEN, SEED, synced, 2 * BLOCK);
      assertThat(read(store, CHUNK, GEN, synced - 10, 2 * BLOCK + 10))
          .isEqualTo(content(SEED, synced - 10, 2 * BLOCK + 10));
    }
    assertThat(listener.reports).isEmpty();
  }

  @Test
  void garbageBlockWhoseChecksumDoesNotMatchEndsTheRecoveredPrefix() throws Exception {
    writeOpenReplica(100, 5 * BLOCK + 10);
    flipByte(dataFile(), 3L * BLOCK + 9); // block 3 was torn: old and new sectors mixed
    try (ChunkStore store = open()) {
      assertThat(store.replica(CHUNK).orElseThrow().length()).isEqualTo(3L * BLOCK);
      assertThat(store.replica(CHUNK).orElseThrow().corrupt()).isFalse();
    }
  }

  @Test
  void dataFileShorterThanTheSyncedLengthIsReportedCorrupt() throws Exception {
    long synced = 3L * BLOCK + 10;
    writeOpenReplica(synced, synced);
    truncate(dataFile(), 2L * BLOCK + 5);

    try (ChunkStore store = open()) {
      assertThat(listener.reports).singleElement().satisfies(report -> {
        assertThat(report.chunkId()).isEqualTo(CHUNK);
        assertThat(report.generation()).isEqualTo(GEN);
        assertThat(report.reason()).contains(synced + " were synced");
      });
      ReplicaInfo info = store.replica(CHUNK).orElseThrow();
      assertThat(info.corrupt()).isTrue();
      assertThat(info.state()).isEqualTo(ReplicaState.OPEN);
      assertThat(Files.size(dataFile())).as("the evidence is kept").isEqualTo(2L * BLOCK + 5);
      assertThatThrownBy(() -> read(store, CHUNK, GEN, 0, 1))
          .isInstanceOf(CorruptReplicaException.class).hasMessageContaining("were synced");
      assertThatThrownBy(() -> store.append(CHUNK, GEN, synced, ByteBuffer.allocate(1)))
          .isInstanceOf(CorruptReplicaException.class);
      store.delete(CHUNK, GEN);
    }
  }

  @Test
  void missingMetadataIsReportedCorruptWithUnknownGeneration() throws Exception {
    writeOpenReplica(2L * BLOCK, 2 * BLOCK);
    Files.delete(metaFile());

    try (ChunkStore store = open()) {
      assertThat(listener.reports).singleElement().satisfies(report -> {
        assertThat(report.generation()).isEqualTo(ChunkStore.UNKNOWN_GENERATION);
        assertThat(report.reason()).contains("metadata file is missing");
      });
      ReplicaInfo info = store.replica(CHUNK).orElseThrow();
      assertThat(info.state()).isEqualTo(ReplicaState.UNREADABLE);
      assertThat(info.generation()).isEqualTo(ChunkStore.UNKNOWN_GENERATION);
      assertThat(info.corrupt()).isTrue();
      assertThat(info.length()).isEqualTo(2L * BLOCK);
      assertThatThrownBy(() -> read(store, CHUNK, GEN, 0, 1))
          .isInstanceOf(CorruptReplicaException.class);
      assertThatThrownBy(() -> store.create(CHUNK, GEN + 1))
          .isInstanceOf(ReplicaExistsException.class);
      store.delete(CHUNK, ChunkStore.UNKNOWN_GENERATION);
      assertThat(dataFile()).doesNotExist();
      store.create(CHUNK, GEN + 1);
    }
  }

  @Test
  void unreadableSuperblockIsReportedCorrupt() throws Exception {
    writeOpenReplica(BLOCK, BLOCK);
    flipByte(metaFile(), 20); // inside the generation field
    try (ChunkStore store = open()) {
      assertThat(store.replica(CHUNK).orElseThrow().state()).isEqualTo(ReplicaState.UNREADABLE);
      assertThat(listener.reports).singleElement().satisfies(
          report -> assertThat(report.reason()).contains("superblock checksum"));
    }
  }

  @Test
  void metadataMissingChecksumsOfSyncedBlocksIsReportedCorrupt() throws Exception {
    writeOpenReplica(3L * BLOCK + 10, 3 * BLOCK + 10);
    truncate(metaFile(), MetaFormat.checksumOffset(1));
    try (ChunkStore store = open()) {
      assertThat(store.replica(CHUNK).orElseThrow().corrupt()).isTrue();
      assertThat(listener.reports).singleElement().satisfies(
          report -> assertThat(report.reason()).contains("too few for the checksums"));
    }
  }

  @Test
  void damagedSyncedTailBlockIsReportedCorruptAndNotCutOff() throws Exception {
    long synced = 3L * BLOCK + 100;
    writeOpenReplica(synced, synced);
    flipByte(dataFile(), 3L * BLOCK + 50);

    try (ChunkStore store = open()) {
      assertThat(listener.reports).singleElement().satisfies(
          report -> assertThat(report.blockIndex()).isEqualTo(OptionalLong.of(3)));
      ReplicaInfo info = store.replica(CHUNK).orElseThrow();
      assertThat(info.corrupt()).isTrue();
      assertThat(info.length()).as("synced bytes are never silently dropped").isEqualTo(synced);
      assertThat(Files.size(dataFile())).isEqualTo(synced);
      assertThatThrownBy(() -> read(store, CHUNK, GEN, 3L * BLOCK, 1))
          .isInstanceOfSatisfying(ChecksumMismatchException.class,
              e -> assertThat(e.blockIndex()).isEqualTo(3));
      assertThat(read(store, CHUNK, GEN, 0, 3 * BLOCK)).isEqualTo(content(SEED, 0, 3 * BLOCK));
    }
  }

  @Test
  void syncRecordTornByACrashDuringSyncFallsBackToThePreviousRecord() throws Exception {
    try (ChunkStore store = open()) {
      store.create(CHUNK, GEN);
      appendContent(store, CHUNK, GEN, SEED, 0, 2 * BLOCK + 100);
      store.sync(CHUNK, GEN); // sequence 1, slot 1
      appendContent(store, CHUNK, GEN, SEED, 2L * BLOCK + 100, 3 * BLOCK + 200);
      store.sync(CHUNK, GEN); // sequence 2, slot 0: the write the crash tears
    }
    flipByte(metaFile(), MetaFormat.syncSlotOffset(2) + 16);

    try (ChunkStore store = open()) {
      ReplicaInfo info = store.replica(CHUNK).orElseThrow();
      // From the previous record (2 blocks + 100 bytes) recovery extends over the full blocks
      // that verify; the partial block the torn record vouched for has no checksum left.
      assertThat(info.length()).isEqualTo(5L * BLOCK);
      assertThat(info.corrupt()).isFalse();
      assertThat(read(store, CHUNK, GEN, 0, 5 * BLOCK)).isEqualTo(content(SEED, 0, 5 * BLOCK));
    }
  }

  @Test
  void sealInterruptedBeforeTruncatingIsFinishedOnOpen() throws Exception {
    long sealed = 2L * BLOCK + 33;
    try (ChunkStore store = open()) {
      store.create(CHUNK, GEN);
      appendContent(store, CHUNK, GEN, SEED, 0, (int) sealed);
      store.seal(CHUNK, GEN, sealed);
    }
    // As if the crash came after the sealed metadata was renamed into place, before the cut.
    appendRaw(dataFile(), content(SEED, sealed, 5000));

    try (ChunkStore store = open()) {
      ReplicaInfo info = store.replica(CHUNK).orElseThrow();
      assertThat(info.state()).isEqualTo(ReplicaState.SEALED);
      assertThat(info.length()).isEqualTo(sealed);
      assertThat(info.corrupt()).isFalse();
      assertThat(Files.size(dataFile())).isEqualTo(sealed);
      assertThat(read(store, CHUNK, GEN, 0, (int) sealed))
          .isEqualTo(content(SEED, 0, (int) sealed));
    }
  }

  @Test
  void sealedReplicaShorterThanItsSealedLengthIsReportedCorrupt() throws Exception {
    try (ChunkStore store = open()) {
      store.create(CHUNK, GEN);
      appendContent(store, CHUNK, GEN, SEED, 0, 3 * BLOCK);
      store.seal(CHUNK, GEN, 3L * BLOCK);
    }
    truncate(dataFile(), 3L * BLOCK - 1);
    try (ChunkStore store = open()) {
      assertThat(store.replica(CHUNK).orElseThrow().corrupt()).isTrue();
      assertThat(listener.reports).singleElement().satisfies(
          report -> assertThat(report.reason()).contains("sealed at " + 3 * BLOCK));
    }
  }

  @Test
  void unfinishedMetadataReplacementIsDeletedAndTheOldMetadataKept() throws Exception {
    writeOpenReplica(BLOCK + 1, BLOCK + 1);
    Path temp = metaFile().resolveSibling(metaFile().getFileName() + ".tmp");
    Files.write(temp, new byte[] {1, 2, 3});
    try (ChunkStore store = open()) {
      assertThat(temp).doesNotExist();
      assertThat(store.replica(CHUNK).orElseThrow().length()).isEqualTo(BLOCK + 1);
      assertThat(store.replica(CHUNK).orElseThrow().corrupt()).isFalse();
    }
  }

  /** Appends {@code written} bytes, syncing after the first {@code synced}, and closes. */
  private void writeOpenReplica(long synced, long written) throws Exception {
    try (ChunkStore store = open()) {
      store.create(CHUNK, GEN);
      appendContent(store, CHUNK, GEN, SEED, 0, (int) synced);
      assertThat(store.sync(CHUNK, GEN)).isEqualTo(synced);
      if (written > synced) {
        appendContent(store, CHUNK, GEN, SEED, synced, (int) (written - synced));
      }
    }
  }

  private ChunkStore open() throws Exception {
    return ChunkStore.open(config(volume), listener);
  }

  private Path dataFile() {
    return StoreTesting.dataFile(volume, CHUNK);
  }

  private Path metaFile() {
    return StoreTesting.metaFile(volume, CHUNK);
  }
}
