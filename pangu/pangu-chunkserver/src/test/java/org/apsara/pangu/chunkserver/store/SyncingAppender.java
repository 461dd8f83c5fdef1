package org.apsara.pangu.chunkserver.store;

import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.locks.LockSupport;

/**
 * Child process of {@link KillNineTest}: creates a replica and appends the deterministic stream
 * {@link StoreTesting#byteAt} in pieces of random size, each followed by {@code sync()}, printing
 * {@code ACK <length>} once the sync returned — the moment a real chunkserver would acknowledge.
 * Stops appending at {@code stopAtBytes}, prints {@code IDLE <length>}, and waits to be killed.
 *
 * <p>With {@code pipelined}, syncs run on a thread of their own, one after the other, while the
 * main thread keeps appending, as a bulk write session does; each prints the length it returned.
 *
 * <p>Arguments: volume directory, chunk id, seed (of sizes and content), stopAtBytes, and
 * optionally {@code pipelined}.
 */
public final class SyncingAppender {
  static final long GENERATION = 1;
  static final String ACK = "ACK ";
  static final String IDLE = "IDLE ";
  static final String PIPELINED = "pipelined";
  /** How long the pipelined syncer pauses when a sync found nothing new to force. */
  private static final long IDLE_SYNC_PAUSE_NANOS = 100_000;

  private SyncingAppender() {}

  public static void main(String[] args) throws Exception {
    Path volume = Path.of(args[0]);
    long chunkId = Long.parseLong(args[1]);
    long seed = Long.parseLong(args[2]);
    long stopAtBytes = Long.parseLong(args[3]);
    boolean pipelined = args.length > 4 && args[4].equals(PIPELINED);
    ChunkStore store = ChunkStore.open(
        StoreTesting.config(ChunkStoreConfig.DEFAULT_CHUNK_SIZE_BYTES, volume),
        CorruptReplicaListener.IGNORE);
    store.create(chunkId, GENERATION);
    Thread syncer = null;
    if (pipelined) {
      syncer = new Thread(() -> {
        try {
          long synced = 0;
          while (synced < stopAtBytes) {
            long now = store.sync(chunkId, GENERATION);
            if (now == synced) {
              LockSupport.parkNanos(IDLE_SYNC_PAUSE_NANOS); // nothing new was appended yet
              continue;
            }
            synced = now;
            System.out.println(ACK + synced);
            System.out.flush();
          }
        } catch (Exception e) {
          e.printStackTrace();
          System.exit(1);
        }
      }, "syncer");
      syncer.start();
    }
    Random sizes = new Random(seed);
    long length = 0;
    while (length < stopAtBytes) {
      // Mostly small appends, so that the sync record, not a full block, covers the end; some
      // large ones to cross several blocks at once.
      int size = sizes.nextInt(10) == 0 ? 1 + sizes.nextInt(3 * StoreTesting.BLOCK)
          : 1 + sizes.nextInt(300);
      size = (int) Math.min(size, stopAtBytes - length);
      length = StoreTesting.appendContent(store, chunkId, GENERATION, seed, length, size);
      if (!pipelined) {
        length = store.sync(chunkId, GENERATION);
        System.out.println(ACK + length);
        System.out.flush();
      }
    }
    if (syncer != null) {
      syncer.join();
    }
    System.out.println(IDLE + length);
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE); // the test kills us; nothing is closed or flushed
  }
}
