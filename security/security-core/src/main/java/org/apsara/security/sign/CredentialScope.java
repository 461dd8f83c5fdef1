package org.apsara.security.sign;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.format.ResolverStyle;
import java.util.Locale;
import java.util.Objects;

/**
 * What a scoped signing key is derived for: {@code <yyyyMMdd>/<region>/<service>/apsara4_request},
 * the part of the {@code Credential} of a {@value ScopedSignature#ALGORITHM} Authorization header
 * after the AccessKey id.
 *
 * <p>A key derived for one scope signs nothing in another: a different day, region or service
 * derives a different key. The date is the UTC day of the request's {@code x-acs-date}.
 *
 * <p>Immutable and thread-safe.
 *
 * @param date the UTC day the key is good for
 * @param region see {@link ServiceScope}
 * @param service see {@link ServiceScope}
 */
public record CredentialScope(LocalDate date, String region, String service) {
  /** The day of a scope: {@code 20240501}, a strict calendar date. */
  public static final DateTimeFormatter DATE_FORMAT =
      DateTimeFormatter.ofPattern("uuuuMMdd", Locale.ROOT).withResolverStyle(ResolverStyle.STRICT);

  public CredentialScope {
    Objects.requireNonNull(date, "date");
    ServiceScope.checkName("region", region);
    ServiceScope.checkName("service", service);
  }

  /** The scope of a request signed at {@code instant} for {@code scope}: its UTC day. */
  public static CredentialScope of(Instant instant, ServiceScope scope) {
    return new CredentialScope(
        LocalDate.ofInstant(instant, ZoneOffset.UTC), scope.region(), scope.service());
  }

  /**
   * Parses {@code <yyyyMMdd>/<region>/<service>/apsara4_request}.
   *
   * @throws IllegalArgumentException saying what is wrong with it
   */
  public static CredentialScope parse(String text) {
    String[] parts = text.split("/", -1);
    if (parts.length != 4 || !parts[3].equals(ScopedSignature.TERMINATOR)) {
      throw new IllegalArgumentException("a credential scope is <yyyyMMdd>/<region>/<service>/"
          + ScopedSignature.TERMINATOR);
    }
    return new CredentialScope(parseDate(parts[0]), parts[1], parts[2]);
  }

  /**
   * Parses a scope's day, {@code yyyyMMdd}.
   *
   * @throws IllegalArgumentException if it is not a calendar date of that form
   */
  public static LocalDate parseDate(String text) {
    if (text.length() != 8) {
      throw new IllegalArgumentException("the date \"" + text + "\" is not of the form yyyyMMdd");
    }
    try {
      return LocalDate.parse(text, DATE_FORMAT);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("the date \"" + text + "\" is not of the form yyyyMMdd");
    }
  }

  /** The day as the scope writes it, {@code yyyyMMdd}. */
  public String formattedDate() {
    return DATE_FORMAT.format(date);
  }

  /** The region and service, without the day. */
  public ServiceScope serviceScope() {
    return new ServiceScope(region, service);
  }

  /** {@code <yyyyMMdd>/<region>/<service>/apsara4_request}, which {@link #parse} reads back. */
  public String format() {
    return formattedDate() + "/" + region + "/" + service + "/" + ScopedSignature.TERMINATOR;
  }

  @Override
  public String toString() {
    return format();
  }
}
