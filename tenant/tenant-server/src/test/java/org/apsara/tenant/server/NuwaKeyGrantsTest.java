package org.apsara.tenant.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Permission;
import io.etcd.jetcd.api.Permission.Type;
import java.util.ArrayList;
import java.util.List;
import org.apsara.security.policy.InvalidPolicyException;
import org.apsara.security.policy.Policy;
import org.apsara.security.policy.PolicyDocument;
import org.junit.jupiter.api.Test;

/** RAM policies mapped onto Nuwa key ranges, for the user of tenant "acme" in region "local". */
class NuwaKeyGrantsTest {
  private static final String TENANT = "acme";
  private static final String REGION = "local";
  private static final String PREFIX = "/tenants/acme/";
  /** The end of the tenant's prefix: the key after every key that starts with it. */
  private static final String PREFIX_END = "/tenants/acme0";

  private static NuwaKeyGrants.Grants grants(String... statements) {
    return NuwaKeyGrants.of(TENANT, REGION, List.of(policy("p", statements)));
  }

  private static Policy policy(String name, String... statements) {
    try {
      return new Policy(name, PolicyDocument.parse(
          "{\"Version\": \"1\", \"Statement\": [" + String.join(",", statements) + "]}"));
    } catch (InvalidPolicyException e) {
      throw new AssertionError(e);
    }
  }

  private static String allow(String action, String resource) {
    return "{\"Effect\": \"Allow\", \"Action\": \"" + action + "\", \"Resource\": \"" + resource
        + "\"}";
  }

  private static String deny(String action, String resource) {
    return "{\"Effect\": \"Deny\", \"Action\": \"" + action + "\", \"Resource\": \"" + resource
        + "\"}";
  }

  /** A permission on the tenant's keys from {@code from} to before {@code to} (both relative). */
  private static Permission range(Type type, String from, String to) {
    return Permission.newBuilder().setPermType(type).setKey(ByteString.copyFromUtf8(PREFIX + from))
        .setRangeEnd(ByteString.copyFromUtf8(to.equals(PREFIX_END) ? to : PREFIX + to)).build();
  }

  private static Permission key(Type type, String key) {
    return Permission.newBuilder().setPermType(type)
        .setKey(ByteString.copyFromUtf8(PREFIX + key)).build();
  }

  @Test
  void noPolicyGrantsNothing() {
    assertThat(NuwaKeyGrants.of(TENANT, REGION, List.of()).permissions()).isEmpty();
    assertThat(grants(allow("ram:*", "*")).permissions()).isEmpty();
    assertThat(grants(allow("ram:*", "*")).notMapped()).isEmpty();
  }

  @Test
  void aPrefixPatternGrantsThatPrefix() {
    assertThat(grants(allow("nuwa:*", "acs:nuwa:*:acme:key/app/*")).permissions())
        .containsExactly(range(Type.READWRITE, "app/", "app0"));
    assertThat(grants(allow("nuwa:read", "acs:nuwa:local:acme:key/app/*")).permissions())
        .containsExactly(range(Type.READ, "app/", "app0"));
    assertThat(grants(allow("nuwa:Write", "acs:nuwa::*:key/app*")).permissions())
        .as("an empty region field is not this cluster's region")
        .isEmpty();
  }

  @Test
  void aLiteralKeyIsOneKey() {
    assertThat(grants(allow("nuwa:Read", "acs:nuwa:*:acme:key/app/config")).permissions())
        .containsExactly(key(Type.READ, "app/config"));
  }

  @Test
  void everythingMeansTheWholeTenantAndNoMore() {
    assertThat(grants(allow("*", "*")).permissions())
        .containsExactly(range(Type.READWRITE, "", PREFIX_END));
    assertThat(grants(allow("nuwa:*", "acs:nuwa:*:*:*")).permissions())
        .containsExactly(range(Type.READWRITE, "", PREFIX_END));
  }

  @Test
  void readAndWriteRangesAreCombined() {
    assertThat(grants(
        allow("nuwa:Read", "acs:nuwa:*:acme:key/app/*"),
        allow("nuwa:Write", "acs:nuwa:*:acme:key/app/logs/*"),
        allow("nuwa:Write", "acs:nuwa:*:acme:key/tmp/*")).permissions())
        .containsExactly(
            range(Type.READ, "app/", "app/logs/"),
            range(Type.READWRITE, "app/logs/", "app/logs0"),
            range(Type.READ, "app/logs0", "app0"),
            range(Type.WRITE, "tmp/", "tmp0"));
  }

  @Test
  void anExplicitDenyCutsAHoleInAnAllow() {
    assertThat(grants(
        allow("nuwa:*", "acs:nuwa:*:acme:key/*"),
        deny("nuwa:Write", "acs:nuwa:*:acme:key/locked/*"),
        deny("nuwa:*", "acs:nuwa:*:acme:key/secret")).permissions())
        .containsExactly(
            range(Type.READWRITE, "", "locked/"),
            range(Type.READ, "locked/", "locked0"),
            range(Type.READWRITE, "locked0", "secret"),
            range(Type.READWRITE, "secret\0", PREFIX_END));
  }

