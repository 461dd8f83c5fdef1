package org.apsara.raft;

import java.io.IOException;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Paces a state machine's snapshots after one failed. Once a snapshot is due, Ratis asks for one
 * after every round of applied entries; a full or failing disk fails each try, and each try reads
 * the whole state. After a failure, no try is made for {@link #DELAY}.
 *
 * <p>A failure must reach Ratis as an {@link IOException}: that is the one kind its apply thread
 * logs and moves on from. Anything else marks the thread failed, and while the member stops,
 * Ratis would then ask for the same snapshot again without end.
 *
 * <p>Not thread-safe: the apply thread, which Ratis calls {@code takeSnapshot} on, owns it.
 */
public final class SnapshotRetry {
  /** How long after a failed snapshot the next one waits. */
  public static final Duration DELAY = Duration.ofSeconds(30);

  private final LongSupplier nanoClock;
  private boolean failed;
  /** With {@link #failed}: the {@link #nanoClock} reading before which no try is made. */
  private long retryAtNanos;

  public SnapshotRetry() {
    this(System::nanoTime);
  }

  /** With a clock read like {@link System#nanoTime}, for tests. */
  SnapshotRetry(LongSupplier nanoClock) {
    this.nanoClock = nanoClock;
  }

  /** Whether a snapshot may be tried now: none failed, or the last failed long enough ago. */
  public boolean mayTry() {
    return !failed || nanoClock.getAsLong() - retryAtNanos >= 0;
  }

  /** Records a snapshot taken: the next may be tried at once. */
  public void succeeded() {
    failed = false;
  }

  /**
   * Records a failed snapshot and returns the exception to report it to Ratis with.
   *
   * @param what the snapshot, as the message names it
   */
  public IOException failed(String what, Throwable cause) {
    failed = true;
    retryAtNanos = nanoClock.getAsLong() + DELAY.toNanos();
    return new IOException(what + " failed; the next try is in " + DELAY.toSeconds() + " s",
        cause);
  }
}
