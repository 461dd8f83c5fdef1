package org.apsara.fuxi.master.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apsara.fuxi.api.FuxiPermissions;
import org.apsara.fuxi.api.v1.ApplicationStatus;
import org.apsara.fuxi.api.v1.DeleteQuotaGroupRequest;
import org.apsara.fuxi.api.v1.FuxiMasterGrpc;
import org.apsara.fuxi.api.v1.FuxiMasterGrpc.FuxiMasterBlockingStub;
import org.apsara.fuxi.api.v1.GetApplicationRequest;
import org.apsara.fuxi.api.v1.KillApplicationRequest;
import org.apsara.fuxi.api.v1.LaunchAppMaster;
import org.apsara.fuxi.api.v1.ListApplicationsRequest;
import org.apsara.fuxi.api.v1.ListNodesRequest;
import org.apsara.fuxi.api.v1.ListQuotaGroupsRequest;
import org.apsara.fuxi.api.v1.SetQuotaGroupRequest;
import org.apsara.security.audit.AuditEvent;
import org.apsara.security.audit.InMemoryAuditSink;
import org.apsara.security.grpc.AuthenticationServerInterceptor;
import org.apsara.security.grpc.SigningClientInterceptor;
import org.apsara.security.sign.AccessKeyCredentials;
import org.apsara.security.sign.ServiceScope;
import org.apsara.tenant.api.CredentialsFile;
import org.apsara.tenant.api.IdentityClient;
import org.apsara.tenant.server.TenantConfig;
import org.apsara.tenant.server.TenantServer;
import org.apsara.testkit.Ports;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A FuxiMaster with authentication, against a real identity service on the shared Nuwa: who may
 * submit, see, kill and change what, and what the application's tenant becomes.
 */
class FuxiMasterAuthTest extends MasterTestBase {
  private static final String REGION = "cn-test";
  private static final ServiceScope FUXI = new ServiceScope(REGION, FuxiPermissions.SERVICE);
  private static final String FUXI_EVERYTHING_IN = "{\"Version\": \"1\", \"Statement\": [{"
      + "\"Effect\": \"Allow\", \"Action\": \"fuxi:*\", \"Resource\": \"acs:fuxi:*:%s:*\"}]}";

  /** Where the identity service keeps its master key; JUnit deletes it after the class. */
  @TempDir static Path identityDir;
  private static TenantServer identityServer;
  private static AccessKeyCredentials systemRootKey;
  private static IdentityClient systemRoot;
  private static int tenants;

  private final InMemoryAuditSink audit = new InMemoryAuditSink(InMemoryAuditSink.CAPACITY_MAX);
  private FuxiMasterServer master;
  private FakeTubo tubo;

  @BeforeAll
  static void startIdentityService() throws IOException {
    identityServer = TenantServer.start(TenantConfig.builder()
        .nuwaEndpoints(List.of(NuwaFixture.shared().endpoint()))
        .port(Ports.freePort())
        .metricsPort(-1)
        .masterKeyFile(identityDir.resolve("master.key"))
        .region(REGION)
        .build(), new InMemoryAuditSink());
    systemRootKey = identityServer.bootstrapCredentials().orElseThrow().credentials();
    systemRoot = IdentityClient.connect(identityServer.address(), systemRootKey);
  }

  @AfterAll
  static void stopIdentityService() {
    if (systemRoot != null) {
      systemRoot.close();
    }
    if (identityServer != null) {
      identityServer.close();
    }
  }

  @BeforeEach
  void startAuthenticatingMaster() throws IOException {
    CredentialsFile.Profile own = new CredentialsFile.Profile("fuxi", systemRootKey,
        Optional.of(identityServer.address()), Optional.empty(), REGION);
    master = FuxiMasterServer.start(config("m1").identity(own).build(), audit);
    masters.add(master);
    await().atMost(WAIT).until(master::isServing);
    // Submits need a machine the application master's unit fits on.
    tubo = tubo("m1", 4000, 4096, master);
    await().atMost(WAIT).until(() -> tubo.last() != null);
  }

  /** A new tenant, so that tests never see each other's identities. */
  private static String newTenant() {
    String tenant = "t" + (++tenants) + "-" + Long.toHexString(System.nanoTime() & 0xffffff);
    systemRoot.createTenant(tenant, "");
    return tenant;
  }

  /** A user of {@code tenant} with the policy {@code document} attached, if any; its key. */
  private static AccessKeyCredentials user(String tenant, String name, String document) {
    systemRoot.createUser(tenant, name, "");
    if (document != null) {
      systemRoot.createPolicy(tenant, name + "-policy", document, "");
      systemRoot.attachPolicyToUser(tenant, name + "-policy", name);
    }
    return systemRoot.createAccessKey(tenant, name).credentials();
  }

