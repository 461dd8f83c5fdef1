package org.apsara.common.config;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sizes as people write them in configuration files and on command lines: {@code 1024},
 * {@code 64K}, {@code 64M}, {@code 64MiB}, {@code 2G}, {@code 1T}, in powers of 1024. Stateless.
 */
public final class ByteSizes {
  private static final Pattern SIZE = Pattern.compile("(\\d+)([KMGT]?)(I?B)?");

  private ByteSizes() {}

  /**
   * Parses {@code value}.
   *
   * @param name what the value is (a setting's key or an option's name), for the error message
   * @throws IllegalArgumentException naming {@code name} and the value if it is not a size or
   *     does not fit in a long
   */
  public static long parse(String name, String value) {
    Matcher match = SIZE.matcher(value.trim().toUpperCase(Locale.ROOT));
    if (!match.matches()) {
      throw new IllegalArgumentException(name + " = '" + value
          + "' is not a size: expected bytes, or a number with K, M, G or T (powers of 1024)");
    }
    int shift = switch (match.group(2)) {
      case "K" -> 10;
      case "M" -> 20;
      case "G" -> 30;
      case "T" -> 40;
      default -> 0;
    };
    try {
      long number = Long.parseLong(match.group(1));
      if (number > (Long.MAX_VALUE >> shift)) {
        throw new NumberFormatException();
      }
      return number << shift;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " = '" + value + "' is too large");
    }
  }

  /** {@code bytes} in the largest unit that keeps one decimal, e.g. {@code 1.5 GiB}. */
  public static String format(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    int unit = (63 - Long.numberOfLeadingZeros(bytes)) / 10;
    return String.format(Locale.ROOT, "%.1f %siB", bytes / Math.pow(1024, unit),
        "KMGTPE".charAt(unit - 1));
  }
}
