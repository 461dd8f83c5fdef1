package org.apsara.common.fault;

import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Named failpoints: places in the code where a test can switch a protection off or make a
 * process fail on purpose, to prove that the test would catch the bug the protection prevents.
 *
 * <p>All are off unless the JVM is started with {@code -Dapsara.failpoints=name1,name2}; the set
 * is read once, so an enabled failpoint costs one lookup in an immutable set and a disabled one
 * the same. Never enable one in production: each breaks a guarantee on purpose.
 */
public final class Failpoints {
  /** The system property that lists the enabled failpoints, comma-separated. */
  public static final String PROPERTY = "apsara.failpoints";

  private static final Set<String> ENABLED = Arrays.stream(
          System.getProperty(PROPERTY, "").split(","))
      .map(String::trim)
      .filter(name -> !name.isEmpty())
      .collect(Collectors.toUnmodifiableSet());

  private Failpoints() {}

  /** True if the failpoint {@code name} was enabled for this JVM. */
  public static boolean enabled(String name) {
    return ENABLED.contains(name);
  }

  /** Every enabled failpoint, for a loud warning at start-up. */
  public static Set<String> enabled() {
    return ENABLED;
  }
}
