package org.apsara.tenant.server.store;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.client.Cmp;
import org.apsara.nuwa.client.CompactedException;
import org.apsara.nuwa.client.DeleteOptions;
import org.apsara.nuwa.client.GetOptions;
import org.apsara.nuwa.client.KeyRange;
import org.apsara.nuwa.client.KeyValue;
import org.apsara.nuwa.client.NuwaAuthenticationException;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.NuwaException;
import org.apsara.nuwa.client.Op;
import org.apsara.nuwa.client.Txn;
import org.apsara.nuwa.client.TxnResponse;
import org.apsara.security.crypto.SecretBox;
import org.apsara.security.crypto.Secrets;
import org.apsara.security.policy.InvalidPolicyException;
import org.apsara.security.policy.PolicyDocument;
import org.apsara.security.sign.AccessKeyCredentials;
import org.apsara.tenant.api.CreatedAccessKey;
import org.apsara.tenant.api.IdentityLimits;
import org.apsara.tenant.api.IdentityNames;
import org.apsara.tenant.api.ResourceName;
import org.apsara.tenant.api.v1.AccessKey;
import org.apsara.tenant.api.v1.AccessKeyStatus;
import org.apsara.tenant.api.v1.Group;
import org.apsara.tenant.api.v1.Policy;
import org.apsara.tenant.api.v1.Tenant;
import org.apsara.tenant.api.v1.User;
import org.apsara.tenant.server.store.IdentityKeys.GroupAttachmentKey;
import org.apsara.tenant.server.store.IdentityKeys.MembershipKey;
import org.apsara.tenant.server.store.IdentityKeys.Parsed;
import org.apsara.tenant.server.store.IdentityKeys.UserAttachmentKey;
import org.apsara.tenant.server.store.proto.AccessKeyRecord;
import org.apsara.tenant.server.store.proto.GroupRecord;
import org.apsara.tenant.server.store.proto.LinkRecord;
import org.apsara.tenant.server.store.proto.PolicyRecord;
import org.apsara.tenant.server.store.proto.TenantRecord;
import org.apsara.tenant.server.store.proto.UserRecord;

/**
 * Tenants, users, groups, AccessKeys and policies, stored in Nuwa under {@link IdentityKeys#ROOT}.
 *
 * <p><b>Atomicity.</b> Every change is one Nuwa transaction: it is decided from reads at one
 * revision and committed together with guards on everything read (see {@link SnapshotReads}), so it
 * is applied whole or not at all, and only if nothing it depended on changed in between. A change
 * that loses such a race is decided again from fresh reads, up to {@link #COMMIT_ATTEMPTS_MAX}
 * times; the second decision sees what the winner did and fails precisely (the user now exists, the
 * tenant is gone). Concurrent calls therefore behave as if they ran one after the other.
 *
 * <p><b>Errors</b> are {@link StatusRuntimeException}s with a sentence naming the thing and the
 * problem: {@code INVALID_ARGUMENT} for a malformed name or policy, {@code NOT_FOUND}, {@code
 * ALREADY_EXISTS}, {@code FAILED_PRECONDITION} when the state forbids the change (a non-empty
 * tenant, a limit of {@link IdentityLimits}), {@code ABORTED} after too many lost races, {@code
 * UNAVAILABLE} when Nuwa fails (a failed write may or may not have been applied), {@code INTERNAL}
 * for a record that cannot be decoded.
 *
 * <p><b>Secrets.</b> AccessKey secrets are sealed with the {@link SecretBox} (associated data: the
 * AccessKey id) before they are written, are never logged, and leave the store only in the result
 * of {@link #createAccessKey}.
 *
 * <p>Authorization is the caller's business: the store does what it is asked. Thread-safe; every
 * method blocks on Nuwa for at most a few round trips per attempt.
 */
public final class IdentityStore {
  /** How often one change is decided and committed before it fails with {@code ABORTED}. */
  public static final int COMMIT_ATTEMPTS_MAX = 10;
  /** Upper bound of the random pause before deciding again, times the attempts so far. */
  static final int RETRY_JITTER_MS_MAX = 5;
  /** How many names an error message lists before it says "and N more". */
  static final int NAMES_LISTED_MAX = 10;

  private final NuwaClient nuwa;
  private final SecretBox secretBox;
  private final Clock clock;
  /** Runs between deciding a change and committing it; tests use it to race a change. */
  volatile Runnable beforeCommit = () -> {};

