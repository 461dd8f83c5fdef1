package org.apsara.security.sign;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The region and service a scoped signing key ({@value ScopedSignature#ALGORITHM}) is good for:
 * a service verifies only signatures scoped to its own region and name.
 *
 * <p>Immutable and thread-safe. Both names are 1 to {@link #NAME_LENGTH_MAX} lower-case letters,
 * digits or '-', the characters region names have in resource names; in particular never '/',
 * which separates the fields of a credential scope.
 *
 * @param region the cluster's region, for example {@code local} or {@code cn-hangzhou}
 * @param service the service's name, for example {@code pangu}
 */
public record ServiceScope(String region, String service) {
  /** Longest region or service name. */
  public static final int NAME_LENGTH_MAX = 64;

  private static final Pattern NAME = Pattern.compile("[a-z0-9-]{1," + NAME_LENGTH_MAX + "}");

  public ServiceScope {
    checkName("region", region);
    checkName("service", service);
  }

  /** Whether {@code name} can be a region or service name. */
  public static boolean isValidName(String name) {
    return name != null && NAME.matcher(name).matches();
  }

  /**
   * Checks a region or service name.
   *
   * @param what "region" or "service", for the message
   * @throws IllegalArgumentException naming the problem
   */
  public static void checkName(String what, String name) {
    Objects.requireNonNull(name, what);
    if (!isValidName(name)) {
      throw new IllegalArgumentException(what + " \"" + name + "\" must be 1 to " + NAME_LENGTH_MAX
          + " lower-case letters, digits or '-'");
    }
  }

  /** {@code <region>/<service>}, as messages show it. */
  @Override
  public String toString() {
    return region + "/" + service;
  }
}
