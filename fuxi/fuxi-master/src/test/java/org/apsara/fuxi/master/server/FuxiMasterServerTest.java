package org.apsara.fuxi.master.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.apsara.fuxi.api.AppMasterEnvironment;
import org.apsara.fuxi.api.FuxiTrailers;
import org.apsara.fuxi.api.v1.AllocateRequest;
import org.apsara.fuxi.api.v1.ApplicationStatus;
import org.apsara.fuxi.api.v1.ChangeError;
import org.apsara.fuxi.api.v1.FuxiMasterGrpc;
import org.apsara.fuxi.api.v1.GetApplicationRequest;
import org.apsara.fuxi.api.v1.Grant;
import org.apsara.fuxi.api.v1.KillApplicationRequest;
import org.apsara.fuxi.api.v1.LaunchAppMaster;
import org.apsara.fuxi.api.v1.ListNodesRequest;
import org.apsara.fuxi.api.v1.ListQuotaGroupsRequest;
import org.apsara.fuxi.api.v1.NodeStatus;
import org.apsara.fuxi.api.v1.QuotaGroupStatus;
import org.apsara.fuxi.api.v1.RevokeReason;
import org.apsara.fuxi.api.v1.SetQuotaGroupRequest;
import org.junit.jupiter.api.Test;

class FuxiMasterServerTest extends MasterTestBase {

  private ApplicationStatus status(FuxiMasterGrpc.FuxiMasterBlockingStub c, String appId) {
    return c.getApplication(GetApplicationRequest.newBuilder().setApplicationId(appId).build());
  }

  @Test
  void submitLaunchesTheAmThroughATuboHeartbeat() throws Exception {
    FuxiMasterServer master = startPrimary();
    FakeTubo tubo = tubo("m1", 4000, 4096, master);
    FuxiMasterGrpc.FuxiMasterBlockingStub c = client(master);
    await().atMost(WAIT).until(() -> tubo.last() != null);

    String appId = c.submitApplication(submit("r1").putAmEnvironment("MINE", "yes").build())
        .getApplicationId();
    LaunchAppMaster launch = awaitLaunch(appId, "am-1", tubo);

    assertThat(launch.getCommandList()).containsExactly("/bin/am");
    assertThat(launch.getEnvironmentMap()).containsEntry("MINE", "yes")
        .containsEntry(AppMasterEnvironment.APPLICATION_ID, appId)
        .containsEntry(AppMasterEnvironment.ATTEMPT, "1")
        .containsEntry(AppMasterEnvironment.MACHINE_ID, "m1")
        .containsEntry(AppMasterEnvironment.MASTERS, master.address().toString())
        .containsKey(AppMasterEnvironment.APPLICATION_TOKEN);
    assertThat(launch.getResources()).isEqualTo(resources(500, 256));
    await().atMost(WAIT).until(() -> tubo.granted(appId, "fuxi.am") == 1);
    ApplicationStatus s = status(c, appId);
    assertThat(s.getState()).isEqualTo(ApplicationStatus.State.RUNNING);
    assertThat(s.getAmMachineId()).isEqualTo("m1");
    assertThat(s.getAmAttempt()).isEqualTo(1);
    assertThat(s.getQuotaGroup()).isEqualTo("default");
    // A retried submit is the same application.
    assertThat(c.submitApplication(submit("r1").build()).getApplicationId()).isEqualTo(appId);
    QuotaGroupStatus batch = c.setQuotaGroup(SetQuotaGroupRequest.newBuilder().setName("batch")
        .setMin(resources(1000, 512)).setMax(resources(2000, 1024)).build());
    assertThat(batch.getUsed()).isEqualTo(resources(0, 0));
    String inBatch = c.submitApplication(submit("r2").setQuotaGroup("batch").build())
        .getApplicationId();
    awaitLaunch(inBatch, "am-1", tubo);
    assertThat(c.listQuotaGroups(ListQuotaGroupsRequest.getDefaultInstance()).getGroupsList())
        .filteredOn(g -> g.getName().equals("batch")).extracting(QuotaGroupStatus::getUsed)
        .containsExactly(resources(500, 256));
    assertThat(c.listQuotaGroups(ListQuotaGroupsRequest.getDefaultInstance()).getGroupsList())
        .extracting(QuotaGroupStatus::getName).containsExactly("default", "batch");
  }