  public IdentityStore(NuwaClient nuwa, SecretBox secretBox, Clock clock) {
    this.nuwa = Objects.requireNonNull(nuwa, "nuwa");
    this.secretBox = Objects.requireNonNull(secretBox, "secretBox");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** Nuwa's current revision: every change acknowledged so far is at or below it. */
  public long currentRevision() {
    return read(reads -> nuwa.kv().get(KeyRange.prefix(IdentityKeys.tenants()),
        GetOptions.builder().countOnly(true).build()).header().revision());
  }

  /**
   * Records {@code keyId} as the id of the cluster's master key unless one is recorded already, and
   * returns the recorded id: a server whose key differs cannot open the stored secrets.
   */
  public String recordMasterKeyId(String keyId) {
    String key = IdentityKeys.masterKeyId();
    return change("record the master key id", reads -> {
      Optional<KeyValue> recorded = reads.get(key);
      if (recorded.isPresent()) {
        return new Change<>(recorded.get().valueUtf8(), List.of());
      }
      return new Change<>(keyId, List.of(Op.put(key, keyId)));
    });
  }

  // ------------------------------------------------------------------------------------ tenants

  /**
   * Creates a tenant and its root user ({@link IdentityNames#ROOT_USER}), which has no AccessKey.
   *
   * @throws StatusRuntimeException {@code ALREADY_EXISTS}, or {@code FAILED_PRECONDITION} when the
   *     cluster has {@link IdentityLimits#TENANTS_MAX} tenants
   */
  public Tenant createTenant(String name, String displayName) {
    checkName(IdentityNames::checkTenantName, name);
    checkName(IdentityNames::checkDisplayName, displayName);
    return change("create tenant " + name, reads -> {
      TenantCreation creation = planTenant(reads, name, displayName);
      return new Change<>(creation.tenant(), creation.ops());
    });
  }

  /**
   * Creates a tenant, its root user and an AccessKey of the root user, all at once, unless the
   * tenant exists: the first start of a cluster creates its system tenant this way, so that
   * several servers starting together create one set of credentials between them.
   *
   * @return the new root AccessKey with its secret, or empty if the tenant already existed
   */
  public Optional<CreatedAccessKey> createTenantWithRootAccessKey(String name, String displayName) {
    checkName(IdentityNames::checkTenantName, name);
    checkName(IdentityNames::checkDisplayName, displayName);
    return change("create tenant " + name + " with a root AccessKey", reads -> {
      if (reads.get(IdentityKeys.tenant(name)).isPresent()) {
        return new Change<>(Optional.<CreatedAccessKey>empty(), List.of());
      }
      TenantCreation creation = planTenant(reads, name, displayName);
      NewKey key = newAccessKey(name, IdentityNames.ROOT_USER);
      List<Op> ops = new ArrayList<>(creation.ops());
      ops.add(key.op());
      return new Change<>(Optional.of(key.created()), ops);
    });
  }

  private record TenantCreation(Tenant tenant, List<Op> ops) {}

  private TenantCreation planTenant(SnapshotReads reads, String name, String displayName) {
    if (reads.get(IdentityKeys.tenant(name)).isPresent()) {
      throw alreadyExists("tenant " + name + " already exists");
    }
    if (reads.count(IdentityKeys.tenants()) >= IdentityLimits.TENANTS_MAX) {
      throw limitReached("the cluster already has " + IdentityLimits.TENANTS_MAX
          + " tenants, the most it may have");
    }
    Timestamp now = now();
    TenantRecord tenant =
        TenantRecord.newBuilder().setDisplayName(displayName).setCreateTime(now).build();
    UserRecord root = UserRecord.newBuilder()
        .setDisplayName(IdentityNames.ROOT_USER).setCreateTime(now).build();
    return new TenantCreation(toTenant(name, tenant), List.of(
        put(IdentityKeys.tenant(name), tenant),
        put(IdentityKeys.user(name, IdentityNames.ROOT_USER), root)));
  }

  public Tenant getTenant(String name) {
    checkName(IdentityNames::checkTenantName, name);
    return read(reads -> toTenant(name, requireTenant(reads, name)));
  }

  /** Every tenant, by name. */
  public List<Tenant> listTenants() {
    return read(reads -> {
      List<Tenant> tenants = new ArrayList<>();
      for (KeyValue kv : reads.list(IdentityKeys.tenants())) {
        if (IdentityKeys.parse(kv.keyUtf8()).orElse(null) instanceof IdentityKeys.TenantKey key) {
          tenants.add(toTenant(key.tenant(), decode(kv, TenantRecord.parser())));
        }
      }
      return tenants;
    });
  }

  /**
   * Deletes a tenant that holds nothing but its root user, with the root user's AccessKeys.
   *
   * @throws StatusRuntimeException {@code NOT_FOUND}; {@code FAILED_PRECONDITION} naming what is
   *     left in the tenant, or for the system tenant
   */
  public void deleteTenant(String name) {
    checkName(IdentityNames::checkTenantName, name);
    if (name.equals(IdentityNames.SYSTEM_TENANT)) {
      throw failedPrecondition("the " + IdentityNames.SYSTEM_TENANT
          + " tenant holds the cluster's operators and cannot be deleted");
    }
    change("delete tenant " + name, reads -> {
      requireTenant(reads, name);
      List<String> users = new ArrayList<>();
      for (KeyValue kv : reads.list(IdentityKeys.usersOf(name))) {
        String user = lastSegment(kv);
        if (!user.equals(IdentityNames.ROOT_USER)) {
          users.add(user);
        }
      }
      List<String> groups = lastSegments(reads.list(IdentityKeys.groupsOf(name)));
      List<String> policies = lastSegments(reads.list(IdentityKeys.policiesOf(name)));
      List<String> left = new ArrayList<>();
      describeLeft(left, users, "user", "users");
      describeLeft(left, groups, "group", "groups");
      describeLeft(left, policies, "policy", "policies");
      if (!left.isEmpty()) {
        throw failedPrecondition("tenant " + name + " still has " + String.join(", ", left)
            + "; delete them before the tenant");
      }
      return new Change<>(null, List.of(
          Op.delete(IdentityKeys.tenant(name)),
          deletePrefix(IdentityKeys.usersOf(name)),
          deletePrefix(IdentityKeys.accessKeysOf(name)),
          deletePrefix(IdentityKeys.membershipsOf(name)),
          deletePrefix(IdentityKeys.attachmentsOf(name))));
    });
  }

  private static void describeLeft(List<String> out, List<String> names, String one, String many) {
    if (!names.isEmpty()) {
      out.add(names.size() + " " + (names.size() == 1 ? one : many) + " (" + listed(names) + ")");
    }
  }

  // -------------------------------------------------------------------------------------- users

  /**
   * @throws StatusRuntimeException {@code NOT_FOUND} if the tenant does not exist, {@code
   *     ALREADY_EXISTS}, or {@code FAILED_PRECONDITION} at {@link
   *     IdentityLimits#USERS_PER_TENANT_MAX}
   */
  public User createUser(String tenant, String name, String displayName) {
    checkName(IdentityNames::checkTenantName, tenant);
    checkName(IdentityNames::checkUserName, name);
    checkName(IdentityNames::checkDisplayName, displayName);
    return change("create user " + name + " in tenant " + tenant, reads -> {
      requireTenant(reads, tenant);
      if (reads.get(IdentityKeys.user(tenant, name)).isPresent()) {
        throw alreadyExists("user " + name + " already exists in tenant " + tenant);
      }
      if (reads.count(IdentityKeys.usersOf(tenant)) >= IdentityLimits.USERS_PER_TENANT_MAX) {
        throw limitReached("tenant " + tenant + " already has "
            + IdentityLimits.USERS_PER_TENANT_MAX + " users, the most a tenant may have");
      }
      UserRecord record =
          UserRecord.newBuilder().setDisplayName(displayName).setCreateTime(now()).build();
      return new Change<>(toUser(tenant, name, record),
          List.of(put(IdentityKeys.user(tenant, name), record)));
    });
  }

  public User getUser(String tenant, String name) {
    checkName(IdentityNames::checkTenantName, tenant);
    checkName(IdentityNames::checkUserName, name);
    return read(reads -> toUser(tenant, name, requireUser(reads, tenant, name)));
  }

  /** The users of a tenant by name; only the members of {@code group} unless it is "". */
  public List<User> listUsers(String tenant, String group) {
    checkName(IdentityNames::checkTenantName, tenant);
    if (!group.isEmpty()) {
      checkName(IdentityNames::checkGroupName, group);
    }
    return read(reads -> {
      requireTenant(reads, tenant);
      Set<String> members = null;
      if (!group.isEmpty()) {
        requireGroup(reads, tenant, group);
        members = new TreeSet<>();
        for (KeyValue kv : reads.list(IdentityKeys.membershipsOf(tenant))) {
          if (IdentityKeys.parse(kv.keyUtf8()).orElse(null) instanceof MembershipKey m
              && m.group().equals(group)) {
            members.add(m.user());
          }
        }
      }
      List<User> users = new ArrayList<>();
      for (KeyValue kv : reads.list(IdentityKeys.usersOf(tenant))) {
        String name = lastSegment(kv);
        if (members == null || members.contains(name)) {
          users.add(toUser(tenant, name, decode(kv, UserRecord.parser())));
        }
      }
      return users;
    });
  }

  /**
   * Deletes a user with its AccessKeys, group memberships and policy attachments.
   *
   * @throws StatusRuntimeException {@code NOT_FOUND}, or {@code FAILED_PRECONDITION} for a root
   *     user
   */
  public void deleteUser(String tenant, String name) {
    checkName(IdentityNames::checkTenantName, tenant);
    checkName(IdentityNames::checkUserName, name);
    if (name.equals(IdentityNames.ROOT_USER)) {
      throw failedPrecondition("the root user of tenant " + tenant
          + " cannot be deleted; it goes with the tenant");
    }
    change("delete user " + name + " of tenant " + tenant, reads -> {
      requireUser(reads, tenant, name);
      // The prefixes are deleted as they are at commit time, so a key or membership added after
      // the read goes too.
      return new Change<>(null, List.of(
          Op.delete(IdentityKeys.user(tenant, name)),
          deletePrefix(IdentityKeys.accessKeysOf(tenant, name)),
          deletePrefix(IdentityKeys.membershipsOf(tenant, name)),
          deletePrefix(IdentityKeys.userAttachmentsOf(tenant, name))));
    });
  }

  // ------------------------------------------------------------------------------------- groups

  public Group createGroup(String tenant, String name, String description) {
    checkName(IdentityNames::checkTenantName, tenant);
    checkName(IdentityNames::checkGroupName, name);
    checkName(IdentityNames::checkDescription, description);
    return change("create group " + name + " in tenant " + tenant, reads -> {
      requireTenant(reads, tenant);
      if (reads.get(IdentityKeys.group(tenant, name)).isPresent()) {
        throw alreadyExists("group " + name + " already exists in tenant " + tenant);
      }
      if (reads.count(IdentityKeys.groupsOf(tenant)) >= IdentityLimits.GROUPS_PER_TENANT_MAX) {
        throw limitReached("tenant " + tenant + " already has "
            + IdentityLimits.GROUPS_PER_TENANT_MAX + " groups, the most a tenant may have");
      }
      GroupRecord record =
          GroupRecord.newBuilder().setDescription(description).setCreateTime(now()).build();
      return new Change<>(toGroup(tenant, name, record),
          List.of(put(IdentityKeys.group(tenant, name), record)));
    });
  }

  /**
   * Deletes a group that has no members, with its policy attachments.
   *
   * @throws StatusRuntimeException {@code NOT_FOUND}, or {@code FAILED_PRECONDITION} naming the
   *     members left
   */
  public void deleteGroup(String tenant, String name) {
    checkName(IdentityNames::checkTenantName, tenant);
    checkName(IdentityNames::checkGroupName, name);
    change("delete group " + name + " of tenant " + tenant, reads -> {
      requireGroup(reads, tenant, name);
      List<String> members = new ArrayList<>();
      for (KeyValue kv : reads.list(IdentityKeys.membershipsOf(tenant))) {
        if (IdentityKeys.parse(kv.keyUtf8()).orElse(null) instanceof MembershipKey m
            && m.group().equals(name)) {
          members.add(m.user());
        }
      }
      if (!members.isEmpty()) {
        throw failedPrecondition("group " + name + " of tenant " + tenant + " still has "
            + members.size() + (members.size() == 1 ? " member" : " members") + " ("
            + listed(members) + "); remove them from the group first");
      }
      return new Change<>(null, List.of(
          Op.delete(IdentityKeys.group(tenant, name)),
          deletePrefix(IdentityKeys.groupAttachmentsOf(tenant, name))));
    });
  }

  /** The groups of a tenant by name; only those {@code user} belongs to unless it is "". */
  public List<Group> listGroups(String tenant, String user) {
    checkName(IdentityNames::checkTenantName, tenant);
    if (!user.isEmpty()) {
      checkName(IdentityNames::checkUserName, user);
    }
    return read(reads -> {
      requireTenant(reads, tenant);
      Set<String> groupsOfUser = null;
      if (!user.isEmpty()) {
        requireUser(reads, tenant, user);
        groupsOfUser = new TreeSet<>(
            lastSegments(reads.list(IdentityKeys.membershipsOf(tenant, user))));
      }
      List<Group> groups = new ArrayList<>();
      for (KeyValue kv : reads.list(IdentityKeys.groupsOf(tenant))) {
        String name = lastSegment(kv);
        if (groupsOfUser == null || groupsOfUser.contains(name)) {
          groups.add(toGroup(tenant, name, decode(kv, GroupRecord.parser())));
        }
      }
      return groups;
    });
  }

  /**
   * @throws StatusRuntimeException {@code NOT_FOUND} for a missing user or group, {@code
   *     ALREADY_EXISTS} if the user is a member, {@code FAILED_PRECONDITION} at {@link
   *     IdentityLimits#GROUPS_PER_USER_MAX}
   */
  public void addUserToGroup(String tenant, String user, String group) {
    checkName(IdentityNames::checkTenantName, tenant);
    checkName(IdentityNames::checkUserName, user);
    checkName(IdentityNames::checkGroupName, group);
    change("add user " + user + " to group " + group + " in tenant " + tenant, reads -> {
      requireUser(reads, tenant, user);
      requireGroup(reads, tenant, group);
      if (reads.get(IdentityKeys.membership(tenant, user, group)).isPresent()) {
        throw alreadyExists("user " + user + " is already a member of group " + group
            + " in tenant " + tenant);
      }
      if (reads.count(IdentityKeys.membershipsOf(tenant, user))
          >= IdentityLimits.GROUPS_PER_USER_MAX) {
        throw limitReached("user " + user + " of tenant " + tenant + " already belongs to "
            + IdentityLimits.GROUPS_PER_USER_MAX + " groups, the most a user may");
      }
      return new Change<>(null, List.of(put(IdentityKeys.membership(tenant, user, group), link())));
    });
  }

  public void removeUserFromGroup(String tenant, String user, String group) {
    checkName(IdentityNames::checkTenantName, tenant);
    checkName(IdentityNames::checkUserName, user);
    checkName(IdentityNames::checkGroupName, group);
    change("remove user " + user + " from group " + group + " in tenant " + tenant, reads -> {
      String key = IdentityKeys.membership(tenant, user, group);
      if (reads.get(key).isEmpty()) {
        requireUser(reads, tenant, user);
        requireGroup(reads, tenant, group);
        throw notFound("user " + user + " is not a member of group " + group + " in tenant "
            + tenant);
      }
      return new Change<>(null, List.of(Op.delete(key)));
    });
  }

  // -------------------------------------------------------------------------------- access keys

  /**
   * Creates an enabled AccessKey for a user and returns it with its secret, which cannot be read
   * again.
   *
   * @throws StatusRuntimeException {@code NOT_FOUND}, or {@code FAILED_PRECONDITION} if the user has
   *     {@link IdentityLimits#ACCESS_KEYS_PER_USER_MAX} keys
   */
  public CreatedAccessKey createAccessKey(String tenant, String user) {
    checkName(IdentityNames::checkTenantName, tenant);
    checkName(IdentityNames::checkUserName, user);
    return change("create an AccessKey for user " + user + " of tenant " + tenant, reads -> {
      requireUser(reads, tenant, user);
      if (reads.count(IdentityKeys.accessKeysOf(tenant, user))
          >= IdentityLimits.ACCESS_KEYS_PER_USER_MAX) {
        throw limitReached("user " + user + " of tenant " + tenant + " already has "
            + IdentityLimits.ACCESS_KEYS_PER_USER_MAX
            + " AccessKeys, the most a user may have; delete one to create another");
      }
      NewKey key = newAccessKey(tenant, user);
      // Ids have about 119 random bits, so a new id cannot plausibly exist; the guard makes sure.
      reads.get(IdentityKeys.accessKey(tenant, user, key.created().accessKey().getAccessKeyId()));
      return new Change<>(key.created(), List.of(key.op()));
    });
  }

  /** A user's AccessKeys by id, without their secrets. */
  public List<AccessKey> listAccessKeys(String tenant, String user) {
    checkName(IdentityNames::checkTenantName, tenant);
    checkName(IdentityNames::checkUserName, user);
    return read(reads -> {
      requireUser(reads, tenant, user);
      List<AccessKey> keys = new ArrayList<>();
      for (KeyValue kv : reads.list(IdentityKeys.accessKeysOf(tenant, user))) {
        keys.add(toAccessKey(tenant, user, lastSegment(kv), decode(kv, AccessKeyRecord.parser())));
      }
      return keys;
    });
  }

  /** Enables or disables one of a user's AccessKeys; returns it as it is now. */
  public AccessKey updateAccessKey(String tenant, String user, String accessKeyId, boolean enabled) {
    checkName(IdentityNames::checkTenantName, tenant);
    checkName(IdentityNames::checkUserName, user);
    checkAccessKeyId(accessKeyId);
    return change((enabled ? "enable" : "disable") + " AccessKey " + accessKeyId, reads -> {
      String key = IdentityKeys.accessKey(tenant, user, accessKeyId);
      AccessKeyRecord record = decode(requireAccessKey(reads, tenant, user, accessKeyId),
          AccessKeyRecord.parser());
      if (record.getEnabled() == enabled) {
        return new Change<>(toAccessKey(tenant, user, accessKeyId, record), List.of());
      }
      AccessKeyRecord updated = record.toBuilder().setEnabled(enabled).build();
      return new Change<>(toAccessKey(tenant, user, accessKeyId, updated),
          List.of(put(key, updated)));
    });
  }

  public void deleteAccessKey(String tenant, String user, String accessKeyId) {
    checkName(IdentityNames::checkTenantName, tenant);
    checkName(IdentityNames::checkUserName, user);
    checkAccessKeyId(accessKeyId);
    change("delete AccessKey " + accessKeyId, reads -> {
      requireAccessKey(reads, tenant, user, accessKeyId);
      return new Change<>(null,
          List.of(Op.delete(IdentityKeys.accessKey(tenant, user, accessKeyId))));
    });
  }

  private record NewKey(CreatedAccessKey created, Op op) {}

  private NewKey newAccessKey(String tenant, String user) {
    String id = Secrets.newAccessKeyId();
    String secret = Secrets.newAccessKeySecret();
    AccessKeyRecord record = AccessKeyRecord.newBuilder()
        .setSealedSecret(ByteString.copyFrom(seal(id, secret)))
        .setEnabled(true)
        .setCreateTime(now())
        .build();
    CreatedAccessKey created = new CreatedAccessKey(
        toAccessKey(tenant, user, id, record), new AccessKeyCredentials(id, secret));
    return new NewKey(created, put(IdentityKeys.accessKey(tenant, user, id), record));
  }

  private byte[] seal(String accessKeyId, String secret) {
    return secretBox.encrypt(secret.getBytes(StandardCharsets.UTF_8), associatedData(accessKeyId));
  }

  /** What a sealed AccessKey secret is bound to: its AccessKey id. */
  public static byte[] associatedData(String accessKeyId) {
    return accessKeyId.getBytes(StandardCharsets.UTF_8);
  }

  // ----------------------------------------------------------------------------------- policies

  /**
   * Validates a policy document and stores its canonical form.
   *
   * @throws StatusRuntimeException {@code INVALID_ARGUMENT} naming the first problem of the
   *     document, {@code NOT_FOUND} for a missing tenant, {@code ALREADY_EXISTS}, or {@code
   *     FAILED_PRECONDITION} at {@link IdentityLimits#POLICIES_PER_TENANT_MAX}
   */
  public Policy createPolicy(String tenant, String name, String document, String description) {
    checkName(IdentityNames::checkTenantName, tenant);
    checkName(IdentityNames::checkPolicyName, name);
    checkName(IdentityNames::checkDescription, description);
    String canonical;
    try {
      canonical = PolicyDocument.parse(document).toJson();
    } catch (InvalidPolicyException e) {
      throw Status.INVALID_ARGUMENT
          .withDescription("policy " + name + " has an invalid document: " + e.getMessage())
          .asRuntimeException();
    }
    return change("create policy " + name + " in tenant " + tenant, reads -> {
      requireTenant(reads, tenant);
      if (reads.get(IdentityKeys.policy(tenant, name)).isPresent()) {
        throw alreadyExists("policy " + name + " already exists in tenant " + tenant);
      }
      if (reads.count(IdentityKeys.policiesOf(tenant)) >= IdentityLimits.POLICIES_PER_TENANT_MAX) {
        throw limitReached("tenant " + tenant + " already has "
            + IdentityLimits.POLICIES_PER_TENANT_MAX + " policies, the most a tenant may have");
      }
      PolicyRecord record = PolicyRecord.newBuilder()
          .setDescription(description).setDocument(canonical).setCreateTime(now()).build();
      return new Change<>(toPolicy(tenant, name, record),
          List.of(put(IdentityKeys.policy(tenant, name), record)));
    });
  }

  public Policy getPolicy(String tenant, String name) {
    checkName(IdentityNames::checkTenantName, tenant);
    checkName(IdentityNames::checkPolicyName, name);
    return read(reads -> toPolicy(tenant, name, requirePolicy(reads, tenant, name)));
  }

  /**
   * The policies of a tenant by name; only those attached directly to {@code user}, or only those
   * attached to {@code group}, when one of them is not "".
   */
  public List<Policy> listPolicies(String tenant, String user, String group) {
    checkName(IdentityNames::checkTenantName, tenant);
    if (!user.isEmpty() && !group.isEmpty()) {
      throw Status.INVALID_ARGUMENT
          .withDescription("list the policies of a user or of a group, not of both at once")
          .asRuntimeException();
    }
    if (!user.isEmpty()) {
      checkName(IdentityNames::checkUserName, user);
    }
    if (!group.isEmpty()) {
      checkName(IdentityNames::checkGroupName, group);
    }
    return read(reads -> {
      requireTenant(reads, tenant);
      Set<String> attached = null;
      if (!user.isEmpty()) {
        requireUser(reads, tenant, user);
        attached = new TreeSet<>(
            lastSegments(reads.list(IdentityKeys.userAttachmentsOf(tenant, user))));
      } else if (!group.isEmpty()) {
        requireGroup(reads, tenant, group);
        attached = new TreeSet<>(
            lastSegments(reads.list(IdentityKeys.groupAttachmentsOf(tenant, group))));
      }
      List<Policy> policies = new ArrayList<>();
      for (KeyValue kv : reads.list(IdentityKeys.policiesOf(tenant))) {
        String name = lastSegment(kv);
        if (attached == null || attached.contains(name)) {
          policies.add(toPolicy(tenant, name, decode(kv, PolicyRecord.parser())));
        }
      }
      return policies;
    });
  }

  /**
   * Deletes a policy that is attached to nobody.
   *
   * @throws StatusRuntimeException {@code NOT_FOUND}, or {@code FAILED_PRECONDITION} naming the
   *     users and groups it is attached to
   */
  public void deletePolicy(String tenant, String name) {
    checkName(IdentityNames::checkTenantName, tenant);
    checkName(IdentityNames::checkPolicyName, name);
    change("delete policy " + name + " of tenant " + tenant, reads -> {
      requirePolicy(reads, tenant, name);
      List<String> holders = new ArrayList<>();
      for (KeyValue kv : reads.list(IdentityKeys.attachmentsOf(tenant))) {
        Parsed parsed = IdentityKeys.parse(kv.keyUtf8()).orElse(null);
        if (parsed instanceof UserAttachmentKey a && a.policy().equals(name)) {
          holders.add("user " + a.user());
        } else if (parsed instanceof GroupAttachmentKey a && a.policy().equals(name)) {
          holders.add("group " + a.group());
        }
      }
      if (!holders.isEmpty()) {
        throw failedPrecondition("policy " + name + " of tenant " + tenant
            + " is still attached to " + listed(holders) + "; detach it first");
      }
      return new Change<>(null, List.of(Op.delete(IdentityKeys.policy(tenant, name))));
    });
  }

  public void attachPolicyToUser(String tenant, String policy, String user) {
    checkName(IdentityNames::checkTenantName, tenant);
    checkName(IdentityNames::checkPolicyName, policy);
    checkName(IdentityNames::checkUserName, user);
    change("attach policy " + policy + " to user " + user, reads -> {
      requireUser(reads, tenant, user);
      return attach(reads, tenant, policy, IdentityKeys.userAttachment(tenant, user, policy),
          IdentityKeys.userAttachmentsOf(tenant, user), "user " + user,
          IdentityLimits.POLICIES_PER_USER_MAX);
    });
  }

  public void detachPolicyFromUser(String tenant, String policy, String user) {
    checkName(IdentityNames::checkTenantName, tenant);
    checkName(IdentityNames::checkPolicyName, policy);
    checkName(IdentityNames::checkUserName, user);
    change("detach policy " + policy + " from user " + user, reads -> {
      String key = IdentityKeys.userAttachment(tenant, user, policy);
      if (reads.get(key).isEmpty()) {
        requireUser(reads, tenant, user);
        requirePolicy(reads, tenant, policy);
        throw notFound("policy " + policy + " is not attached to user " + user + " in tenant "
            + tenant);
      }
      return new Change<>(null, List.of(Op.delete(key)));
    });
  }

  public void attachPolicyToGroup(String tenant, String policy, String group) {
    checkName(IdentityNames::checkTenantName, tenant);
    checkName(IdentityNames::checkPolicyName, policy);
    checkName(IdentityNames::checkGroupName, group);
    change("attach policy " + policy + " to group " + group, reads -> {
      requireGroup(reads, tenant, group);
      return attach(reads, tenant, policy, IdentityKeys.groupAttachment(tenant, group, policy),
          IdentityKeys.groupAttachmentsOf(tenant, group), "group " + group,
          IdentityLimits.POLICIES_PER_GROUP_MAX);
    });
  }

  public void detachPolicyFromGroup(String tenant, String policy, String group) {
    checkName(IdentityNames::checkTenantName, tenant);
    checkName(IdentityNames::checkPolicyName, policy);
    checkName(IdentityNames::checkGroupName, group);
    change("detach policy " + policy + " from group " + group, reads -> {
      String key = IdentityKeys.groupAttachment(tenant, group, policy);
      if (reads.get(key).isEmpty()) {
        requireGroup(reads, tenant, group);
        requirePolicy(reads, tenant, policy);
        throw notFound("policy " + policy + " is not attached to group " + group + " in tenant "
            + tenant);
      }
      return new Change<>(null, List.of(Op.delete(key)));
    });
  }

  private Change<Void> attach(SnapshotReads reads, String tenant, String policy, String key,
      String prefix, String holder, int limit) {
    requirePolicy(reads, tenant, policy);
    if (reads.get(key).isPresent()) {
      throw alreadyExists("policy " + policy + " is already attached to " + holder + " in tenant "
          + tenant);
    }
    if (reads.count(prefix) >= limit) {
      throw limitReached(holder + " of tenant " + tenant + " already has " + limit
          + " policies attached, the most it may have");
    }
    return new Change<>(null, List.of(put(key, link())));
  }

  // ------------------------------------------------------------------------ reading and writing

  /** What a change decided: its result, and the writes that make it so (none for a no-op). */
  private record Change<T>(T result, List<Op> ops) {}

  /**
   * Decides a change from consistent reads and commits it with guards on those reads; decides
   * again if something read changed before the commit.
   */
  private <T> T change(String description, Function<SnapshotReads, Change<T>> decide) {
    return nuwaCall(() -> {
      for (int attempt = 1; attempt <= COMMIT_ATTEMPTS_MAX; attempt++) {
        if (attempt > 1) {
          pauseBeforeRetry(attempt - 1);
        }
        SnapshotReads reads = new SnapshotReads(nuwa.kv());
        Change<T> change;
        try {
          change = decide.apply(reads);
        } catch (CompactedException e) {
          // The revision read at was compacted between two reads: start from a fresh one.
          continue;
        } catch (NuwaAuthenticationException e) {
          if (isStaleToken(e)) {
            continue; // as below: reads refused while Nuwa's users or roles changed
          }
          throw e;
        }
        if (change.ops().isEmpty()) {
          return change.result();
        }
        beforeCommit.run();
        TxnResponse response;
        try {
          response = nuwa.kv().txn(Txn.builder()
              .when(reads.guards().toArray(new Cmp[0]))
              .then(change.ops().toArray(new Op[0]))
              .build());
        } catch (NuwaAuthenticationException e) {
          if (isStaleToken(e)) {
            continue; // refused unapplied while Nuwa's users or roles changed: decide again
          }
          throw e;
        }
        if (response.succeeded()) {
          return change.result();
        }
      }
      throw Status.ABORTED.withDescription("could not " + description + ": concurrent changes"
          + " to the same tenant, or to Nuwa's users and roles, got in the way "
          + COMMIT_ATTEMPTS_MAX + " times; retry")
          .asRuntimeException();
    });
  }

  /** Reads consistently (at one revision) without writing. */
  private <T> T read(Function<SnapshotReads, T> reader) {
    return nuwaCall(() -> {
      for (int attempt = 1; attempt <= COMMIT_ATTEMPTS_MAX; attempt++) {
        try {
          return reader.apply(new SnapshotReads(nuwa.kv()));
        } catch (CompactedException e) {
          // As in change(): read again at a fresh revision.
        } catch (NuwaAuthenticationException e) {
          if (!isStaleToken(e)) {
            throw e;
          }
          pauseBeforeRetry(attempt); // as in change()
        }
      }
      throw Status.ABORTED.withDescription("the store was compacted, or Nuwa's users and roles"
          + " changed, under every one of " + COMMIT_ATTEMPTS_MAX + " attempts to read it; retry")
          .asRuntimeException();
    });
  }

  /**
   * Whether Nuwa refused a request for its token having gone stale. With authentication on, every
   * change of Nuwa's users or roles (by {@code NuwaAuthSync}, or an operator) stales every token,
   * and a request checked before such a change and applied after it is refused; either way it was
   * not applied. nuwa-client renews the token and sends the request once more, which a burst of
   * such changes (adding a user and granting its role) can defeat; the store then decides and
   * sends it again, as after a lost race, within the same {@link #COMMIT_ATTEMPTS_MAX}.
   */
  private static boolean isStaleToken(NuwaAuthenticationException e) {
    return isError(e, NuwaErrors.AUTH_OLD_REVISION) || isError(e, NuwaErrors.INVALID_AUTH_TOKEN);
  }

  private static boolean isError(NuwaException e, Status expected) {
    return e.code() == expected.getCode() && expected.getDescription().equals(e.getMessage());
  }

  /** Spreads out the retries of changes that keep colliding, so that one of them gets through. */
  private static void pauseBeforeRetry(int attempt) {
    try {
      Thread.sleep(ThreadLocalRandom.current().nextInt(RETRY_JITTER_MS_MAX * attempt + 1));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw Status.CANCELLED.withDescription("interrupted").asRuntimeException();
    }
  }

  private static <T> T nuwaCall(java.util.function.Supplier<T> call) {
    try {
      return call.get();
    } catch (NuwaException e) {
      throw Status.UNAVAILABLE.withDescription(
              "the identity store is unavailable (" + e.code() + ": " + e.getMessage() + ")")
          .withCause(e)
          .asRuntimeException();
    }
  }

  private TenantRecord requireTenant(SnapshotReads reads, String tenant) {
    return decode(reads.get(IdentityKeys.tenant(tenant))
        .orElseThrow(() -> notFound("tenant " + tenant + " does not exist")), TenantRecord.parser());
  }

  /** The user's record; NOT_FOUND names the tenant instead if that is what is missing. */
  private UserRecord requireUser(SnapshotReads reads, String tenant, String user) {
    Optional<KeyValue> kv = reads.get(IdentityKeys.user(tenant, user));
    if (kv.isEmpty()) {
      requireTenant(reads, tenant);
      throw notFound("user " + user + " does not exist in tenant " + tenant);
    }
    return decode(kv.get(), UserRecord.parser());
  }

  private GroupRecord requireGroup(SnapshotReads reads, String tenant, String group) {
    Optional<KeyValue> kv = reads.get(IdentityKeys.group(tenant, group));
    if (kv.isEmpty()) {
      requireTenant(reads, tenant);
      throw notFound("group " + group + " does not exist in tenant " + tenant);
    }
    return decode(kv.get(), GroupRecord.parser());
  }

  private PolicyRecord requirePolicy(SnapshotReads reads, String tenant, String policy) {
    Optional<KeyValue> kv = reads.get(IdentityKeys.policy(tenant, policy));
    if (kv.isEmpty()) {
      requireTenant(reads, tenant);
      throw notFound("policy " + policy + " does not exist in tenant " + tenant);
    }
    return decode(kv.get(), PolicyRecord.parser());
  }

  private KeyValue requireAccessKey(
      SnapshotReads reads, String tenant, String user, String accessKeyId) {
    Optional<KeyValue> kv = reads.get(IdentityKeys.accessKey(tenant, user, accessKeyId));
    if (kv.isEmpty()) {
      requireUser(reads, tenant, user);
      throw notFound("user " + user + " of tenant " + tenant + " has no AccessKey "
          + accessKeyId);
    }
    return kv.get();
  }

  private static Op put(String key, Message record) {
    return Op.put(ByteString.copyFromUtf8(key), record.toByteString());
  }

  private static Op deletePrefix(String prefix) {
    return Op.delete(KeyRange.prefix(prefix), DeleteOptions.DEFAULT);
  }

  private LinkRecord link() {
    return LinkRecord.newBuilder().setCreateTime(now()).build();
  }

  /**
   * Decodes a stored record.
   *
   * @throws StatusRuntimeException {@code INTERNAL} naming the key if the value is not a record of
   *     the expected type
   */
  static <T extends Message> T decode(KeyValue kv, Parser<T> parser) {
    return decode(kv.keyUtf8(), kv.value(), parser);
  }

  /** Decodes the record stored at {@code key}; throws as {@link #decode(KeyValue, Parser)}. */
  public static <T extends Message> T decode(String key, ByteString value, Parser<T> parser) {
    try {
      return parser.parseFrom(value);
    } catch (InvalidProtocolBufferException e) {
      throw Status.INTERNAL.withDescription("the record at " + key
          + " cannot be decoded: " + e.getMessage()).asRuntimeException();
    }
  }

  private static String lastSegment(KeyValue kv) {
    String key = kv.keyUtf8();
    return key.substring(key.lastIndexOf('/') + 1);
  }

  private static List<String> lastSegments(List<KeyValue> kvs) {
    return kvs.stream().map(IdentityStore::lastSegment).toList();
  }

  /** Up to {@link #NAMES_LISTED_MAX} names, then how many more there are. */
  static String listed(List<String> names) {
    if (names.size() <= NAMES_LISTED_MAX) {
      return String.join(", ", names);
    }
    return String.join(", ", names.subList(0, NAMES_LISTED_MAX)) + " and "
        + (names.size() - NAMES_LISTED_MAX) + " more";
  }

  private Timestamp now() {
    Instant now = clock.instant();
    return Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()).build();
  }

