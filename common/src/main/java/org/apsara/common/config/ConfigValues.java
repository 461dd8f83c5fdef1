package org.apsara.common.config;

import java.time.Duration;
import java.time.format.DateTimeParseException;

/**
 * Settings read from Java properties, parsed the same way by every service: each failure is an
 * {@link IllegalArgumentException} that names the setting and quotes its value. Sizes are parsed
 * by {@link ByteSizes}. Stateless.
 */
public final class ConfigValues {
  private ConfigValues() {}

  public static int parseInt(String key, String value) {
    try {
      return Integer.parseInt(value.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " = '" + value + "' is not an integer");
    }
  }

  /** {@code true} or {@code false}, nothing else: a typo must not silently mean false. */
  public static boolean parseBoolean(String key, String value) {
    return switch (value.strip()) {
      case "true" -> true;
      case "false" -> false;
      default -> throw new IllegalArgumentException(
          key + " = '" + value + "' must be true or false");
    };
  }

  /** An ISO-8601 duration such as {@code PT30S} or {@code PT1H}. */
  public static Duration parseDuration(String key, String value) {
    try {
      return Duration.parse(value.strip());
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(key + " = '" + value
          + "' is not an ISO-8601 duration such as PT1H or PT30S");
    }
  }
}
