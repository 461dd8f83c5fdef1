package org.apsara.security.policy;

import java.util.Map;
import java.util.Objects;

/**
 * One request to authorize: who asks to do what to which resource, with the facts conditions may
 * test. Immutable and thread-safe.
 *
 * @param principal the authenticated caller's name, e.g. {@code acs:ram::tenant1:user/alice}
 * @param action the action, {@code <service>:<action>}, e.g. {@code pangu:ReadFile}
 * @param resource the full resource name, e.g. {@code acs:pangu:cn-north:tenant1:file/data/a.txt}
 * @param context condition keys and their values for this request, e.g. {@link
 *     ConditionKeys#SOURCE_IP} to {@code 10.1.2.3}; copied; no null keys or values. A service
 *     should always supply the {@linkplain ConditionKeys global keys}: a condition on a missing
 *     key does not hold.
 */
public record EvaluationRequest(
    String principal, String action, String resource, Map<String, String> context) {
  public EvaluationRequest {
    requireNonEmpty(principal, "principal");
    requireNonEmpty(action, "action");
    requireNonEmpty(resource, "resource");
    context = Map.copyOf(Objects.requireNonNull(context, "context"));
  }

  /** A request without context; conditions on any key will not hold for it. */
  public EvaluationRequest(String principal, String action, String resource) {
    this(principal, action, resource, Map.of());
  }

  private static void requireNonEmpty(String value, String name) {
    Objects.requireNonNull(value, name);
    if (value.isEmpty()) {
      throw new IllegalArgumentException(name + " must not be empty");
    }
  }
}