  // ---------------------------------------------------------------------------------- validation

  private static void checkName(java.util.function.Consumer<String> check, String value) {
    try {
      check.accept(value);
    } catch (IllegalArgumentException | NullPointerException e) {
      throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
    }
  }

  private static void checkAccessKeyId(String accessKeyId) {
    if (!org.apsara.security.sign.SignatureV3.isValidAccessKeyId(accessKeyId)) {
      throw Status.INVALID_ARGUMENT.withDescription("\"" + accessKeyId
          + "\" is not an AccessKey id").asRuntimeException();
    }
  }

  private static StatusRuntimeException notFound(String message) {
    return Status.NOT_FOUND.withDescription(message).asRuntimeException();
  }

  private static StatusRuntimeException alreadyExists(String message) {
    return Status.ALREADY_EXISTS.withDescription(message).asRuntimeException();
  }

  private static StatusRuntimeException failedPrecondition(String message) {
    return Status.FAILED_PRECONDITION.withDescription(message).asRuntimeException();
  }

  private static StatusRuntimeException limitReached(String message) {
    return failedPrecondition(message);
  }

  // ---------------------------------------------------------------------------------- conversion

  static Tenant toTenant(String name, TenantRecord record) {
    return Tenant.newBuilder().setName(name).setDisplayName(record.getDisplayName())
        .setCreateTime(record.getCreateTime()).build();
  }

