package org.apsara.cli.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.api.AuthEnableRequest;
import io.etcd.jetcd.api.AuthGrpc;
import io.etcd.jetcd.api.AuthRoleAddRequest;
import io.etcd.jetcd.api.AuthUserAddRequest;
import io.etcd.jetcd.api.AuthUserGrantRoleRequest;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apsara.cli.OneMemberNuwa;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.server.NuwaServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Turning on Nuwa's authentication once, surviving a start interrupted half-way. */
class NuwaRootLoginTest {
  @TempDir Path temp;

  private NuwaServer nuwa;
  private Path passwordFile;

  @BeforeEach
  void startNuwa() throws Exception {
    nuwa = OneMemberNuwa.start(temp.resolve("nuwa"), config -> config);
    passwordFile = temp.resolve("data/nuwa/root.password");
  }

  @AfterEach
  void stop() {
    nuwa.close();
  }

  @Test
  void enablesAuthenticationOnceAndThenOnlyReadsThePassword() throws Exception {
    String password = NuwaRootLogin.ensureEnabled(nuwa.clientEndpoint(), passwordFile);

    assertThat(password).hasSizeGreaterThanOrEqualTo(20);
    assertRootLogsInWith(password);
    assertThat(NuwaRootLogin.ensureEnabled(nuwa.clientEndpoint(), passwordFile))
        .isEqualTo(password);
  }

  @Test
  void aStartInterruptedAfterEnablingFinishesWithThePartialPassword() throws Exception {
    // What a crash between enabling authentication and renaming the file leaves behind.
    Files.createDirectories(passwordFile.getParent());
    Files.writeString(passwordFile.resolveSibling("root.password.partial"), "half-way\n");
    enableByHand("half-way");

    assertThat(NuwaRootLogin.ensureEnabled(nuwa.clientEndpoint(), passwordFile))
        .isEqualTo("half-way");
    assertThat(Files.readString(passwordFile).strip()).isEqualTo("half-way");
    assertRootLogsInWith("half-way");
  }

  @Test
  void aLostPasswordFileIsReportedNotPapered() throws Exception {
    enableByHand("forgotten");

    assertThatThrownBy(() -> NuwaRootLogin.ensureEnabled(nuwa.clientEndpoint(), passwordFile))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already has a root user")
        .hasMessageContaining(passwordFile.toString());
  }

  private void enableByHand(String password) {
    ManagedChannel channel =
        NettyChannelBuilder.forTarget(nuwa.clientEndpoint()).usePlaintext().build();
    try {
      AuthGrpc.AuthBlockingStub auth = AuthGrpc.newBlockingStub(channel);
      auth.roleAdd(AuthRoleAddRequest.newBuilder().setName("root").build());
      auth.userAdd(AuthUserAddRequest.newBuilder().setName("root").setPassword(password).build());
      auth.userGrantRole(
          AuthUserGrantRoleRequest.newBuilder().setUser("root").setRole("root").build());
      auth.authEnable(AuthEnableRequest.getDefaultInstance());
    } finally {
      channel.shutdownNow();
    }
  }

  private void assertRootLogsInWith(String password) {
    try (NuwaClient anonymous = NuwaClient.builder().endpoints(nuwa.clientEndpoint()).build()) {
      assertThatThrownBy(() -> anonymous.kv().put("k", "v"))
          .hasMessageContaining("user name is empty");
    }
    try (NuwaClient root = NuwaClient.builder().endpoints(nuwa.clientEndpoint())
        .user("root", password).build()) {
      root.kv().put("k", "v");
    }
  }
}
