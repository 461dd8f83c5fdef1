package org.apsara.pangu.chunkserver.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sync's forces run outside the replica's write lock: appends go on while the disk flushes, and
 * the sync returns (and its record names) only the length taken before its forces began. The
 * metadata file's force runs on the replica's forcer, which here holds it until the test lets
 * it go, so the test can act while a sync is inside its forces.
 */
class SyncOverlapTest {
  private static final long CHUNK = 0x77;
  private static final long GENERATION = 2;
  private static final long SEED = 11;
  private static final int BLOCK = StoreTesting.BLOCK;
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @TempDir Path directory;
  private final CountDownLatch forceEntered = new CountDownLatch(1);
  private final CountDownLatch releaseForce = new CountDownLatch(1);
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private Replica replica;

  @BeforeEach
  void create() throws Exception {
    Volume volume = new Volume(new VolumeConfig(directory, VolumeConfig.CAPACITY_WHOLE_FILE_SYSTEM,
        0));
    volume.prepareLayout();
    // The first metadata force waits for the test; later ones run at once.
    replica = Replica.create(CHUNK, GENERATION, volume, StoreTesting.TEST_CHUNK_SIZE_BYTES,
        report -> { }, task -> threads.execute(() -> {
          if (forceEntered.getCount() > 0) {
            forceEntered.countDown();
            awaitQuietly(releaseForce);
          }
          task.run();
        }));
  }

  @AfterEach
  void close() {
    releaseForce.countDown();
    threads.shutdownNow();
    if (replica != null) {
      replica.close();
    }
  }

  @Test
  void appendsGoOnDuringAForceAndTheSyncNamesOnlyWhatWasThereBefore() throws Exception {
    // Two full blocks: their checksum entries are unforced, so the sync forces the metadata
    // file on the forcer, where it waits.
    append(0, 2 * BLOCK);
    Future<Long> sync = threads.submit(() -> replica.sync(GENERATION));
    assertThat(forceEntered.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();

    // Inside the force: an append must not wait for it (a write lock held through the force
    // would block it until the release below).
    Future<Long> during = threads.submit(() -> append(2 * BLOCK, BLOCK + 100));
    await().atMost(TIMEOUT).until(during::isDone);
    assertThat(during.get()).isEqualTo(3L * BLOCK + 100);
    assertThat(sync.isDone()).isFalse();
    assertThat(replica.info().syncedLength()).isZero();

    releaseForce.countDown();
    // The sync covers what was appended before it began, not the append made during its forces.
    assertThat(sync.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(2L * BLOCK);
    assertThat(replica.info().syncedLength()).isEqualTo(2L * BLOCK);
    assertThat(replica.info().length()).isEqualTo(3L * BLOCK + 100);

    assertThat(replica.sync(GENERATION)).isEqualTo(3L * BLOCK + 100);
    assertThat(replica.info().syncedLength()).isEqualTo(3L * BLOCK + 100);
  }

  @Test
  void aSealWaitsForARunningSyncAndLeavesAReadableReplica() throws Exception {
    append(0, 2 * BLOCK + 500);
    Future<Long> sync = threads.submit(() -> replica.sync(GENERATION));
    assertThat(forceEntered.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();
    AtomicReference<Throwable> sealFailure = new AtomicReference<>();
    Future<?> seal = threads.submit(() -> {
      try {
        replica.seal(GENERATION, 2L * BLOCK + 500);
      } catch (Throwable e) {
        sealFailure.set(e);
      }
    });
    // The seal would close the files under the force; it must wait for the sync instead.
    await().during(Duration.ofMillis(300)).atMost(TIMEOUT).until(() -> !seal.isDone());
    releaseForce.countDown();
    assertThat(sync.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(2L * BLOCK + 500);
    seal.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    assertThat(sealFailure.get()).isNull();
    assertThat(replica.info().state()).isEqualTo(ReplicaState.SEALED);
    ByteBuffer all = ByteBuffer.allocate(2 * BLOCK + 500);
    replica.read(GENERATION, 0, all);
    assertThat(all.array()).isEqualTo(StoreTesting.content(SEED, 0, 2 * BLOCK + 500));
  }

  private long append(long offset, int length) throws Exception {
    return replica.append(GENERATION, offset,
        new ByteBuffer[] {ByteBuffer.wrap(StoreTesting.content(SEED, offset, length))});
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