  /** Starts an application and connects its AM; returns the AM stream, welcomed. */
  private FakeAm runningAm(FuxiMasterServer master, FuxiMasterGrpc.FuxiMasterBlockingStub c,
      String requestId, FakeTubo... tubos) {
    String appId = c.submitApplication(submit(requestId).build()).getApplicationId();
    LaunchAppMaster launch = awaitLaunch(appId, "am-1", tubos);
    FakeAm am = am(master).hello(appId, token(launch), 1);
    await().atMost(WAIT).until(am::welcomed);
    assertThat(am.syncRequired()).isFalse();
    return am;
  }

  private static String appOf(FakeTubo... tubos) {
    for (FakeTubo t : tubos) {
      if (!t.launches.isEmpty()) {
        return t.launches.get(t.launches.size() - 1).getApplicationId();
      }
    }
    throw new AssertionError("no launch");
  }

  @Test
  void grantsReachTheAmAndTheGrantTableAndReleaseTakesThemOut() throws Exception {
    FuxiMasterServer master = startPrimary();
    FakeTubo tubo = tubo("m1", 4000, 4096, master);
    FuxiMasterGrpc.FuxiMasterBlockingStub c = client(master);
    await().atMost(WAIT).until(() -> tubo.last() != null);
    FakeAm am = runningAm(master, c, "r1", tubo);
    String appId = appOf(tubo);
    assertThat(am.received.stream().anyMatch(r -> !r.getRenewedToken().isEmpty())).isTrue();

    am.changes(AllocateRequest.Changes.newBuilder()
        .addDefineRoles(FakeAm.role("worker", 1000, 512, 10))
        .addRequests(FakeAm.request("worker", FakeAm.cluster(), 2)).build());

    await().atMost(WAIT).until(() -> am.grantedCount("worker") == 2);
    Grant grant = am.grants().get(0);
    assertThat(grant.getMachineId()).isEqualTo("m1");
    assertThat(grant.getTuboAddress()).isEqualTo(tubo.address);
    await().atMost(WAIT).until(() -> tubo.granted(appId, "worker") == 2);
    ApplicationStatus s = status(c, appId);
    assertThat(s.getAllocated()).isEqualTo(resources(2 * 1000 + 500, 2 * 512 + 256));

    am.changes(AllocateRequest.Changes.newBuilder()
        .addReleases(FakeAm.release("worker", "m1", 1)).build());
    await().atMost(WAIT).until(() -> tubo.granted(appId, "worker") == 1);
    assertThat(am.errors()).isEmpty();
    assertThat(am.revocations()).isEmpty();
  }

  @Test
  void aSilentTuboIsDeclaredDeadAndItsUnitsAreRevokedMachineLost() throws Exception {
    FuxiMasterServer master = startPrimary();
    FakeTubo t1 = tubo("m1", 4000, 4096, master);
    FuxiMasterGrpc.FuxiMasterBlockingStub c = client(master);
    await().atMost(WAIT).until(() -> t1.last() != null);
    FakeAm am = runningAm(master, c, "r1", t1);
    FakeTubo t2 = tubo("m2", 4000, 4096, master);
    await().atMost(WAIT).until(() -> t2.last() != null);

    am.changes(AllocateRequest.Changes.newBuilder()
        .addDefineRoles(FakeAm.role("worker", 1000, 512, 10))
        .addRequests(FakeAm.request("worker", FakeAm.machine("m2"), 3)).build());
    await().atMost(WAIT).until(() -> am.grantedCount("worker") == 3);
    assertThat(am.grants()).allMatch(g -> g.getMachineId().equals("m2"));

    t2.stop();

    await().atMost(WAIT).until(() -> am.revocations().stream().anyMatch(r ->
        r.getMachineId().equals("m2") && r.getCount() == 3
            && r.getReason() == RevokeReason.MACHINE_LOST));
    assertThat(c.listNodes(ListNodesRequest.getDefaultInstance()).getNodesList())
        .filteredOn(n -> n.getMachineId().equals("m2"))
        .extracting(NodeStatus::getState).containsExactly(NodeStatus.State.DEAD);
  }

