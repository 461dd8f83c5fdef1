package org.apsara.fuxi.master.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.apsara.fuxi.api.FuxiTrailers;
import org.apsara.fuxi.api.v1.AllocateRequest;
import org.apsara.fuxi.api.v1.ApplicationStatus;
import org.apsara.fuxi.api.v1.FuxiMasterGrpc;
import org.apsara.fuxi.api.v1.GetApplicationRequest;
import org.apsara.fuxi.api.v1.LaunchAppMaster;
import org.apsara.fuxi.api.v1.ListNodesRequest;
import org.apsara.fuxi.api.v1.RoleStatus;
import org.junit.jupiter.api.Test;

class FailoverTest extends MasterTestBase {

  @Test
  void aStandbyTakesOverAndRebuildsGrantsFromTubosAndAmSyncs() throws Exception {
    FuxiMasterServer first = startMaster("master-a");
    await().atMost(WAIT).until(first::isServing);
    FuxiMasterServer second = startMaster("master-b");
    FuxiMasterGrpc.FuxiMasterBlockingStub toFirst = client(first);
    FuxiMasterGrpc.FuxiMasterBlockingStub toSecond = client(second);

    // The standby refuses and names the primary.
    await().atMost(WAIT).untilAsserted(() ->
        assertThatThrownBy(() -> toSecond.listNodes(ListNodesRequest.getDefaultInstance()))
            .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
              assertThat(e.getTrailers().get(FuxiTrailers.ERROR_CODE)).isEqualTo("NOT_PRIMARY");
              assertThat(e.getTrailers().get(FuxiTrailers.PRIMARY))
                  .isEqualTo(first.address().toString());
            }));

    FakeTubo tubo = tubo("host-1", 4000, 4096, first, second);
    await().atMost(WAIT).until(() -> tubo.last() != null);
    String appId = toFirst.submitApplication(submit("r1").build()).getApplicationId();
    LaunchAppMaster launch = awaitLaunch(appId, "am-1", tubo);
    FakeAm am = am(first).hello(appId, token(launch), 1);
    await().atMost(WAIT).until(am::welcomed);
    AllocateRequest.Changes define = AllocateRequest.Changes.newBuilder()
        .addDefineRoles(FakeAm.role("worker", 500, 256, 10))
        .addRequests(FakeAm.request("worker", FakeAm.cluster(), 3)).build();
    am.changes(define);
    await().atMost(WAIT).until(() -> am.grantedCount("worker") == 3);
    for (int i = 1; i <= 3; i++) {
      tubo.startWorker(appId, "worker", "w-" + i);
    }
    await().atMost(WAIT).until(() -> tubo.granted(appId, "worker") == 3);

    first.close();

    await().atMost(WAIT).until(second::isPrimary);
    // An AM that connects without sync is told to sync; with sync it is welcomed.
    FakeAm unsynced = am(second).hello(appId, token(launch), 1);
    await().atMost(WAIT).until(() -> unsynced.closedWith != null);
    assertThat(unsynced.syncRequired()).isTrue();
    FakeAm synced = am(second).helloWithSync(appId, token(launch), 1,
        AllocateRequest.Sync.newBuilder().addAllRoles(define.getDefineRolesList())
            .addHeld(AllocateRequest.Held.newBuilder().setRole("worker")
                .setMachineId("host-1").setCount(3)).build());
    await().atMost(WAIT).until(() -> tubo.responses.stream()
        .anyMatch(r -> r.getRebuilding()));
    await().atMost(WAIT).until(second::isServing);
    await().atMost(WAIT).until(synced::welcomed);
    assertThat(synced.syncRequired()).isFalse();

    // No grant duplicated, none lost; the workers and the AM kept running.
    await().atMost(WAIT).until(() -> !tubo.last().getRebuilding());
    assertThat(tubo.granted(appId, "worker")).isEqualTo(3);
    assertThat(tubo.granted(appId, "fuxi.am")).isEqualTo(1);
    assertThat(tubo.running()).hasSize(4);
    assertThat(synced.grants()).isEmpty();
    assertThat(synced.revocations()).isEmpty();
    ApplicationStatus s = toSecond.getApplication(
        GetApplicationRequest.newBuilder().setApplicationId(appId).build());
    assertThat(s.getAmAttempt()).isEqualTo(1);
    assertThat(s.getState()).isEqualTo(ApplicationStatus.State.RUNNING);
    assertThat(s.getRolesList()).filteredOn(r -> r.getRole().equals("worker"))
        .extracting(RoleStatus::getHeldUnits).containsExactly(3L);

    // The rebuilt scheduler knows what is used: 500 (AM) + 3 x 500 of 4000 leaves 4 units.
    synced.changes(AllocateRequest.Changes.newBuilder()
        .addRequests(FakeAm.request("worker", FakeAm.cluster(), 10)).build());
    await().atMost(WAIT).until(() -> synced.grantedCount("worker") == 4);
    await().atMost(WAIT).until(() -> tubo.granted(appId, "worker") == 7);
    assertThat(synced.grantedCount("worker")).isEqualTo(4);
  }
}
