package org.apsara.tenant.server.store;

import static org.apsara.tenant.server.store.StoreTesting.assertFails;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status.Code;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.security.crypto.MasterKey;
import org.apsara.security.crypto.SecretBox;
import org.apsara.tenant.api.CreatedAccessKey;
import org.apsara.tenant.api.IdentityLimits;
import org.apsara.tenant.api.IdentityNames;
import org.apsara.tenant.api.v1.AccessKey;
import org.apsara.tenant.api.v1.AccessKeyStatus;
import org.apsara.tenant.api.v1.Group;
import org.apsara.tenant.api.v1.Policy;
import org.apsara.tenant.api.v1.Tenant;
import org.apsara.tenant.api.v1.User;
import org.apsara.tenant.server.NuwaFixture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What the store does, and how each call fails, against a real Nuwa. */
class IdentityStoreTest {
  static final String ALLOW_GET_USER = "{\"Version\": \"1\", \"Statement\": [{\"Effect\": \"Allow\","
      + " \"Action\": \"ram:GetUser\", \"Resource\": \"*\"}]}";

  private static NuwaClient client;
  private static IdentityStore store;

  private String tenant;

  @BeforeAll
  static void connect() throws Exception {
    client = NuwaFixture.shared().newClient();
    store = new IdentityStore(
        client, new SecretBox(MasterKey.generate(new SecureRandom())), Clock.systemUTC());
  }

  @AfterAll
  static void disconnect() {
    client.close();
  }

  @BeforeEach
  void newTenant() {
    tenant = NuwaFixture.uniqueName("acme");
    store.createTenant(tenant, "Acme Inc.");
  }

  /** Every key of the store that belongs to {@code tenant}. */
  private static List<String> keysOf(String tenant) {
    return StoreTesting.rawKeys(client, IdentityKeys.ROOT).stream()
        .filter(key -> IdentityKeys.parse(key).map(k -> k.tenant().equals(tenant)).orElse(false))
        .toList();
  }

  @Test
  void aTenantIsCreatedWithItsRootUserAndDeletedWithIt() {
    Tenant read = store.getTenant(tenant);
    assertThat(read.getName()).isEqualTo(tenant);
    assertThat(read.getDisplayName()).isEqualTo("Acme Inc.");
    assertThat(read.getCreateTime().getSeconds()).isPositive();
    assertThat(store.listTenants()).extracting(Tenant::getName).contains(tenant);
    assertThat(store.getUser(tenant, IdentityNames.ROOT_USER).getArn())
        .isEqualTo("acs:ram::" + tenant + ":user/root");
    store.createAccessKey(tenant, IdentityNames.ROOT_USER);

    store.deleteTenant(tenant);

    assertFails(Code.NOT_FOUND, () -> store.getTenant(tenant), "tenant " + tenant + " does not exist");
    assertThat(keysOf(tenant)).isEmpty();
  }

  @Test
  void tenantsAreUniqueAndTheSystemTenantStays() {
    assertFails(Code.ALREADY_EXISTS, () -> store.createTenant(tenant, ""),
        "tenant " + tenant + " already exists");
    assertFails(Code.FAILED_PRECONDITION, () -> store.deleteTenant(IdentityNames.SYSTEM_TENANT),
        "cannot be deleted");
    assertFails(Code.NOT_FOUND, () -> store.deleteTenant(NuwaFixture.uniqueName("nobody")),
        "does not exist");
  }

  @Test
  void aTenantThatStillHoldsSomethingIsNotDeletedAndSaysWhat() {
    store.createUser(tenant, "alice", "");
    store.createUser(tenant, "bob", "");
    store.createGroup(tenant, "devs", "");
    store.createPolicy(tenant, "ReadUsers", ALLOW_GET_USER, "");

    assertFails(Code.FAILED_PRECONDITION, () -> store.deleteTenant(tenant),
        "tenant " + tenant + " still has 2 users (alice, bob), 1 group (devs),"
            + " 1 policy (ReadUsers); delete them before the tenant");
    assertThat(store.getTenant(tenant).getName()).isEqualTo(tenant);
  }

