package org.apsara.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.api.AuthEnableRequest;
import io.etcd.jetcd.api.AuthGrpc;
import io.etcd.jetcd.api.AuthRoleAddRequest;
import io.etcd.jetcd.api.AuthUserAddRequest;
import io.etcd.jetcd.api.AuthUserGrantRoleRequest;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apsara.common.net.HostPort;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.server.NuwaConfig;
import org.apsara.nuwa.server.NuwaServer;
import org.apsara.tenant.server.TenantConfig;
import org.apsara.tenant.server.TenantServer;
import org.apsara.testkit.Ports;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tenant's user in Nuwa as a new user meets it: tenant, user, AccessKey saved as a profile, a
 * policy granting a key prefix, then {@code apsara nuwa --profile} writes there and is refused
 * elsewhere with a message that says why. All through the commands, against a real Nuwa with
 * authentication on and a real identity server keeping Nuwa's users in line.
 */
class NuwaProfileTest {
  private static final String ROOT_PASSWORD = "nuwa-root-password";
  /** Policies reach Nuwa through a reconciler, shortly after the identity call returns. */
  private static final Duration SYNC_TIMEOUT = Duration.ofSeconds(30);

  @TempDir static Path dir;

  private static NuwaServer nuwa;
  private static TenantServer identity;
  private static Path credentials;

  /** What one command did. */
  record Run(int exitCode, String out, String err) {}

  @BeforeAll
  static void start() throws Exception {
    nuwa = NuwaServer.start(NuwaConfig.builder()
        .memberId("n1")
        .peer("n1", HostPort.of("127.0.0.1", Ports.freePort()))
        .dataDir(dir.resolve("nuwa"))
        .clientPort(Ports.freePort())
        .electionTimeoutMin(Duration.ofMillis(300))
        .build());
    await().atMost(Duration.ofSeconds(30))
        .until(() -> nuwa.stateMachine().isLeaderReady() && nuwa.raft().isLeader());
    ManagedChannel channel =
        NettyChannelBuilder.forTarget(nuwa.clientEndpoint()).usePlaintext().build();
    try {
      AuthGrpc.AuthBlockingStub auth = AuthGrpc.newBlockingStub(channel);
      auth.roleAdd(AuthRoleAddRequest.newBuilder().setName("root").build());
      auth.userAdd(AuthUserAddRequest.newBuilder().setName("root")
          .setPassword(ROOT_PASSWORD).build());
      auth.userGrantRole(
          AuthUserGrantRoleRequest.newBuilder().setUser("root").setRole("root").build());
      auth.authEnable(AuthEnableRequest.getDefaultInstance());
    } finally {
      channel.shutdownNow();
    }
    Path passwordFile = dir.resolve("root.password");
    Files.writeString(passwordFile, ROOT_PASSWORD + "\n");
    credentials = dir.resolve("home/.apsara/credentials");
    identity = TenantServer.start(TenantConfig.builder()
        .nuwaEndpoints(List.of(nuwa.clientEndpoint()))
        .port(0)
        .masterKeyFile(dir.resolve("keys/master.key"))
        .bootstrapCredentialsFile(credentials)
        .nuwaLogin("root", passwordFile)
        .build());
  }

  @AfterAll
  static void stop() {
    if (identity != null) {
      identity.close();
    }
    if (nuwa != null) {
      nuwa.close();
    }
  }

  private static Run identityCommand(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--credentials", credentials.toString(),
        "--endpoint", identity.address().toString()));
    return run(all);
  }

  private static Run nuwaCommand(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--credentials", credentials.toString(),
        "--endpoints", nuwa.clientEndpoint()));
    return run(all);
  }

  private static Run run(List<String> args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exitCode = Apsara.commandLine()
        .setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true))
        .execute(args.toArray(String[]::new));
    return new Run(exitCode, out.toString(), err.toString());
  }

  private static void assertOk(Run run) {
    assertThat(run.exitCode()).as(run.err()).isZero();
  }

  @Test
  void aPolicyGrantsAliceAKeyPrefixAndNothingElse() throws Exception {
    assertOk(identityCommand("tenant", "create", "acme"));
    assertOk(identityCommand("user", "create", "alice", "--tenant", "acme"));
    assertOk(identityCommand("key", "create", "--user", "alice", "--tenant", "acme",
        "--save-profile", "alice"));
    Path document = dir.resolve("app-keys.json");
    Files.writeString(document, """
        {"Version": "1", "Statement": [
          {"Effect": "Allow", "Action": "nuwa:*", "Resource": "acs:nuwa:*:acme:key/app/*"}]}
        """);
    assertOk(identityCommand("policy", "create", "app-keys", "--tenant", "acme",
        "--document", document.toString()));
    assertOk(identityCommand("policy", "attach", "app-keys", "--tenant", "acme",
        "--user", "alice"));

    await().atMost(SYNC_TIMEOUT).until(() ->
        nuwaCommand("nuwa", "put", "/tenants/acme/app/x", "v", "--profile", "alice")
            .exitCode() == 0);
    assertOk(nuwaCommand("nuwa", "get", "/tenants/acme/app/", "--prefix", "--profile", "alice"));
    try (NuwaClient root = NuwaClient.builder().endpoints(nuwa.clientEndpoint())
        .user("root", ROOT_PASSWORD).build()) {
      assertThat(root.kv().get("/tenants/acme/app/x").kvs()).singleElement()
          .satisfies(kv -> assertThat(kv.value().toStringUtf8()).isEqualTo("v"));
    }

    Run elsewhere = nuwaCommand("nuwa", "put", "/tenants/acme/other", "v", "--profile", "alice");
    assertThat(elsewhere.exitCode()).isEqualTo(1);
    assertThat(elsewhere.err()).contains("etcdserver: permission denied: the AccessKey of profile"
        + " [alice] may not write /tenants/acme/other", "nuwa:Write on acs:nuwa:*:TENANT:key/PATH");
    Run otherTenant = nuwaCommand("nuwa", "get", "/tenants/other/", "--prefix",
        "--profile", "alice");
    assertThat(otherTenant.exitCode()).isEqualTo(1);
    assertThat(otherTenant.err())
        .contains("may not read the keys under /tenants/other/");
  }

  @Test
  void aProfileAndAUserAreNotGivenTogether() {
    Run both = nuwaCommand("nuwa", "get", "k", "--profile", "default", "--user", "root:x");
    assertThat(both.exitCode()).isEqualTo(2);
    assertThat(both.err()).contains("--user and --profile both say who is asking");

    Run missing = nuwaCommand("nuwa", "get", "k", "--profile", "nobody");
    assertThat(missing.exitCode()).isEqualTo(2);
    assertThat(missing.err()).contains("has no profile [nobody]");
  }
}
