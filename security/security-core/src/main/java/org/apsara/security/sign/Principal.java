package org.apsara.security.sign;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The authenticated caller of a request: a RAM-style user of a tenant, identified by the AccessKey
 * it signed with.
 *
 * <p>Immutable and thread-safe. The constructor rejects names that could not appear in an ARN
 * unambiguously, so {@link #arn()} is always well formed.
 *
 * @param tenantId the tenant (account) that owns the user; letters, digits, '_' and '-'
 * @param userName the user within the tenant; letters, digits, '.', '_', '@' and '-'
 * @param accessKeyId the AccessKey the request was signed with
 */
public record Principal(String tenantId, String userName, String accessKeyId) {
  /** Longest tenant id or user name accepted. */
  public static final int NAME_LENGTH_MAX = 64;

  private static final Pattern TENANT_ID = Pattern.compile("[A-Za-z0-9_-]{1," + NAME_LENGTH_MAX + "}");
  private static final Pattern USER_NAME =
      Pattern.compile("[A-Za-z0-9._@-]{1," + NAME_LENGTH_MAX + "}");

  public Principal {
    Objects.requireNonNull(tenantId, "tenantId");
    Objects.requireNonNull(userName, "userName");
    Objects.requireNonNull(accessKeyId, "accessKeyId");
    if (!TENANT_ID.matcher(tenantId).matches()) {
      throw new IllegalArgumentException("invalid tenant id: " + tenantId);
    }
    if (!USER_NAME.matcher(userName).matches()) {
      throw new IllegalArgumentException("invalid user name: " + userName);
    }
    if (!SignatureV3.isValidAccessKeyId(accessKeyId)) {
      throw new IllegalArgumentException("invalid AccessKey id: " + accessKeyId);
    }
  }

  /** The user's resource name, {@code acs:ram::<tenant>:user/<user>}, as RAM policies name it. */
  public String arn() {
    return "acs:ram::" + tenantId + ":user/" + userName;
  }
}