  @Test
  void namesAreValidatedWithPreciseMessages() {
    assertFails(Code.INVALID_ARGUMENT, () -> store.createTenant("Acme", ""),
        "tenant name \"Acme\" has 'A' at position 1");
    assertFails(Code.INVALID_ARGUMENT, () -> store.createTenant("a.b", ""),
        "has '.' at position 2");
    assertFails(Code.INVALID_ARGUMENT, () -> store.createUser(tenant, "", ""),
        "a user name is required");
    assertFails(Code.INVALID_ARGUMENT, () -> store.createUser(tenant, "x".repeat(65), ""),
        "has 65 characters; at most 64 are allowed");
    assertFails(Code.INVALID_ARGUMENT, () -> store.createGroup(tenant, "dev/ops", ""),
        "group name \"dev/ops\" has '/' at position 4");
    assertFails(Code.INVALID_ARGUMENT, () -> store.createUser(tenant, "eve", "line\nbreak"),
        "the display name has a control character at position 5");
    // Policy names may use upper case, as RAM's do.
    assertThat(store.createPolicy(tenant, "ReadOnly.V2", ALLOW_GET_USER, "").getName())
        .isEqualTo("ReadOnly.V2");
  }

  @Test
  void usersAreCreatedReadListedAndDeleted() {
    User alice = store.createUser(tenant, "alice", "Alice");
    assertThat(alice.getArn()).isEqualTo("acs:ram::" + tenant + ":user/alice");
    assertThat(store.getUser(tenant, "alice")).isEqualTo(alice);
    assertThat(store.listUsers(tenant, "")).extracting(User::getName)
        .containsExactly("alice", "root");

    assertFails(Code.ALREADY_EXISTS, () -> store.createUser(tenant, "alice", ""),
        "user alice already exists in tenant " + tenant);
    String missingTenant = NuwaFixture.uniqueName("gone");
    assertFails(Code.NOT_FOUND, () -> store.createUser(missingTenant, "alice", ""),
        "tenant " + missingTenant + " does not exist");
    assertFails(Code.NOT_FOUND, () -> store.getUser(tenant, "bob"),
        "user bob does not exist in tenant " + tenant);
    assertFails(Code.FAILED_PRECONDITION,
        () -> store.deleteUser(tenant, IdentityNames.ROOT_USER), "root user", "cannot be deleted");

    store.deleteUser(tenant, "alice");
    assertFails(Code.NOT_FOUND, () -> store.getUser(tenant, "alice"), "does not exist");
    assertFails(Code.NOT_FOUND, () -> store.deleteUser(tenant, "alice"), "does not exist");
  }

  @Test
  void deletingAUserDeletesItsKeysMembershipsAndAttachments() {
    store.createUser(tenant, "alice", "");
    store.createAccessKey(tenant, "alice");
    store.createGroup(tenant, "devs", "");
    store.addUserToGroup(tenant, "alice", "devs");
    store.createPolicy(tenant, "ReadUsers", ALLOW_GET_USER, "");
    store.attachPolicyToUser(tenant, "ReadUsers", "alice");

    store.deleteUser(tenant, "alice");

    assertThat(keysOf(tenant)).noneMatch(key -> key.contains("/alice"));
    assertThat(store.listUsers(tenant, "devs")).isEmpty();
    // Nothing holds the policy any more, so it can go.
    store.deletePolicy(tenant, "ReadUsers");
    store.deleteGroup(tenant, "devs");
  }

