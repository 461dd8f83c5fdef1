package org.apsara.testkit.history;

import java.util.Optional;

/**
 * A sequential specification: what a correct, single-copy, one-at-a-time implementation of the
 * system would answer. The {@link LinearizabilityChecker} searches for an order of the recorded
 * operations that this model accepts.
 *
 * <p>States must be immutable values with {@code equals} and {@code hashCode}: the checker caches
 * (set of operations applied, state) pairs to avoid exploring the same configuration twice. Methods
 * must be pure functions; the checker calls them from one thread.
 *
 * @param <S> the state
 * @param <O> the operation
 * @param <R> the result
 */
public interface Model<S, O, R> {
  /** The state before any operation. */
  S initialState();

  /**
   * Applies {@code operation} that returned {@code result} to {@code state}.
   *
   * @return the next state, or empty if a correct system in {@code state} could not have returned
   *     {@code result}
   */
  Optional<S> step(S state, O operation, R result);

  /**
   * Applies {@code operation} whose result was never observed (timed out, connection lost) to
   * {@code state}, supposing it took effect at this point.
   *
   * @return the next state, or empty if it cannot take effect in {@code state} in a way that
   *     changes anything (the checker also tries the operation never having happened at all)
   */
  Optional<S> stepUnobserved(S state, O operation);

  /**
   * True if {@code operation} never changes the state (a read). The checker drops read-only
   * operations with unknown outcomes: nothing observed them and they changed nothing.
   */
  default boolean isReadOnly(O operation) {
    return false;
  }
}
