package org.apsara.tenant.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.api.Permission;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apsara.nuwa.client.NuwaAuthenticationException;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.NuwaException;
import org.apsara.security.audit.InMemoryAuditSink;
import org.apsara.tenant.api.CreatedAccessKey;
import org.apsara.tenant.api.IdentityClient;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AccessKeys as Nuwa users: a real {@link TenantServer} logged in to a real Nuwa with
 * authentication on, and Nuwa clients (and etcdctl) that log in with AccessKeys.
 */
class NuwaAuthSyncTest {
  private static final String ROOT_PASSWORD = "nuwa-root-password";
  /** Generous for a shared machine; a pass takes a few Nuwa calls. */
  private static final Duration SYNC_TIMEOUT = Duration.ofSeconds(30);
  /** How long one etcdctl command may take (its own request timeout is 10 s). */
  private static final Duration ETCDCTL_TIMEOUT = Duration.ofSeconds(30);
  /** A Nuwa user named like an AccessKey that the store has never had. */
  private static final String STALE_USER = "LTAIstale0000000000000000";
  private static final String STALE_ROLE = NuwaAuthSync.tenantRole("gone");
  private static final String FOREIGN_USER = "app-user";
  private static final String FOREIGN_ROLE = "app";

  @TempDir static Path dir;

  private static NuwaFixture nuwa;
  private static NuwaAuthAdmin root;
  private static TenantServer server;
  private static IdentityClient systemRoot;

  @BeforeAll
  static void start() throws Exception {
    nuwa = NuwaFixture.startWithAuth(dir.resolve("nuwa"), ROOT_PASSWORD);
    root = new NuwaAuthAdmin(nuwa.endpoints(), "root", ROOT_PASSWORD);
    // What a former run may have left, and what an operator made by hand: the start pass must
    // remove the first and keep the second.
    root.userAdd(STALE_USER, "anything");
    root.roleAdd(STALE_ROLE);
    root.userGrantRole(STALE_USER, STALE_ROLE);
    root.roleAdd(FOREIGN_ROLE);
    root.userAdd(FOREIGN_USER, "app-password");
    root.userGrantRole(FOREIGN_USER, FOREIGN_ROLE);

    Path passwordFile = dir.resolve("root.password");
    Files.writeString(passwordFile, ROOT_PASSWORD + "\n");
    server = TenantServer.start(config(passwordFile).build(), new InMemoryAuditSink(100));
    systemRoot = IdentityClient.connect(
        server.address(), server.bootstrapCredentials().orElseThrow().credentials());
  }

  @AfterAll
  static void stop() {
    if (systemRoot != null) {
      systemRoot.close();
    }
    if (server != null) {
      server.close();
    }
    if (root != null) {
      root.close();
    }
    if (nuwa != null) {
      nuwa.close();
    }
  }

  private static TenantConfig.Builder config(Path passwordFile) {
    return TenantConfig.builder()
        .nuwaEndpoints(nuwa.endpoints())
        .port(0)
        .masterKeyFile(dir.resolve("keys/master.key"))
        .nuwaLogin("root", passwordFile);
  }

  /** Waits until Nuwa's users and roles reflect everything written to the store so far. */
  private static void awaitSynced(TenantServer on) throws InterruptedException {
    assertThat(on.nuwaAuthSync().orElseThrow()
        .awaitSynced(on.store().currentRevision(), SYNC_TIMEOUT)).isTrue();
  }

  private static NuwaClient login(CreatedAccessKey key) {
    return nuwa.newClient(key.accessKey().getAccessKeyId(), key.credentials().accessKeySecret());
  }