  @Test
  void denyFromAnotherPolicyWinsToo() {
    NuwaKeyGrants.Grants grants = NuwaKeyGrants.of(TENANT, REGION, List.of(
        policy("writers", allow("nuwa:*", "acs:nuwa:*:acme:key/app/*")),
        policy("no-app", deny("nuwa:*", "acs:nuwa:*:acme:key/app/*"))));
    assertThat(grants.permissions()).isEmpty();
  }

  @Test
  void anotherTenantsKeysAreNeverGranted() {
    assertThat(grants(allow("nuwa:*", "acs:nuwa:*:other:key/*")).permissions()).isEmpty();
    assertThat(grants(allow("nuwa:*", "acs:nuwa:*:other:*")).permissions()).isEmpty();
  }

  @Test
  void aWildcardInTheRegionDoesNotReachIntoTheKey() {
    // Matched as one string, "acs:nuwa:*:acme:key/app/*" also covers the key
    // "x:acme:key/app/y"; a Deny of it must not therefore cover the whole tenant.
    assertThat(grants(
        allow("nuwa:*", "*"),
        deny("nuwa:*", "acs:nuwa:*:acme:key/app/*")).permissions())
        .containsExactly(range(Type.READWRITE, "", "app/"),
            range(Type.READWRITE, "app0", PREFIX_END));
  }

  @Test
  void anAllowWithAConditionGrantsNothingAndADenyWithOneAppliesAlways() {
    String conditional = ", \"Condition\": {\"IpAddress\": {\"acs:SourceIp\": \"10.0.0.0/8\"}}}";
    NuwaKeyGrants.Grants allowed = grants(
        allow("nuwa:*", "acs:nuwa:*:acme:key/app/*").replaceFirst("}$", conditional));
    assertThat(allowed.permissions()).isEmpty();
    assertThat(allowed.notMapped()).singleElement().asString()
        .contains("policy \"p\" Statement[0]", "Condition", "grants nothing");

    NuwaKeyGrants.Grants denied = grants(
        allow("nuwa:*", "acs:nuwa:*:acme:key/*"),
        deny("nuwa:*", "acs:nuwa:*:acme:key/app/*").replaceFirst("}$", conditional));
    assertThat(denied.permissions()).containsExactly(
        range(Type.READWRITE, "", "app/"), range(Type.READWRITE, "app0", PREFIX_END));
    assertThat(denied.notMapped()).singleElement().asString()
        .contains("Statement[1]", "applies always");
  }

  @Test
  void aPatternRangesCannotExpressGrantsNothingButDeniesItsWholePrefix() {
    NuwaKeyGrants.Grants allowed = grants(allow("nuwa:*", "acs:nuwa:*:acme:key/app/*/db"),
        allow("nuwa:Read", "acs:nuwa:*:acme:key/v?"));
    assertThat(allowed.permissions()).isEmpty();
    assertThat(allowed.notMapped()).hasSize(2)
        .allSatisfy(note -> assertThat(note).contains("grants nothing in Nuwa"));

    NuwaKeyGrants.Grants denied = grants(allow("nuwa:*", "acs:nuwa:*:acme:key/*"),
        deny("nuwa:Write", "acs:nuwa:*:acme:key/app/*/db"));
    assertThat(denied.permissions()).containsExactly(
        range(Type.READWRITE, "", "app/"),
        range(Type.READ, "app/", "app0"),
        range(Type.READWRITE, "app0", PREFIX_END));
    assertThat(denied.notMapped()).singleElement().asString()
        .contains("covers every key under /tenants/acme/app/");
  }

  @Test
  void moreRangesThanTheLimitGrantNone() {
    List<Policy> policies = new ArrayList<>();
    int keys = 0;
    while (keys <= NuwaKeyGrants.PERMISSIONS_MAX) {
      List<String> resources = new ArrayList<>();
      for (int i = 0; i < 100; i++, keys++) {
        resources.add("\"acs:nuwa:*:acme:key/k" + keys + "\"");
      }
      policies.add(policy("p" + policies.size(), "{\"Effect\": \"Allow\", \"Action\": \"nuwa:Read\","
          + " \"Resource\": [" + String.join(",", resources) + "]}"));
    }
    NuwaKeyGrants.Grants grants = NuwaKeyGrants.of(TENANT, REGION, policies);
    assertThat(grants.permissions()).isEmpty();
    assertThat(grants.notMapped()).singleElement().asString()
        .contains(keys + " Nuwa key ranges", "none is granted");
  }

  @Test
  void residuesFollowTheGlobAutomaton() {
    String prefix = "acs:nuwa:local:acme:key/";
    assertThat(NuwaKeyGrants.residues("*", prefix)).containsExactly("", "*");
    assertThat(NuwaKeyGrants.residues("acs:nuwa:*:acme:key/a*", prefix)).containsExactly("a*");
    assertThat(NuwaKeyGrants.residues("acs:nuwa:l?cal:acme:key/*/x", prefix))
        .containsExactly("*/x", "/x");
    assertThat(NuwaKeyGrants.residues("acs:pangu:*:acme:key/*", prefix)).isEmpty();
    assertThat(NuwaKeyGrants.residues("acs:nuwa:*:acme:file/*", prefix)).isEmpty();
  }
}
