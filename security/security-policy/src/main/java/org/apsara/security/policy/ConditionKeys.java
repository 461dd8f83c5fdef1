package org.apsara.security.policy;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The condition keys every service supplies in the request context, and the rules for
 * service-specific keys.
 *
 * <p>Global keys start with {@code acs:}; only the three below exist, and each may be used only
 * with the operators that understand its values. Any other key must have the form {@code
 * <service>:<name>} (e.g. {@code pangu:Prefix}); such keys are passed through from the request
 * context unchanged and may be used with every operator. Keys are case-sensitive, both in policies
 * and in the request context.
 *
 * <p>A service must put every global key into the context of every request it authorizes: a
 * condition on a key the context lacks does not hold, whatever the operator (see {@link
 * Condition}).
 */
public final class ConditionKeys {
  private ConditionKeys() {}

  /** The client's IP address, IPv4 ({@code 10.1.2.3}) or IPv6 ({@code 2001:db8::1}). */
  public static final String SOURCE_IP = "acs:SourceIp";

  /**
   * The time of the request, ISO-8601 in UTC such as {@code 2024-01-31T23:59:59Z} ({@link
   * java.time.Instant#toString()} writes this form).
   */
  public static final String CURRENT_TIME = "acs:CurrentTime";

  /** {@code true} if the request arrived over TLS, else {@code false}. */
  public static final String SECURE_TRANSPORT = "acs:SecureTransport";

  private static final String GLOBAL_PREFIX = "acs:";

  private static final Map<String, Set<ConditionOperator>> GLOBAL_KEY_OPERATORS =
      Map.of(
          SOURCE_IP, EnumSet.of(ConditionOperator.IP_ADDRESS, ConditionOperator.NOT_IP_ADDRESS),
          CURRENT_TIME,
              EnumSet.of(ConditionOperator.DATE_LESS_THAN, ConditionOperator.DATE_GREATER_THAN),
          SECURE_TRANSPORT, EnumSet.of(ConditionOperator.BOOL));

  /** A service name, a colon, then letters, digits and {@code _ . / -}. */
  private static final Pattern SERVICE_KEY = Pattern.compile("[a-z][a-z0-9-]*:[A-Za-z0-9_./-]+");

  /**
   * Returns why {@code key} cannot be used with {@code operator}, or {@code null} if it can. The
   * reason is phrased to follow the key in an error message.
   */
  static String problemWith(String key, ConditionOperator operator) {
    if (key.regionMatches(true, 0, GLOBAL_PREFIX, 0, GLOBAL_PREFIX.length())) {
      Set<ConditionOperator> allowed = GLOBAL_KEY_OPERATORS.get(key);
      if (allowed == null) {
        return "is not a supported global key; supported global keys are "
            + SOURCE_IP + ", " + CURRENT_TIME + ", " + SECURE_TRANSPORT;
      }
      if (!allowed.contains(operator)) {
        StringBuilder names = new StringBuilder();
        for (ConditionOperator candidate : allowed) {
          names.append(names.length() == 0 ? "" : " or ").append(candidate.jsonName());
        }
        return "cannot be used with " + operator.jsonName() + "; use " + names;
      }
      return null;
    }
    if (!SERVICE_KEY.matcher(key).matches()) {
      return "is not a valid condition key; expected <service>:<name> such as pangu:Prefix";
    }
    return null;
  }
}
