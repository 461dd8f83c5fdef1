package org.apsara.nuwa.server.raft;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * Linearizable reads that arrive together share one read index round, as in etcd's read loop.
 *
 * <p>A round asks the leader for its commit index and waits until this member has applied that
 * far. Every read that arrived before a round started may then be answered from the local state:
 * the index the round learned is at least the commit index at the moment the read arrived. Reads
 * that arrive while a round is under way therefore wait for the next one, which starts as soon as
 * the current one ends. With one reader that is one round per read, as before; with many, a member
 * runs at most one round at a time instead of one per read, and a follower sends the leader one
 * read index request instead of one per read.
 *
 * <p>Thread-safe. A failed round fails the reads that waited for it, and only those. What
 * follows a round (starting the next one, and the reads that waited for it) runs on the given
 * executor, never on the thread that completed the round. That is one of Ratis's own threads (the
 * one applying the log, or the one handling a follower's heartbeat reply, with a lock held), and a
 * stream of reads served there, each round starting the next at once, would keep it from ever
 * getting back to its own work.
 *
 * @param <T> what a round yields
 */
final class ReadRounds<T> {
  private final Supplier<CompletableFuture<T>> startRound;
  private final Executor executor;
  /** The round that reads arriving now will wait for; null until one arrives. */
  private CompletableFuture<T> next;
  private boolean roundUnderWay;

  /**
   * @param startRound starts a round; its future completes once this member has applied up to
   *     a read index taken after the call, or fails
   * @param executor runs what follows each round
   */
  ReadRounds(Supplier<CompletableFuture<T>> startRound, Executor executor) {
    this.startRound = startRound;
    this.executor = executor;
  }

  /**
   * Completes, with what the round yielded, when the local state may answer a linearizable read
   * that arrived now.
   */
  CompletableFuture<T> awaitRound() {
    CompletableFuture<T> mine;
    boolean start;
    synchronized (this) {
      if (next == null) {
        next = new CompletableFuture<>();
      }
      mine = next;
      start = !roundUnderWay;
      if (start) {
        roundUnderWay = true;
        next = null;
      }
    }
    if (start) {
      run(mine);
    }
    return mine;
  }

  private void run(CompletableFuture<T> round) {
    CompletableFuture<T> started;
    try {
      started = startRound.get();
    } catch (RuntimeException e) {
      started = CompletableFuture.failedFuture(e);
    }
    started.whenCompleteAsync((value, failure) -> {
      CompletableFuture<T> following;
      synchronized (this) {
        following = next;
        next = null;
        roundUnderWay = following != null;
      }
      // The next round's index is taken first; the reads of this one are answered meanwhile.
      if (following != null) {
        run(following);
      }
      if (failure == null) {
        round.complete(value);
      } else {
        round.completeExceptionally(failure);
      }
    }, executor);
  }
}