  /** A user allowed everything of Fuxi in its own tenant. */
  private static AccessKeyCredentials developer(String tenant) {
    return user(tenant, "dev", String.format(FUXI_EVERYTHING_IN, tenant));
  }

  private FuxiMasterBlockingStub signedBy(AccessKeyCredentials key) {
    return unsigned().withInterceptors(
        SigningClientInterceptor.forService(key, FUXI, Clock.systemUTC()));
  }

  private FuxiMasterBlockingStub unsigned() {
    ManagedChannel channel =
        NettyChannelBuilder.forTarget(master.address().toString()).usePlaintext().build();
    closeables.add(channel::shutdownNow);
    return FuxiMasterGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  private static StatusRuntimeException refusal(Runnable call) {
    StatusRuntimeException e = catchThrowableOfType(call::run, StatusRuntimeException.class);
    assertThat(e).as("the call was refused").isNotNull();
    return e;
  }

  private static String submitAs(FuxiMasterBlockingStub c, String requestId, String tenant) {
    return c.submitApplication(submit(requestId).setTenant(tenant).build()).getApplicationId();
  }

  private static ApplicationStatus get(FuxiMasterBlockingStub c, String appId) {
    return c.getApplication(GetApplicationRequest.newBuilder().setApplicationId(appId).build());
  }

  private static ApplicationStatus kill(FuxiMasterBlockingStub c, String appId) {
    return c.killApplication(KillApplicationRequest.newBuilder().setApplicationId(appId).build());
  }

  private static List<String> listed(FuxiMasterBlockingStub c) {
    return c.listApplications(ListApplicationsRequest.getDefaultInstance()).getApplicationsList()
        .stream().map(ApplicationStatus::getApplicationId).toList();
  }

  @Test
  void unsignedCallsAreUnauthenticatedButTheAmStreamNeedsOnlyItsToken() {
    for (Runnable call : List.<Runnable>of(
        () -> unsigned().listNodes(ListNodesRequest.getDefaultInstance()),
        () -> unsigned().submitApplication(submit("r-unsigned").build()),
        () -> unsigned().listApplications(ListApplicationsRequest.getDefaultInstance()))) {
      StatusRuntimeException e = refusal(call);
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(e.getTrailers().get(AuthenticationServerInterceptor.ERROR_CODE_TRAILER))
          .isEqualTo("MissingAuthorization");
    }
    // Signed for another service: refused too, even with a good key.
    StatusRuntimeException wrongService = refusal(() -> unsigned().withInterceptors(
            SigningClientInterceptor.forService(systemRootKey,
                new ServiceScope(REGION, "pangu"), Clock.systemUTC()))
        .listNodes(ListNodesRequest.getDefaultInstance()));
    assertThat(wrongService.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);

    // The tubo's heartbeats (TuboTracker) and the AM's Allocate stream go unsigned.
    String tenant = newTenant();
    String appId = submitAs(signedBy(developer(tenant)), "r-am", "");
    LaunchAppMaster launch = awaitLaunch(appId, "am-1", tubo);
    FakeAm am = am(master).hello(appId, token(launch), 1);
    await().atMost(WAIT).until(am::welcomed);
  }

  @Test
  void aTenantUserNeedsAPolicyToSubmitAndTheApplicationIsItsTenants() {
    String tenant = newTenant();
    FuxiMasterBlockingStub nobody = signedBy(user(tenant, "nobody", null));
    FuxiMasterBlockingStub dev = signedBy(developer(tenant));

    StatusRuntimeException denied = refusal(() -> submitAs(nobody, "r-nobody", ""));
    assertThat(denied.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(denied.getStatus().getDescription()).isEqualTo("acs:ram::" + tenant
        + ":user/nobody is not allowed to perform fuxi:SubmitApplication on acs:fuxi:" + REGION
        + ":" + tenant + ":application/*: no policy allows it");
    assertThat(audit.events()).anySatisfy(event -> {
      assertThat(event.outcome()).isEqualTo(AuditEvent.Outcome.DENIED);
      assertThat(event.action()).isEqualTo(FuxiPermissions.SUBMIT_APPLICATION);
    });

    // No tenant given: the caller's. Given: it must be one the caller may submit for.
    String appId = submitAs(dev, "r-dev", "");
    assertThat(get(dev, appId).getTenant()).isEqualTo(tenant);
    assertThat(submitAs(dev, "r-dev-named", tenant)).isNotEqualTo(appId);
    String other = newTenant();
    StatusRuntimeException foreign = refusal(() -> submitAs(dev, "r-foreign", other));
    assertThat(foreign.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(foreign.getStatus().getDescription()).contains(
        "acs:fuxi:" + REGION + ":" + other + ":application/*");
    StatusRuntimeException malformed = refusal(() -> submitAs(dev, "r-bad", "x:application/y"));
    assertThat(malformed.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    // The system root may submit for any tenant.
    String forTenant = submitAs(signedBy(systemRootKey), "r-root", tenant);
    assertThat(get(dev, forTenant).getTenant()).isEqualTo(tenant);
  }

  @Test
  void aTenantNeitherSeesNorKillsAnotherTenantsApplications() {
    String a = newTenant();
    String b = newTenant();
    FuxiMasterBlockingStub devA = signedBy(developer(a));
    FuxiMasterBlockingStub devB = signedBy(developer(b));
    String appA = submitAs(devA, "r-a", "");
    String appB = submitAs(devB, "r-b", "");

    assertThat(listed(devA)).containsExactly(appA);
    assertThat(listed(devB)).containsExactly(appB);
    assertThat(listed(signedBy(systemRootKey))).contains(appA, appB);
    // A request id is no way to learn another tenant's application either.
    assertThat(refusal(() -> submitAs(devB, "r-a", "")).getStatus().getCode())
        .isEqualTo(Status.Code.INVALID_ARGUMENT);

    StatusRuntimeException peek = refusal(() -> get(devB, appA));
    assertThat(peek.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(peek.getStatus().getDescription()).contains("fuxi:GetApplication on acs:fuxi:"
        + REGION + ":" + a + ":application/" + appA);
    StatusRuntimeException killing = refusal(() -> kill(devB, appA));
    assertThat(killing.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(get(devA, appA).getState()).isNotEqualTo(ApplicationStatus.State.KILLED);

    assertThat(kill(devA, appA).getState()).isEqualTo(ApplicationStatus.State.KILLED);
    // A tenant's root may do anything in its tenant, and nothing in another.
    FuxiMasterBlockingStub rootB = signedBy(systemRoot.createAccessKey(b, "root").credentials());
    assertThat(get(rootB, appB).getTenant()).isEqualTo(b);
    assertThat(refusal(() -> get(rootB, appA)).getStatus().getCode())
        .isEqualTo(Status.Code.PERMISSION_DENIED);
  }

  @Test
  void machinesAndQuotaGroupsAreTheOperatorsOnly() {
    String tenant = newTenant();
    FuxiMasterBlockingStub tenantRoot =
        signedBy(systemRoot.createAccessKey(tenant, "root").credentials());
    FuxiMasterBlockingStub dev = signedBy(developer(tenant));
    SetQuotaGroupRequest etl = SetQuotaGroupRequest.newBuilder().setName("etl")
        .setMin(resources(0, 0)).setMax(resources(1000, 1024)).build();

    for (FuxiMasterBlockingStub c : List.of(tenantRoot, dev)) {
      StatusRuntimeException set = refusal(() -> c.setQuotaGroup(etl));
      assertThat(set.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(set.getStatus().getDescription()).contains("fuxi:SetQuotaGroup on acs:fuxi:"
          + REGION + ":system:quotagroup/etl");
      assertThat(refusal(() -> c.listNodes(ListNodesRequest.getDefaultInstance()))
          .getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(refusal(() -> c.listQuotaGroups(ListQuotaGroupsRequest.getDefaultInstance()))
          .getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    }

    // An operator: a system-tenant user with a policy on the system tenant's Fuxi resources.
    String opsName = "ops" + tenants;
    FuxiMasterBlockingStub ops = signedBy(user("system", opsName,
        "{\"Version\": \"1\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": "
            + "[\"fuxi:*QuotaGroup*\", \"fuxi:ListNodes\"], \"Resource\": "
            + "\"acs:fuxi:*:system:*\"}]}"));
    assertThat(ops.setQuotaGroup(etl).getName()).isEqualTo("etl");
    assertThat(ops.listQuotaGroups(ListQuotaGroupsRequest.getDefaultInstance()).getGroupsList())
        .anySatisfy(g -> assertThat(g.getName()).isEqualTo("etl"));
    assertThat(ops.listNodes(ListNodesRequest.getDefaultInstance()).getNodesList())
        .extracting(node -> node.getMachineId()).containsExactly("m1");
    assertThat(audit.events()).anySatisfy(event -> {
      assertThat(event.outcome()).isEqualTo(AuditEvent.Outcome.ALLOWED);
      assertThat(event.action()).isEqualTo(FuxiPermissions.SET_QUOTA_GROUP);
      assertThat(event.principal()).isEqualTo("acs:ram::system:user/" + opsName);
    });
    signedBy(systemRootKey).deleteQuotaGroup(
        DeleteQuotaGroupRequest.newBuilder().setName("etl").build());
    assertThat(ops.listQuotaGroups(ListQuotaGroupsRequest.getDefaultInstance()).getGroupsList())
        .noneSatisfy(g -> assertThat(g.getName()).isEqualTo("etl"));
  }
}
