package org.apsara.security.policy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One statement of a policy: an effect for the requests whose action matches one of {@link
 * #actions()}, whose resource matches one of {@link #resources()}, and for which all {@link
 * #conditions()} hold.
 *
 * <p>Actions are {@code <service>:<action>} patterns matched ignoring case; resources are {@code
 * acs:<service>:<region>:<account>:<relative-id>} patterns matched case-sensitively against the
 * whole resource name. Both may use {@code *} (any run of characters, across {@code :} and {@code
 * /}) and {@code ?} (one character); {@code *} alone matches everything.
 *
 * <p>Created only by the policy parser. Immutable and thread-safe.
 */
public final class Statement {
  /** The canonical order of conditions: by operator as declared, then by key. */
  private static final Comparator<Condition> CANONICAL_ORDER =
      Comparator.comparing(Condition::operator).thenComparing(Condition::key);

  private final Effect effect;
  private final List<String> actions;
  private final List<String> resources;
  private final List<Condition> conditions;

  Statement(
      Effect effect, List<String> actions, List<String> resources, List<Condition> conditions) {
    this.effect = Objects.requireNonNull(effect, "effect");
    this.actions = List.copyOf(actions);
    this.resources = List.copyOf(resources);
    List<Condition> sorted = new ArrayList<>(conditions);
    sorted.sort(CANONICAL_ORDER);
    this.conditions = List.copyOf(sorted);
    if (this.actions.isEmpty() || this.resources.isEmpty()) {
      throw new IllegalArgumentException("a statement needs at least one action and one resource");
    }
  }

  public Effect effect() {
    return effect;
  }

  /** The action patterns as written, in their order; never empty. */
  public List<String> actions() {
    return actions;
  }

  /** The resource patterns as written, in their order; never empty. */
  public List<String> resources() {
    return resources;
  }

  /** The conditions, all of which must hold, ordered by operator then key; may be empty. */
  public List<Condition> conditions() {
    return conditions;
  }

  /**
   * Whether one of this statement's action patterns matches {@code action} (ignoring case). For
   * code that maps policies onto another permission model; requests are decided by {@link
   * PolicyEvaluator}.
   */
  public boolean matchesAction(String action) {
    for (String pattern : actions) {
      if (GlobMatcher.matches(pattern, action, true)) {
        return true;
      }
    }
    return false;
  }

  boolean matchesResource(String resource) {
    for (String pattern : resources) {
      if (GlobMatcher.matches(pattern, resource, false)) {
        return true;
      }
    }
    return false;
  }

  boolean conditionsHold(Map<String, String> context) {
    for (Condition condition : conditions) {
      if (!condition.holds(context)) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Statement that
        && effect == that.effect
        && actions.equals(that.actions)
        && resources.equals(that.resources)
        && conditions.equals(that.conditions);
  }

  @Override
  public int hashCode() {
    return Objects.hash(effect, actions, resources, conditions);
  }

  @Override
  public String toString() {
    return effect.jsonName() + " " + actions + " on " + resources
        + (conditions.isEmpty() ? "" : " if " + conditions);
  }
}