  @Test
  void groupsHoldMembersAndAreDeletedOnlyWhenEmpty() {
    store.createUser(tenant, "alice", "");
    store.createUser(tenant, "bob", "");
    Group devs = store.createGroup(tenant, "devs", "Developers");
    store.createGroup(tenant, "ops", "");
    assertThat(devs.getDescription()).isEqualTo("Developers");
    store.addUserToGroup(tenant, "alice", "devs");
    store.addUserToGroup(tenant, "bob", "devs");
    store.addUserToGroup(tenant, "alice", "ops");

    assertThat(store.listGroups(tenant, "")).extracting(Group::getName)
        .containsExactly("devs", "ops");
    assertThat(store.listGroups(tenant, "bob")).extracting(Group::getName).containsExactly("devs");
    assertThat(store.listUsers(tenant, "devs")).extracting(User::getName)
        .containsExactly("alice", "bob");

    assertFails(Code.ALREADY_EXISTS, () -> store.createGroup(tenant, "devs", ""),
        "group devs already exists");
    assertFails(Code.ALREADY_EXISTS, () -> store.addUserToGroup(tenant, "alice", "devs"),
        "user alice is already a member of group devs");
    assertFails(Code.NOT_FOUND, () -> store.addUserToGroup(tenant, "alice", "qa"),
        "group qa does not exist in tenant " + tenant);
    assertFails(Code.NOT_FOUND, () -> store.addUserToGroup(tenant, "carol", "devs"),
        "user carol does not exist in tenant " + tenant);
    assertFails(Code.FAILED_PRECONDITION, () -> store.deleteGroup(tenant, "devs"),
        "group devs of tenant " + tenant + " still has 2 members (alice, bob)");

    store.removeUserFromGroup(tenant, "alice", "devs");
    assertFails(Code.NOT_FOUND, () -> store.removeUserFromGroup(tenant, "alice", "devs"),
        "user alice is not a member of group devs");
    store.removeUserFromGroup(tenant, "bob", "devs");
    store.deleteGroup(tenant, "devs");
    assertThat(store.listGroups(tenant, "")).extracting(Group::getName).containsExactly("ops");
  }

  @Test
  void aUserBelongsToAtMostTheGroupLimit() {
    store.createUser(tenant, "alice", "");
    for (int i = 0; i < IdentityLimits.GROUPS_PER_USER_MAX; i++) {
      store.createGroup(tenant, "g" + i, "");
      store.addUserToGroup(tenant, "alice", "g" + i);
    }
    store.createGroup(tenant, "one-too-many", "");

    assertFails(Code.FAILED_PRECONDITION,
        () -> store.addUserToGroup(tenant, "alice", "one-too-many"),
        "already belongs to " + IdentityLimits.GROUPS_PER_USER_MAX + " groups");
  }

  @Test
  void accessKeysRotateWithinTheLimitOfTwo() {
    store.createUser(tenant, "alice", "");
    CreatedAccessKey first = store.createAccessKey(tenant, "alice");
    CreatedAccessKey second = store.createAccessKey(tenant, "alice");
    assertThat(first.credentials().accessKeyId()).startsWith("LTAI").hasSize(24);
    assertThat(first.credentials().accessKeySecret()).hasSize(30)
        .isNotEqualTo(second.credentials().accessKeySecret());
    assertThat(first.accessKey().getStatus()).isEqualTo(AccessKeyStatus.ACCESS_KEY_STATUS_ACTIVE);

    assertFails(Code.FAILED_PRECONDITION, () -> store.createAccessKey(tenant, "alice"),
        "user alice of tenant " + tenant + " already has 2 AccessKeys");

    // Rotation: disable the old key, then delete it; a new one fits again.
    AccessKey disabled =
        store.updateAccessKey(tenant, "alice", first.accessKey().getAccessKeyId(), false);
    assertThat(disabled.getStatus()).isEqualTo(AccessKeyStatus.ACCESS_KEY_STATUS_INACTIVE);
    assertThat(store.listAccessKeys(tenant, "alice"))
        .containsExactlyInAnyOrder(disabled, second.accessKey());
    store.deleteAccessKey(tenant, "alice", first.accessKey().getAccessKeyId());
    store.createAccessKey(tenant, "alice");
    assertThat(store.listAccessKeys(tenant, "alice")).hasSize(2);

    assertFails(Code.NOT_FOUND,
        () -> store.updateAccessKey(tenant, "alice", first.accessKey().getAccessKeyId(), true),
        "user alice of tenant " + tenant + " has no AccessKey " + first.accessKey().getAccessKeyId());
    assertFails(Code.NOT_FOUND,
        () -> store.deleteAccessKey(tenant, "bob", second.accessKey().getAccessKeyId()),
        "user bob does not exist");
    assertFails(Code.INVALID_ARGUMENT, () -> store.deleteAccessKey(tenant, "alice", "no such:id"),
        "is not an AccessKey id");
  }

