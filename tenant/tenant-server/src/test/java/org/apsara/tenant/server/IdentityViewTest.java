package org.apsara.tenant.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.apsara.common.net.HostPort;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.security.crypto.MasterKey;
import org.apsara.security.crypto.SecretBox;
import org.apsara.security.grpc.AuthorizationDecision;
import org.apsara.security.policy.DecisionCache;
import org.apsara.security.sign.Principal;
import org.apsara.security.sign.ResolvedAccessKey;
import org.apsara.tenant.api.CreatedAccessKey;
import org.apsara.tenant.api.TenantAuthorizer;
import org.apsara.tenant.server.store.IdentityStore;
import org.apsara.testkit.TcpProxy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The view follows the store: keys, policies and memberships change decisions without restart. */
class IdentityViewTest {
  /** Longest a test waits for the view to catch up; far above what it takes. */
  static final Duration CATCH_UP_TIMEOUT = Duration.ofSeconds(20);
  static final String ALLOW_CREATE_USER = "{\"Version\": \"1\", \"Statement\": [{\"Effect\":"
      + " \"Allow\", \"Action\": \"ram:CreateUser\", \"Resource\": \"acs:ram::*:user/*\"}]}";

  private static NuwaClient client;
  private static SecretBox secretBox;
  private static IdentityStore store;

  private DecisionCache decisions;
  private IdentityView view;
  private TenantAuthorizer authorizer;
  private String tenant;

  @BeforeAll
  static void connect() throws Exception {
    client = NuwaFixture.shared().newClient();
    secretBox = new SecretBox(MasterKey.generate(new SecureRandom()));
    store = new IdentityStore(client, secretBox, Clock.systemUTC());
  }

  @AfterAll
  static void disconnect() {
    client.close();
  }

  @BeforeEach
  void setUp() {
    tenant = NuwaFixture.uniqueName("acme");
    store.createTenant(tenant, "");
    store.createUser(tenant, "alice", "");
    decisions = new DecisionCache(DecisionCache.DEFAULT_MAX_ENTRIES);
    view = IdentityView.start(client, secretBox, decisions);
    authorizer = new TenantAuthorizer(view, decisions, "local");
  }

  @AfterEach
  void tearDown() {
    view.close();
  }

  private void awaitCaughtUp() throws InterruptedException {
    assertThat(view.awaitRevision(store.currentRevision(), CATCH_UP_TIMEOUT)).isTrue();
  }

  private AuthorizationDecision aliceCreatesUser(String user) {
    return authorizer.authorize(new Principal(tenant, "alice", "LTAIaliceTestKey0000000"),
        "ram:CreateUser", "acs:ram::" + tenant + ":user/" + user, Map.of());
  }

  @Test
  void aKeyResolvesFromMemoryAndFollowsItsDisablingAndDeletion() throws Exception {
    CreatedAccessKey key = store.createAccessKey(tenant, "alice");
    String id = key.accessKey().getAccessKeyId();
    awaitCaughtUp();

    ResolvedAccessKey resolved = view.resolve(id).orElseThrow();
    assertThat(resolved.enabled()).isTrue();
    assertThat(resolved.accessKeySecret()).isEqualTo(key.credentials().accessKeySecret());
    assertThat(resolved.principal()).isEqualTo(new Principal(tenant, "alice", id));

    store.updateAccessKey(tenant, "alice", id, false);
    awaitCaughtUp();
    assertThat(view.resolve(id).orElseThrow().enabled()).isFalse();

    store.deleteAccessKey(tenant, "alice", id);
    awaitCaughtUp();
    assertThat(view.resolve(id)).isEmpty();
  }

  @Test
  void attachingAPolicyChangesTheDecisionWithoutARestart() throws Exception {
    assertThat(aliceCreatesUser("bob").allowed()).isFalse(); // cached now
    store.createPolicy(tenant, "CreateUsers", ALLOW_CREATE_USER, "");
    store.attachPolicyToUser(tenant, "CreateUsers", "alice");
    awaitCaughtUp();

    AuthorizationDecision decision = aliceCreatesUser("bob");
    assertThat(decision.allowed()).isTrue();
    assertThat(decision.reason()).isEqualTo("allowed by policy \"CreateUsers\" Statement[0]");

    store.detachPolicyFromUser(tenant, "CreateUsers", "alice");
    awaitCaughtUp();
    assertThat(aliceCreatesUser("bob").allowed()).isFalse();
  }

