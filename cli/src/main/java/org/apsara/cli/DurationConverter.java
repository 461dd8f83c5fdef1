package org.apsara.cli;

import java.time.Duration;
import picocli.CommandLine;

/** Parses durations such as {@code 250us}, {@code 500ms}, {@code 10s}, {@code 5m}, {@code 1h}. */
public final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
  @Override
  public Duration convert(String value) {
    String text = value.trim().toLowerCase(java.util.Locale.ROOT);
    try {
      if (text.endsWith("us")) {
        return Duration.ofNanos(
            Math.multiplyExact(Long.parseLong(text.substring(0, text.length() - 2)), 1000L));
      }
      if (text.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(text.substring(0, text.length() - 2)));
      }
      long amount = Long.parseLong(text.substring(0, text.length() - 1));
      return switch (text.charAt(text.length() - 1)) {
        case 's' -> Duration.ofSeconds(amount);
        case 'm' -> Duration.ofMinutes(amount);
        case 'h' -> Duration.ofHours(amount);
        default -> throw new NumberFormatException();
      };
    } catch (NumberFormatException | StringIndexOutOfBoundsException | ArithmeticException e) {
      throw new CommandLine.TypeConversionException("'" + value
          + "' is not a duration: use a number with us, ms, s, m or h, e.g. 500ms or 10s");
    }
  }
}
