package org.apsara.tenant.api;

import java.util.Objects;

/**
 * The naming rules of the identity service: which names tenants, users, groups and policies may
 * have, and the reserved names.
 *
 * <p>Names are case-sensitive and short, and use only characters that are safe in a resource name
 * ({@code acs:ram::<tenant>:user/<user>}), in a Nuwa key and on a command line: no ':', '/', '*',
 * '?' or spaces, so that a name can never be mistaken for a separator or a wildcard. Tenant names
 * also exclude '.', which {@link org.apsara.security.sign.Principal} does not accept in a tenant
 * id. Policy names may use upper-case letters, as RAM's do ({@code AdministratorAccess}); the other
 * names are lower case, so that {@code Alice} and {@code alice} cannot both exist.
 *
 * <p>Each {@code check...} method throws {@link IllegalArgumentException} with a sentence naming the
 * first problem, fit to show to the person who typed the name. Stateless and thread-safe.
 */
public final class IdentityNames {
  /** The tenant of the cluster's operators; its root user may do anything anywhere. */
  public static final String SYSTEM_TENANT = "system";
  /** The user every tenant is created with; it may do anything inside its own tenant. */
  public static final String ROOT_USER = "root";

  /** Longest tenant, user, group or policy name. */
  public static final int NAME_LENGTH_MAX = 64;
  /** Longest display name of a tenant or user. */
  public static final int DISPLAY_NAME_LENGTH_MAX = 128;
  /** Longest description of a group or policy. */
  public static final int DESCRIPTION_LENGTH_MAX = 1024;

  private static final String LOWER_DIGITS = "abcdefghijklmnopqrstuvwxyz0123456789";
  private static final String UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

  /** Which characters one kind of name may hold. */
  private enum Kind {
    TENANT("tenant", LOWER_DIGITS, "_-", "lower-case letters, digits, '_' and '-'"),
    USER("user", LOWER_DIGITS, "._-", "lower-case letters, digits, '.', '_' and '-'"),
    GROUP("group", LOWER_DIGITS, "._-", "lower-case letters, digits, '.', '_' and '-'"),
    POLICY("policy", LOWER_DIGITS + UPPER, "._-", "letters, digits, '.', '_' and '-'");

    final String noun;
    final String first;
    final String rest;
    final String described;

    Kind(String noun, String first, String punctuation, String described) {
      this.noun = noun;
      this.first = first;
      this.rest = first + punctuation;
      this.described = described;
    }
  }

  private IdentityNames() {}

  public static void checkTenantName(String name) {
    check(Kind.TENANT, name);
  }

  public static void checkUserName(String name) {
    check(Kind.USER, name);
  }

  public static void checkGroupName(String name) {
    check(Kind.GROUP, name);
  }

  public static void checkPolicyName(String name) {
    check(Kind.POLICY, name);
  }

  /** Whether {@code name} is a valid tenant name; never throws. */
  public static boolean isTenantName(String name) {
    return problem(Kind.TENANT, name) == null;
  }

  /** A display name: at most {@link #DISPLAY_NAME_LENGTH_MAX} characters, no control characters. */
  public static void checkDisplayName(String text) {
    checkFreeText("display name", text, DISPLAY_NAME_LENGTH_MAX);
  }

  /** A description: at most {@link #DESCRIPTION_LENGTH_MAX} characters, no control characters. */
  public static void checkDescription(String text) {
    checkFreeText("description", text, DESCRIPTION_LENGTH_MAX);
  }

  private static void check(Kind kind, String name) {
    String problem = problem(kind, name);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
  }

  private static String problem(Kind kind, String name) {
    if (name == null || name.isEmpty()) {
      return "a " + kind.noun + " name is required";
    }
    if (name.length() > NAME_LENGTH_MAX) {
      return kind.noun + " name \"" + abbreviate(name) + "\" has " + name.length()
          + " characters; at most " + NAME_LENGTH_MAX + " are allowed";
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      String allowed = i == 0 ? kind.first : kind.rest;
      if (allowed.indexOf(c) < 0) {
        return kind.noun + " name \"" + name + "\" has '" + printable(c) + "' at position " + (i + 1)
            + "; a " + kind.noun + " name is made of " + kind.described
            + (i == 0 ? ", and starts with a letter or digit" : "");
      }
    }
    return null;
  }

  private static void checkFreeText(String what, String text, int lengthMax) {
    Objects.requireNonNull(text, what);
    if (text.length() > lengthMax) {
      throw new IllegalArgumentException(
          "the " + what + " has " + text.length() + " characters; at most " + lengthMax
              + " are allowed");
    }
    for (int i = 0; i < text.length(); i++) {
      if (Character.isISOControl(text.charAt(i))) {
        throw new IllegalArgumentException(
            "the " + what + " has a control character at position " + (i + 1));
      }
    }
  }

  private static String printable(char c) {
    return Character.isISOControl(c) || Character.isWhitespace(c)
        ? String.format("\\u%04x", (int) c)
        : String.valueOf(c);
  }

  private static String abbreviate(String name) {
    return name.substring(0, NAME_LENGTH_MAX) + "...";
  }
}
