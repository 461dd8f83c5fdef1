package org.apsara.testkit.history;

/**
 * The observed result of a {@link RegisterOp}: a read returns {@link #read(Object) the value} (null
 * if absent); a write returns {@link #ok()}; a compare-and-set returns {@link #ok()} if it swapped
 * and {@link #casFailed()} if the value was not the expected one.
 *
 * <p>A compare-and-set that returned "failed" did happen (it observed a different value); one that
 * was never applied is recorded with {@link History.Op#fail()} instead.
 *
 * @param <V> the value type
 */
public sealed interface RegisterResult<V> {
  /** A read that saw {@code value} (null: absent). */
  record ReadValue<V>(V value) implements RegisterResult<V> {
    @Override
    public String toString() {
      return String.valueOf(value);
    }
  }

  /** A write that completed, or a compare-and-set that swapped. */
  record Ok<V>() implements RegisterResult<V> {
    @Override
    public String toString() {
      return "ok";
    }
  }

  /** A compare-and-set that found a value other than the expected one and changed nothing. */
  record CasFailed<V>() implements RegisterResult<V> {
    @Override
    public String toString() {
      return "cas-failed";
    }
  }

  static <V> RegisterResult<V> read(V value) {
    return new ReadValue<>(value);
  }

  static <V> RegisterResult<V> ok() {
    return new Ok<>();
  }

  static <V> RegisterResult<V> casFailed() {
    return new CasFailed<>();
  }
}
