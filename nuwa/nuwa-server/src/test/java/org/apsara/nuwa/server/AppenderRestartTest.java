package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.ratis.grpc.server.GrpcServicesImpl;
import org.apache.ratis.proto.RaftProtos.AppendEntriesRequestProto;
import org.apache.ratis.util.CodeInjectionForTesting;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A leader whose log appender for one follower dies of an exception goes on feeding that
 * follower. Ratis 3.2.2 alone leaves it unfed until the next leader change (RATIS-2499); with
 * pre-vote on, that follower cannot even force an election, so it would stay behind for good.
 */
class AppenderRestartTest {
  private static final Duration CATCH_UP = Duration.ofSeconds(20);

  @TempDir Path dir;

  @AfterEach
  void removeInjection() {
    CodeInjectionForTesting.remove(GrpcServicesImpl.GRPC_SEND_SERVER_REQUEST);
  }

  @Test
  void aFollowerKeepsGettingEntriesAfterItsAppenderFails() throws Exception {
    try (NuwaTestCluster cluster = NuwaTestCluster.start(dir, 3)) {
      int leader = cluster.awaitLeader();
      int follower = (leader + 1) % 3;
      String leaderName = cluster.member(leader).raft().selfName();
      String followerName = cluster.member(follower).raft().selfName();
      ManagedChannel channel = NettyChannelBuilder.forTarget(cluster.endpoint(leader))
          .usePlaintext().build();
      try {
        KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(channel);
        put(kv, "before", "1");

        AtomicInteger failures = new AtomicInteger();
        CodeInjectionForTesting.put(GrpcServicesImpl.GRPC_SEND_SERVER_REQUEST,
            (localId, remoteId, args) -> {
              if (leaderName.equals(String.valueOf(localId)) && args.length > 0
                  && args[0] instanceof AppendEntriesRequestProto request
                  && request.getServerRequest().getReplyId().toStringUtf8().equals(followerName)
                  && failures.getAndIncrement() == 0) {
                throw new IllegalStateException("injected: appender to " + followerName);
              }
              return false;
            });
        // Heartbeats go out every few hundred milliseconds, so the failure comes soon.
        await().atMost(CATCH_UP).untilAsserted(() -> assertThat(failures).hasPositiveValue());

        for (int i = 0; i < 20; i++) {
          put(kv, "after/" + i, "v" + i);
        }
        long committed = cluster.member(leader).raft().commitIndex();
        await().atMost(CATCH_UP).untilAsserted(() ->
            assertThat(cluster.member(follower).raft().appliedIndex())
                .isGreaterThanOrEqualTo(committed));
        assertThat(cluster.member(leader).raft().isLeader()).isTrue();
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static void put(KVGrpc.KVBlockingStub kv, String key, String value) {
    kv.withDeadlineAfter(30, TimeUnit.SECONDS).put(PutRequest.newBuilder()
        .setKey(ByteString.copyFromUtf8(key)).setValue(ByteString.copyFromUtf8(value)).build());
  }
}