  static User toUser(String tenant, String name, UserRecord record) {
    return User.newBuilder().setTenant(tenant).setName(name)
        .setDisplayName(record.getDisplayName()).setCreateTime(record.getCreateTime())
        .setArn(ResourceName.user(tenant, name).toString()).build();
  }

  static Group toGroup(String tenant, String name, GroupRecord record) {
    return Group.newBuilder().setTenant(tenant).setName(name)
        .setDescription(record.getDescription()).setCreateTime(record.getCreateTime()).build();
  }

  static Policy toPolicy(String tenant, String name, PolicyRecord record) {
    return Policy.newBuilder().setTenant(tenant).setName(name)
        .setDescription(record.getDescription()).setDocument(record.getDocument())
        .setCreateTime(record.getCreateTime()).build();
  }

  /** The AccessKey as the API shows it: everything but the secret. */
  static AccessKey toAccessKey(String tenant, String user, String id, AccessKeyRecord record) {
    return AccessKey.newBuilder().setAccessKeyId(id).setTenant(tenant).setUserName(user)
        .setStatus(record.getEnabled()
            ? AccessKeyStatus.ACCESS_KEY_STATUS_ACTIVE
            : AccessKeyStatus.ACCESS_KEY_STATUS_INACTIVE)
        .setCreateTime(record.getCreateTime()).build();
  }

  @Override
  public String toString() {
    return "IdentityStore" + Arrays.asList(nuwa.endpoints());
  }
}