  @Test
  void anAmThatExitsIsRestartedWithTheNextAttempt() throws Exception {
    FuxiMasterServer master = startPrimary();
    FakeTubo tubo = tubo("m1", 4000, 4096, master);
    FuxiMasterGrpc.FuxiMasterBlockingStub c = client(master);
    await().atMost(WAIT).until(() -> tubo.last() != null);
    String appId = c.submitApplication(submit("r1").build()).getApplicationId();
    awaitLaunch(appId, "am-1", tubo);

    tubo.exit(appId, "am-1", 3);

    LaunchAppMaster second = awaitLaunch(appId, "am-2", tubo);
    assertThat(second.getEnvironmentMap()).containsEntry(AppMasterEnvironment.ATTEMPT, "2");
    ApplicationStatus s = status(c, appId);
    assertThat(s.getAmAttempt()).isEqualTo(2);
    assertThat(s.getState()).isEqualTo(ApplicationStatus.State.RUNNING);
    assertThat(s.getDiagnostics()).contains("exited with code 3");
    // The first attempt's token does not open a stream of the second attempt.
    FakeAm stale = am(master).hello(appId, token(second), 1);
    await().atMost(WAIT).until(() -> stale.closedWith != null);
    assertThat(stale.closedWith.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
  }

  @Test
  void anApplicationFailsAfterMaxAmAttempts() throws Exception {
    FuxiMasterServer master = startPrimary();
    FakeTubo tubo = tubo("m1", 4000, 4096, master);
    FuxiMasterGrpc.FuxiMasterBlockingStub c = client(master);
    await().atMost(WAIT).until(() -> tubo.last() != null);
    String appId = c.submitApplication(submit("r1").setMaxAmAttempts(2).build())
        .getApplicationId();
    awaitLaunch(appId, "am-1", tubo);
    tubo.exit(appId, "am-1", 1);
    awaitLaunch(appId, "am-2", tubo);

    tubo.exit(appId, "am-2", 1);

    await().atMost(WAIT).until(() ->
        status(c, appId).getState() == ApplicationStatus.State.FAILED);
    ApplicationStatus s = status(c, appId);
    assertThat(s.getDiagnostics()).contains("failed 2 times");
    assertThat(s.getFinishTimeMillis()).isPositive();
    await().atMost(WAIT).until(() -> tubo.granted(appId, "fuxi.am") == 0);
    assertThat(tubo.launches).extracting(LaunchAppMaster::getWorkerId)
        .containsExactly("am-1", "am-2");
  }

  @Test
  void finishEndsTheApplicationAsTheAmSays() throws Exception {
    FuxiMasterServer master = startPrimary();
    FakeTubo tubo = tubo("m1", 4000, 4096, master);
    FuxiMasterGrpc.FuxiMasterBlockingStub c = client(master);
    await().atMost(WAIT).until(() -> tubo.last() != null);
    FakeAm am = runningAm(master, c, "r1", tubo);
    String appId = appOf(tubo);

    am.send(AllocateRequest.newBuilder().setFinish(AllocateRequest.Finish.newBuilder()
        .setSucceeded(true).setDiagnostics("all done")).build());

    await().atMost(WAIT).until(() ->
        status(c, appId).getState() == ApplicationStatus.State.SUCCEEDED);
    assertThat(status(c, appId).getDiagnostics()).isEqualTo("all done");
    await().atMost(WAIT).until(() -> am.closedWith != null);
    await().atMost(WAIT).until(() -> tubo.killedApplications.contains(appId));
  }

  @Test
  void killStopsTheAmAndEveryWorker() throws Exception {
    FuxiMasterServer master = startPrimary();
    FakeTubo tubo = tubo("m1", 4000, 4096, master);
    FuxiMasterGrpc.FuxiMasterBlockingStub c = client(master);
    await().atMost(WAIT).until(() -> tubo.last() != null);
    FakeAm am = runningAm(master, c, "r1", tubo);
    String appId = appOf(tubo);
    am.changes(AllocateRequest.Changes.newBuilder()
        .addDefineRoles(FakeAm.role("worker", 1000, 512, 10))
        .addRequests(FakeAm.request("worker", FakeAm.cluster(), 1)).build());
    await().atMost(WAIT).until(() -> am.grantedCount("worker") == 1);
    tubo.startWorker(appId, "worker", "w-1");

    ApplicationStatus killed = c.killApplication(KillApplicationRequest.newBuilder()
        .setApplicationId(appId).setReason("test").build());

    assertThat(killed.getState()).isEqualTo(ApplicationStatus.State.KILLED);
    assertThat(killed.getDiagnostics()).contains("test");
    await().atMost(WAIT).until(() -> tubo.killedApplications.contains(appId));
    await().atMost(WAIT).until(() -> tubo.running().isEmpty());
    assertThat(tubo.granted(appId, "worker")).isZero();
    await().atMost(WAIT).until(() -> am.closedWith != null);
  }

  @Test
  void badInputIsRefusedWithCodes() throws Exception {
    FuxiMasterServer master = startPrimary();
    FakeTubo tubo = tubo("m1", 4000, 4096, master);
    FuxiMasterGrpc.FuxiMasterBlockingStub c = client(master);
    await().atMost(WAIT).until(() -> tubo.last() != null);

    assertRefused(() -> c.submitApplication(submit("a").setQuotaGroup("nope").build()),
        Status.Code.NOT_FOUND, "UNKNOWN_QUOTA_GROUP");
    assertRefused(() -> c.submitApplication(submit("b").setAmResources(resources(8000, 10))
        .build()), Status.Code.FAILED_PRECONDITION, "SHAPE_TOO_LARGE");
    assertRefused(() -> c.submitApplication(submit("c").clearAmCommand().build()),
        Status.Code.INVALID_ARGUMENT, "INVALID_ARGUMENT");
    assertRefused(() -> c.submitApplication(submit("d").setAmResources(resources(-1, 10))
        .build()), Status.Code.INVALID_ARGUMENT, "INVALID_ARGUMENT");
    assertRefused(() -> c.submitApplication(submit("").build()),
        Status.Code.INVALID_ARGUMENT, "INVALID_ARGUMENT");
    assertRefused(() -> c.getApplication(GetApplicationRequest.newBuilder()
        .setApplicationId("app-x").build()), Status.Code.NOT_FOUND, "UNKNOWN_APPLICATION");
    c.setQuotaGroup(SetQuotaGroupRequest.newBuilder().setName("small")
        .setMin(resources(0, 0)).setMax(resources(100, 1024)).build());
    assertRefused(() -> c.submitApplication(submit("e").setQuotaGroup("small")
        .setAmResources(resources(200, 64)).build()),
        Status.Code.FAILED_PRECONDITION, "SHAPE_TOO_LARGE");
    assertRefused(() -> c.setQuotaGroup(SetQuotaGroupRequest.newBuilder().setName("big")
        .setMin(resources(100_000, 10)).setMax(resources(100_000, 10)).build()),
        Status.Code.FAILED_PRECONDITION, "QUOTA_EXCEEDS_CLUSTER");
    assertRefused(() -> c.setQuotaGroup(SetQuotaGroupRequest.newBuilder().setName("upside")
        .setMin(resources(200, 10)).setMax(resources(100, 10)).build()),
        Status.Code.INVALID_ARGUMENT, "INVALID_ARGUMENT");
    // Nothing refused was stored: the refused request ids are still free.
    assertThat(c.submitApplication(submit("b").build()).getApplicationId()).isNotEmpty();

    FakeAm am = runningAm(master, c, "r1", tubo);
    am.changes(AllocateRequest.Changes.newBuilder()
        .addDefineRoles(FakeAm.role("fuxi.mine", 100, 100, 1))
        .addDefineRoles(FakeAm.role("worker", 100, 100, 1))
        .addRequests(FakeAm.request("worker", FakeAm.cluster(), -2))
        .addRequests(FakeAm.request("ghost", FakeAm.cluster(), 1))
        .addRequests(FakeAm.request("worker", FakeAm.cluster(), 1)).build());
    await().atMost(WAIT).until(() -> am.errors().size() == 3);
    assertThat(am.errors()).extracting(ChangeError::getChange, ChangeError::getRole,
            ChangeError::getCode)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("define_role", "fuxi.mine", "INVALID_ARGUMENT"),
            org.assertj.core.groups.Tuple.tuple("request", "worker", "INVALID_ARGUMENT"),
            org.assertj.core.groups.Tuple.tuple("request", "ghost", "UNKNOWN_ROLE"));
    // The rest of the message was applied.
    await().atMost(WAIT).until(() -> am.grantedCount("worker") == 1);

    String appId = appOf(tubo);
    FakeAm forged = am(master).hello(appId, "not-a-token", 1);
    await().atMost(WAIT).until(() -> forged.closedWith != null);
    assertThat(forged.closedWith.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(forged.closedWithCode).isEqualTo("BAD_APPLICATION_TOKEN");
  }

  static void assertRefused(Runnable call, Status.Code status, String code) {
    assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(status);
      assertThat(e.getTrailers().get(FuxiTrailers.ERROR_CODE)).isEqualTo(code);
    });
  }
}
