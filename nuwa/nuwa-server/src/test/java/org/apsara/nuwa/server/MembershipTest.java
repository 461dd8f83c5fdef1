package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.api.ClusterGrpc;
import io.etcd.jetcd.api.MemberAddRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apsara.nuwa.client.ClusterClient;
import org.apsara.nuwa.client.GetOptions;
import org.apsara.nuwa.client.KeyRange;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.NuwaException;
import org.apsara.nuwa.server.grpc.ServerContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Changing a running group's membership: a member started with {@code join} is brought up to date
 * and added; a removed member leaves the group, which carries on without it; the changed
 * membership and every acknowledged write survive restarting all members.
 */
class MembershipTest {
  @TempDir Path dir;

  @Test
  void aJoiningMemberCatchesUpAndARemovedLeaderLeavesAndBothSurviveARestart() {
    try (NuwaTestCluster cluster = NuwaTestCluster.start(dir, 3)) {
      try (NuwaClient client = client(cluster.endpoints())) {
        // More writes than a snapshot's worth, so the new member gets a snapshot and log entries.
        for (int i = 0; i < 300; i++) {
          client.kv().put("k" + i, "v" + i);
        }
      }
      int joiner = cluster.startJoiningMember();
      try (NuwaClient client = client(List.of(cluster.endpoint(joiner)))) {
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
            assertThat(client.cluster().members()).extracting(ClusterClient.Member::name)
                .containsExactly("n1", "n2", "n3", "n4"));
        // Linearizable through the new member: it serves what was written before it joined.
        assertThat(value(client, "k299")).isEqualTo("v299");
        client.kv().put("after-join", "yes");
        // And applies the group's new entries itself (a serializable read answers locally).
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
            assertThat(serializableValue(client, "after-join")).contains("yes"));
      }

      int leader = cluster.awaitLeader();
      String removed = cluster.name(leader);
      List<String> remaining = new ArrayList<>();
      List<String> remainingEndpoints = new ArrayList<>();
      for (int i = 0; i < cluster.size(); i++) {
        if (i != leader) {
          remaining.add(cluster.name(i));
          remainingEndpoints.add(cluster.endpoint(i));
        }
      }
      try (NuwaClient client = client(remainingEndpoints)) {
        List<ClusterClient.Member> left =
            client.cluster().removeMember(ServerContext.memberId(removed));
        assertThat(left).extracting(ClusterClient.Member::name)
            .containsExactlyElementsOf(remaining);
        // The removed member still runs; the group elects among the others and carries on.
        for (int i = 0; i < 50; i++) {
          client.kv().put("after-remove-" + i, "v" + i);
        }
        assertThat(client.cluster().members()).extracting(ClusterClient.Member::name)
            .containsExactlyElementsOf(remaining);
      }
      await().atMost(Duration.ofSeconds(10))
          .until(() -> !cluster.member(leader).raft().isVoter());
      assertThat(cluster.member(joiner).raft().isVoter()).isTrue();

      cluster.close();
      for (int i = 0; i < cluster.size(); i++) {
        if (i != leader) {
          cluster.startMember(i);
        }
      }
      cluster.awaitLeader();
      try (NuwaClient client = client(remainingEndpoints)) {
        assertThat(client.cluster().members()).extracting(ClusterClient.Member::name)
            .containsExactlyElementsOf(remaining);
        for (int i = 0; i < 300; i++) {
          assertThat(value(client, "k" + i)).isEqualTo("v" + i);
        }
        assertThat(value(client, "after-join")).isEqualTo("yes");
        for (int i = 0; i < 50; i++) {
          assertThat(value(client, "after-remove-" + i)).isEqualTo("v" + i);
        }
      }
    }
  }

  @Test
  void aSingleMemberGrowsToTwoAndCannotRemoveItsOnlyMember() {
    try (NuwaTestCluster cluster = NuwaTestCluster.start(dir, 1);
        NuwaClient client = client(cluster.endpoints())) {
      client.kv().put("before", "1");
      assertThatThrownBy(() -> client.cluster().removeMember(ServerContext.memberId("n1")))
          .isInstanceOfSatisfying(NuwaException.class, e -> {
            assertThat(e.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
            assertThat(e).hasMessageContaining("only member");
          });

      int joiner = cluster.startJoiningMember();
      try (NuwaClient second = client(List.of(cluster.endpoint(joiner)))) {
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
            assertThat(second.cluster().members()).extracting(ClusterClient.Member::name)
                .containsExactly("n1", "n2"));
        assertThat(value(second, "before")).isEqualTo("1");
        second.kv().put("after", "2");
      }
      assertThat(value(client, "after")).isEqualTo("2");
    }
  }

  @Test
  void unknownMembersAddsAndUpdatesAreRefusedAndChangeNothing() {
    try (NuwaTestCluster cluster = NuwaTestCluster.start(dir, 3);
        NuwaClient client = client(cluster.endpoints())) {
      assertThatThrownBy(() -> client.cluster().removeMember(12345))
          .isInstanceOfSatisfying(NuwaException.class, e -> {
            assertThat(e.code()).isEqualTo(Status.Code.NOT_FOUND);
            assertThat(e).hasMessageContaining("etcdserver: member not found");
          });

      ManagedChannel channel =
          NettyChannelBuilder.forTarget(cluster.endpoint(0)).usePlaintext().build();
      try {
        assertThatThrownBy(() -> ClusterGrpc.newBlockingStub(channel).memberAdd(
            MemberAddRequest.newBuilder().addPeerURLs("http://127.0.0.1:1").build()))
            .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
              assertThat(e.getStatus().getDescription()).contains("--join");
            });
      } finally {
        channel.shutdownNow();
      }
      assertThat(client.cluster().members()).extracting(ClusterClient.Member::name)
          .containsExactly("n1", "n2", "n3");
    }
  }

  private static NuwaClient client(List<String> endpoints) {
    return NuwaClient.builder().endpoints(endpoints).requestTimeout(Duration.ofSeconds(10))
        .build();
  }

  private static String value(NuwaClient client, String key) {
    return client.kv().get(key).kvs().get(0).value().toStringUtf8();
  }

  private static java.util.Optional<String> serializableValue(NuwaClient client, String key) {
    return client.kv().get(KeyRange.key(key), GetOptions.builder().serializable(true).build())
        .kvs().stream().map(kv -> kv.value().toStringUtf8()).findFirst();
  }
}
