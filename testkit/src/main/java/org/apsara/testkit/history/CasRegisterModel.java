package org.apsara.testkit.history;

import java.util.Objects;
import java.util.Optional;

/**
 * The sequential specification of a register with read, write and compare-and-set, initially
 * absent (null). Values are compared with {@code equals}, so {@link String} and {@link Long} (or any
 * value type) work.
 *
 * <p>The model ignores keys: check a multi-key history with {@link
 * LinearizabilityChecker#checkPartitioned} and {@link RegisterOp#key()}, which gives every key its
 * own register. Stateless and thread-safe.
 *
 * @param <V> the value type
 */
public final class CasRegisterModel<V>
    implements Model<CasRegisterModel.State<V>, RegisterOp<V>, RegisterResult<V>> {
  /**
   * The register's value.
   *
   * @param value the current value; null if absent
   */
  public record State<V>(V value) {
    @Override
    public String toString() {
      return "value=" + value;
    }
  }

  @Override
  public State<V> initialState() {
    return new State<>(null);
  }

  @Override
  public Optional<State<V>> step(State<V> state, RegisterOp<V> operation,
      RegisterResult<V> result) {
    Objects.requireNonNull(result, () -> "no result for " + operation);
    if (operation instanceof RegisterOp.Read<V>) {
      if (result instanceof RegisterResult.ReadValue<V> read) {
        return Objects.equals(state.value(), read.value()) ? Optional.of(state) : Optional.empty();
      }
    } else if (operation instanceof RegisterOp.Write<V> write) {
      if (result instanceof RegisterResult.Ok<V>) {
        return Optional.of(new State<>(write.value()));
      }
    } else if (operation instanceof RegisterOp.Cas<V> cas) {
      boolean matches = Objects.equals(state.value(), cas.expected());
      if (result instanceof RegisterResult.Ok<V>) {
        return matches ? Optional.of(new State<>(cas.newValue())) : Optional.empty();
      }
      if (result instanceof RegisterResult.CasFailed<V>) {
        return matches ? Optional.empty() : Optional.of(state);
      }
    }
    throw new IllegalArgumentException(
        "result " + result + " (" + result.getClass().getSimpleName() + ") does not fit "
            + operation);
  }

  @Override
  public Optional<State<V>> stepUnobserved(State<V> state, RegisterOp<V> operation) {
    if (operation instanceof RegisterOp.Read<V>) {
      return Optional.of(state);
    }
    if (operation instanceof RegisterOp.Write<V> write) {
      return Optional.of(new State<>(write.value()));
    }
    RegisterOp.Cas<V> cas = (RegisterOp.Cas<V>) operation;
    // A compare-and-set that did not match changed nothing: the same as never happening.
    return Objects.equals(state.value(), cas.expected())
        ? Optional.of(new State<>(cas.newValue())) : Optional.empty();
  }

  @Override
  public boolean isReadOnly(RegisterOp<V> operation) {
    return operation instanceof RegisterOp.Read<V>;
  }
}
