package org.apsara.tenant.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import org.apsara.security.audit.AuditEvent;
import org.apsara.security.audit.InMemoryAuditSink;
import org.apsara.security.sign.CredentialScope;
import org.apsara.security.sign.ScopedSignature;
import org.apsara.tenant.api.CreatedAccessKey;
import org.apsara.tenant.api.IdentityClient;
import org.apsara.tenant.api.IdentityNames;
import org.apsara.tenant.api.v1.EffectivePolicy;
import org.apsara.tenant.api.v1.GetServiceCredentialResponse;
import org.apsara.testkit.Ports;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code GetServiceCredential} on a real identity server: what it gives out, and to whom. */
class GetServiceCredentialTest {
  private static final String REGION = "cn-test";

  @TempDir static Path dir;

  private static NuwaFixture nuwa;
  private static InMemoryAuditSink audit;
  private static TenantServer server;
  private static IdentityClient systemRoot;
  private static CreatedAccessKey aliceKey;

  @BeforeAll
  static void start() throws Exception {
    nuwa = NuwaFixture.start(dir.resolve("nuwa"));
    audit = new InMemoryAuditSink(InMemoryAuditSink.CAPACITY_MAX);
    server = TenantServer.start(TenantConfig.builder()
        .nuwaEndpoints(nuwa.endpoints())
        .port(Ports.freePort())
        .metricsPort(-1)
        .masterKeyFile(dir.resolve("master.key"))
        .region(REGION)
        .build(), audit);
    systemRoot = IdentityClient.connect(
        server.address(), server.bootstrapCredentials().orElseThrow().credentials());
    systemRoot.createTenant("acme", "");
    systemRoot.createUser("acme", "alice", "");
    aliceKey = systemRoot.createAccessKey("acme", "alice");
    systemRoot.createPolicy("acme", "ReadThings", policy("Allow", "toy:Read", "*"), "");
    systemRoot.createPolicy("acme", "NoSecrets", policy("Deny", "toy:*", "acs:toy:*:acme:secret/*"), "");
    systemRoot.attachPolicyToUser("acme", "ReadThings", "alice");
    systemRoot.createGroup("acme", "careful", "");
    systemRoot.attachPolicyToGroup("acme", "NoSecrets", "careful");
    systemRoot.addUserToGroup("acme", "alice", "careful");
  }

  @AfterAll
  static void stop() {
    if (systemRoot != null) {
      systemRoot.close();
    }
    if (server != null) {
      server.close();
    }
    if (nuwa != null) {
      nuwa.close();
    }
  }

  private static String policy(String effect, String action, String resource) {
    return "{\"Version\": \"1\", \"Statement\": [{\"Effect\": \"" + effect + "\", \"Action\": \""
        + action + "\", \"Resource\": \"" + resource + "\"}]}";
  }

  private static String today() {
    return CredentialScope.DATE_FORMAT.format(LocalDate.now(ZoneOffset.UTC));
  }

