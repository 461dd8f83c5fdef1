package org.apsara.pangu.chunkserver.store;

import static org.apsara.pangu.chunkserver.store.StoreTesting.BLOCK;
import static org.apsara.pangu.chunkserver.store.StoreTesting.appendContent;
import static org.apsara.pangu.chunkserver.store.StoreTesting.config;
import static org.apsara.pangu.chunkserver.store.StoreTesting.content;
import static org.apsara.pangu.chunkserver.store.StoreTesting.read;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The API's refusals and state changes, each with the error the data path will map. */
class ChunkStoreContractTest {
  private static final long CHUNK = 42;
  private static final long GEN = 5;
  private static final long SEED = 99;

  @TempDir Path volume;
  private ChunkStore store;

  @BeforeEach
  void open() throws Exception {
    store = ChunkStore.open(config(volume), CorruptReplicaListener.IGNORE);
    store.create(CHUNK, GEN);
  }

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void appendAtWrongOffsetNamesTheReplicaLength() throws Exception {
    appendContent(store, CHUNK, GEN, SEED, 0, 1000);
    for (long wrong : new long[] {0, 999, 1001}) {
      ByteBuffer data = ByteBuffer.wrap(new byte[10]);
      assertThatThrownBy(() -> store.append(CHUNK, GEN, wrong, data))
          .isInstanceOfSatisfying(AppendOffsetMismatchException.class, e -> {
            assertThat(e.expectedOffset()).isEqualTo(wrong);
            assertThat(e.replicaLength()).isEqualTo(1000);
          })
          .hasMessageContaining("chunk 42").hasMessageContaining("1000");
      assertThat(data.remaining()).as("a refused append consumes nothing").isEqualTo(10);
    }
    assertThat(store.replica(CHUNK).orElseThrow().length()).isEqualTo(1000);
  }

  @Test
  void appendBeyondTheChunkSizeIsRefusedAndTheReplicaStaysAsItWas() throws Exception {
    long limit = StoreTesting.TEST_CHUNK_SIZE_BYTES;
    int first = (int) limit - 100;
    appendContent(store, CHUNK, GEN, SEED, 0, first);
    assertThatThrownBy(() -> store.append(CHUNK, GEN, first, ByteBuffer.allocate(101)))
        .isInstanceOfSatisfying(ChunkSizeExceededException.class,
            e -> assertThat(e.chunkSizeBytes()).isEqualTo(limit))
        .hasMessageContaining("exceed the chunk size of " + limit);
    assertThat(appendContent(store, CHUNK, GEN, SEED, first, 100)).isEqualTo(limit);
    assertThat(read(store, CHUNK, GEN, limit - 300, 300)).isEqualTo(content(SEED, limit - 300,
        300));
  }

  @Test
  void readPastTheEndIsRefusedWithTheLength() throws Exception {
    appendContent(store, CHUNK, GEN, SEED, 0, 5000);
    assertThatThrownBy(() -> read(store, CHUNK, GEN, 4990, 11))
        .isInstanceOfSatisfying(ReadBeyondEndException.class, e -> {
          assertThat(e.offset()).isEqualTo(4990);
          assertThat(e.length()).isEqualTo(11);
          assertThat(e.replicaLength()).isEqualTo(5000);
        })
        .hasMessageContaining("the replica has 5000 bytes");
    assertThatThrownBy(() -> read(store, CHUNK, GEN, 6000, 0))
        .isInstanceOf(ReadBeyondEndException.class);
    assertThatThrownBy(() -> read(store, CHUNK, GEN, -1, 1))
        .isInstanceOf(ReadBeyondEndException.class);
    assertThat(read(store, CHUNK, GEN, 4990, 10)).isEqualTo(content(SEED, 4990, 10));
  }

