package org.apsara.fuxi.master.server;

import static org.apsara.fuxi.master.server.FuxiMasterServerTest.assertRefused;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Optional;
import org.apsara.fuxi.api.v1.AllocateRequest;
import org.apsara.fuxi.api.v1.DeleteQuotaGroupRequest;
import org.apsara.fuxi.api.v1.FuxiMasterGrpc;
import org.apsara.fuxi.api.v1.KillApplicationRequest;
import org.apsara.fuxi.api.v1.LaunchAppMaster;
import org.apsara.fuxi.api.v1.ListNodesRequest;
import org.apsara.fuxi.api.v1.ListQuotaGroupsRequest;
import org.apsara.fuxi.api.v1.NodeStatus;
import org.apsara.fuxi.api.v1.QuotaGroupStatus;
import org.apsara.fuxi.api.v1.Resources;
import org.apsara.fuxi.api.v1.Revoke;
import org.apsara.fuxi.api.v1.RevokeReason;
import org.apsara.fuxi.api.v1.SetQuotaGroupRequest;
import org.apsara.fuxi.api.FuxiTrailers;
import org.apsara.nuwa.client.NuwaClient;
import org.junit.jupiter.api.Test;

/** Changing and deleting quota groups on a running master, and across a failover. */
class QuotaGroupChangeTest extends MasterTestBase {

  static QuotaGroupStatus set(FuxiMasterGrpc.FuxiMasterBlockingStub c, String name,
      Resources min, Resources max) {
    return c.setQuotaGroup(SetQuotaGroupRequest.newBuilder().setName(name).setMin(min)
        .setMax(max).build());
  }

  static Optional<QuotaGroupStatus> listed(FuxiMasterGrpc.FuxiMasterBlockingStub c, String name) {
    return c.listQuotaGroups(ListQuotaGroupsRequest.getDefaultInstance()).getGroupsList().stream()
        .filter(g -> g.getName().equals(name)).findFirst();
  }

  /** What Nuwa holds for a group, as a new primary would load it. */
  Optional<QuotaGroupStatus> stored(String name) {
    try (NuwaClient client = nuwa.newClient()) {
      return client.kv().get(HardStateStore.QUOTA_GROUPS + name).first().map(kv -> {
        try {
          return QuotaGroupStatus.parseFrom(kv.value());
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
          throw new IllegalStateException(e);
        }
      });
    }
  }