  @Test
  void aGroupsPoliciesApplyToItsMembersWhileTheyAreMembers() throws Exception {
    store.createGroup(tenant, "admins", "");
    store.createPolicy(tenant, "CreateUsers", ALLOW_CREATE_USER, "");
    store.attachPolicyToGroup(tenant, "CreateUsers", "admins");
    awaitCaughtUp();
    assertThat(aliceCreatesUser("bob").allowed()).isFalse();

    store.addUserToGroup(tenant, "alice", "admins");
    awaitCaughtUp();
    assertThat(aliceCreatesUser("bob").allowed()).isTrue();

    store.removeUserFromGroup(tenant, "alice", "admins");
    awaitCaughtUp();
    assertThat(aliceCreatesUser("bob").allowed()).isFalse();
  }

  @Test
  void aUsersOwnPoliciesComeFirstThenItsGroupsInNameOrder() throws Exception {
    for (String policy : new String[] {"P1", "P2", "P3", "P4"}) {
      store.createPolicy(tenant, policy, ALLOW_CREATE_USER, "");
    }
    store.createGroup(tenant, "b-group", "");
    store.createGroup(tenant, "a-group", "");
    store.addUserToGroup(tenant, "alice", "b-group");
    store.addUserToGroup(tenant, "alice", "a-group");
    store.attachPolicyToGroup(tenant, "P1", "b-group");
    store.attachPolicyToGroup(tenant, "P2", "a-group");
    store.attachPolicyToUser(tenant, "P4", "alice");
    store.attachPolicyToUser(tenant, "P3", "alice");
    awaitCaughtUp();

    assertThat(view.policyNamesFor("acs:ram::" + tenant + ":user/alice"))
        .containsExactly("P3", "P4", "P2", "P1");
    assertThat(view.policiesFor("acs:ram::" + tenant + ":user/nobody")).isEmpty();
    assertThat(view.policiesFor("not an arn")).isEmpty();
  }

  @Test
  void aKeySealedUnderAnotherMasterKeyDoesNotResolve() throws Exception {
    IdentityStore otherCluster = new IdentityStore(
        client, new SecretBox(MasterKey.generate(new SecureRandom())), Clock.systemUTC());
    String id = otherCluster.createAccessKey(tenant, "alice").accessKey().getAccessKeyId();
    String good = store.createAccessKey(tenant, "alice").accessKey().getAccessKeyId();
    awaitCaughtUp();

    assertThat(view.resolve(id)).isEmpty();
    assertThat(view.resolve(good)).isPresent();
  }

  @Test
  void waitingForARevisionWorksWhenOnlyOtherKeysChanged() throws Exception {
    awaitCaughtUp();
    long outside = client.kv().put("/test/elsewhere/" + tenant, "x").header().revision();

    assertThat(view.awaitRevision(outside, CATCH_UP_TIMEOUT)).isTrue();
    assertThat(view.revision()).isGreaterThanOrEqualTo(outside);
  }

  @Test
  void theViewReloadsWhenItsWatchLostHistoryToCompaction() throws Exception {
    String id = store.createAccessKey(tenant, "alice").accessKey().getAccessKeyId();
    HostPort nuwa = HostPort.parse(NuwaFixture.shared().endpoint());
    try (TcpProxy proxy = TcpProxy.start(nuwa);
        NuwaClient proxied = NuwaClient.builder().endpoints(proxy.address().format())
            .requestTimeout(NuwaFixture.CLIENT_REQUEST_TIMEOUT).build();
        IdentityView behindProxy = IdentityView.start(
            proxied, secretBox, new DecisionCache(DecisionCache.DEFAULT_MAX_ENTRIES))) {
      assertThat(behindProxy.awaitRevision(store.currentRevision(), CATCH_UP_TIMEOUT)).isTrue();
      assertThat(behindProxy.resolve(id).orElseThrow().enabled()).isTrue();

      // Cut off, the view misses the key being disabled, and the history of it is compacted.
      proxy.blackhole();
      store.updateAccessKey(tenant, "alice", id, false);
      long latest = client.kv().put("/test/after-disable/" + tenant, "").header().revision();
      client.kv().compact(latest, true);
      proxy.pass();

      await().atMost(CATCH_UP_TIMEOUT)
          .until(() -> !behindProxy.resolve(id).orElseThrow().enabled());
      assertThat(behindProxy.isFollowing()).isTrue();
    }
  }
}
