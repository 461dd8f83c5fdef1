package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stopping and restarting members keeps every acknowledged write. */
class DurabilityTest {
  @TempDir Path dir;

  @Test
  void everyAcknowledgedWriteSurvivesRestartingAllMembers() throws Exception {
    int keys = 300;
    try (NuwaTestCluster cluster = NuwaTestCluster.start(dir, 3)) {
      writeKeys(cluster.endpoint(0), 0, keys);
      cluster.close();
      for (int i = 0; i < 3; i++) {
        cluster.startMember(i);
      }
      cluster.awaitLeader();
      assertAllPresent(cluster.endpoint(2), keys);
    }
  }

  @Test
  void aRestartedFollowerCatchesUpOnWritesItMissed() throws Exception {
    try (NuwaTestCluster cluster = NuwaTestCluster.start(dir, 3)) {
      int leader = cluster.awaitLeader();
      int follower = (leader + 1) % 3;
      int other = (leader + 2) % 3;
      cluster.stopMember(follower);
      writeKeys(cluster.endpoint(other), 0, 100);
      cluster.startMember(follower);
      assertAllPresent(cluster.endpoint(follower), 100);
    }
  }

  @Test
  void aSingleMemberGroupRecoversItsData() throws Exception {
    try (NuwaTestCluster cluster = NuwaTestCluster.start(dir, 1)) {
      writeKeys(cluster.endpoint(0), 0, 50);
      cluster.stopMember(0);
      cluster.startMember(0);
      cluster.awaitLeader();
      assertAllPresent(cluster.endpoint(0), 50);
    }
  }

  static void writeKeys(String endpoint, int from, int to) throws InterruptedException {
    ManagedChannel channel = NettyChannelBuilder.forTarget(endpoint).usePlaintext().build();
    try {
      KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(channel);
      for (int i = from; i < to; i++) {
        kv.withDeadlineAfter(10, TimeUnit.SECONDS).put(PutRequest.newBuilder()
            .setKey(ByteString.copyFromUtf8(String.format("key-%05d", i)))
            .setValue(ByteString.copyFromUtf8("value-" + i)).build());
      }
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  static void assertAllPresent(String endpoint, int count) throws InterruptedException {
    ManagedChannel channel = NettyChannelBuilder.forTarget(endpoint).usePlaintext().build();
    try {
      RangeResponse all = KVGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
          .withWaitForReady()
          .range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("key-"))
              .setRangeEnd(ByteString.copyFromUtf8("key."))
              .build());
      assertThat(all.getCount()).isEqualTo(count);
      for (int i = 0; i < count; i++) {
        assertThat(all.getKvs(i).getKey().toStringUtf8()).isEqualTo(String.format("key-%05d", i));
        assertThat(all.getKvs(i).getValue().toStringUtf8()).isEqualTo("value-" + i);
      }
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