  @Test
  void changedBoundsReachTheAmTheTuboAndNuwaAndAGroupIsDeletedOnceUnused() throws Exception {
    FuxiMasterServer master = startPrimary();
    FakeTubo tubo = tubo("m1", 4000, 4096, master);
    FuxiMasterGrpc.FuxiMasterBlockingStub c = client(master);
    await().atMost(WAIT).until(() -> tubo.last() != null);
    set(c, "etl", resources(0, 0), resources(3000, 4096));
    String appId = c.submitApplication(submit("r1").setQuotaGroup("etl").build())
        .getApplicationId();
    LaunchAppMaster launch = awaitLaunch(appId, "am-1", tubo);
    FakeAm am = am(master).hello(appId, token(launch), 1);
    await().atMost(WAIT).until(am::welcomed);
    am.changes(AllocateRequest.Changes.newBuilder()
        .addDefineRoles(FakeAm.role("worker", 500, 256, 10))
        .addRequests(FakeAm.request("worker", FakeAm.cluster(), 4)).build());
    await().atMost(WAIT).until(() -> tubo.granted(appId, "worker") == 4);

    // 500 (AM) + 4 x 500 above a new maximum of 1500: the two least urgent units (workers; the
    // AM's role is the most urgent) are revoked at once, to the AM and in the grant table.
    QuotaGroupStatus lowered = set(c, "etl", resources(0, 0), resources(1500, 4096));
    assertThat(lowered.getMax()).isEqualTo(resources(1500, 4096));
    assertThat(lowered.getUsed()).isEqualTo(resources(1500, 768));
    await().atMost(WAIT).until(() -> am.revocations().size() > 0
        && am.revocations().stream().mapToInt(Revoke::getCount).sum() == 2);
    assertThat(am.revocations()).allSatisfy(r -> {
      assertThat(r.getRole()).isEqualTo("worker");
      assertThat(r.getReason()).isEqualTo(RevokeReason.PREEMPTED_FOR_QUOTA);
    });
    await().atMost(WAIT).until(() -> tubo.granted(appId, "worker") == 2);
    assertThat(tubo.granted(appId, "fuxi.am")).isEqualTo(1);
    assertThat(stored("etl")).get().extracting(QuotaGroupStatus::getMax)
        .isEqualTo(resources(1500, 4096));

    // At its maximum the group waits; a raised maximum serves the waiting units at once.
    am.changes(AllocateRequest.Changes.newBuilder()
        .addRequests(FakeAm.request("worker", FakeAm.cluster(), 2)).build());
    await().atMost(WAIT).until(() -> c.getApplication(
            org.apsara.fuxi.api.v1.GetApplicationRequest.newBuilder().setApplicationId(appId)
                .build()).getPendingUnits() == 2);
    assertThat(am.grantedCount("worker")).isEqualTo(4);
    set(c, "etl", resources(500, 256), resources(2500, 4096));
    await().atMost(WAIT).until(() -> am.grantedCount("worker") == 6);
    await().atMost(WAIT).until(() -> tubo.granted(appId, "worker") == 4);
    assertThat(listed(c, "etl")).get().extracting(QuotaGroupStatus::getUsed)
        .isEqualTo(resources(2500, 1280));

    assertRefused(() -> c.deleteQuotaGroup(DeleteQuotaGroupRequest.newBuilder()
        .setName("default").build()), Status.Code.INVALID_ARGUMENT, "INVALID_ARGUMENT");
    assertRefused(() -> c.deleteQuotaGroup(DeleteQuotaGroupRequest.newBuilder()
        .setName("nope").build()), Status.Code.NOT_FOUND, "UNKNOWN_QUOTA_GROUP");
    assertRefused(() -> c.deleteQuotaGroup(DeleteQuotaGroupRequest.newBuilder()
        .setName("etl").build()), Status.Code.FAILED_PRECONDITION, "QUOTA_GROUP_IN_USE");
    assertThat(stored("etl")).isPresent();

    c.killApplication(KillApplicationRequest.newBuilder().setApplicationId(appId).build());
    c.deleteQuotaGroup(DeleteQuotaGroupRequest.newBuilder().setName("etl").build());
    assertThat(listed(c, "etl")).isEmpty();
    assertThat(stored("etl")).isEmpty();
    assertRefused(() -> c.submitApplication(submit("r2").setQuotaGroup("etl").build()),
        Status.Code.NOT_FOUND, "UNKNOWN_QUOTA_GROUP");
    // The name can be used again.
    assertThat(set(c, "etl", resources(0, 0), resources(1000, 1024)).getUsed())
        .isEqualTo(resources(0, 0));
  }

  @Test
  void aNewPrimaryLoadsChangedBoundsAndForgetsDeletedGroups() throws Exception {
    FuxiMasterServer first = startMaster("master-a");
    await().atMost(WAIT).until(first::isServing);
    FuxiMasterServer second = startMaster("master-b");
    FakeTubo tubo = tubo("m1", 4000, 4096, first, second);
    FuxiMasterGrpc.FuxiMasterBlockingStub toFirst = client(first);
    await().atMost(WAIT).until(() -> tubo.last() != null);
    set(toFirst, "etl", resources(1000, 512), resources(2000, 1024));
    set(toFirst, "etl", resources(500, 256), resources(1000, 1024));
    set(toFirst, "gone", resources(0, 0), resources(1000, 1024));
    toFirst.deleteQuotaGroup(DeleteQuotaGroupRequest.newBuilder().setName("gone").build());

    first.close();
    await().atMost(WAIT).until(second::isServing);
    FuxiMasterGrpc.FuxiMasterBlockingStub toSecond = client(second);
    assertThat(listed(toSecond, "etl")).get()
        .satisfies(g -> {
          assertThat(g.getMin()).isEqualTo(resources(500, 256));
          assertThat(g.getMax()).isEqualTo(resources(1000, 1024));
        });
    assertThat(listed(toSecond, "gone")).isEmpty();

    // The new primary's scheduler enforces the changed maximum: two 500-millicore units (the AM
    // and one worker) fill it, a third waits. (Once the Tubo reports to it: until then no group
    // with a positive minimum fits the cluster.)
    await().atMost(WAIT).until(() -> toSecond.listNodes(ListNodesRequest.getDefaultInstance())
        .getNodesList().stream().anyMatch(n -> n.getState() == NodeStatus.State.ALIVE));
    String appId = toSecond.submitApplication(submit("r1").setQuotaGroup("etl").build())
        .getApplicationId();
    LaunchAppMaster launch = awaitLaunch(appId, "am-1", tubo);
    FakeAm am = am(second).hello(appId, token(launch), 1);
    await().atMost(WAIT).until(am::welcomed);
    am.changes(AllocateRequest.Changes.newBuilder()
        .addDefineRoles(FakeAm.role("worker", 500, 256, 10))
        .addRequests(FakeAm.request("worker", FakeAm.cluster(), 2)).build());
    await().atMost(WAIT).until(() -> am.grantedCount("worker") == 1);
    assertThat(listed(toSecond, "etl")).get().extracting(QuotaGroupStatus::getUsed)
        .isEqualTo(resources(1000, 512));
  }

