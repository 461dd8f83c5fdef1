package org.apsara.testkit.history;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apsara.common.time.MonotonicClock;

/**
 * A record of the operations clients performed against a system under test, for a {@link
 * LinearizabilityChecker}.
 *
 * <p>Record each operation as it happens:
 *
 * <pre>{@code
 * History.Op<RegisterOp<String>, RegisterResult<String>> op =
 *     history.invoke(process, RegisterOp.write("k", "v1"));
 * try {
 *   client.put("k", "v1");
 *   op.ok(RegisterResult.ok());
 * } catch (RequestRejectedException e) {
 *   op.fail();          // definitely did not take effect
 * } catch (TimeoutException | ConnectionLostException e) {
 *   op.unknown();       // may take effect at any time after the invocation, or never
 * }
 * }</pre>
 *
 * <p>The invocation time is taken when {@link #invoke} is called and the completion time when the
 * outcome is recorded, so call {@code invoke} just before sending the request and record the outcome
 * just after the reply arrives: a wider interval only makes the check more lenient, never wrong.
 * An operation still pending when the history is read counts as unknown.
 *
 * <p>A process is one logical client thread: it has at most one pending operation at a time.
 * Thread-safe: any number of threads may record concurrently.
 *
 * @param <O> the operation type, e.g. {@link RegisterOp}
 * @param <R> the result type, e.g. {@link RegisterResult}
 */
public final class History<O, R> {
  /** How an operation ended. */
  public enum Outcome {
    /** Not completed yet; treated like {@link #UNKNOWN} when checked. */
    PENDING,
    /** Completed with a result. */
    OK,
    /** Definitely did not take effect; ignored by the checker. */
    FAILED,
    /** May or may not have taken effect, at any time after its invocation. */
    UNKNOWN
  }

  /** Completion time of operations that never completed: after everything else. */
  public static final long NEVER = Long.MAX_VALUE;

  /**
   * One recorded operation.
   *
   * @param id position in recording order (invocation order when recorded live), from 0
   * @param process the client process that performed it
   * @param operation what was asked
   * @param invokeNanos when it was invoked (clock nanoseconds)
   * @param completeNanos when it completed; {@link #NEVER} unless the outcome is OK or FAILED
   * @param outcome how it ended
   * @param result the result if the outcome is OK, else null
   */
  public record Entry<O, R>(int id, int process, O operation, long invokeNanos,
      long completeNanos, Outcome outcome, R result) {
    /** True if the operation may or may not have taken effect. */
    public boolean isIndeterminate() {
      return outcome == Outcome.UNKNOWN || outcome == Outcome.PENDING;
    }

    @Override
    public String toString() {
      String ending = switch (outcome) {
        case OK -> String.valueOf(result);
        case FAILED -> "failed";
        case UNKNOWN -> "unknown";
        case PENDING -> "pending";
      };
      return "p" + process + " " + operation + " -> " + ending;
    }
  }

  /**
   * An operation that has been invoked: record its outcome exactly once. Thread-safe, but meant to
   * be completed by the thread that invoked it.
   */
  public static final class Op<O, R> {
    private final History<O, R> history;
    private final int index;

    private Op(History<O, R> history, int index) {
      this.history = history;
      this.index = index;
    }

    /** The operation completed with {@code result}. */
    public void ok(R result) {
      history.complete(index, Outcome.OK, result);
    }

    /** The operation definitely did not take effect (e.g. rejected before it was applied). */
    public void fail() {
      history.complete(index, Outcome.FAILED, null);
    }

    /** The outcome is not known (e.g. timeout, lost connection): it may take effect or not. */
    public void unknown() {
      history.complete(index, Outcome.UNKNOWN, null);
    }
  }

  private final MonotonicClock clock;
  // Guarded by "this".
  private final List<Entry<O, R>> entries = new ArrayList<>();
  private final Map<Integer, Integer> pendingByProcess = new HashMap<>();

  /** A history timed by {@link MonotonicClock#SYSTEM}. */
  public History() {
    this(MonotonicClock.SYSTEM);
  }

  public History(MonotonicClock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * Records that {@code process} invokes {@code operation} now.
   *
   * @throws IllegalStateException if the process has a pending operation
   */
  public synchronized Op<O, R> invoke(int process, O operation) {
    Objects.requireNonNull(operation, "operation");
    Integer pending = pendingByProcess.get(process);
    if (pending != null) {
      throw new IllegalStateException("process " + process + " still has a pending operation: "
          + entries.get(pending) + "; record its outcome first");
    }
    int index = entries.size();
    entries.add(new Entry<>(index, process, operation, clock.nanos(), NEVER, Outcome.PENDING,
        null));
    pendingByProcess.put(process, index);
    return new Op<>(this, index);
  }

  /**
   * Adds a completed operation with explicit times, for histories built by hand or imported.
   *
   * @throws IllegalArgumentException if it completes before it is invoked
   */
  public synchronized void addOk(
      int process, O operation, long invokeNanos, long completeNanos, R result) {
    add(process, operation, invokeNanos, completeNanos, Outcome.OK, result);
  }

  /** Adds an operation that definitely did not take effect, with explicit times. */
  public synchronized void addFailed(
      int process, O operation, long invokeNanos, long completeNanos) {
    add(process, operation, invokeNanos, completeNanos, Outcome.FAILED, null);
  }

  /** Adds an operation with an unknown outcome, invoked at {@code invokeNanos}. */
  public synchronized void addUnknown(int process, O operation, long invokeNanos) {
    add(process, operation, invokeNanos, NEVER, Outcome.UNKNOWN, null);
  }

  /** A snapshot of all operations in recording order. */
  public synchronized List<Entry<O, R>> entries() {
    return List.copyOf(entries);
  }

  public synchronized int size() {
    return entries.size();
  }

  private void add(int process, O operation, long invokeNanos, long completeNanos,
      Outcome outcome, R result) {
    Objects.requireNonNull(operation, "operation");
    if (completeNanos < invokeNanos) {
      throw new IllegalArgumentException("operation " + operation + " completes at "
          + completeNanos + ", before its invocation at " + invokeNanos);
    }
    if (outcome != Outcome.UNKNOWN && completeNanos == NEVER) {
      throw new IllegalArgumentException("a completed operation needs a completion time");
    }
    entries.add(new Entry<>(entries.size(), process, operation, invokeNanos, completeNanos,
        outcome, result));
  }

  private synchronized void complete(int index, Outcome outcome, R result) {
    Entry<O, R> entry = entries.get(index);
    if (entry.outcome() != Outcome.PENDING) {
      throw new IllegalStateException("outcome of " + entry + " was recorded already");
    }
    long completeNanos = outcome == Outcome.UNKNOWN ? NEVER : clock.nanos();
    entries.set(index, new Entry<>(index, entry.process(), entry.operation(), entry.invokeNanos(),
        completeNanos, outcome, result));
    pendingByProcess.remove(entry.process());
  }
}