  @Test
  void sealedReplicaRefusesAppendsAndKeepsItsLength() throws Exception {
    appendContent(store, CHUNK, GEN, SEED, 0, 3 * BLOCK + 7);
    store.seal(CHUNK, GEN, 3 * BLOCK + 7);
    assertThatThrownBy(() -> store.append(CHUNK, GEN, 3 * BLOCK + 7, ByteBuffer.allocate(1)))
        .isInstanceOfSatisfying(ReplicaStateException.class,
            e -> assertThat(e.state()).isEqualTo(ReplicaState.SEALED))
        .hasMessageContaining("sealed");
    store.seal(CHUNK, GEN, 3 * BLOCK + 7); // a retried seal is harmless
    assertThatThrownBy(() -> store.seal(CHUNK, GEN, 3 * BLOCK))
        .isInstanceOf(ReplicaStateException.class).hasMessageContaining("already sealed");
    assertThat(store.sync(CHUNK, GEN)).isEqualTo(3 * BLOCK + 7);
    ReplicaInfo info = store.replica(CHUNK).orElseThrow();
    assertThat(info.state()).isEqualTo(ReplicaState.SEALED);
    assertThat(info.length()).isEqualTo(3 * BLOCK + 7);
    assertThat(info.syncedLength()).isEqualTo(3 * BLOCK + 7);
  }

  @Test
  void sealCutsTheUnacknowledgedTailInsideABlockAndSurvivesReopen() throws Exception {
    int written = 5 * BLOCK + 300;
    appendContent(store, CHUNK, GEN, SEED, 0, written);
    store.sync(CHUNK, GEN);
    long acknowledged = 2 * BLOCK + 1234; // e.g. what every surviving replica acknowledged
    assertThatThrownBy(() -> store.seal(CHUNK, GEN, written + 1))
        .isInstanceOf(ReplicaStateException.class).hasMessageContaining("cannot seal at");
    store.seal(CHUNK, GEN, acknowledged);
    assertThat(Files.size(StoreTesting.dataFile(volume, CHUNK))).isEqualTo(acknowledged);
    assertThatThrownBy(() -> read(store, CHUNK, GEN, acknowledged - 1, 2))
        .isInstanceOf(ReadBeyondEndException.class);
    assertThat(read(store, CHUNK, GEN, 0, (int) acknowledged))
        .isEqualTo(content(SEED, 0, (int) acknowledged));
    store.close();
    store = ChunkStore.open(config(volume), CorruptReplicaListener.IGNORE);
    assertThat(store.replica(CHUNK).orElseThrow().length()).isEqualTo(acknowledged);
    assertThat(read(store, CHUNK, GEN, BLOCK * 2L, 1234)).isEqualTo(content(SEED, 2 * BLOCK,
        1234));
  }

  @Test
  void staleGenerationIsRefusedEverywhere() throws Exception {
    appendContent(store, CHUNK, GEN, SEED, 0, 100);
    assertThatThrownBy(() -> store.append(CHUNK, GEN + 1, 100, ByteBuffer.allocate(1)))
        .isInstanceOfSatisfying(StaleGenerationException.class, e -> {
          assertThat(e.requestedGeneration()).isEqualTo(GEN + 1);
          assertThat(e.replicaGeneration()).isEqualTo(GEN);
        });
    assertThatThrownBy(() -> read(store, CHUNK, GEN - 1, 0, 1))
        .isInstanceOf(StaleGenerationException.class);
    assertThatThrownBy(() -> store.sync(CHUNK, GEN - 1))
        .isInstanceOf(StaleGenerationException.class);
    assertThatThrownBy(() -> store.seal(CHUNK, GEN - 1, 100))
        .isInstanceOf(StaleGenerationException.class);
    assertThatThrownBy(() -> store.delete(CHUNK, GEN - 1))
        .isInstanceOf(StaleGenerationException.class);
  }

