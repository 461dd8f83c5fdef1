package org.apsara.pangu.chunkserver.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.regex.Pattern;
import org.apsara.common.fault.Failpoints;
import org.apsara.testkit.ChildProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real crash: a child JVM appends and syncs, printing each acknowledged length, and is killed
 * with SIGKILL; every acknowledged byte must then read back.
 *
 * <p>SIGKILL loses what the process had not handed to the kernel (including, were sync() a
 * no-op, the sync record), not the page cache; losing unforced pages needs a power cut, which
 * this test cannot make. {@link #withoutSyncAcknowledgedBytesAreLost} shows the check notices
 * when sync() does nothing.
 */
class KillNineTest {
  private static final long CHUNK = 31;
  /** Enough acknowledged appends that the kill lands mid-stream, with many blocks written. */
  private static final long KILL_AFTER_ACKED_BYTES = 96L << 10;
  private static final Duration CHILD_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration LOG_POLL_INTERVAL = Duration.ofMillis(10);

  @TempDir Path volume;
  @TempDir Path logs;

  @Test
  void everyAcknowledgedByteSurvivesSigkillMidStream() throws Exception {
    killMidStreamAndCheckEveryAcknowledgedByte();
  }

  /**
   * The same with syncs on a thread of their own while appends go on (as a bulk write runs
   * them): every length a sync returned must survive, whatever the appends made during its
   * forces left on disk.
   */
  @Test
  void everyAcknowledgedByteSurvivesSigkillWhileAppendsOverlapSyncs() throws Exception {
    killMidStreamAndCheckEveryAcknowledgedByte(SyncingAppender.PIPELINED);
  }

  /**
   * Runs {@link SyncingAppender} (with {@code mode}, if any) with a random seed, kills it with
   * SIGKILL once it acknowledged {@link #KILL_AFTER_ACKED_BYTES}, and checks that the recovered
   * replica holds at least every acknowledged byte.
   */
  private void killMidStreamAndCheckEveryAcknowledgedByte(String... mode) throws Exception {
    long seed = new Random().nextLong();
    try (ChildProcess child = ChildProcess.builder(SyncingAppender.class)
        .args(volume.toString(), Long.toString(CHUNK), Long.toString(seed),
            Long.toString(ChunkStoreConfig.DEFAULT_CHUNK_SIZE_BYTES))
        .args(mode)
        .jvmArgs("-Xmx128m")
        .logFile(logs.resolve("appender.log"))
        .start()) {
      awaitAcknowledged(child, KILL_AFTER_ACKED_BYTES);
      assertThat(child.kill()).isEqualTo(ChildProcess.EXIT_CODE_SIGKILL);
      long acknowledged = lastAcknowledged(child);
      assertThat(acknowledged).as("seed %d", seed).isGreaterThanOrEqualTo(KILL_AFTER_ACKED_BYTES);

      ReplicaInfo info = recoverAndCheck(seed);
      assertThat(info.length()).as("seed %d: recovered length", seed)
          .isGreaterThanOrEqualTo(acknowledged);
    }
  }

  /** The negative control: with sync() a no-op, the same check finds acknowledged bytes gone. */
  @Test
  void withoutSyncAcknowledgedBytesAreLost() throws Exception {
    long seed = 4;
    // Not block-aligned: the last partial block is covered only by the sync record.
    long stopAt = 20 * StoreTesting.BLOCK + 1000;
    try (ChildProcess child = ChildProcess.builder(SyncingAppender.class)
        .args(volume.toString(), Long.toString(CHUNK), Long.toString(seed), Long.toString(stopAt))
        .jvmArgs("-Xmx128m", "-D" + Failpoints.PROPERTY + "=" + ChunkStore.FAILPOINT_SYNC_NOOP)
        .logFile(logs.resolve("appender.log"))
        .start()) {
      child.awaitLogLine(Pattern.compile("^" + SyncingAppender.IDLE), CHILD_TIMEOUT);
      child.kill();
      assertThat(lastAcknowledged(child)).isEqualTo(stopAt);
      ReplicaInfo info = recoverAndCheck(seed);
      assertThat(info.length()).as("only the verified full blocks are left")
          .isEqualTo(20L * StoreTesting.BLOCK).isLessThan(stopAt);
    }
  }

  private static void awaitAcknowledged(ChildProcess child, long bytes) {
    await().atMost(CHILD_TIMEOUT).pollInterval(LOG_POLL_INTERVAL).until(() -> {
      assertThat(child.isAlive()).as("%s exited; log %s", child, child.logFile()).isTrue();
      return lastAcknowledged(child) >= bytes;
    });
  }

  private static long lastAcknowledged(ChildProcess child) {
    return child.logLines().stream()
        .filter(line -> line.startsWith(SyncingAppender.ACK))
        .mapToLong(line -> Long.parseLong(line.substring(SyncingAppender.ACK.length())))
        .max().orElse(0);
  }

  /** Opens the store on the dead child's volume; every recovered byte must be the stream's. */
  private ReplicaInfo recoverAndCheck(long seed) throws Exception {
    StoreTesting.RecordingListener listener = new StoreTesting.RecordingListener();
    try (ChunkStore store = ChunkStore.open(
        StoreTesting.config(ChunkStoreConfig.DEFAULT_CHUNK_SIZE_BYTES, volume), listener)) {
      ReplicaInfo info = store.replica(CHUNK).orElseThrow();
      assertThat(info.corrupt()).as("seed %d", seed).isFalse();
      assertThat(info.state()).isEqualTo(ReplicaState.OPEN);
      ByteBuffer all = ByteBuffer.allocate((int) info.length());
      store.read(CHUNK, SyncingAppender.GENERATION, 0, all);
      byte[] expected = StoreTesting.content(seed, 0, (int) info.length());
      assertThat(Arrays.equals(all.array(), expected)).as("seed %d: content", seed).isTrue();
      assertThat(listener.reports).isEmpty();
      return info;
    }
  }
}
