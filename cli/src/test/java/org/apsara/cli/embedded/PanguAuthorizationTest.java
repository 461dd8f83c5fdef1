package org.apsara.cli.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.api.v1.ChunkServerAdminState;
import org.apsara.pangu.api.v1.CloseFileRequest;
import org.apsara.pangu.api.v1.FileStatus;
import org.apsara.pangu.api.v1.FileStatusResult;
import org.apsara.pangu.api.v1.GetFileStatusesRequest;
import org.apsara.pangu.api.v1.PanguMasterGrpc;
import org.apsara.pangu.client.CreateOptions;
import org.apsara.pangu.client.PanguClient;
import org.apsara.pangu.client.PanguClientConfig;
import org.apsara.pangu.client.PanguErrorCode;
import org.apsara.pangu.client.PanguException;
import org.apsara.pangu.client.PanguOutputStream;
import org.apsara.security.grpc.SigningClientInterceptor;
import org.apsara.security.sign.AccessKeyCredentials;
import org.apsara.tenant.api.CredentialsFile;
import org.apsara.tenant.api.IdentityClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Pangu master of {@code apsara up} with the identity service: every call signed, each
 * authorized by the caller's RAM policies, leases bound to their user.
 */
class PanguAuthorizationTest {
  private static final String REGION = CredentialsFile.DEFAULT_REGION;
  /** The service authenticator refreshes every 5 s: a policy change shows within a few rounds. */
  private static final Duration POLICY_CHANGE_WAIT = Duration.ofSeconds(30);

  @TempDir static Path temp;
  static EmbeddedCluster cluster;
  static HostPort master;
  static AccessKeyCredentials root;
  static AccessKeyCredentials alice;
  static AccessKeyCredentials bob;

