package org.apsara.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.api.AuthEnableRequest;
import io.etcd.jetcd.api.AuthGrpc;
import io.etcd.jetcd.api.AuthRoleAddRequest;
import io.etcd.jetcd.api.AuthUserAddRequest;
import io.etcd.jetcd.api.AuthUserGrantRoleRequest;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.server.NuwaServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code apsara nuwa ... --user NAME:PASSWORD} against a Nuwa with etcd authentication on. */
class NuwaCommandAuthTest {
  @TempDir Path temp;

  private NuwaServer nuwa;

  @BeforeEach
  void startNuwaWithAuthentication() throws Exception {
    nuwa = OneMemberNuwa.start(temp.resolve("nuwa"), config -> config);
    ManagedChannel channel =
        NettyChannelBuilder.forTarget(nuwa.clientEndpoint()).usePlaintext().build();
    try {
      AuthGrpc.AuthBlockingStub auth = AuthGrpc.newBlockingStub(channel);
      auth.roleAdd(AuthRoleAddRequest.newBuilder().setName("root").build());
      auth.userAdd(AuthUserAddRequest.newBuilder().setName("root").setPassword("s3cret").build());
      auth.userGrantRole(
          AuthUserGrantRoleRequest.newBuilder().setUser("root").setRole("root").build());
      auth.authEnable(AuthEnableRequest.getDefaultInstance());
    } finally {
      channel.shutdownNow();
    }
  }

  @AfterEach
  void stop() {
    nuwa.close();
  }

  @Test
  void putWithTheRightUserWorksAndWithoutOneIsRefused() {
    StringWriter errors = new StringWriter();
    int refused = Apsara.commandLine().setErr(new PrintWriter(errors, true)).execute(
        "nuwa", "put", "greeting", "hello", "--endpoints", nuwa.clientEndpoint());
    assertThat(refused).isEqualTo(1);
    assertThat(errors.toString()).contains("etcdserver: user name is empty");

    int accepted = Apsara.commandLine().execute("nuwa", "put", "greeting", "hello",
        "--endpoints", nuwa.clientEndpoint(), "--user", "root:s3cret");
    assertThat(accepted).isZero();
    try (NuwaClient client = NuwaClient.builder().endpoints(nuwa.clientEndpoint())
        .user("root", "s3cret").build()) {
      assertThat(client.kv().get("greeting").kvs()).singleElement()
          .satisfies(kv -> assertThat(kv.value().toStringUtf8()).isEqualTo("hello"));
    }

    StringWriter usage = new StringWriter();
    int malformed = Apsara.commandLine().setErr(new PrintWriter(usage, true)).execute(
        "nuwa", "get", "greeting", "--endpoints", nuwa.clientEndpoint(), "--user", "root");
    assertThat(malformed).isEqualTo(2);
    assertThat(usage.toString()).contains("--user takes NAME:PASSWORD");
  }
}