  private static void assertDenied(ThrowingCallable call) {
    assertThatThrownBy(call).isInstanceOfSatisfying(NuwaException.class, e -> {
      assertThat(e.code()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(e).hasMessage("etcdserver: permission denied");
    });
  }

  private static void assertLoginFails(CreatedAccessKey key) {
    try (NuwaClient client = login(key)) {
      assertThatThrownBy(() -> client.kv().get("/tenants/"))
          .isInstanceOf(NuwaAuthenticationException.class)
          .hasMessageContaining("authentication failed");
    }
  }

  /** A tenant whose root user, which may do anything in it, has one AccessKey. */
  private static CreatedAccessKey tenantWithKey(String tenant) {
    systemRoot.createTenant(tenant, "");
    return systemRoot.createAccessKey(tenant, "root");
  }

  /** A policy document of one statement. */
  private static String statement(String effect, String action, String resource) {
    return "{\"Version\": \"1\", \"Statement\": [{\"Effect\": \"" + effect
        + "\", \"Action\": \"" + action + "\", \"Resource\": \"" + resource + "\"}]}";
  }

  @Test
  void theStartPassRemovesStaleUsersAndRolesAndLeavesEveryoneElseAlone() throws Exception {
    awaitSynced(server);

    assertThat(root.userList()).doesNotContain(STALE_USER).contains("root", FOREIGN_USER);
    assertThat(root.roleList()).doesNotContain(STALE_ROLE).contains("root", FOREIGN_ROLE);
    assertThat(root.userRoles(FOREIGN_USER)).contains(List.of(FOREIGN_ROLE));
    String systemKey = server.bootstrapCredentials().orElseThrow().accessKey().getAccessKeyId();
    assertThat(root.userRoles(systemKey)).contains(List.of(NuwaAuthSync.NUWA_ROOT_ROLE));
  }

  @Test
  void aTenantsKeyReachesItsOwnPrefixAndNothingElse() throws Exception {
    String a = NuwaFixture.uniqueName("a");
    String b = NuwaFixture.uniqueName("b");
    CreatedAccessKey keyOfA = tenantWithKey(a);
    CreatedAccessKey keyOfB = tenantWithKey(b);
    awaitSynced(server);
    try (NuwaClient admin = nuwa.newClient("root", ROOT_PASSWORD)) {
      admin.kv().put("/tenants/" + b + "/secret", "of b");
      admin.kv().put("/elsewhere", "of nobody");
    }

    assertThat(root.userRoles(keyOfA.accessKey().getAccessKeyId()))
        .contains(List.of(NuwaAuthSync.tenantRole(a)));
    assertThat(root.rolePermissions(NuwaAuthSync.tenantRole(a)).orElseThrow())
        .singleElement().satisfies(p -> {
          assertThat(p.getPermType()).isEqualTo(Permission.Type.READWRITE);
          assertThat(p.getKey().toStringUtf8()).isEqualTo("/tenants/" + a + "/");
        });
    try (NuwaClient asA = login(keyOfA)) {
      String own = NuwaAuthSync.tenantKeyPrefix(a);
      asA.kv().put(own + "x", "1");
      asA.kv().put(own + "y", "2");
      assertThat(asA.kv().get(own + "x").kvs()).singleElement()
          .satisfies(kv -> assertThat(kv.value().toStringUtf8()).isEqualTo("1"));
      assertThat(asA.kv().getPrefix(own).kvs()).hasSize(2);
      asA.kv().delete(own + "y");
      assertThat(asA.kv().getPrefix(own).kvs()).hasSize(1);

      String other = NuwaAuthSync.tenantKeyPrefix(b);
      assertDenied(() -> asA.kv().get(other + "secret"));
      assertDenied(() -> asA.kv().getPrefix(other));
      assertDenied(() -> asA.kv().put(other + "secret", "overwritten"));
      assertDenied(() -> asA.kv().delete(other + "secret"));
      assertDenied(() -> asA.kv().getPrefix("/tenants/"));
      assertDenied(() -> asA.kv().get("/elsewhere"));
      assertDenied(() -> asA.kv().put("/elsewhere", "x"));
      assertDenied(() -> asA.kv().getPrefix("/apsara/"));
    }
    try (NuwaClient asB = login(keyOfB)) {
      assertThat(asB.kv().get("/tenants/" + b + "/secret").kvs()).hasSize(1);
    }
  }

  @Test
  void theSystemTenantsKeysAreNuwaRoot() {
    try (NuwaClient operator = login(server.bootstrapCredentials().orElseThrow())) {
      operator.kv().put("/anywhere", "v");
      assertThat(operator.kv().get("/anywhere").kvs()).hasSize(1);
    }
  }

  @Test
  void aUserReachesTheKeysItsPoliciesGrantAndFollowsTheirChanges() throws Exception {
    String tenant = NuwaFixture.uniqueName("r");
    String own = NuwaAuthSync.tenantKeyPrefix(tenant);
    systemRoot.createTenant(tenant, "");
    systemRoot.createUser(tenant, "alice", "");
    CreatedAccessKey alice = systemRoot.createAccessKey(tenant, "alice");
    awaitSynced(server);
    try (NuwaClient asAlice = login(alice)) {
      // No policy: nothing, not even in her own tenant.
      assertDenied(() -> asAlice.kv().put(own + "app/x", "1"));
      assertDenied(() -> asAlice.kv().get(own + "app/x"));

      systemRoot.createPolicy(tenant, "app-writer", statement("Allow", "nuwa:*",
          "acs:nuwa:*:" + tenant + ":key/app/*"), "");
      systemRoot.createPolicy(tenant, "config-reader", statement("Allow", "nuwa:Read",
          "acs:nuwa:*:" + tenant + ":key/config/*"), "");
      systemRoot.attachPolicyToUser(tenant, "app-writer", "alice");
      systemRoot.createGroup(tenant, "readers", "");
      systemRoot.addUserToGroup(tenant, "alice", "readers");
      systemRoot.attachPolicyToGroup(tenant, "config-reader", "readers");
      awaitSynced(server);
      try (NuwaClient admin = nuwa.newClient("root", ROOT_PASSWORD)) {
        admin.kv().put(own + "config/level", "high");
      }

      asAlice.kv().put(own + "app/x", "1");
      assertThat(asAlice.kv().getPrefix(own + "app/").kvs()).hasSize(1);
      asAlice.kv().delete(own + "app/x");
      assertThat(asAlice.kv().get(own + "config/level").kvs()).hasSize(1);
      assertDenied(() -> asAlice.kv().put(own + "config/level", "low"));
      assertDenied(() -> asAlice.kv().put(own + "other", "1"));
      assertDenied(() -> asAlice.kv().getPrefix(own));

      // An explicit deny cuts a hole; detaching takes the grant away.
      systemRoot.createPolicy(tenant, "no-locked", statement("Deny", "nuwa:Write",
          "acs:nuwa:*:" + tenant + ":key/app/locked/*"), "");
      systemRoot.attachPolicyToUser(tenant, "no-locked", "alice");
      awaitSynced(server);
      assertDenied(() -> asAlice.kv().put(own + "app/locked/x", "1"));
      asAlice.kv().put(own + "app/y", "1");
      assertThat(asAlice.kv().get(own + "app/locked/x").kvs()).isEmpty();

      systemRoot.detachPolicyFromUser(tenant, "app-writer", "alice");
      awaitSynced(server);
      assertDenied(() -> asAlice.kv().put(own + "app/y", "2"));
      assertThat(asAlice.kv().get(own + "config/level").kvs()).hasSize(1);
    }
  }

  @Test
  void onlyAnEnabledKeyOfAnExistingUserAndTenantCanLogIn() throws Exception {
    String tenant = NuwaFixture.uniqueName("t");
    CreatedAccessKey key = tenantWithKey(tenant);
    String id = key.accessKey().getAccessKeyId();
    awaitSynced(server);
    try (NuwaClient client = login(key)) {
      client.kv().put(NuwaAuthSync.tenantKeyPrefix(tenant) + "k", "v");
    }

    systemRoot.setAccessKeyEnabled(tenant, "root", id, false);
    awaitSynced(server);
    assertLoginFails(key);
    assertThat(root.userList()).doesNotContain(id);

    systemRoot.setAccessKeyEnabled(tenant, "root", id, true);
    awaitSynced(server);
    try (NuwaClient client = login(key)) {
      assertThat(client.kv().get(NuwaAuthSync.tenantKeyPrefix(tenant) + "k").kvs()).hasSize(1);
    }

    systemRoot.deleteAccessKey(tenant, "root", id);
    awaitSynced(server);
    assertLoginFails(key);

    systemRoot.createUser(tenant, "app", "");
    CreatedAccessKey ofUser = systemRoot.createAccessKey(tenant, "app");
    awaitSynced(server);
    assertThat(root.userList()).contains(ofUser.accessKey().getAccessKeyId());
    assertThat(root.roleList()).contains(NuwaAuthSync.userRole(tenant, "app"));
    systemRoot.deleteUser(tenant, "app");
    awaitSynced(server);
    assertLoginFails(ofUser);
    assertThat(root.roleList()).doesNotContain(NuwaAuthSync.userRole(tenant, "app"));

    CreatedAccessKey second = systemRoot.createAccessKey(tenant, "root");
    awaitSynced(server);
    assertThat(root.userList()).contains(second.accessKey().getAccessKeyId());
    systemRoot.deleteTenant(tenant);
    awaitSynced(server);
    assertLoginFails(second);
    assertThat(root.roleList()).doesNotContain(NuwaAuthSync.tenantRole(tenant));
  }

  @Test
  void aKeyWhoseNuwaPasswordIsUnknownGetsItsSecretFromTheNextStartPass() throws Exception {
    String tenant = NuwaFixture.uniqueName("p");
    CreatedAccessKey key = tenantWithKey(tenant);
    awaitSynced(server);
    // As if the user had been made by hand, or by a run whose secret differed.
    root.userChangePassword(key.accessKey().getAccessKeyId(), "not-the-secret");
    assertLoginFails(key);

    try (TenantServer second = TenantServer.start(
        config(dir.resolve("root.password")).build(), new InMemoryAuditSink(100))) {
      awaitSynced(second);
      try (NuwaClient client = login(key)) {
        client.kv().put(NuwaAuthSync.tenantKeyPrefix(tenant) + "k", "v");
      }
    }
  }

  @Test
  void aFailingPassIsRetriedWithBackoffUntilNuwaAcceptsIt() throws Exception {
    // A login that may not administer Nuwa: every pass fails until it is given the root role.
    root.userAdd("not-yet-admin", "its-password");
    try (NuwaAuthSync sync = NuwaAuthSync.start(server.view(),
        new NuwaAuthAdmin(nuwa.endpoints(), "not-yet-admin", "its-password"),
        TenantConfig.DEFAULT_REGION)) {
      await().atMost(SYNC_TIMEOUT).until(() -> sync.failuresInARow() >= 2);
      assertThat(sync.syncedRevision()).isZero();

      root.userGrantRole("not-yet-admin", NuwaAuthSync.NUWA_ROOT_ROLE);
      assertThat(sync.awaitSynced(server.store().currentRevision(), SYNC_TIMEOUT)).isTrue();
      assertThat(sync.failuresInARow()).isZero();
    } finally {
      root.userDelete("not-yet-admin");
    }
  }

  @Test
  void etcdctlLogsInWithAnAccessKeyAndIsConfinedToItsTenant() throws Exception {
    assumeThat(onPath("etcdctl")).as("etcdctl is installed").isTrue();
    String a = NuwaFixture.uniqueName("e");
    String b = NuwaFixture.uniqueName("f");
    CreatedAccessKey key = tenantWithKey(a);
    tenantWithKey(b);
    awaitSynced(server);
    String user = key.accessKey().getAccessKeyId() + ":" + key.credentials().accessKeySecret();

    Etcdctl put = etcdctl(user, "put", "/tenants/" + a + "/from-etcdctl", "v");
    assertThat(put.exitCode()).as(put.output()).isZero();
    Etcdctl get = etcdctl(user, "get", "/tenants/" + a + "/", "--prefix");
    assertThat(get.exitCode()).as(get.output()).isZero();
    assertThat(get.output()).contains("/tenants/" + a + "/from-etcdctl");

    for (List<String> denied : List.of(
        List.of("get", "/tenants/" + b + "/", "--prefix"),
        List.of("put", "/tenants/" + b + "/x", "v"),
        List.of("del", "/tenants/" + b + "/x"),
        List.of("get", "/elsewhere"))) {
      Etcdctl refused = etcdctl(user, denied.toArray(String[]::new));
      assertThat(refused.exitCode()).as(refused.output()).isNotZero();
      assertThat(refused.output()).contains("permission denied");
    }
    try (NuwaClient admin = nuwa.newClient("root", ROOT_PASSWORD)) {
      assertThat(admin.kv().getPrefix("/tenants/" + b + "/").kvs()).isEmpty();
    }
  }

  private record Etcdctl(int exitCode, String output) {}

  private static Etcdctl etcdctl(String user, String... command) throws Exception {
    List<String> args = new ArrayList<>(List.of(
        "etcdctl", "--endpoints=" + nuwa.endpoint(), "--user=" + user, "--command-timeout=10s"));
    args.addAll(List.of(command));
    // Output to a file, so that a hung etcdctl fails the test at the timeout instead of blocking
    // a read of its output.
    Path output = Files.createTempFile(dir, "etcdctl", ".out");
    ProcessBuilder builder = new ProcessBuilder(args).redirectErrorStream(true)
        .redirectOutput(output.toFile());
    builder.environment().put("ETCDCTL_API", "3");
    Process process = builder.start();
    if (!process.waitFor(ETCDCTL_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
      throw new AssertionError("etcdctl " + String.join(" ", command) + " did not finish in "
          + ETCDCTL_TIMEOUT);
    }
    return new Etcdctl(process.exitValue(), Files.readString(output, StandardCharsets.UTF_8));
  }

  private static boolean onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String entry : path.split(java.io.File.pathSeparator)) {
      if (Files.isExecutable(Path.of(entry, program))) {
        return true;
      }
    }
    return false;
  }
}
