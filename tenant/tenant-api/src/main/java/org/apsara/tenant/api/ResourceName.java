package org.apsara.tenant.api;

import java.util.Objects;

/**
 * A resource name as RAM policies name resources: {@code acs:<service>:<region>:<tenant>:<relative
 * id>}, for example {@code acs:ram::acme:user/alice} or {@code acs:nuwa:*:acme:key/app/config}.
 *
 * <p>The region is empty for services that are global to the cluster (the identity service is one)
 * and otherwise the cluster's region name. The tenant is the account that owns the resource; it is
 * what keeps one tenant's users out of another tenant's resources.
 *
 * <p>Immutable and thread-safe. The factory methods for the identity service's own resources are
 * the names its calls are authorized against.
 *
 * @param service the service that owns the resource, for example {@code ram}
 * @param region the region, or "" for a global service
 * @param tenant the owning tenant
 * @param relativeId the resource within the tenant, for example {@code user/alice}; not empty
 */
public record ResourceName(String service, String region, String tenant, String relativeId) {
  /** The first field of every resource name. */
  public static final String PREFIX = "acs";
  /** The service name of the identity service in actions ({@code ram:CreateUser}) and resources. */
  public static final String RAM = "ram";

  public ResourceName {
    Objects.requireNonNull(service, "service");
    Objects.requireNonNull(region, "region");
    Objects.requireNonNull(tenant, "tenant");
    Objects.requireNonNull(relativeId, "relativeId");
    if (service.isEmpty() || service.indexOf(':') >= 0) {
      throw new IllegalArgumentException("a resource's service must be non-empty without ':'");
    }
    if (region.indexOf(':') >= 0 || tenant.indexOf(':') >= 0) {
      throw new IllegalArgumentException("a resource's region and tenant cannot contain ':'");
    }
    if (relativeId.isEmpty()) {
      throw new IllegalArgumentException("a resource's relative id must not be empty");
    }
  }

  /**
   * Parses {@code acs:<service>:<region>:<tenant>:<relative id>}; the relative id may itself
   * contain ':'.
   *
   * @throws IllegalArgumentException if {@code text} does not have that form
   */
  public static ResourceName parse(String text) {
    String[] parts = text.split(":", 5);
    if (parts.length != 5 || !parts[0].equals(PREFIX)) {
      throw new IllegalArgumentException(
          "\"" + text + "\" is not a resource name acs:<service>:<region>:<tenant>:<relative-id>");
    }
    return new ResourceName(parts[1], parts[2], parts[3], parts[4]);
  }

  /** A tenant itself: {@code acs:ram::<tenant>:tenant}. */
  public static ResourceName tenant(String tenant) {
    return ram(tenant, "tenant");
  }

  /** {@code acs:ram::<tenant>:user/<user>}, the same as {@code Principal.arn()}. */
  public static ResourceName user(String tenant, String user) {
    return ram(tenant, "user/" + user);
  }

  /** Every user of a tenant, what listing users is authorized against. */
  public static ResourceName allUsers(String tenant) {
    return ram(tenant, "user/*");
  }

  public static ResourceName group(String tenant, String group) {
    return ram(tenant, "group/" + group);
  }

  /** Every group of a tenant, what listing groups is authorized against. */
  public static ResourceName allGroups(String tenant) {
    return ram(tenant, "group/*");
  }

  public static ResourceName policy(String tenant, String policy) {
    return ram(tenant, "policy/" + policy);
  }

  /** Every policy of a tenant, what listing policies is authorized against. */
  public static ResourceName allPolicies(String tenant) {
    return ram(tenant, "policy/*");
  }

  /**
   * The right to learn a service's view of AccessKeys ({@code ram:GetServiceCredential}): {@code
   * acs:ram:*:system:service/<service>}, a resource of the system tenant in every region.
   */
  public static ResourceName serviceCredential(String service) {
    return new ResourceName(RAM, "*", IdentityNames.SYSTEM_TENANT, "service/" + service);
  }

  private static ResourceName ram(String tenant, String relativeId) {
    return new ResourceName(RAM, "", tenant, relativeId);
  }

  /** The text form, which {@link #parse} reads back. */
  @Override
  public String toString() {
    return PREFIX + ":" + service + ":" + region + ":" + tenant + ":" + relativeId;
  }
}
