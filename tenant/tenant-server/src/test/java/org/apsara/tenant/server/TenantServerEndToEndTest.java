package org.apsara.tenant.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.recipes.ServiceInstance;
import org.apsara.nuwa.client.recipes.ServiceRegistry;
import org.apsara.security.audit.AuditEvent;
import org.apsara.security.audit.InMemoryAuditSink;
import org.apsara.security.grpc.AuthenticationServerInterceptor;
import org.apsara.tenant.api.CreatedAccessKey;
import org.apsara.tenant.api.CredentialsFile;
import org.apsara.tenant.api.IdentityClient;
import org.apsara.tenant.api.IdentityNames;
import org.apsara.tenant.api.v1.AccessKeyStatus;
import org.apsara.tenant.api.v1.GetCallerIdentityResponse;
import org.apsara.tenant.api.v1.IdentityServiceGrpc;
import org.apsara.tenant.api.v1.ListTenantsRequest;
import org.apsara.tenant.api.v1.Tenant;
import org.apsara.tenant.api.v1.User;
import org.apsara.testkit.Ports;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The identity service as clients meet it: a real {@link TenantServer} on a TCP port over a Nuwa
 * of its own, called through {@link IdentityClient} with signed requests.
 */
class TenantServerEndToEndTest {
  @TempDir static Path dir;

  private static NuwaFixture nuwa;
  private static InMemoryAuditSink audit;
  private static TenantServer server;
  private static Path credentialsFile;
  private static IdentityClient systemRoot;

