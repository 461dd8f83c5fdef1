package org.apsara.pangu.chunkserver.store;

import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apsara.common.time.MonotonicClock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every replica in the background and verifies its checksums, so that bit rot on replicas
 * nobody reads is found while the other replicas of the chunk still exist. Corruption goes to the
 * store's {@link CorruptReplicaListener}, exactly as when a read finds it.
 *
 * <p>The scrubber keeps to a byte rate: after each batch it pauses until the bytes verified so
 * far in the pass fit the rate, measured on the injected {@link MonotonicClock}. The pause goes
 * through an injected {@link Pacer}, so a test can drive a whole pass with a manual clock and no
 * sleeping.
 *
 * <p>Threading: {@link #runPass} may be called from any thread but runs one pass at a time;
 * {@link #start} runs passes on one background thread until {@link #close}, which wakes it with
 * {@link LockSupport#unpark} (an injected pacer used with {@link #start} must return when
 * unparked). Reads and writes of
 * the store go on concurrently; a replica deleted or changed during its scan is skipped.
 */
public final class Scrubber implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Scrubber.class);

  /**
   * Default rate: a small share of one disk's bandwidth, so that foreground reads do not notice;
   * a 4 TB disk is then scanned about every 6 days.
   */
  public static final long DEFAULT_BYTES_PER_SECOND = 8L << 20;

  /** Default bytes verified between two rate checks (256 blocks). */
  public static final int DEFAULT_BATCH_BYTES = 1 << 20;

  /** The largest batch: one batch is read into memory at once. */
  public static final int MAX_BATCH_BYTES = 16 << 20;

  /** Default pause between two background passes. */
  public static final Duration DEFAULT_PASS_INTERVAL = Duration.ofHours(1);

  private static final long NANOS_PER_SECOND = TimeUnit.SECONDS.toNanos(1);

  /** Waits; the scrubber's only way of letting time pass. */
  @FunctionalInterface
  public interface Pacer {
    /** Returns after about {@code nanos} nanoseconds (of the scrubber's clock). */
    void pause(long nanos) throws InterruptedException;

    /**
     * Parks the calling thread, for use with {@link MonotonicClock#SYSTEM}. It may return early
     * (when {@link #close} wakes the scrubber, or spuriously); the rate check after the next batch
     * makes up for that.
     */
    Pacer PARK = nanos -> {
      LockSupport.parkNanos(nanos);
      if (Thread.interrupted()) {
        throw new InterruptedException();
      }
    };
  }

  /**
   * What one pass did.
   *
   * @param replicasScanned replicas verified to their end (or to where corruption was found)
   * @param bytesScanned bytes verified
   * @param corruptFound replicas this pass found corrupt (not counting ones already known)
   * @param elapsedNanos the pass's duration on the scrubber's clock
   */
  public record PassResult(
      int replicasScanned, long bytesScanned, int corruptFound, long elapsedNanos) {}

  private final ChunkStore store;
  private final long bytesPerSecond;
  private final int batchBytes;
  private final MonotonicClock clock;
  private final Pacer pacer;
  private final Object passLock = new Object();
  private Thread thread;
  private volatile boolean closed;

  /**
   * @param bytesPerSecond the most bytes a pass verifies per second, on average
   * @param batchBytes bytes verified between rate checks; at most {@link #MAX_BATCH_BYTES}
   */
  public Scrubber(ChunkStore store, long bytesPerSecond, int batchBytes, MonotonicClock clock,
      Pacer pacer) {
    if (bytesPerSecond <= 0) {
      throw new IllegalArgumentException("bytesPerSecond must be positive: " + bytesPerSecond);
    }
    if (batchBytes <= 0 || batchBytes > MAX_BATCH_BYTES) {
      throw new IllegalArgumentException(
          "batchBytes must be in (0, " + MAX_BATCH_BYTES + "]: " + batchBytes);
    }
    this.store = Objects.requireNonNull(store, "store");
    this.bytesPerSecond = bytesPerSecond;
    this.batchBytes = batchBytes;
    this.clock = Objects.requireNonNull(clock, "clock");
    this.pacer = Objects.requireNonNull(pacer, "pacer");
  }

  /** A scrubber at the default rate on the system clock. */
  public static Scrubber withDefaults(ChunkStore store) {
    return new Scrubber(store, DEFAULT_BYTES_PER_SECOND, DEFAULT_BATCH_BYTES,
        MonotonicClock.SYSTEM, Pacer.PARK);
  }

  /**
   * Verifies every replica once, in chunk id order, on the calling thread, keeping to the rate.
   * Replicas already known to be corrupt are skipped.
   *
   * @throws InterruptedException if interrupted while pausing, or the scrubber is closed
   */
  public PassResult runPass() throws InterruptedException {
    synchronized (passLock) {
      long start = clock.nanos();
      long bytes = 0;
      int replicas = 0;
      int corrupt = 0;
      for (ReplicaInfo replica : store.replicas()) {
        if (replica.corrupt()) {
          continue;
        }
        long offset = 0;
        boolean scanned = true;
        while (offset < replica.length()) {
          if (closed) {
            throw new InterruptedException("scrubber closed");
          }
          int length = (int) Math.min(batchBytes, replica.length() - offset);
          try {
            store.verify(replica.chunkId(), replica.generation(), offset, length);
          } catch (ChecksumMismatchException | CorruptReplicaException e) {
            corrupt++; // the store has reported it to the listener
            bytes += length;
            break;
          } catch (ReplicaNotFoundException | StaleGenerationException
              | ReadBeyondEndException | ReplicaStateException e) {
            scanned = false; // deleted, bumped or sealed shorter meanwhile: next pass sees it
            break;
          } catch (IOException e) {
            LOG.warn("scrubber could not verify chunk {}; skipping it this pass",
                replica.chunkId(), e);
            scanned = false;
            break;
          }
          offset += length;
          bytes += length;
          pace(start, bytes);
        }
        if (scanned) {
          replicas++;
        }
      }
      long elapsed = clock.nanos() - start;
      LOG.info("scrub pass: {} replicas, {} bytes, {} corrupt found, {} ms", replicas, bytes,
          corrupt, TimeUnit.NANOSECONDS.toMillis(elapsed));
      return new PassResult(replicas, bytes, corrupt, elapsed);
    }
  }

  /** Pauses until {@code bytes} verified since {@code start} no longer exceed the rate. */
  private void pace(long start, long bytes) throws InterruptedException {
    // In double: bytes * 1e9 overflows a long after about 9 GB.
    long due = start + (long) ((double) bytes * NANOS_PER_SECOND / bytesPerSecond);
    long ahead = due - clock.nanos();
    if (ahead > 0) {
      pacer.pause(ahead);
    }
  }

  /**
   * Starts a daemon thread that runs a pass, pauses {@code passInterval} (through the pacer), and
   * repeats until {@link #close}.
   *
   * @throws IllegalStateException if already started
   */
  public synchronized void start(Duration passInterval) {
    if (thread != null) {
      throw new IllegalStateException("scrubber already started");
    }
    long intervalNanos = passInterval.toNanos();
    thread = new Thread(() -> {
      try {
        while (!closed) {
          runPass();
          if (!closed) {
            pacer.pause(intervalNanos);
          }
        }
      } catch (InterruptedException e) {
        if (!closed) {
          LOG.warn("scrubber interrupted; stopping");
        }
      } catch (RuntimeException e) {
        LOG.error("scrubber failed; stopping", e);
      }
    }, "chunk-scrubber");
    thread.setDaemon(true);
    thread.start();
  }

  /**
   * Stops the background thread, if any, and waits for it to end (at most one batch's
   * verification). It is woken, not interrupted: an interrupt during a read would close the file
   * channel an open replica's writer shares.
   */
  @Override
  public void close() {
    Thread running;
    synchronized (this) {
      closed = true;
      running = thread;
    }
    if (running == null || running == Thread.currentThread()) {
      return;
    }
    LockSupport.unpark(running);
    boolean interrupted = false;
    while (true) {
      try {
        running.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true; // finish joining, then restore the caller's interrupt
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