  /** Asserts {@code call} is refused as QUOTA_EXCEEDS_CLUSTER with exactly {@code message}. */
  static void assertExceedsCluster(Runnable call, String message) {
    assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(e.getTrailers().get(FuxiTrailers.ERROR_CODE)).isEqualTo("QUOTA_EXCEEDS_CLUSTER");
      assertThat(e.getStatus().getDescription()).isEqualTo(message);
    });
  }

  static Resources minOf(Optional<QuotaGroupStatus> group) {
    return group.orElseThrow().getMin();
  }

  @Test
  void theMinimumsOfAllGroupsTogetherMustFitTheLiveMachines() throws Exception {
    FuxiMasterServer master = startPrimary();
    tubo("m1", 2000, 2048, master);
    FakeTubo leaving = tubo("m2", 2000, 2048, master);
    FuxiMasterGrpc.FuxiMasterBlockingStub c = client(master);
    await().atMost(WAIT).until(() -> c.listNodes(ListNodesRequest.getDefaultInstance())
        .getNodesList().stream().filter(n -> n.getState() == NodeStatus.State.ALIVE).count()
        == 2);
    Resources roomy = resources(4000, 4096);
    set(c, "etl", resources(2000, 1024), roomy);
    set(c, "web", resources(1500, 1024), roomy);

    // Each minimum fits on its own; together they would promise 4500 of 4000 millicores.
    assertExceedsCluster(() -> set(c, "batch", resources(1000, 512), roomy),
        "quota group batch min {cpu: 1000m, memory: 512MiB} would bring the sum of all quota"
            + " groups' minimums to {cpu: 4500m, memory: 2560MiB}, above the live machines'"
            + " capacity {cpu: 4000m, memory: 4096MiB} in cpu (the other groups' minimums add up"
            + " to {cpu: 3500m, memory: 2048MiB})");
    assertThat(listed(c, "batch")).isEmpty();
    assertThat(stored("batch")).isEmpty();
    // A raise of an existing group is refused the same way and leaves its bounds as they were.
    assertExceedsCluster(() -> set(c, "web", resources(2500, 3072), roomy),
        "quota group web min {cpu: 2500m, memory: 3072MiB} would bring the sum of all quota"
            + " groups' minimums to {cpu: 4500m, memory: 4096MiB}, above the live machines'"
            + " capacity {cpu: 4000m, memory: 4096MiB} in cpu (the other groups' minimums add up"
            + " to {cpu: 2000m, memory: 1024MiB})");
    assertThat(minOf(listed(c, "web"))).isEqualTo(resources(1500, 1024));
    assertThat(minOf(stored("web"))).isEqualTo(resources(1500, 1024));

    // Up to the capacity exactly is allowed, and a group without a minimum adds nothing.
    assertThat(set(c, "web", resources(2000, 3072), roomy).getMin())
        .isEqualTo(resources(2000, 3072));
    assertThat(minOf(stored("web"))).isEqualTo(resources(2000, 3072));
    set(c, "batch", resources(0, 0), roomy);

    // A machine leaves: 4000m and 4096 MiB are promised, 2000m and 2048 MiB live. The groups
    // keep their minimums (guaranteed as far as the machines go)...
    leaving.stop();
    await().atMost(WAIT).until(() -> c.listNodes(ListNodesRequest.getDefaultInstance())
        .getNodesList().stream().anyMatch(n -> n.getState() == NodeStatus.State.DEAD));
    assertThat(minOf(listed(c, "etl"))).isEqualTo(resources(2000, 1024));
    assertThat(minOf(listed(c, "web"))).isEqualTo(resources(2000, 3072));
    // ...no minimum may grow where the sum is above the machines...
    assertExceedsCluster(() -> set(c, "batch", resources(1, 0), roomy),
        "quota group batch min {cpu: 1m, memory: 0MiB} would bring the sum of all quota"
            + " groups' minimums to {cpu: 4001m, memory: 4096MiB}, above the live machines'"
            + " capacity {cpu: 2000m, memory: 2048MiB} in cpu (the other groups' minimums add up"
            + " to {cpu: 4000m, memory: 4096MiB})");
    // ...but one may shrink (the way back), though the sum is still above them.
    assertThat(set(c, "web", resources(0, 1024), roomy).getMin()).isEqualTo(resources(0, 1024));
    assertThat(minOf(stored("web"))).isEqualTo(resources(0, 1024));
  }
}