  @BeforeAll
  static void start() throws Exception {
    nuwa = NuwaFixture.start(dir.resolve("nuwa"));
    audit = new InMemoryAuditSink(InMemoryAuditSink.CAPACITY_MAX);
    credentialsFile = dir.resolve("home/.apsara/credentials");
    server = TenantServer.start(config(Ports.freePort())
        .bootstrapCredentialsFile(credentialsFile)
        .build(), audit);
    systemRoot = IdentityClient.connect(
        CredentialsFile.read(credentialsFile, CredentialsFile.DEFAULT_PROFILE).orElseThrow());
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

  private static TenantConfig.Builder config(int port) {
    return TenantConfig.builder()
        .nuwaEndpoints(nuwa.endpoints())
        .port(port)
        .metricsPort(0)
        .masterKeyFile(dir.resolve("keys/master.key"))
        .region("cn-test");
  }

  private static IdentityClient connect(CreatedAccessKey key) {
    return IdentityClient.connect(server.address(), key.credentials());
  }

  private static StatusRuntimeException failure(ThrowingCallable call) {
    Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(call);
    assertThat(thrown).isInstanceOf(StatusRuntimeException.class);
    return (StatusRuntimeException) thrown;
  }

  private static String errorCode(StatusRuntimeException e) {
    return Status.trailersFromThrowable(e).get(AuthenticationServerInterceptor.ERROR_CODE_TRAILER);
  }

  @Test
  void theFirstStartWroteTheSystemRootsKeyToACredentialsFileOnlyItsOwnerCanRead()
      throws Exception {
    CreatedAccessKey created = server.bootstrapCredentials().orElseThrow();
    CredentialsFile.Profile profile =
        CredentialsFile.read(credentialsFile, CredentialsFile.DEFAULT_PROFILE).orElseThrow();

    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(credentialsFile)))
        .isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(
        Files.getPosixFilePermissions(dir.resolve("keys/master.key")))).isEqualTo("rw-------");
    assertThat(profile.credentials()).isEqualTo(created.credentials());
    assertThat(profile.endpoint()).contains(server.address());
    GetCallerIdentityResponse me = systemRoot.getCallerIdentity();
    assertThat(me.getArn()).isEqualTo("acs:ram::system:user/root");
    assertThat(me.getAccessKeyId()).isEqualTo(created.accessKey().getAccessKeyId());
  }

  @Test
  void aSecondServerCreatesNothingSharesEverythingAndBothAreRegistered() throws Exception {
    try (TenantServer second = TenantServer.start(config(0).build(), audit);
        IdentityClient viaSecond = IdentityClient.connect(
            second.address(), server.bootstrapCredentials().orElseThrow().credentials());
        NuwaClient client = nuwa.newClient()) {
      assertThat(second.bootstrapCredentials()).isEmpty();
      assertThat(viaSecond.listAccessKeys(IdentityNames.SYSTEM_TENANT, IdentityNames.ROOT_USER))
          .hasSize(1);
      assertThat(new ServiceRegistry(client).discover(TenantServer.SERVICE_NAME))
          .extracting(ServiceInstance::address)
          .contains(server.address().format(), second.address().format());

      second.close();
      assertThat(new ServiceRegistry(client).discover(TenantServer.SERVICE_NAME))
          .extracting(ServiceInstance::address)
          .containsExactly(server.address().format());
    }
  }

  @Test
  void aServerWithAnotherMasterKeyRefusesToStart() {
    assertThatThrownBy(() -> TenantServer.start(
            config(0).masterKeyFile(dir.resolve("other/master.key")).build(), audit))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("give every identity server a copy of the same master key file");
  }

  @Test
  void usersMayDoOnlyWhatTheirPoliciesAllowAndAnExplicitDenyWins() throws Exception {
    systemRoot.createTenant("acme", "Acme");
    CreatedAccessKey acmeRootKey = systemRoot.createAccessKey("acme", IdentityNames.ROOT_USER);
    try (IdentityClient acmeRoot = connect(acmeRootKey)) {
      User alice = acmeRoot.createUser("", "alice", "Alice");
      assertThat(alice.getTenant()).isEqualTo("acme");
      try (IdentityClient asAlice = connect(acmeRoot.createAccessKey("", "alice"))) {
        assertThat(asAlice.getCallerIdentity().getArn()).isEqualTo("acs:ram::acme:user/alice");

        StatusRuntimeException denied = failure(() -> asAlice.createUser("", "bob", ""));
        assertThat(denied.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(denied.getStatus().getDescription()).isEqualTo(
            "acs:ram::acme:user/alice is not allowed to perform ram:CreateUser on"
                + " acs:ram::acme:user/bob: no policy allows it");
        assertThat(audit.events()).anySatisfy(event -> {
          assertThat(event.outcome()).isEqualTo(AuditEvent.Outcome.DENIED);
          assertThat(event.resource()).isEqualTo("acs:ram::acme:user/bob");
        });

        acmeRoot.createPolicy("", "CreateUsers", "{\"Version\": \"1\", \"Statement\": [{\"Effect\":"
            + " \"Allow\", \"Action\": \"ram:CreateUser\", \"Resource\": \"*\"}]}", "");
        acmeRoot.attachPolicyToUser("", "CreateUsers", "alice");
        assertThat(asAlice.createUser("", "bob", "").getName()).isEqualTo("bob");

        acmeRoot.createPolicy("", "NoCarol", "{\"Version\": \"1\", \"Statement\": [{\"Effect\":"
            + " \"Deny\", \"Action\": \"ram:*\", \"Resource\": \"acs:ram::acme:user/carol\"}]}", "");
        acmeRoot.createGroup("", "careful", "");
        acmeRoot.attachPolicyToGroup("", "NoCarol", "careful");
        acmeRoot.addUserToGroup("", "alice", "careful");
        StatusRuntimeException carol = failure(() -> asAlice.createUser("", "carol", ""));
        assertThat(carol.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(carol.getStatus().getDescription())
            .endsWith("explicitly denied by policy \"NoCarol\" Statement[0]");

        // A policy of acme's never reaches another tenant, however wide its wildcard.
        systemRoot.createTenant("beta", "");
        StatusRuntimeException elsewhere = failure(() -> asAlice.createUser("beta", "mallory", ""));
        assertThat(elsewhere.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(failure(() -> acmeRoot.createUser("beta", "mallory", "")).getStatus().getCode())
            .isEqualTo(Status.Code.PERMISSION_DENIED);
      }
    }
  }

  @Test
  void aDisabledKeyIsRejectedAsInactiveAndARotatedKeyTakesOver() throws Exception {
    systemRoot.createTenant("rotation", "");
    systemRoot.createUser("rotation", "svc", "");
    CreatedAccessKey old = systemRoot.createAccessKey("rotation", "svc");
    try (IdentityClient withOld = connect(old)) {
      assertThat(withOld.getCallerIdentity().getUserName()).isEqualTo("svc");

      CreatedAccessKey fresh = systemRoot.createAccessKey("rotation", "svc");
      try (IdentityClient withNew = connect(fresh)) {
        assertThat(withNew.getCallerIdentity().getAccessKeyId())
            .isEqualTo(fresh.accessKey().getAccessKeyId());
        assertThat(systemRoot.setAccessKeyEnabled("rotation", "svc",
            old.accessKey().getAccessKeyId(), false).getStatus())
            .isEqualTo(AccessKeyStatus.ACCESS_KEY_STATUS_INACTIVE);

        StatusRuntimeException inactive = failure(withOld::getCallerIdentity);
        assertThat(inactive.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
        assertThat(errorCode(inactive)).isEqualTo("InvalidAccessKeyId.Inactive");

        systemRoot.deleteAccessKey("rotation", "svc", old.accessKey().getAccessKeyId());
        assertThat(errorCode(failure(withOld::getCallerIdentity)))
            .isEqualTo("InvalidAccessKeyId.NotFound");
        assertThat(withNew.getCallerIdentity().getUserName()).isEqualTo("svc");
      }
    }
  }

  @Test
  void onlyCreateAccessKeyEverAnswersWithASecret() {
    systemRoot.createTenant("secrets", "");
    systemRoot.createUser("secrets", "alice", "");
    CreatedAccessKey created = systemRoot.createAccessKey("secrets", "alice");
    String secret = created.credentials().accessKeySecret();

    List<Object> answers = List.of(
        systemRoot.listAccessKeys("secrets", "alice"),
        systemRoot.setAccessKeyEnabled("secrets", "alice", created.accessKey().getAccessKeyId(),
            true),
        systemRoot.getUser("secrets", "alice"),
        systemRoot.listUsers("secrets", ""),
        systemRoot.getTenant("secrets"));
    assertThat(answers.toString())
        .contains(created.accessKey().getAccessKeyId())
        .doesNotContain(secret);
    assertThat(audit.events().toString()).doesNotContain(secret);
  }

  @Test
  void tenantsAreListedAsFarAsTheCallerMayReadThem() throws Exception {
    systemRoot.createTenant("listed", "");
    try (IdentityClient listedRoot =
        connect(systemRoot.createAccessKey("listed", IdentityNames.ROOT_USER))) {
      assertThat(systemRoot.listTenants()).extracting(Tenant::getName)
          .contains(IdentityNames.SYSTEM_TENANT, "listed");
      assertThat(listedRoot.listTenants()).extracting(Tenant::getName).containsExactly("listed");
      assertThat(listedRoot.getTenant("").getName()).isEqualTo("listed");
    }
  }

  @Test
  void unsignedCallsAreRejectedButHealthChecksAreNot() throws Exception {
    ManagedChannel channel = Grpc.newChannelBuilderForAddress(server.address().host(),
        server.address().port(), InsecureChannelCredentials.create()).build();
    try {
      StatusRuntimeException unsigned = failure(() -> IdentityServiceGrpc.newBlockingStub(channel)
          .listTenants(ListTenantsRequest.getDefaultInstance()));
      assertThat(unsigned.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(errorCode(unsigned)).isEqualTo("MissingAuthorization");

      assertThat(HealthGrpc.newBlockingStub(channel)
          .check(HealthCheckRequest.getDefaultInstance()).getStatus())
          .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void readinessAndMetricsAreServedOverHttp() throws Exception {
    systemRoot.getCallerIdentity();
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    String base = "http://" + server.config().host() + ":" + server.metricsPort();

    HttpResponse<String> ready = http.send(HttpRequest.newBuilder(URI.create(base + "/ready"))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertThat(ready.statusCode()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      String metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      assertThat(metrics)
          .contains("method=\"apsara.tenant.v1.IdentityService/GetCallerIdentity\"")
          .contains("tenant_view_revision");
    });
  }
}