  private static StatusRuntimeException failure(ThrowingCallable call) {
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, call);
    assertThat(e).as("the call's failure").isNotNull();
    return e;
  }

  @Test
  void theSystemRootGetsTheKeyDerivedForTheServiceAndTheUsersPolicies() {
    String date = today();

    GetServiceCredentialResponse answer =
        systemRoot.getServiceCredential(aliceKey.accessKey().getAccessKeyId(), date, "pangu");

    CredentialScope scope = new CredentialScope(CredentialScope.parseDate(date), REGION, "pangu");
    assertThat(answer.getSigningKey().toByteArray()).isEqualTo(ScopedSignature.deriveSigningKey(
        aliceKey.credentials().accessKeySecret(), scope));
    assertThat(answer.getEnabled()).isTrue();
    assertThat(answer.getRegion()).isEqualTo(REGION);
    assertThat(answer.getPrincipal().getTenant()).isEqualTo("acme");
    assertThat(answer.getPrincipal().getUserName()).isEqualTo("alice");
    assertThat(answer.getPrincipal().getRoot()).isFalse();
    assertThat(answer.getPrincipal().getArn()).isEqualTo("acs:ram::acme:user/alice");
    // Its own policies first, then its groups'.
    assertThat(answer.getPoliciesList()).extracting(EffectivePolicy::getName)
        .containsExactly("ReadThings", "NoSecrets");
    assertThat(answer.getPolicies(1).getDocument()).contains("acs:toy:*:acme:secret/*");
    assertThat(systemRoot.getServiceCredential(
        aliceKey.accessKey().getAccessKeyId(), date, "fuxi").getSigningKey())
        .as("another service's key").isNotEqualTo(answer.getSigningKey());
  }

  @Test
  void aRootUserIsMarkedAndADisabledKeyIsToldAsDisabled() {
    systemRoot.createUser("acme", "carol", "");
    CreatedAccessKey carol = systemRoot.createAccessKey("acme", "carol");
    CreatedAccessKey acmeRoot = systemRoot.createAccessKey("acme", IdentityNames.ROOT_USER);
    systemRoot.setAccessKeyEnabled("acme", "carol", carol.accessKey().getAccessKeyId(), false);

    assertThat(systemRoot.getServiceCredential(carol.accessKey().getAccessKeyId(), today(), "pangu")
        .getEnabled()).isFalse();
    assertThat(systemRoot.getServiceCredential(
        acmeRoot.accessKey().getAccessKeyId(), today(), "pangu").getPrincipal().getRoot()).isTrue();
  }

  @Test
  void nobodyElseMayAskUnlessASystemPolicyGrantsItForThatService() throws Exception {
    String aliceId = aliceKey.accessKey().getAccessKeyId();
    try (IdentityClient asAlice = IdentityClient.connect(server.address(), aliceKey.credentials())) {
      StatusRuntimeException denied =
          failure(() -> asAlice.getServiceCredential(aliceId, today(), "pangu"));
      assertThat(denied.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(denied.getStatus().getDescription()).contains(
          "ram:GetServiceCredential on acs:ram:*:system:service/pangu");
    }
    assertThat(audit.events()).anySatisfy(event -> {
      assertThat(event.outcome()).isEqualTo(AuditEvent.Outcome.DENIED);
      assertThat(event.action()).isEqualTo("ram:GetServiceCredential");
    });

    systemRoot.createUser(IdentityNames.SYSTEM_TENANT, "pangu-service", "");
    systemRoot.createPolicy(IdentityNames.SYSTEM_TENANT, "PanguCredentials", policy("Allow",
        "ram:GetServiceCredential", "acs:ram:*:system:service/pangu"), "");
    systemRoot.attachPolicyToUser(IdentityNames.SYSTEM_TENANT, "PanguCredentials", "pangu-service");
    CreatedAccessKey serviceKey =
        systemRoot.createAccessKey(IdentityNames.SYSTEM_TENANT, "pangu-service");
    try (IdentityClient asPangu =
        IdentityClient.connect(server.address(), serviceKey.credentials())) {
      assertThat(asPangu.getServiceCredential(aliceId, today(), "pangu").getEnabled()).isTrue();
      assertThat(failure(() -> asPangu.getServiceCredential(aliceId, today(), "fuxi"))
          .getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    }
  }

  @Test
  void anUnknownKeyIsNotFoundAndMalformedArgumentsAreInvalid() {
    StatusRuntimeException unknown = failure(
        () -> systemRoot.getServiceCredential("LTAInoSuchKey00000000000", today(), "pangu"));
    assertThat(unknown.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(unknown.getStatus().getDescription())
        .isEqualTo("the AccessKey LTAInoSuchKey00000000000 does not exist");

    String id = aliceKey.accessKey().getAccessKeyId();
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    for (ThrowingCallable invalid : new ThrowingCallable[] {
        () -> systemRoot.getServiceCredential(id, "2024-05-01", "pangu"),
        () -> systemRoot.getServiceCredential(id, "20240231", "pangu"),
        () -> systemRoot.getServiceCredential(id,
            CredentialScope.DATE_FORMAT.format(today.plusDays(2)), "pangu"),
        () -> systemRoot.getServiceCredential(id,
            CredentialScope.DATE_FORMAT.format(today.minusDays(2)), "pangu"),
        () -> systemRoot.getServiceCredential(id, today(), "Pangu"),
        () -> systemRoot.getServiceCredential(id, today(), ""),
        () -> systemRoot.getServiceCredential("not a key", today(), "pangu")}) {
      assertThat(failure(invalid).getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    }
    assertThat(systemRoot.getServiceCredential(id,
        CredentialScope.DATE_FORMAT.format(today.minusDays(1)), "pangu").getEnabled())
        .as("yesterday's key").isTrue();
  }
}
