package org.apsara.testkit.history;

import java.util.Objects;

/**
 * An operation on a register identified by a key, for {@link CasRegisterModel}. A value of {@code
 * null} means "absent": writing null deletes, and a compare-and-set expecting null succeeds only if
 * the key is absent (create-if-absent).
 *
 * <p>The key lets one history hold many registers and be checked per key with {@link
 * LinearizabilityChecker#checkPartitioned}; use {@link #DEFAULT_KEY} (the no-key factories) for a
 * single register.
 *
 * @param <V> the value type, e.g. {@link String} or {@link Long}
 */
public sealed interface RegisterOp<V> {
  /** The key of operations made without one. */
  String DEFAULT_KEY = "";

  String key();

  /** Reads the current value. */
  record Read<V>(String key) implements RegisterOp<V> {
    public Read {
      Objects.requireNonNull(key, "key");
    }

    @Override
    public String toString() {
      return prefix(key) + "read";
    }
  }

  /** Sets the value (null deletes it). */
  record Write<V>(String key, V value) implements RegisterOp<V> {
    public Write {
      Objects.requireNonNull(key, "key");
    }

    @Override
    public String toString() {
      return prefix(key) + "write(" + value + ")";
    }
  }

  /** Sets the value to {@code newValue} if, and only if, it is {@code expected}. */
  record Cas<V>(String key, V expected, V newValue) implements RegisterOp<V> {
    public Cas {
      Objects.requireNonNull(key, "key");
    }

    @Override
    public String toString() {
      return prefix(key) + "cas(" + expected + " -> " + newValue + ")";
    }
  }

  static <V> RegisterOp<V> read() {
    return new Read<>(DEFAULT_KEY);
  }

  static <V> RegisterOp<V> read(String key) {
    return new Read<>(key);
  }

  static <V> RegisterOp<V> write(V value) {
    return new Write<>(DEFAULT_KEY, value);
  }

  static <V> RegisterOp<V> write(String key, V value) {
    return new Write<>(key, value);
  }

  static <V> RegisterOp<V> cas(V expected, V newValue) {
    return new Cas<>(DEFAULT_KEY, expected, newValue);
  }

  static <V> RegisterOp<V> cas(String key, V expected, V newValue) {
    return new Cas<>(key, expected, newValue);
  }

  private static String prefix(String key) {
    return key.isEmpty() ? "" : key + ": ";
  }
}
