package org.apsara.security.policy;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The condition operators a policy may use, with their spelling in a policy document. The
 * declaration order is the order in which a canonical document lists them.
 *
 * <p>The negated operators ({@link #STRING_NOT_EQUALS}, {@link #STRING_NOT_LIKE}, {@link
 * #NOT_IP_ADDRESS}) hold when the request's value matches none of the condition's values.
 */
public enum ConditionOperator {
  /** The value equals one of the condition's values, case-sensitively. */
  STRING_EQUALS("StringEquals"),
  /** The value equals none of the condition's values. */
  STRING_NOT_EQUALS("StringNotEquals"),
  /** The value equals one of the condition's values, ignoring case. */
  STRING_EQUALS_IGNORE_CASE("StringEqualsIgnoreCase"),
  /** The value matches one of the condition's patterns ({@code *}, {@code ?}; case-sensitive). */
  STRING_LIKE("StringLike"),
  /** The value matches none of the condition's patterns. */
  STRING_NOT_LIKE("StringNotLike"),
  /** The value is an IP address inside one of the condition's IPv4 or IPv6 CIDR blocks. */
  IP_ADDRESS("IpAddress"),
  /** The value is an IP address inside none of the condition's CIDR blocks. */
  NOT_IP_ADDRESS("NotIpAddress"),
  /** The value is an ISO-8601 UTC time earlier than one of the condition's times. */
  DATE_LESS_THAN("DateLessThan"),
  /** The value is an ISO-8601 UTC time later than one of the condition's times. */
  DATE_GREATER_THAN("DateGreaterThan"),
  /** The value is {@code true} or {@code false}, in any case, and equals one of the values. */
  BOOL("Bool");

  private final String jsonName;

  ConditionOperator(String jsonName) {
    this.jsonName = jsonName;
  }

  /** The spelling in a policy document, e.g. {@code StringEquals}. */
  public String jsonName() {
    return jsonName;
  }

  /** Returns the operator spelled exactly {@code jsonName}, or {@code null} if there is none. */
  static ConditionOperator fromJsonName(String jsonName) {
    for (ConditionOperator operator : values()) {
      if (operator.jsonName.equals(jsonName)) {
        return operator;
      }
    }
    return null;
  }

  /** All spellings, comma-separated, for error messages. */
  static String allJsonNames() {
    return Arrays.stream(values())
        .map(ConditionOperator::jsonName)
        .collect(Collectors.joining(", "));
  }
}
