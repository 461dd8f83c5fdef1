package org.apsara.tenant.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.SecureRandom;
import java.time.Clock;
import java.util.Map;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.security.crypto.MasterKey;
import org.apsara.security.crypto.SecretBox;
import org.apsara.security.grpc.AuthorizationDecision;
import org.apsara.security.policy.DecisionCache;
import org.apsara.security.sign.Principal;
import org.apsara.tenant.api.IdentityNames;
import org.apsara.tenant.api.TenantAuthorizer;
import org.apsara.tenant.server.store.IdentityStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Who may do what: the root rules, RAM policies, and the wall between tenants. */
class TenantAuthorizerTest {
  private static final String KEY_ID = "LTAItestKey0000000000000";
  private static final String REGION = "cn-test";

  private static NuwaClient client;
  private static SecretBox secretBox;
  private static IdentityStore store;

  private DecisionCache decisions;
  private IdentityView view;
  private TenantAuthorizer authorizer;
  private String acme;
  private String other;

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
    acme = NuwaFixture.uniqueName("acme");
    other = NuwaFixture.uniqueName("other");
    store.createTenant(acme, "");
    store.createTenant(other, "");
    store.createUser(acme, "alice", "");
    decisions = new DecisionCache(DecisionCache.DEFAULT_MAX_ENTRIES);
    view = IdentityView.start(client, secretBox, decisions);
    authorizer = new TenantAuthorizer(view, decisions, REGION);
  }

  @AfterEach
  void tearDown() {
    view.close();
  }

  private AuthorizationDecision decide(String tenant, String user, String action, String resource)
      throws InterruptedException {
    assertThat(view.awaitRevision(store.currentRevision(), IdentityViewTest.CATCH_UP_TIMEOUT))
        .isTrue();
    return authorizer.authorize(new Principal(tenant, user, KEY_ID), action, resource, Map.of());
  }

  private void grantAlice(String policy, String document) {
    store.createPolicy(acme, policy, document, "");
    store.attachPolicyToUser(acme, policy, "alice");
  }

  private static String policy(String effect, String action, String resource) {
    return "{\"Version\": \"1\", \"Statement\": [{\"Effect\": \"" + effect + "\", \"Action\": \""
        + action + "\", \"Resource\": \"" + resource + "\"}]}";
  }

  @Test
  void theSystemRootMayDoAnythingAnywhere() throws Exception {
    AuthorizationDecision decision = decide(IdentityNames.SYSTEM_TENANT, IdentityNames.ROOT_USER,
        "pangu:DeleteFile", "acs:pangu:elsewhere:" + acme + ":file/x");

    assertThat(decision.allowed()).isTrue();
    assertThat(decision.reason()).isEqualTo("the root user of the system tenant may do anything");
  }

  @Test
  void aTenantsRootMayDoAnythingInItsOwnTenantOnly() throws Exception {
    AuthorizationDecision inside = decide(acme, IdentityNames.ROOT_USER, "ram:DeleteUser",
        "acs:ram::" + acme + ":user/alice");
    AuthorizationDecision outside = decide(acme, IdentityNames.ROOT_USER, "ram:DeleteUser",
        "acs:ram::" + other + ":user/alice");

    assertThat(inside.allowed()).isTrue();
    assertThat(inside.reason()).isEqualTo("the root user of tenant " + acme + " may do anything in it");
    assertThat(outside.allowed()).isFalse();
    assertThat(outside.reason()).isEqualTo("the resource belongs to tenant " + other
        + ", and no policy statement naming that tenant allows it");
  }

  @Test
  void aUserMayDoWhatAPolicyAllowsAndAnExplicitDenyWins() throws Exception {
    String bob = "acs:ram::" + acme + ":user/bob";
    AuthorizationDecision before = decide(acme, "alice", "ram:CreateUser", bob);
    assertThat(before.allowed()).isFalse();
    assertThat(before.reason()).isEqualTo("no policy allows it");

    grantAlice("A-CreateUsers", policy("Allow", "ram:CreateUser", "acs:ram::" + acme + ":user/*"));
    assertThat(decide(acme, "alice", "ram:CreateUser", bob).reason())
        .isEqualTo("allowed by policy \"A-CreateUsers\" Statement[0]");

    grantAlice("B-NoBob", policy("Deny", "ram:*", bob));
    AuthorizationDecision denied = decide(acme, "alice", "ram:CreateUser", bob);
    assertThat(denied.allowed()).isFalse();
    assertThat(denied.reason()).isEqualTo("explicitly denied by policy \"B-NoBob\" Statement[0]");
    assertThat(decide(acme, "alice", "ram:CreateUser", "acs:ram::" + acme + ":user/carol")
        .allowed()).isTrue();
  }

  @Test
  void wildcardsNeverReachAnotherTenantButANamedTenantDoes() throws Exception {
    grantAlice("Everything", policy("Allow", "*", "*"));
    String otherUser = "acs:ram::" + other + ":user/x";

    assertThat(decide(acme, "alice", "ram:GetUser", "acs:ram::" + acme + ":user/x").allowed())
        .isTrue();
    assertThat(decide(acme, "alice", "ram:GetUser", otherUser).allowed()).isFalse();

    grantAlice("ReadOther", policy("Allow", "ram:GetUser", "acs:ram::" + other + ":user/*"));
    AuthorizationDecision named = decide(acme, "alice", "ram:GetUser", otherUser);
    assertThat(named.allowed()).isTrue();
    assertThat(named.reason()).isEqualTo("allowed by policy \"ReadOther\" Statement[0]");
    assertThat(decide(acme, "alice", "ram:DeleteUser", otherUser).allowed()).isFalse();
  }

  @Test
  void resourcesOfOtherRegionsAndMalformedOnesAreDenied() throws Exception {
    grantAlice("Everything", policy("Allow", "*", "*"));

    assertThat(decide(acme, "alice", "nuwa:Put", "acs:nuwa:" + REGION + ":" + acme + ":key/a")
        .allowed()).isTrue();
    assertThat(decide(acme, "alice", "nuwa:Put", "acs:nuwa:*:" + acme + ":key/a").allowed())
        .isTrue();
    AuthorizationDecision elsewhere =
        decide(acme, "alice", "nuwa:Put", "acs:nuwa:cn-far:" + acme + ":key/a");
    assertThat(elsewhere.allowed()).isFalse();
    assertThat(elsewhere.reason())
        .isEqualTo("the resource is in region cn-far, and this cluster serves region " + REGION);
    assertThat(decide(acme, "alice", "nuwa:Put", "key/a").allowed()).isFalse();
  }
}
