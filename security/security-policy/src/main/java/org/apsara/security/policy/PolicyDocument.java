package org.apsara.security.policy;

import java.util.List;
import java.util.Objects;

/**
 * A parsed and validated policy document: {@code {"Version": "1", "Statement": [...]}}.
 *
 * <p>The only way to obtain one is {@link #parse(String)}, so every instance is valid. {@link
 * #toJson()} writes the canonical form, which parses back to an equal document and is itself
 * written back unchanged. Immutable and thread-safe.
 */
public final class PolicyDocument {
  /** The only version of the policy language, the value of {@code Version}. */
  public static final String VERSION = "1";

  private final List<Statement> statements;

  PolicyDocument(List<Statement> statements) {
    this.statements = List.copyOf(statements);
    if (this.statements.isEmpty()) {
      throw new IllegalArgumentException("a policy document needs at least one statement");
    }
  }

  /**
   * Parses and validates a policy document.
   *
   * <p>Validation is strict: unknown keys, wrong types, empty lists, malformed actions, resource
   * names, condition keys or condition values, unsupported condition operators, duplicate JSON
   * keys and documents over the {@linkplain PolicyLimits limits} are all rejected. {@code
   * NotAction} and {@code NotResource} are not supported and are rejected.
   *
   * @throws InvalidPolicyException naming the first problem and where it is
   */
  public static PolicyDocument parse(String json) throws InvalidPolicyException {
    return PolicyJson.parse(json);
  }

  /** The statements in the order written; never empty. */
  public List<Statement> statements() {
    return statements;
  }

  /**
   * Returns the canonical JSON text of this document: no whitespace; keys in the order {@code
   * Version, Statement} and {@code Effect, Action, Resource, Condition}; statements, actions,
   * resources and condition values in the order written; condition operators in the order of
   * {@link ConditionOperator} and keys sorted; a list of one entry written as a plain string. The
   * text is never longer than the text this document was parsed from.
   */
  public String toJson() {
    return PolicyJson.write(this);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof PolicyDocument that && statements.equals(that.statements);
  }

  @Override
  public int hashCode() {
    return Objects.hash(statements);
  }

  /** The canonical JSON text. */
  @Override
  public String toString() {
    return toJson();
  }
}
