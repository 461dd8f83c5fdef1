package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.AlarmMember;
import io.etcd.jetcd.api.AlarmRequest;
import io.etcd.jetcd.api.AlarmType;
import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.StatusRequest;
import io.etcd.jetcd.api.TxnRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apsara.nuwa.client.ClusterClient;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.server.grpc.ServerContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store's quota, as etcd's {@code --quota-backend-bytes} behaves: a write past it is refused
 * with "database space exceeded" and raises the NOSPACE alarm through the log; while the alarm is
 * raised every member refuses writes that add data, even once deletes and compaction have made
 * room, until an operator clears it; the alarm survives a restart of every member.
 */
class QuotaTest {
  private static final long QUOTA = NuwaConfig.MIN_QUOTA_BYTES;
  private static final ByteString MEBIBYTE = ByteString.copyFrom(new byte[1 << 20]);

  @TempDir Path dir;
  private NuwaTestCluster cluster;
  private final List<ManagedChannel> channels = new ArrayList<>();

  @AfterEach
  void stop() throws InterruptedException {
    for (ManagedChannel channel : channels) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  private KVGrpc.KVBlockingStub kv(int member) {
    return KVGrpc.newBlockingStub(channels.get(member)).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  private MaintenanceGrpc.MaintenanceBlockingStub maintenance(int member) {
    return MaintenanceGrpc.newBlockingStub(channels.get(member))
        .withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  private static ByteString bytes(String text) {
    return ByteString.copyFromUtf8(text);
  }

  private static PutRequest put(String key, ByteString value) {
    return PutRequest.newBuilder().setKey(bytes(key)).setValue(value).build();
  }

  private long revision(int member) {
    return kv(member).range(RangeRequest.newBuilder().setKey(bytes("any")).build()).getHeader()
        .getRevision();
  }

  private static void assertNoSpace(StatusRuntimeException refusal) {
    assertThat(refusal).as("refused for space").isNotNull();
    assertThat(refusal.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refusal.getStatus().getDescription())
        .isEqualTo("etcdserver: mvcc: database space exceeded");
  }

  private List<AlarmMember> alarms(int member) {
    return maintenance(member).alarm(AlarmRequest.newBuilder()
        .setAction(AlarmRequest.AlarmAction.GET).build()).getAlarmsList();
  }

  private static HttpResponse<String> health(NuwaServer member) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + member.metricsPort() + "/health")).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aWritePastTheQuotaRaisesNoSpaceWhichHoldsOnEveryMemberUntilCleared() throws Exception {
    cluster = NuwaTestCluster.start(dir, 3, config -> config.quotaBytes(QUOTA));
    for (String endpoint : cluster.endpoints()) {
      channels.add(NettyChannelBuilder.forTarget(endpoint).usePlaintext()
          .maxInboundMessageSize(16 << 20).build());
    }

    // Fill the store through the first member, one mebibyte at a time, until it refuses.
    List<String> written = new ArrayList<>();
    StatusRuntimeException refusal = null;
    while (refusal == null && written.size() < 10) {
      String key = "big/" + written.size();
      long before = revision(0);
      refusal = catchThrowableOfType(StatusRuntimeException.class,
          () -> kv(0).put(put(key, MEBIBYTE)));
      if (refusal == null) {
        written.add(key);
      } else {
        assertThat(revision(0)).as("revision after the refused put").isEqualTo(before);
        assertThat(kv(0).range(RangeRequest.newBuilder().setKey(bytes(key)).build()).getCount())
            .isZero();
      }
    }
    assertNoSpace(refusal);
    // Everything acknowledged is there; the quota let through what fitted (4 MiB of 1 MiB values).
    assertThat(written).hasSize(3);
    for (String key : written) {
      assertThat(kv(2).range(RangeRequest.newBuilder().setKey(bytes(key)).build()).getKvs(0)
          .getValue()).isEqualTo(MEBIBYTE);
    }

    // The alarm went through the log: every member lists it, reports it and is unhealthy.
    AlarmMember noSpace = AlarmMember.newBuilder()
        .setMemberID(ServerContext.memberId(cluster.name(0))).setAlarm(AlarmType.NOSPACE).build();
    for (int member = 0; member < 3; member++) {
      int m = member;
      await().atMost(Duration.ofSeconds(10)).until(() -> alarms(m).equals(List.of(noSpace)));
      assertThat(maintenance(member).status(StatusRequest.getDefaultInstance()).getErrorsList())
          .contains("memberID:" + noSpace.getMemberID() + " alarm:NOSPACE");
      HttpResponse<String> health = health(cluster.member(member));
      assertThat(health.statusCode()).isEqualTo(503);
      assertThat(health.body()).contains("NOSPACE");
    }

    // Make room: deletes and compaction are not refused.
    kv(1).deleteRange(DeleteRangeRequest.newBuilder().setKey(bytes("big/"))
        .setRangeEnd(bytes("big0")).build());
    kv(1).compact(CompactionRequest.newBuilder().setRevision(revision(1)).build());
    for (int member = 0; member < 3; member++) {
      NuwaServer server = cluster.member(member);
      // Each member applies the compaction in its own time.
      await().atMost(Duration.ofSeconds(10))
          .until(() -> server.stateMachine().store().approximateBytes() < QUOTA / 2);
    }

    // Now that the store is far under the quota, a small write passes each member's own check,
    // yet every member still refuses it while the alarm is raised; a lease too.
    for (int member = 0; member < 3; member++) {
      int m = member;
      long before = revision(member);
      assertNoSpace(catchThrowableOfType(StatusRuntimeException.class,
          () -> kv(m).put(put("small", bytes("v")))));
      assertNoSpace(catchThrowableOfType(StatusRuntimeException.class,
          () -> kv(m).txn(TxnRequest.newBuilder().addFailure(RequestOp.newBuilder()
              .setRequestPut(put("small", bytes("v")))).build())));
      assertNoSpace(catchThrowableOfType(StatusRuntimeException.class,
          () -> LeaseGrpc.newBlockingStub(channels.get(m)).withDeadlineAfter(30, TimeUnit.SECONDS)
              .leaseGrant(LeaseGrantRequest.newBuilder().setTTL(60).build())));
      assertThat(revision(member)).isEqualTo(before);
    }

    // The alarm survives a restart of every member.
    for (int member = 0; member < 3; member++) {
      cluster.stopMember(member);
    }
    for (int member = 0; member < 3; member++) {
      cluster.startMember(member);
    }
    cluster.awaitLeader();
    // Listed from each member's own state, which it rebuilds from its log as it starts.
    await().atMost(Duration.ofSeconds(10)).until(() -> alarms(2).equals(List.of(noSpace)));
    assertNoSpace(catchThrowableOfType(StatusRuntimeException.class,
        () -> kv(2).put(put("small", bytes("v")))));

    // Cleared by an operator: writes apply again, and every member is healthy.
    try (NuwaClient client = NuwaClient.builder().endpoints(cluster.endpoints())
        .requestTimeout(Duration.ofSeconds(10)).build()) {
      ClusterClient.Alarm expected = new ClusterClient.Alarm(noSpace.getMemberID(), "NOSPACE");
      assertThat(client.cluster().alarms()).containsExactly(expected);
      assertThat(client.cluster().disarmAlarms()).containsExactly(expected);
    }
    for (int member = 0; member < 3; member++) {
      int m = member;
      await().atMost(Duration.ofSeconds(10)).until(() -> alarms(m).isEmpty());
      await().atMost(Duration.ofSeconds(10))
          .until(() -> health(cluster.member(m)).statusCode() == 200);
    }
    kv(0).put(put("small", bytes("v")));
    assertThat(kv(2).range(RangeRequest.newBuilder().setKey(bytes("small")).build()).getCount())
        .isEqualTo(1);
  }

  @Test
  void onlyNoSpaceMayBeRaisedOrCleared() {
    cluster = NuwaTestCluster.start(dir, 1, config -> config.quotaBytes(QUOTA));
    channels.add(NettyChannelBuilder.forTarget(cluster.endpoint(0)).usePlaintext().build());
    // NONE, and CORRUPT (2), which etcd keeps and Nuwa does not.
    for (int type : List.of(AlarmType.NONE_VALUE, 2)) {
      StatusRuntimeException refusal = catchThrowableOfType(StatusRuntimeException.class,
          () -> maintenance(0).alarm(AlarmRequest.newBuilder()
              .setAction(AlarmRequest.AlarmAction.ACTIVATE).setMemberID(1).setAlarmValue(type)
              .build()));
      assertThat(refusal.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(refusal.getStatus().getDescription()).contains("NOSPACE");
    }
    assertThat(alarms(0)).isEmpty();
  }
}