  @Test
  void generationBumpNeedsASealedReplicaIsAtomicAndSurvivesReopen() throws Exception {
    appendContent(store, CHUNK, GEN, SEED, 0, 2 * BLOCK + 10);
    assertThatThrownBy(() -> store.setGeneration(CHUNK, GEN, GEN + 1))
        .isInstanceOfSatisfying(ReplicaStateException.class,
            e -> assertThat(e.state()).isEqualTo(ReplicaState.OPEN));
    store.seal(CHUNK, GEN, 2 * BLOCK + 10);
    assertThatThrownBy(() -> store.setGeneration(CHUNK, GEN, GEN))
        .isInstanceOf(ReplicaStateException.class).hasMessageContaining("not above");
    store.setGeneration(CHUNK, GEN, GEN + 3);
    store.setGeneration(CHUNK, GEN, GEN + 3); // the master retrying: a no-op
    assertThatThrownBy(() -> read(store, CHUNK, GEN, 0, 1))
        .isInstanceOf(StaleGenerationException.class);
    assertThat(read(store, CHUNK, GEN + 3, 0, 2 * BLOCK + 10))
        .isEqualTo(content(SEED, 0, 2 * BLOCK + 10));
    store.close();
    assertThat(Files.list(StoreTesting.metaFile(volume, CHUNK).getParent()))
        .as("no temp file left behind").hasSize(2);
    store = ChunkStore.open(config(volume), CorruptReplicaListener.IGNORE);
    ReplicaInfo info = store.replica(CHUNK).orElseThrow();
    assertThat(info.generation()).isEqualTo(GEN + 3);
    assertThat(info.state()).isEqualTo(ReplicaState.SEALED);
    assertThat(read(store, CHUNK, GEN + 3, BLOCK, BLOCK + 10))
        .isEqualTo(content(SEED, BLOCK, BLOCK + 10));
  }

  @Test
  void createTwiceIsRefusedAndDeleteRemovesFilesAndSpace() throws Exception {
    assertThatThrownBy(() -> store.create(CHUNK, GEN + 1))
        .isInstanceOfSatisfying(ReplicaExistsException.class,
            e -> assertThat(e.existingGeneration()).isEqualTo(GEN));
    long usedBefore = store.volumeUsage().get(0).usedBytes();
    store.create(CHUNK + 1, 1);
    appendContent(store, CHUNK + 1, 1, SEED, 0, 3 * BLOCK);
    assertThat(store.volumeUsage().get(0).usedBytes())
        .as("data plus the 3 checksum entries plus the metadata header")
        .isEqualTo(usedBefore + 3 * BLOCK + 3 * 4 + MetaFormat.CHECKSUMS_OFFSET);
    assertThat(store.volumeUsage().get(0).replicaCount()).isEqualTo(2);
    store.delete(CHUNK + 1, 1);
    assertThat(store.volumeUsage().get(0).usedBytes()).isEqualTo(usedBefore);
    assertThat(store.volumeUsage().get(0).replicaCount()).isEqualTo(1);
    assertThat(StoreTesting.dataFile(volume, CHUNK + 1)).doesNotExist();
    assertThat(StoreTesting.metaFile(volume, CHUNK + 1)).doesNotExist();
    assertThatThrownBy(() -> read(store, CHUNK + 1, 1, 0, 1))
        .isInstanceOf(ReplicaNotFoundException.class);
    assertThatThrownBy(() -> store.delete(CHUNK + 1, 1))
        .isInstanceOf(ReplicaNotFoundException.class);
    store.create(CHUNK + 1, 2); // the chunk id can come back, e.g. re-replicated
    assertThat(store.replica(CHUNK + 1).orElseThrow().length()).isZero();
  }

  @Test
  void chunkReportListsEveryReplicaWithLengthGenerationAndState() throws Exception {
    appendContent(store, CHUNK, GEN, SEED, 0, 100);
    store.sync(CHUNK, GEN);
    appendContent(store, CHUNK, GEN, SEED, 100, 50);
    store.create(3, 1);
    appendContent(store, 3, 1, SEED, 0, 4000);
    store.seal(3, 1, 4000);
    assertThat(store.replicas()).containsExactly(
        new ReplicaInfo(3, 1, 4000, 4000, ReplicaState.SEALED, false, volume),
        new ReplicaInfo(CHUNK, GEN, 150, 100, ReplicaState.OPEN, false, volume));
  }

  @Test
  void closedStoreRefusesCalls() {
    store.close();
    assertThatThrownBy(() -> read(store, CHUNK, GEN, 0, 0))
        .isInstanceOf(ChunkStoreException.class).hasMessageContaining("closed");
    assertThatThrownBy(() -> store.create(CHUNK + 1, 1))
        .isInstanceOf(ChunkStoreException.class).hasMessageContaining("closed");
  }
}
