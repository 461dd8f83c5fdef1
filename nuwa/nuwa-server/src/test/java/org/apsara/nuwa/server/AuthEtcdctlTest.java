package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.AuthGrpc;
import io.etcd.jetcd.api.AuthenticateRequest;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apsara.nuwa.server.auth.PasswordHasher;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * etcd's authentication with etcd's own etcdctl, unchanged, against a 3-member Nuwa group: the
 * steps an operator takes, in order, from enabling authentication to disabling it again.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AuthEtcdctlTest {
  private static final String ROOT = "--user=root:rootpw";
  private static final String ALICE = "--user=alice:alicepw";
  /** Alice once her password is changed. */
  private static final String ALICE_NEW = "--user=alice:alicepw2";
  @TempDir static Path dir;
  static NuwaTestCluster cluster;

  @BeforeAll
  static void startCluster() {
    assumeTrue(EtcdctlRunner.installed(), "etcdctl is not installed (Debian package etcd-client)");
    // The fewest PBKDF2 iterations: every etcdctl run authenticates once.
    cluster = NuwaTestCluster.start(dir.resolve("cluster"), 3,
        config -> config.passwordHashIterations(PasswordHasher.MIN_ITERATIONS));
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  @Order(1)
  void etcdctlEnablesAuthenticationAndThenCredentialsAreNeeded() throws Exception {
    assertThat(ok(0, "user", "add", "root:rootpw")).isEqualTo("User root created");
    // Without a root role, enabling fails with etcd's error; etcdctl then creates the role,
    // grants it to root and enables again.
    assertThat(ok(1, "auth", "enable")).isEqualTo("Authentication Enabled");
    assertThat(ok(2, ROOT, "role", "get", "root")).contains("<open ended>");

    assertThat(fails(0, "put", "foo", "bar")).contains("etcdserver: user name is empty");
    assertThat(fails(1, "get", "foo")).contains("etcdserver: user name is empty");
    assertThat(fails(2, "user", "list")).contains("etcdserver: user name is empty");
    String wrong = "etcdserver: authentication failed, invalid user ID or password";
    assertThat(fails(0, "--user=root:wrong", "get", "foo")).contains(wrong);
    assertThat(fails(0, "--user=nobody:rootpw", "get", "foo")).contains(wrong);

    assertThat(ok(0, ROOT, "put", "foo", "bar")).isEqualTo("OK");
    assertThat(ok(2, ROOT, "get", "foo", "--print-value-only")).isEqualTo("bar");
    assertThat(ok(1, ROOT, "user", "list")).isEqualTo("root");
  }

  @Test
  @Order(2)
  void aUserWithAPrefixRoleStaysUnderThatPrefix() throws Exception {
    assertThat(ok(0, ROOT, "role", "add", "t1")).isEqualTo("Role t1 created");
    assertThat(ok(1, ROOT, "role", "grant-permission", "t1", "readwrite", "/t1/", "--prefix"))
        .isEqualTo("Role t1 updated");
    assertThat(ok(2, ROOT, "user", "add", "alice:alicepw")).isEqualTo("User alice created");
    assertThat(ok(0, ROOT, "user", "grant-role", "alice", "t1"))
        .isEqualTo("Role t1 is granted to user alice");

    assertThat(ok(1, ALICE, "put", "/t1/a", "1")).isEqualTo("OK");
    assertThat(ok(2, ALICE, "get", "/t1/", "--prefix", "--print-value-only")).isEqualTo("1");
    String denied = "etcdserver: permission denied";
    assertThat(fails(0, ALICE, "put", "/t2/a", "1")).contains(denied);
    assertThat(fails(0, ALICE, "get", "/t2/a")).contains(denied);
    assertThat(fails(0, ALICE, "get", "/t1/", "--from-key")).contains(denied);
    assertThat(fails(0, ALICE, "del", "/t1/", "/t3")).contains(denied);

    // A transaction touching /t2/ only in its else branch is refused as a whole, though the
    // branch that would run stays inside /t1/: etcd checks both branches.
    String inside = "value(\"/t1/a\") = \"1\"\n\nput /t1/b yes\n\nput /t1/c no\n\n";
    String elseOutside = "value(\"/t1/a\") = \"1\"\n\nput /t1/b yes\n\nput /t2/c no\n\n";
    assertThat(withInput(1, elseOutside, ALICE, "txn")).contains(denied);
    assertThat(ok(2, ROOT, "get", "/t1/b")).isEmpty();
    assertThat(withInput(1, inside, ALICE, "txn")).startsWith("SUCCESS");
    assertThat(ok(2, ROOT, "get", "/t1/b", "--print-value-only")).isEqualTo("yes");

    // Users may read themselves and their roles; listing everyone is for root.
    assertThat(ok(0, ALICE, "user", "get", "alice")).contains("Roles: t1");
    assertThat(ok(0, ALICE, "role", "get", "t1")).contains("/t1/");
    assertThat(fails(0, ALICE, "user", "list")).contains(denied);
    assertThat(fails(0, ALICE, "user", "get", "root")).contains(denied);
    assertThat(fails(0, ALICE, "role", "add", "mine")).contains(denied);
  }

  @Test
  @Order(3)
  void watchingAForbiddenRangeIsRefused() throws Exception {
    Path refused = dir.resolve("watch-refused.out");
    Process forbidden = EtcdctlRunner.start(cluster.endpoint(1), refused,
        List.of(ALICE, "watch", "/t2/", "--prefix"));
    try {
      await().atMost(EtcdctlRunner.COMMAND_TIMEOUT).until(() -> !forbidden.isAlive());
      assertThat(forbidden.exitValue()).isNotZero();
      assertThat(Files.readString(refused)).contains("etcdserver: permission denied");
    } finally {
      forbidden.destroyForcibly().waitFor();
    }

    Path allowed = dir.resolve("watch-allowed.out");
    Process watch = EtcdctlRunner.start(cluster.endpoint(2), allowed,
        List.of(ALICE, "watch", "/t1/w", "--prefix"));
    try {
      // The watch may start after the put; put until it reports one.
      await().atMost(EtcdctlRunner.COMMAND_TIMEOUT).pollInterval(Duration.ofMillis(500))
          .untilAsserted(() -> {
            ok(0, ALICE, "put", "/t1/w1", "seen");
            assertThat(Files.readString(allowed)).contains("PUT\n/t1/w1\nseen");
          });
    } finally {
      watch.destroyForcibly().waitFor();
    }
  }

  @Test
  @Order(4)
  void locksWorkUnderThePrefixOnly() throws Exception {
    assertThat(ok(1, ALICE, "lock", "/t1/lock", "echo", "locked")).isEqualTo("locked");
    assertThat(fails(1, ALICE, "lock", "/t2/lock", "echo", "locked"))
        .contains("etcdserver: permission denied");
  }

  @Test
  @Order(5)
  void aTokenFromOneMemberWorksOnEveryOther() throws Exception {
    List<ManagedChannel> channels = new ArrayList<>();
    try {
      for (String endpoint : cluster.endpoints()) {
        channels.add(NettyChannelBuilder.forTarget(endpoint).usePlaintext().build());
      }
      String token = AuthGrpc.newBlockingStub(channels.get(0))
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .authenticate(AuthenticateRequest.newBuilder().setName("alice").setPassword("alicepw")
              .build())
          .getToken();
      Metadata headers = new Metadata();
      headers.put(Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER), token);
      for (int i = 0; i < channels.size(); i++) {
        KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(channels.get(i))
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
            .withDeadlineAfter(10, TimeUnit.SECONDS);
        kv.put(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8("/t1/member-" + i))
            .setValue(ByteString.copyFromUtf8("ok")).build());
        assertThat(kv.range(RangeRequest.newBuilder()
            .setKey(ByteString.copyFromUtf8("/t1/member-" + i)).build()).getCount()).isOne();
      }
    } finally {
      for (ManagedChannel channel : channels) {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  @Order(6)
  void changingAPasswordInvalidatesTheOldOne() throws Exception {
    assertThat(withInput(2, "alicepw2\n", ROOT, "user", "passwd", "alice", "--interactive=false"))
        .isEqualTo("Password updated");
    assertThat(fails(0, ALICE, "get", "/t1/a"))
        .contains("etcdserver: authentication failed, invalid user ID or password");
    assertThat(ok(1, ALICE_NEW, "get", "/t1/a", "--print-value-only"))
        .isEqualTo("1");
  }

  @Test
  @Order(7)
  void authenticationSurvivesRestartingEveryMember() throws Exception {
    cluster.close();
    for (int i = 0; i < cluster.size(); i++) {
      cluster.startMember(i);
    }
    cluster.awaitLeader();
    await().atMost(EtcdctlRunner.COMMAND_TIMEOUT).untilAsserted(() ->
        assertThat(ok(2, ROOT, "get", "foo", "--print-value-only")).isEqualTo("bar"));
    assertThat(fails(0, "get", "foo")).contains("etcdserver: user name is empty");
    assertThat(ok(1, ALICE_NEW, "get", "/t1/a", "--print-value-only"))
        .isEqualTo("1");
    assertThat(fails(1, ALICE_NEW, "get", "/t2/a"))
        .contains("etcdserver: permission denied");
  }

  @Test
  @Order(8)
  void disablingAuthenticationRestoresOpenAccess() throws Exception {
    assertThat(fails(0, ALICE_NEW, "auth", "disable"))
        .contains("etcdserver: permission denied");
    assertThat(ok(0, ROOT, "auth", "disable")).isEqualTo("Authentication Disabled");
    assertThat(ok(1, "put", "/t2/a", "open")).isEqualTo("OK");
    assertThat(ok(2, "get", "/t2/a", "--print-value-only")).isEqualTo("open");
    assertThat(ok(0, "user", "list")).isEqualTo("alice\nroot");
  }

  // ------------------------------------------------------------------ running etcdctl

  private static List<String> args(String... args) {
    return List.of(args);
  }

  private static String ok(int member, String... args) throws Exception {
    EtcdctlRunner.Result result = EtcdctlRunner.run(cluster.endpoint(member), null, args(args));
    assertThat(result.ok()).as("etcdctl %s failed: %s", List.of(args), result.all()).isTrue();
    return result.output();
  }

  private static String fails(int member, String... args) throws Exception {
    EtcdctlRunner.Result result = EtcdctlRunner.run(cluster.endpoint(member), null, args(args));
    assertThat(result.ok()).as("etcdctl %s should fail: %s", List.of(args), result.all())
        .isFalse();
    return result.errors();
  }

  /** Runs etcdctl with input on stdin and returns all it printed, whether it succeeded or not. */
  private static String withInput(int member, String input, String... args) throws Exception {
    return EtcdctlRunner.run(cluster.endpoint(member), input, args(args)).all().strip();
  }
}
