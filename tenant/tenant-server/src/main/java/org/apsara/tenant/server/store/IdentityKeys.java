package org.apsara.tenant.server.store;

import java.util.Optional;

/**
 * The layout of the identity service's keys in Nuwa, all under {@value #ROOT}:
 *
 * <pre>
 * tenants/&lt;tenant&gt;                           TenantRecord
 * users/&lt;tenant&gt;/&lt;user&gt;                      UserRecord
 * groups/&lt;tenant&gt;/&lt;group&gt;                    GroupRecord
 * policies/&lt;tenant&gt;/&lt;policy&gt;                 PolicyRecord
 * keys/&lt;tenant&gt;/&lt;user&gt;/&lt;access key id&gt;      AccessKeyRecord
 * memberships/&lt;tenant&gt;/&lt;user&gt;/&lt;group&gt;        LinkRecord
 * attachments/&lt;tenant&gt;/user/&lt;user&gt;/&lt;policy&gt;  LinkRecord
 * attachments/&lt;tenant&gt;/group/&lt;group&gt;/&lt;policy&gt; LinkRecord
 * cluster/master-key-id                      the id of the master key secrets are sealed with
 * </pre>
 *
 * <p>Everything a user owns (its keys, memberships and attachments) sits under a prefix of its own,
 * and everything a tenant owns under prefixes of the tenant, so that deleting a user or a tenant is
 * a handful of prefix deletes in one transaction, however much they own. Names never contain '/'
 * (see {@link org.apsara.tenant.api.IdentityNames}), so a prefix such as {@code users/acme/} holds
 * exactly one tenant's users.
 *
 * <p>Stateless and thread-safe.
 */
public final class IdentityKeys {
  /** The prefix reserved for the identity service; nothing else writes under it. */
  public static final String ROOT = "/apsara/iam/";

  private static final String TENANTS = ROOT + "tenants/";
  private static final String USERS = ROOT + "users/";
  private static final String GROUPS = ROOT + "groups/";
  private static final String POLICIES = ROOT + "policies/";
  private static final String KEYS = ROOT + "keys/";
  private static final String MEMBERSHIPS = ROOT + "memberships/";
  private static final String ATTACHMENTS = ROOT + "attachments/";
  private static final String TO_USER = "user";
  private static final String TO_GROUP = "group";

  private IdentityKeys() {}

  /** The id of the master key the cluster's secrets are sealed with, as plain text. */
  public static String masterKeyId() {
    return ROOT + "cluster/master-key-id";
  }

  public static String tenant(String tenant) {
    return TENANTS + tenant;
  }

  public static String tenants() {
    return TENANTS;
  }

  public static String user(String tenant, String user) {
    return usersOf(tenant) + user;
  }

  public static String usersOf(String tenant) {
    return USERS + tenant + "/";
  }

  public static String group(String tenant, String group) {
    return groupsOf(tenant) + group;
  }

  public static String groupsOf(String tenant) {
    return GROUPS + tenant + "/";
  }

  public static String policy(String tenant, String policy) {
    return policiesOf(tenant) + policy;
  }

  public static String policiesOf(String tenant) {
    return POLICIES + tenant + "/";
  }

  public static String accessKey(String tenant, String user, String accessKeyId) {
    return accessKeysOf(tenant, user) + accessKeyId;
  }

  public static String accessKeysOf(String tenant, String user) {
    return accessKeysOf(tenant) + user + "/";
  }

  public static String accessKeysOf(String tenant) {
    return KEYS + tenant + "/";
  }

  public static String membership(String tenant, String user, String group) {
    return membershipsOf(tenant, user) + group;
  }

  public static String membershipsOf(String tenant, String user) {
    return membershipsOf(tenant) + user + "/";
  }

  public static String membershipsOf(String tenant) {
    return MEMBERSHIPS + tenant + "/";
  }

  public static String userAttachment(String tenant, String user, String policy) {
    return userAttachmentsOf(tenant, user) + policy;
  }

  public static String userAttachmentsOf(String tenant, String user) {
    return attachmentsOf(tenant) + TO_USER + "/" + user + "/";
  }

  public static String groupAttachment(String tenant, String group, String policy) {
    return groupAttachmentsOf(tenant, group) + policy;
  }

  public static String groupAttachmentsOf(String tenant, String group) {
    return attachmentsOf(tenant) + TO_GROUP + "/" + group + "/";
  }

  public static String attachmentsOf(String tenant) {
    return ATTACHMENTS + tenant + "/";
  }

  /** What one key of the layout names. */
  public sealed interface Parsed {
    /** The tenant the record belongs to. */
    String tenant();
  }

  public record TenantKey(String tenant) implements Parsed {}

  public record UserKey(String tenant, String user) implements Parsed {}

  public record GroupKey(String tenant, String group) implements Parsed {}

  public record PolicyKey(String tenant, String policy) implements Parsed {}

  public record AccessKeyKey(String tenant, String user, String accessKeyId) implements Parsed {}

  public record MembershipKey(String tenant, String user, String group) implements Parsed {}

  public record UserAttachmentKey(String tenant, String user, String policy) implements Parsed {}

  public record GroupAttachmentKey(String tenant, String group, String policy) implements Parsed {}

  /** What {@code key} names, or empty if it is not a key of this layout. */
  public static Optional<Parsed> parse(String key) {
    if (!key.startsWith(ROOT)) {
      return Optional.empty();
    }
    String[] parts = key.substring(ROOT.length()).split("/", -1);
    for (String part : parts) {
      if (part.isEmpty()) {
        return Optional.empty();
      }
    }
    Parsed parsed = switch (parts[0]) {
      case "tenants" -> parts.length == 2 ? new TenantKey(parts[1]) : null;
      case "users" -> parts.length == 3 ? new UserKey(parts[1], parts[2]) : null;
      case "groups" -> parts.length == 3 ? new GroupKey(parts[1], parts[2]) : null;
      case "policies" -> parts.length == 3 ? new PolicyKey(parts[1], parts[2]) : null;
      case "keys" -> parts.length == 4 ? new AccessKeyKey(parts[1], parts[2], parts[3]) : null;
      case "memberships" ->
          parts.length == 4 ? new MembershipKey(parts[1], parts[2], parts[3]) : null;
      case "attachments" -> parts.length != 5 ? null : switch (parts[2]) {
        case TO_USER -> new UserAttachmentKey(parts[1], parts[3], parts[4]);
        case TO_GROUP -> new GroupAttachmentKey(parts[1], parts[3], parts[4]);
        default -> null;
      };
      default -> null;
    };
    return Optional.ofNullable(parsed);
  }
}
