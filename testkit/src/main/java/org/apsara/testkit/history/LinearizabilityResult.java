package org.apsara.testkit.history;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The answer of a {@link LinearizabilityChecker}, with an explanation when the history is not
 * linearizable. Immutable.
 *
 * <p>On failure, the explanation is built from the largest set of operations the search managed to
 * place in a valid order (the longest linearizable prefix), the operation whose completion made
 * the search give up on that prefix (it could not be placed before it completed), and the
 * operations that could have come next and why each was not possible.
 *
 * @param <O> operation
 * @param <R> result
 */
public final class LinearizabilityResult<O, R> {
  /** The operations of the longest prefix shown by {@link #explain()}. */
  public static final int EXPLAIN_PREFIX_OPERATIONS_MAX = 20;

  /** The checker's answer. */
  public enum Verdict {
    /** An order exists that the model accepts. */
    LINEARIZABLE,
    /** No order exists: the system returned something a correct one could not have. */
    NOT_LINEARIZABLE,
    /** The search ran out of its step or time budget before deciding. */
    UNKNOWN
  }

  private final Verdict verdict;
  private final Object partitionKey;
  private final List<History.Entry<O, R>> longestPrefix;
  private final Object stateAfterPrefix;
  private final History.Entry<O, R> blocking;
  private final List<History.Entry<O, R>> candidates;
  private final List<Boolean> candidateRejectedByModel;
  private final String unknownReason;
  private final long steps;
  private final Duration elapsed;
  private final int partitions;
  private final int operations;
  private final long originNanos;

  LinearizabilityResult(Verdict verdict, Object partitionKey,
      List<History.Entry<O, R>> longestPrefix, Object stateAfterPrefix,
      History.Entry<O, R> blocking, List<History.Entry<O, R>> candidates,
      List<Boolean> candidateRejectedByModel, String unknownReason, long steps, Duration elapsed,
      int partitions, int operations, long originNanos) {
    this.verdict = verdict;
    this.partitionKey = partitionKey;
    this.longestPrefix = longestPrefix;
    this.stateAfterPrefix = stateAfterPrefix;
    this.blocking = blocking;
    this.candidates = candidates;
    this.candidateRejectedByModel = candidateRejectedByModel;
    this.unknownReason = unknownReason;
    this.steps = steps;
    this.elapsed = elapsed;
    this.partitions = partitions;
    this.operations = operations;
    this.originNanos = originNanos;
  }

  public Verdict verdict() {
    return verdict;
  }

  /** True only for {@link Verdict#LINEARIZABLE}. */
  public boolean isLinearizable() {
    return verdict == Verdict.LINEARIZABLE;
  }

  /**
   * The key of the partition that failed or ran out of budget; empty when the history was checked
   * as one object, when the key was null, or when it is linearizable.
   */
  public Optional<Object> partitionKey() {
    return Optional.ofNullable(partitionKey);
  }

  /**
   * When not linearizable: the largest set of operations placed in an order the model accepts, in
   * that order. Empty otherwise.
   */
  public List<History.Entry<O, R>> longestLinearizablePrefix() {
    return longestPrefix;
  }

  /** When not linearizable: the model state after {@link #longestLinearizablePrefix()}. */
  public Optional<Object> stateAfterPrefix() {
    return Optional.ofNullable(stateAfterPrefix);
  }

  /**
   * When not linearizable: the completed operation that could not be placed after the longest
   * prefix before it completed.
   */
  public Optional<History.Entry<O, R>> blockingOperation() {
    return Optional.ofNullable(blocking);
  }

  /**
   * When not linearizable: the operations that could have come right after the longest prefix
   * (invoked before {@link #blockingOperation()} completed; it is one of them), none of which
   * leads to a full linearization.
   */
  public List<History.Entry<O, R>> candidates() {
    return candidates;
  }

  /** When {@link Verdict#UNKNOWN}: which budget ran out. */
  public Optional<String> unknownReason() {
    return Optional.ofNullable(unknownReason);
  }

  /** Model steps taken. */
  public long steps() {
    return steps;
  }

  public Duration elapsed() {
    return elapsed;
  }

  /** Partitions (keys) found; 1 for an unpartitioned check. */
  public int partitions() {
    return partitions;
  }

  /** Operations in the history, including failed ones. */
  public int operations() {
    return operations;
  }

  /** A report for a human: the verdict and, on failure, what could not be explained. */
  public String explain() {
    StringBuilder out = new StringBuilder();
    out.append(verdict).append(": ").append(operations).append(" operations in ")
        .append(partitions).append(partitions == 1 ? " partition" : " partitions").append(", ")
        .append(steps).append(" steps, ").append(elapsed.toMillis()).append(" ms");
    if (verdict == Verdict.UNKNOWN) {
      out.append("\n").append(unknownReason);
    }
    if (verdict != Verdict.NOT_LINEARIZABLE) {
      return out.toString();
    }
    if (partitionKey != null) {
      out.append("\nkey: ").append(partitionKey);
    }
    out.append("\nno valid order places ").append(describe(blocking))
        .append(" before it completed.");
    out.append("\nlongest linearizable prefix: ").append(longestPrefix.size())
        .append(" operations, leaving the model in state ").append(stateAfterPrefix);
    int skipped = Math.max(0, longestPrefix.size() - EXPLAIN_PREFIX_OPERATIONS_MAX);
    if (skipped > 0) {
      out.append("\n  ... ").append(skipped).append(" earlier operations");
    }
    for (History.Entry<O, R> entry : longestPrefix.subList(skipped, longestPrefix.size())) {
      out.append("\n  ").append(describe(entry));
    }
    out.append("\noperations that could come next, none leading to a full linearization:");
    for (int i = 0; i < candidates.size(); i++) {
      out.append("\n  ").append(describe(candidates.get(i))).append(
          candidateRejectedByModel.get(i) ? "  <- impossible in this state"
              : "  <- possible, but every continuation fails");
    }
    return out.toString();
  }

  @Override
  public String toString() {
    return explain();
  }

  private String describe(History.Entry<O, R> entry) {
    String completed = entry.completeNanos() == History.NEVER ? "never"
        : millis(entry.completeNanos());
    return entry + "  [invoked " + millis(entry.invokeNanos()) + ", completed " + completed + "]";
  }

  private String millis(long nanos) {
    return String.format(java.util.Locale.ROOT, "%.3f ms", (nanos - originNanos) / 1e6);
  }
}
