package org.apsara.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.RangeRequest;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import org.apsara.nuwa.server.NuwaConfig;
import org.apsara.nuwa.server.NuwaServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code apsara nuwa alarms} and {@code alarms disarm} on a member whose store reaches its quota:
 * what an operator sees and does, from the refused write to writing again.
 */
class NuwaAlarmsCommandTest {
  @TempDir Path temp;

  private NuwaServer nuwa;

  @BeforeEach
  void startNuwaWithASmallQuota() throws Exception {
    nuwa = OneMemberNuwa.start(temp.resolve("nuwa"), config -> config.quotaBytes(NuwaConfig.MIN_QUOTA_BYTES));
  }

  @AfterEach
  void stop() {
    nuwa.close();
  }

  private CliRun.Result nuwa(String... args) {
    String[] command = new String[args.length + 3];
    command[0] = "nuwa";
    System.arraycopy(args, 0, command, 1, args.length);
    command[args.length + 1] = "--endpoints";
    command[args.length + 2] = nuwa.clientEndpoint();
    return CliRun.apsara(command);
  }

  @Test
  void aFullStoreIsReportedAndClearedFromTheCommandLine() {
    assertThat(nuwa("alarms").out()).isEqualTo("No alarms.\n");

    String mebibyte = "x".repeat(1 << 20);
    CliRun.Result refused = null;
    for (int i = 0; i < 10 && refused == null; i++) {
      CliRun.Result put = nuwa("put", "big/" + i, mebibyte);
      if (put.exitCode() != 0) {
        refused = put;
      }
    }
    assertThat(refused).as("a put past the quota is refused").isNotNull();
    assertThat(refused.err()).contains("etcdserver: mvcc: database space exceeded");

    await().atMost(Duration.ofSeconds(10))
        .until(() -> nuwa("alarms").out().contains("NOSPACE"));
    assertThat(nuwa("alarms").out()).isEqualTo(String.format("%x, NOSPACE%n",
        org.apsara.nuwa.server.grpc.ServerContext.memberId("n1")));
    assertThat(nuwa("status").out()).contains("alarm:NOSPACE");

    // Make room, then clear the alarm: writes work again.
    assertThat(nuwa("del", "big/", "--prefix").exitCode()).isZero();
    ManagedChannel channel =
        NettyChannelBuilder.forTarget(nuwa.clientEndpoint()).usePlaintext().build();
    try {
      KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(channel);
      long revision = kv.range(RangeRequest.newBuilder().setKey(com.google.protobuf.ByteString
          .copyFromUtf8("any")).build()).getHeader().getRevision();
      kv.compact(CompactionRequest.newBuilder().setRevision(revision).build());
    } finally {
      channel.shutdownNow();
    }
    assertThat(nuwa("put", "small", "v").err()).contains("database space exceeded");
    CliRun.Result disarm = nuwa("alarms", "disarm");
    assertThat(disarm.exitCode()).isZero();
    assertThat(disarm.out()).startsWith("Cleared ").contains("NOSPACE");
    assertThat(nuwa("alarms", "disarm").out()).isEqualTo("No alarms to clear.\n");
    assertThat(nuwa("put", "small", "v").exitCode()).isZero();
    assertThat(nuwa("alarms").out()).isEqualTo("No alarms.\n");
  }
}
