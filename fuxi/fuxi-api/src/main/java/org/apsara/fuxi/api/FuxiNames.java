package org.apsara.fuxi.api;

import java.util.regex.Pattern;

/**
 * What names of the Fuxi contract look like. FuxiMaster refuses a role outside {@link
 * #ROLE_PATTERN} when it is defined, so that no role is granted that no Tubo could run: a role
 * names a worker's cgroup and sandbox record on its machine. Constants only.
 */
public final class FuxiNames {
  /** A role: letters, digits, '_', '.', '-'; 1 to 128 characters, not starting with '.' or '-'. */
  public static final Pattern ROLE_PATTERN = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  /** Roles of FuxiMaster's own, which applications cannot define. */
  public static final String RESERVED_ROLE_PREFIX = "fuxi.";
  /** The role of an application master's own unit, defined by FuxiMaster for every application. */
  public static final String APP_MASTER_ROLE = RESERVED_ROLE_PREFIX + "am";

  private FuxiNames() {}
}
