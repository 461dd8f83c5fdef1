package org.apsara.tenant.api;

/**
 * How many of each thing the identity service holds at most. A call that would exceed a limit fails
 * with {@code FAILED_PRECONDITION} naming it.
 *
 * <p>The limits follow Alibaba Cloud RAM's where RAM has one. They also bound what one response
 * carries, so that lists need no paging: the largest, every policy of a tenant, is at most {@link
 * #POLICIES_PER_TENANT_MAX} documents of at most 6144 characters (about 3 MiB).
 */
public final class IdentityLimits {
  /** Tenants in a cluster. */
  public static final int TENANTS_MAX = 10_000;
  /** Users in one tenant, its root user included (RAM: 1,000). */
  public static final int USERS_PER_TENANT_MAX = 1_000;
  /** Groups in one tenant. */
  public static final int GROUPS_PER_TENANT_MAX = 100;
  /** Policies in one tenant. */
  public static final int POLICIES_PER_TENANT_MAX = 500;
  /**
   * AccessKeys of one user (RAM: 2): enough to rotate a key (create the second, switch, delete the
   * first) and few enough that forgotten keys do not pile up.
   */
  public static final int ACCESS_KEYS_PER_USER_MAX = 2;
  /** Groups one user belongs to (RAM: 5). */
  public static final int GROUPS_PER_USER_MAX = 5;
  /** Policies attached directly to one user. */
  public static final int POLICIES_PER_USER_MAX = 10;
  /** Policies attached to one group. */
  public static final int POLICIES_PER_GROUP_MAX = 10;

  private IdentityLimits() {}
}