  @BeforeAll
  static void start() throws Exception {
    Path credentials = temp.resolve("credentials");
    cluster = EmbeddedCluster.start(new EmbeddedCluster.Options(temp.resolve("data"),
        EmbeddedPorts.portWithTwoFreeNeighbours(), 1,
        Optional.of(EmbeddedPorts.portWithTwoFreeNeighbours()), credentials, false,
        Optional.of(EmbeddedPorts.panguMasterPort())));
    master = cluster.panguMaster().orElseThrow().clientAddress();
    CredentialsFile.Profile profile =
        CredentialsFile.read(credentials, CredentialsFile.DEFAULT_PROFILE).orElseThrow();
    root = profile.credentials();
    try (IdentityClient identity = IdentityClient.connect(profile)) {
      identity.createTenant("acme", "");
      identity.createUser("acme", "alice", "");
      identity.createUser("acme", "bob", "");
      alice = identity.createAccessKey("acme", "alice").credentials();
      bob = identity.createAccessKey("acme", "bob").credentials();
      identity.createPolicy("acme", "app-files", """
          {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "pangu:*",
            "Resource": "acs:pangu:*:acme:file/app/*"}]}""", "");
      identity.attachPolicyToUser("acme", "app-files", "bob");
    }
    try (PanguClient client = client(root)) {
      client.mkdirs("/tenants/acme/app");
      client.mkdirs("/tenants/acme/secret");
    }
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private static PanguClient client(AccessKeyCredentials credentials) {
    PanguClientConfig.Builder config = PanguClientConfig.builder(List.of(master))
        .operationTimeout(Duration.ofSeconds(10));
    if (credentials != null) {
      config.credentials(credentials, REGION);
    }
    return PanguClient.connect(config.build());
  }

  @Test
  void anUnsignedCallIsRefused() {
    try (PanguClient anonymous = client(null)) {
      assertThatThrownBy(() -> anonymous.getStatus("/"))
          .isInstanceOfSatisfying(PanguException.class, e ->
              assertThat(e.code()).isEqualTo(PanguErrorCode.UNAUTHENTICATED))
          .hasMessageContaining("Authorization");
    }
  }

  @Test
  void aUserWithoutAPolicyIsDeniedAndNothingChanges() throws Exception {
    try (PanguClient client = client(alice); PanguClient admin = client(root)) {
      assertThatThrownBy(() -> client.mkdirs("/tenants/acme/app/alice"))
          .isInstanceOfSatisfying(PanguException.class, e ->
              assertThat(e.code()).isEqualTo(PanguErrorCode.PERMISSION_DENIED))
          .hasMessageContaining("acs:ram::acme:user/alice is not allowed to perform pangu:Write"
              + " on acs:pangu:" + REGION + ":acme:file/app/alice");
      assertThatThrownBy(() -> admin.getStatus("/tenants/acme/app/alice"))
          .isInstanceOfSatisfying(PanguException.class, e ->
              assertThat(e.code()).isEqualTo(PanguErrorCode.NOT_FOUND));
      // Chunkservers are the operators' alone.
      String chunkServer = admin.clusterReport(0).getChunkservers(0).getLocation().getId();
      assertThatThrownBy(() -> client.decommissionChunkServer(chunkServer, false))
          .isInstanceOfSatisfying(PanguException.class, e ->
              assertThat(e.code()).isEqualTo(PanguErrorCode.PERMISSION_DENIED))
          .hasMessageContaining("pangu:DecommissionChunkServer on acs:pangu:" + REGION
              + ":system:chunkserver/" + chunkServer);
      assertThat(admin.clusterReport(0).getChunkservers(0).getAdminState())
          .isEqualTo(ChunkServerAdminState.CHUNKSERVER_ADMIN_STATE_IN_SERVICE);
    }
  }

  @Test
  void aPolicyGrantsItsPathsOnlyAndWhatAUserCreatesIsTheirs() throws Exception {
    try (PanguClient client = client(bob)) {
      try (PanguOutputStream out = client.create("/tenants/acme/app/report.txt",
          CreateOptions.DEFAULTS)) {
        out.write("quarterly".getBytes(StandardCharsets.UTF_8));
      }
      try (var in = client.open("/tenants/acme/app/report.txt")) {
        assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("quarterly");
      }
      FileStatus status = client.getStatus("/tenants/acme/app/report.txt");
      assertThat(status.getOwner()).isEqualTo("bob");
      assertThat(status.getGroup()).isEqualTo("acme");

      // Outside the policy's paths: the tenant's other directory, the cluster's own paths.
      assertThatThrownBy(() -> client.list("/tenants/acme/secret"))
          .isInstanceOfSatisfying(PanguException.class, e ->
              assertThat(e.code()).isEqualTo(PanguErrorCode.PERMISSION_DENIED));
      assertThatThrownBy(() -> client.getStatus("/"))
          .isInstanceOfSatisfying(PanguException.class, e ->
              assertThat(e.code()).isEqualTo(PanguErrorCode.PERMISSION_DENIED))
          .hasMessageContaining("acs:pangu:" + REGION + ":system:file/");
      assertThatThrownBy(() -> client.rename("/tenants/acme/app/report.txt",
          "/tenants/acme/secret/report.txt"))
          .isInstanceOfSatisfying(PanguException.class, e ->
              assertThat(e.code()).isEqualTo(PanguErrorCode.PERMISSION_DENIED));
      // Quotas are the operators': even a policy granting pangu:* in the tenant does not reach.
      assertThatThrownBy(() -> client.setQuota("/tenants/acme/app", 10, -1))
          .isInstanceOfSatisfying(PanguException.class, e ->
              assertThat(e.code()).isEqualTo(PanguErrorCode.PERMISSION_DENIED))
          .hasMessageContaining("pangu:SetQuota");
      assertThat(client.getStatus("/tenants/acme/app/report.txt").getLength()).isEqualTo(9);
    }
    try (PanguClient admin = client(root)) {
      admin.setQuota("/tenants/acme/app", 1000, -1);
    }
  }

  @Test
  void aPolicyAttachedLaterTakesEffect() throws Exception {
    try (IdentityClient identity = IdentityClient.connect(
        CredentialsFile.read(temp.resolve("credentials"), CredentialsFile.DEFAULT_PROFILE)
            .orElseThrow())) {
      identity.createUser("acme", "carol", "");
      AccessKeyCredentials carol = identity.createAccessKey("acme", "carol").credentials();
      try (PanguClient client = client(carol)) {
        assertThatThrownBy(() -> client.mkdirs("/tenants/acme/app/carol"))
            .isInstanceOfSatisfying(PanguException.class, e ->
                assertThat(e.code()).isEqualTo(PanguErrorCode.PERMISSION_DENIED));
        identity.attachPolicyToUser("acme", "app-files", "carol");
        await().atMost(POLICY_CHANGE_WAIT).ignoreExceptionsInstanceOf(PanguException.class)
            .until(() -> client.mkdirs("/tenants/acme/app/carol").getDirectory());
      }
    }
  }

  /** Master calls over {@code channel}, signed with {@code credentials}. */
  private static PanguMasterGrpc.PanguMasterBlockingStub signedStub(ManagedChannel channel,
      AccessKeyCredentials credentials) {
    return PanguMasterGrpc.newBlockingStub(ClientInterceptors.intercept(channel,
        SigningClientInterceptor.forService(credentials,
            new PanguClientConfig.SigningCredentials(credentials, REGION).scope(),
            Clock.systemUTC())));
  }

  @Test
  void statusesAskedTogetherAreAuthorizedPathByPath() throws Exception {
    try (PanguClient client = client(bob)) {
      client.mkdirs("/tenants/acme/app/together");
    }
    ManagedChannel channel = NettyChannelBuilder.forAddress(master.host(), master.port())
        .usePlaintext().build();
    try {
      PanguMasterGrpc.PanguMasterBlockingStub asBob = signedStub(channel, bob);
      List<FileStatusResult> results = asBob.getFileStatuses(GetFileStatusesRequest.newBuilder()
          .addPaths("/tenants/acme/app/together").addPaths("/tenants/acme/secret")
          .addPaths("/tenants/acme/app/missing").build()).getResultsList();
      assertThat(results).hasSize(3);
      assertThat(results.get(0).getStatus().getDirectory()).isTrue();
      assertThat(results.get(1).getError().getCode()).isEqualTo("PERMISSION_DENIED");
      assertThat(results.get(1).getError().getMessage()).contains(
          "acs:ram::acme:user/bob is not allowed to perform pangu:Read on acs:pangu:" + REGION
              + ":acme:file/secret");
      assertThat(results.get(2).getError().getCode()).isEqualTo("NOT_FOUND");
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void aLeaseCannotBeUsedByAnotherUser() throws Exception {
    // Bob holds a lease on a file; alice names bob's client in a CloseFile of her own.
    try (PanguClient client = client(bob)) {
      PanguOutputStream out = client.create("/tenants/acme/app/leased.txt",
          CreateOptions.DEFAULTS);
      long fileId = client.getStatus("/tenants/acme/app/leased.txt").getInodeId();
      ManagedChannel channel = NettyChannelBuilder.forAddress(master.host(), master.port())
          .usePlaintext().build();
      try {
        PanguMasterGrpc.PanguMasterBlockingStub asAlice = signedStub(channel, alice);
        assertThatThrownBy(() -> asAlice.closeFile(CloseFileRequest.newBuilder()
            .setFileId(fileId).setClientName(client.clientName()).build()))
            .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION))
            .hasMessageContaining("acme/alice/" + client.clientName());
      } finally {
        channel.shutdownNow();
      }
      out.write(1);
      out.close();
      assertThat(client.getStatus("/tenants/acme/app/leased.txt").getLength()).isEqualTo(1);
    }
  }
}
