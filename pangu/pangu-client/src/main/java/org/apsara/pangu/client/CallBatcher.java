package org.apsara.pangu.client;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Sends one kind of master call for a client's threads, and gathers the calls made while others
 * of that kind are under way into one call that carries them all.
 *
 * <p>Why: on a small machine most of a small master call's cost, at both ends, is the call
 * itself rather than the namespace's work: an HTTP/2 stream with its headers and trailers, and a
 * write and a read system call each way. Operations that travel together share all of that.
 *
 * <p>How: at most {@link #CALLS_IN_FLIGHT_MAX} calls of the kind are under way at a time, over
 * the connections to the leader. A thread that finds one of them free sends its own operation at
 * once, as its own call, so a lone caller waits no longer than it would without this class. A
 * thread that finds none free queues its operation and waits. When a call ends, the thread that
 * sent it takes the queued operations (up to {@link #ITEMS_PER_CALL_MAX}) and makes the thread
 * of the first one their sender: it wakes, sends them in one call, hands every other thread its
 * outcome, and passes its turn on in the same way. Every waiting thread is woken once, as it
 * would be for its own call; the sender twice.
 *
 * <p>Each operation gets its own outcome, as its own call would have: a result, or a
 * {@link PanguException} naming its path. A failure of the whole call (no leader within the
 * deadline, an unknown outcome) is every operation's in it.
 *
 * <p>Thread-safe.
 *
 * @param <T> one operation's request
 * @param <R> one operation's result
 */
final class CallBatcher<T, R> {
  /**
   * Calls of one kind under way at a time, taking the connections to the leader in turn. With
   * two, a client's third and fourth calling threads waited for a whole call before theirs could
   * leave: four threads' stats and deletes took twice as long as one thread's. Four gave four
   * threads about half as much again (stats +56%, deletes +50%) and left 16 threads' rates as
   * they were; with many threads, calls still carry several operations each.
   */
  static final int CALLS_IN_FLIGHT_MAX = 4;

  /** Most operations in one call: the master's limit for its calls that carry many. */
  static final int ITEMS_PER_CALL_MAX = 256;

  /** How one kind of operation is sent, alone and together. */
  interface Calls<T, R> {
    /** The path an operation is about, for its errors. */
    String path(T item);

    /** Sends one operation as its own call. */
    R one(T item) throws IOException;

    /**
     * Sends several operations in one call.
     *
     * @return one outcome per operation, in their order
     * @throws PanguException for a failure of the whole call
     */
    List<Outcome<R>> many(List<T> items) throws IOException;
  }

  /** One operation's outcome in a call that carried several: a result or a refusal. */
  record Outcome<R>(R result, PanguException failure) {
    static <R> Outcome<R> of(R result) {
      return new Outcome<>(result, null);
    }

    static <R> Outcome<R> failed(PanguException failure) {
      return new Outcome<>(null, failure);
    }
  }

  private final String operation;
  private final Calls<T, R> calls;
  private final Object lock = new Object();
  /** Operations waiting for a call, oldest first. Guarded by {@link #lock}. */
  private final ArrayDeque<Waiter<T, R>> queue = new ArrayDeque<>();
  /** Guarded by {@link #lock}. */
  private int callsInFlight;

  /** @param operation names the operation in errors, e.g. "getStatus" */
  CallBatcher(String operation, Calls<T, R> calls) {
    this.operation = operation;
    this.calls = calls;
  }

  /** Runs {@code item}, alone or with others, and returns its own result. */
  R call(T item) throws IOException {
    Waiter<T, R> waiter = null;
    synchronized (lock) {
      if (callsInFlight < CALLS_IN_FLIGHT_MAX) {
        callsInFlight++;
      } else {
        waiter = new Waiter<>(item);
        queue.add(waiter);
      }
    }
    if (waiter == null) {
      try {
        return calls.one(item);
      } finally {
        passTurnOn();
      }
    }
    boolean interrupted = false;
    try {
      waiter.ready.get();
    } catch (InterruptedException e) {
      boolean sends;
      synchronized (lock) {
        if (queue.remove(waiter)) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException(operation + " " + calls.path(item)
              + " was interrupted before it was sent");
        }
        sends = waiter.batch != null;
      }
      if (!sends) {
        // Already sent in another thread's call: whether it took effect is unknown here.
        Thread.currentThread().interrupt();
        throw new InterruptedIOException(operation + " " + calls.path(item)
            + " was interrupted; whether it took effect is unknown");
      }
      // Chosen to send the others' operations too: they still need their outcomes.
      interrupted = true;
    } catch (ExecutionException e) {
      throw new AssertionError("never completed exceptionally", e);
    }
    if (waiter.batch != null) {
      // The others' outcomes must not be lost to this thread's interrupt: it is kept for later.
      interrupted |= Thread.interrupted();
      try {
        send(waiter.batch);
      } finally {
        passTurnOn();
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
    }
    return waiter.outcome(operation, calls.path(item));
  }

  /** Operations waiting for a call; for tests. */
  int queued() {
    synchronized (lock) {
      return queue.size();
    }
  }

  /**
   * Ends a call: gives the turn to the first queued thread with the operations queued so far,
   * or frees the call's place if none are.
   */
  private void passTurnOn() {
    List<Waiter<T, R>> next;
    synchronized (lock) {
      if (queue.isEmpty()) {
        callsInFlight--;
        return;
      }
      next = new ArrayList<>(Math.min(queue.size(), ITEMS_PER_CALL_MAX));
      while (!queue.isEmpty() && next.size() < ITEMS_PER_CALL_MAX) {
        next.add(queue.poll());
      }
      // Set under the lock: an interrupted waiter reads it there to learn whether it sends.
      next.get(0).batch = next;
    }
    next.get(0).ready.complete(null);
  }

  /** Sends the batch's operations in one call and hands each of their threads its outcome. */
  private void send(List<Waiter<T, R>> batch) {
    Waiter<T, R> self = batch.get(0);
    if (batch.size() == 1) {
      try {
        self.result = calls.one(self.item);
      } catch (IOException e) {
        self.failure = e;
      }
      return;
    }
    try {
      List<Outcome<R>> outcomes = calls.many(batch.stream().map(w -> w.item).toList());
      if (outcomes.size() != batch.size()) {
        throw new PanguException(PanguErrorCode.UNCLASSIFIED, calls.path(self.item),
            "the master answered " + outcomes.size() + " outcomes for " + batch.size() + " "
                + operation + " operations");
      }
      for (int i = 0; i < batch.size(); i++) {
        batch.get(i).result = outcomes.get(i).result();
        batch.get(i).failure = outcomes.get(i).failure();
      }
    } catch (IOException e) {
      // A failure of the whole call, or this thread interrupted again while sending: then the
      // outcomes are unknown (see Waiter.outcome).
      for (Waiter<T, R> w : batch) {
        w.failure = e;
      }
    } catch (RuntimeException e) {
      // A bug, not an answer: every waiter must still hear of it, or it would take no result
      // for its outcome.
      for (Waiter<T, R> w : batch) {
        w.failure = new IOException(e.toString(), e);
      }
    } finally {
      for (int i = 1; i < batch.size(); i++) {
        batch.get(i).ready.complete(null);
      }
    }
  }

  /** A queued operation and, once its call ended, its outcome. */
  private static final class Waiter<T, R> {
    final T item;
    /**
     * Completes when the outcome is in, or when this waiter's thread is to send {@link #batch};
     * what was written before it completes is visible after.
     */
    final CompletableFuture<Void> ready = new CompletableFuture<>();
    /** The operations this waiter's thread is to send, itself first; null if another sends. */
    List<Waiter<T, R>> batch;
    R result;
    IOException failure;

    Waiter(T item) {
      this.item = item;
    }

    R outcome(String operation, String path) throws IOException {
      if (failure == null) {
        return result;
      }
      // Thrown in the waiting thread, with its own stack: the original is the cause.
      if (failure instanceof PanguException e) {
        throw new PanguException(e.code(), path, e.getMessage(), e);
      }
      if (failure instanceof InterruptedIOException) {
        throw new PanguException(PanguErrorCode.OUTCOME_UNKNOWN, path, operation + " " + path
            + ": the thread that sent it with others was interrupted; whether it took effect is"
            + " unknown", failure);
      }
      throw new PanguException(PanguErrorCode.UNCLASSIFIED, path, operation + " " + path + ": "
          + failure.getMessage(), failure);
    }
  }
}
