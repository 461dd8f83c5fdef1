package org.apsara.security.policy;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One condition of a statement: an operator, a condition key and the values to compare the
 * request's value of that key with, e.g. {@code "IpAddress": {"acs:SourceIp": ["10.0.0.0/8"]}}.
 *
 * <p>Semantics: the condition holds if the request's value matches one of the values (they are
 * ORed); for a negated operator, if it matches none of them. A statement holds only if all of its
 * conditions hold (they are ANDed). <b>If the request context has no value for the key, or a
 * value the operator cannot read (an IP operator given something that is not an address, a date
 * operator given something that is not an ISO-8601 UTC time), the condition does not hold, for
 * negated operators too.</b> So an {@code Allow} with a condition on a missing key grants nothing,
 * and a {@code Deny} with such a condition denies nothing: services must always supply the
 * {@linkplain ConditionKeys global keys}.
 *
 * <p>Created only by the policy parser, which has validated the key and values. Immutable and
 * thread-safe.
 */
public final class Condition {
  private final ConditionOperator operator;
  private final String key;
  private final List<String> values;
  // The values parsed once for the operators that compare addresses or times; empty otherwise.
  private final List<IpBlock> ipBlocks;
  private final List<Instant> times;

  Condition(ConditionOperator operator, String key, List<String> values) {
    this.operator = Objects.requireNonNull(operator, "operator");
    this.key = Objects.requireNonNull(key, "key");
    this.values = List.copyOf(values);
    if (this.values.isEmpty()) {
      throw new IllegalArgumentException("a condition needs at least one value");
    }
    List<IpBlock> blocks = new ArrayList<>();
    List<Instant> instants = new ArrayList<>();
    for (String value : this.values) {
      checkValue(operator, value);
      switch (operator) {
        case IP_ADDRESS, NOT_IP_ADDRESS -> blocks.add(IpBlock.parse(value));
        case DATE_LESS_THAN, DATE_GREATER_THAN -> instants.add(parseUtcTime(value));
        default -> {}
      }
    }
    this.ipBlocks = List.copyOf(blocks);
    this.times = List.copyOf(instants);
  }

  public ConditionOperator operator() {
    return operator;
  }

  /** The condition key, e.g. {@code acs:SourceIp} or {@code pangu:Prefix}. */
  public String key() {
    return key;
  }

  /** The values as written in the policy, in their order; never empty. */
  public List<String> values() {
    return values;
  }

  /**
   * Checks that {@code value} is something {@code operator} can compare with.
   *
   * @throws IllegalArgumentException saying what is wrong with it
   */
  static void checkValue(ConditionOperator operator, String value) {
    switch (operator) {
      case IP_ADDRESS, NOT_IP_ADDRESS -> IpBlock.parse(value);
      case DATE_LESS_THAN, DATE_GREATER_THAN -> {
        if (parseUtcTime(value) == null) {
          throw new IllegalArgumentException(
              "expected an ISO-8601 UTC time such as 2024-01-31T23:59:59Z");
        }
      }
      case BOOL -> {
        if (!value.equals("true") && !value.equals("false")) {
          throw new IllegalArgumentException("expected \"true\" or \"false\"");
        }
      }
      default -> {}
    }
  }

  /** Whether this condition holds for a request with the given context. */
  boolean holds(Map<String, String> context) {
    String actual = context.get(key);
    if (actual == null) {
      return false;
    }
    return switch (operator) {
      case STRING_EQUALS -> values.contains(actual);
      case STRING_NOT_EQUALS -> !values.contains(actual);
      case STRING_EQUALS_IGNORE_CASE, BOOL -> values.stream().anyMatch(actual::equalsIgnoreCase);
      case STRING_LIKE -> matchesAnyPattern(actual);
      case STRING_NOT_LIKE -> !matchesAnyPattern(actual);
      case IP_ADDRESS, NOT_IP_ADDRESS -> {
        byte[] address = IpBlock.parseClientAddress(actual);
        if (address == null) {
          yield false;
        }
        boolean inside = ipBlocks.stream().anyMatch(block -> block.contains(address));
        yield operator == ConditionOperator.IP_ADDRESS ? inside : !inside;
      }
      case DATE_LESS_THAN, DATE_GREATER_THAN -> {
        Instant now = parseUtcTime(actual);
        if (now == null) {
          yield false;
        }
        yield operator == ConditionOperator.DATE_LESS_THAN
            ? times.stream().anyMatch(now::isBefore)
            : times.stream().anyMatch(now::isAfter);
      }
    };
  }

  private boolean matchesAnyPattern(String actual) {
    for (String pattern : values) {
      if (GlobMatcher.matches(pattern, actual, false)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Parses an ISO-8601 time in UTC ({@code Z}); returns {@code null} for anything else. Times with
   * an offset are refused so that every time in a policy reads the same way.
   */
  private static Instant parseUtcTime(String text) {
    if (!text.endsWith("Z")) {
      return null;
    }
    try {
      return Instant.parse(text);
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Condition that
        && operator == that.operator
        && key.equals(that.key)
        && values.equals(that.values);
  }

  @Override
  public int hashCode() {
    return Objects.hash(operator, key, values);
  }

  @Override
  public String toString() {
    return operator.jsonName() + " " + key + " " + values;
  }
}