  @Test
  void listedAccessKeysCarryNoSecret() {
    store.createUser(tenant, "alice", "");
    CreatedAccessKey created = store.createAccessKey(tenant, "alice");

    assertThat(store.listAccessKeys(tenant, "alice").toString())
        .contains(created.credentials().accessKeyId())
        .doesNotContain(created.credentials().accessKeySecret());
    assertThat(created.toString()).doesNotContain(created.credentials().accessKeySecret());
  }

  @Test
  void policiesAreValidatedStoredCanonicallyAndAttached() {
    store.createUser(tenant, "alice", "");
    store.createGroup(tenant, "devs", "");
    Policy policy = store.createPolicy(tenant, "ReadUsers", ALLOW_GET_USER, "read users");
    assertThat(policy.getDocument()).isEqualTo(
        "{\"Version\":\"1\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ram:GetUser\","
            + "\"Resource\":\"*\"}]}");
    assertThat(store.getPolicy(tenant, "ReadUsers")).isEqualTo(policy);

    assertFails(Code.INVALID_ARGUMENT, () -> store.createPolicy(tenant, "Bad",
            "{\"Version\": \"1\", \"Statement\": [{\"Effect\": \"allow\", \"Action\": \"*\","
                + " \"Resource\": \"*\"}]}", ""),
        "policy Bad has an invalid document: Statement[0].Effect");
    assertFails(Code.INVALID_ARGUMENT, () -> store.createPolicy(tenant, "Bad", "not json", ""),
        "policy Bad has an invalid document");
    assertFails(Code.ALREADY_EXISTS,
        () -> store.createPolicy(tenant, "ReadUsers", ALLOW_GET_USER, ""),
        "policy ReadUsers already exists");

    store.attachPolicyToUser(tenant, "ReadUsers", "alice");
    store.attachPolicyToGroup(tenant, "ReadUsers", "devs");
    assertFails(Code.ALREADY_EXISTS, () -> store.attachPolicyToUser(tenant, "ReadUsers", "alice"),
        "policy ReadUsers is already attached to user alice");
    assertFails(Code.NOT_FOUND, () -> store.attachPolicyToUser(tenant, "Missing", "alice"),
        "policy Missing does not exist in tenant " + tenant);
    assertThat(store.listPolicies(tenant, "alice", "")).extracting(Policy::getName)
        .containsExactly("ReadUsers");
    assertThat(store.listPolicies(tenant, "", "devs")).extracting(Policy::getName)
        .containsExactly("ReadUsers");
    assertFails(Code.INVALID_ARGUMENT, () -> store.listPolicies(tenant, "alice", "devs"),
        "not of both");

    assertFails(Code.FAILED_PRECONDITION, () -> store.deletePolicy(tenant, "ReadUsers"),
        "policy ReadUsers of tenant " + tenant
            + " is still attached to group devs, user alice; detach it first");
    store.detachPolicyFromUser(tenant, "ReadUsers", "alice");
    store.detachPolicyFromGroup(tenant, "ReadUsers", "devs");
    assertFails(Code.NOT_FOUND, () -> store.detachPolicyFromUser(tenant, "ReadUsers", "alice"),
        "policy ReadUsers is not attached to user alice");
    store.deletePolicy(tenant, "ReadUsers");
    assertThat(store.listPolicies(tenant, "", "")).isEmpty();
  }

  @Test
  void theRootAccessKeyIsCreatedWithItsTenantOnlyOnce() {
    String fresh = NuwaFixture.uniqueName("fresh");

    CreatedAccessKey created = store.createTenantWithRootAccessKey(fresh, "").orElseThrow();

    assertThat(created.accessKey().getUserName()).isEqualTo(IdentityNames.ROOT_USER);
    assertThat(store.listAccessKeys(fresh, IdentityNames.ROOT_USER))
        .containsExactly(created.accessKey());
    assertThat(store.createTenantWithRootAccessKey(fresh, "")).isEmpty();
    assertThat(store.listAccessKeys(fresh, IdentityNames.ROOT_USER)).hasSize(1);
  }
}
