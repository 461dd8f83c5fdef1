package org.apsara.fuxi.api;

/**
 * The names FuxiMaster authorizes its client calls with: the service name calls are signed for,
 * the RAM actions, and the resource names policies grant them on.
 *
 * <p>Resources are {@code acs:fuxi:<region>:<tenant>:<relative id>}:
 *
 * <ul>
 *   <li>{@code application/<id>}, of the application's tenant: {@link #GET_APPLICATION}, {@link
 *       #KILL_APPLICATION};
 *   <li>{@code application/*}, of the tenant an application is submitted for or listed from:
 *       {@link #SUBMIT_APPLICATION}, {@link #LIST_APPLICATIONS};
 *   <li>{@code node/*} of the {@value #OPERATOR_TENANT} tenant: {@link #LIST_NODES};
 *   <li>{@code quotagroup/<name>} and {@code quotagroup/*} of the {@value #OPERATOR_TENANT}
 *       tenant: {@link #SET_QUOTA_GROUP}, {@link #DELETE_QUOTA_GROUP}, {@link
 *       #LIST_QUOTA_GROUPS}. Machines and quota groups are the cluster's, so only the operators
 *       (the system tenant's root, and its users with a policy) reach them.
 * </ul>
 *
 * <p>Constants and pure functions only; thread-safe.
 */
public final class FuxiPermissions {
  /** The service name FuxiMaster's callers sign for ({@code APSARA4-HMAC-SHA256} scope). */
  public static final String SERVICE = "fuxi";
  /** The tenant that owns the cluster's machines and quota groups: the operators'. */
  public static final String OPERATOR_TENANT = "system";

  public static final String SUBMIT_APPLICATION = "fuxi:SubmitApplication";
  public static final String GET_APPLICATION = "fuxi:GetApplication";
  public static final String LIST_APPLICATIONS = "fuxi:ListApplications";
  public static final String KILL_APPLICATION = "fuxi:KillApplication";
  public static final String LIST_NODES = "fuxi:ListNodes";
  public static final String SET_QUOTA_GROUP = "fuxi:SetQuotaGroup";
  public static final String DELETE_QUOTA_GROUP = "fuxi:DeleteQuotaGroup";
  public static final String LIST_QUOTA_GROUPS = "fuxi:ListQuotaGroups";

  private static final String PREFIX = "acs:" + SERVICE + ":";

  private FuxiPermissions() {}

  /** Every application of {@code tenant}: what submitting and listing are checked on. */
  public static String applications(String region, String tenant) {
    return PREFIX + region + ":" + tenant + ":application/*";
  }

  /** One application of {@code tenant}. */
  public static String application(String region, String tenant, String applicationId) {
    return PREFIX + region + ":" + tenant + ":application/" + applicationId;
  }

  /** The cluster's machines. */
  public static String nodes(String region) {
    return PREFIX + region + ":" + OPERATOR_TENANT + ":node/*";
  }

  /** One quota group. */
  public static String quotaGroup(String region, String group) {
    return PREFIX + region + ":" + OPERATOR_TENANT + ":quotagroup/" + group;
  }

  /** Every quota group: what listing them is checked on. */
  public static String quotaGroups(String region) {
    return quotaGroup(region, "*");
  }
}
