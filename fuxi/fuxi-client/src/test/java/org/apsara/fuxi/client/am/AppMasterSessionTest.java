package org.apsara.fuxi.client.am;

import static org.apsara.fuxi.client.testing.GrpcTestServer.fuxiError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apsara.common.net.HostPort;
import org.apsara.fuxi.api.AppMasterEnvironment;
import org.apsara.fuxi.api.v1.AllocateRequest;
import org.apsara.fuxi.api.v1.AllocateResponse;
import org.apsara.fuxi.api.v1.ChangeError;
import org.apsara.fuxi.api.v1.Grant;
import org.apsara.fuxi.api.v1.Location;
import org.apsara.fuxi.api.v1.Resources;
import org.apsara.fuxi.api.v1.Revoke;
import org.apsara.fuxi.api.v1.RevokeReason;
import org.apsara.fuxi.api.v1.RoleDefinition;
import org.apsara.fuxi.api.v1.WorkerClass;
import org.apsara.fuxi.api.v1.WorkerExit;
import org.apsara.fuxi.client.Backoff;
import org.apsara.fuxi.client.FuxiErrorCode;
import org.apsara.fuxi.client.FuxiException;
import org.apsara.fuxi.client.testing.FakeFuxiMaster;
import org.apsara.fuxi.client.testing.GrpcTestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * AppMasterSession against fake masters: only changes on the wire, a sync after sync_required,
 * reconnection after the stream ends or the primary moves, the view following grants and
 * revocations, token renewal, finish, and a session lost for good.
 */
class AppMasterSessionTest {
  private static final String APP = "app-1";
  private static final Location CLUSTER =
      Location.newBuilder().setLevel(Location.Level.CLUSTER).build();
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private HostPort serve(FakeFuxiMaster master) throws Exception {
    GrpcTestServer server = new GrpcTestServer(master);
    open.add(server);
    return server.address();
  }

  /** Records every callback, in order, as text. */
  static final class Recorder implements AppMasterListener {
    final List<String> events = new CopyOnWriteArrayList<>();
    final List<String> threads = new CopyOnWriteArrayList<>();

    private void record(String event) {
      events.add(event);
      threads.add(Thread.currentThread().getName());
    }

    @Override
    public void onGranted(Grant g) {
      record("grant " + g.getRole() + " " + g.getMachineId() + " " + g.getCount());
    }

    @Override
    public void onRevoked(Revoke r) {
      record("revoke " + r.getRole() + " " + r.getMachineId() + " " + r.getCount() + " "
          + r.getReason());
    }

    @Override
    public void onWorkerExit(WorkerExit exit) {
      record("exit " + exit.getWorkerId());
    }

    @Override
    public void onChangeError(ChangeError error) {
      record("error " + error.getChange() + " " + error.getRole() + " " + error.getCode());
    }

    @Override
    public void onReconnected(boolean synced) {
      record("reconnected synced=" + synced);
    }

    @Override
    public void onTokenRenewed(String token) {
      record("token " + token);
    }

    @Override
    public void onSessionLost(FuxiException cause) {
      record("lost " + cause.status() + " " + cause.code());
    }
  }

  private AppMasterSession connect(Recorder recorder, HostPort... masters) throws Exception {
    AppMasterSettings settings = AppMasterSettings.of(APP, 1, List.of(masters), "token-1")
        .withTimeouts(Duration.ofSeconds(20), Duration.ofSeconds(5),
            new Backoff(Duration.ofMillis(5), Duration.ofMillis(50)));
    AppMasterSession session = AppMasterSession.connect(settings, recorder);
    open.add(session);
    return session;
  }

  private static RoleDefinition role(String name) {
    return RoleDefinition.newBuilder().setRole(name)
        .setShape(Resources.newBuilder().setCpuMillis(500).setMemoryMib(256))
        .setPriority(10).setWorkerClass(WorkerClass.BATCH).build();
  }

  private static Location machine(String id) {
    return Location.newBuilder().setLevel(Location.Level.MACHINE).setId(id).build();
  }

  @Test
  void sendsHelloThenOneMessagePerChangeAndNeverASync() throws Exception {
    FakeFuxiMaster master = new FakeFuxiMaster();
    AppMasterSession session = connect(new Recorder(), serve(master));

    session.defineRole(role("w"));
    session.request("w", CLUSTER, 3);
    session.request("w", machine("m2"), 1);
    master.grant("w", "m1", "127.0.0.1:1", 2);
    await().until(() -> session.view().heldTotal("w") == 2);
    session.release("w", "m1", 1);
    session.withdraw("w", machine("m2"), 1);
    session.refuse("w", machine("m3"));

    await().until(() -> master.changes().size() == 6);
    FakeFuxiMaster.Stream stream = master.lastStream();
    assertThat(master.streams).hasSize(1);
    AllocateRequest.Hello hello = stream.hello();
    assertThat(hello.getApplicationId()).isEqualTo(APP);
    assertThat(hello.getApplicationToken()).isEqualTo("token-1");
    assertThat(hello.getAttempt()).isEqualTo(1);
    assertThat(hello.hasSync()).isFalse();
    List<AllocateRequest.Changes> changes = master.changes();
    assertThat(changes.get(0).getDefineRolesList()).containsExactly(role("w"));
    assertThat(changes.get(1).getRequests(0).getCount()).isEqualTo(3);
    assertThat(changes.get(2).getRequests(0).getLocation()).isEqualTo(machine("m2"));
    assertThat(changes.get(3).getReleases(0).getMachineId()).isEqualTo("m1");
    assertThat(changes.get(4).getWithdrawals(0).getCount()).isEqualTo(1);
    assertThat(changes.get(5).getRefusals(0).getLocation()).isEqualTo(machine("m3"));
    // Each change traveled alone.
    assertThat(changes).allSatisfy(c -> assertThat(c.getDefineRolesCount() + c.getRequestsCount()
        + c.getWithdrawalsCount() + c.getReleasesCount() + c.getRefusalsCount()).isEqualTo(1));

    AllocationView view = session.view();
    assertThat(view.held("w", "m1")).isEqualTo(1);
    // 4 asked, 2 granted (the cluster request served them), 1 withdrawn at m2.
    assertThat(view.pendingTotal("w")).isEqualTo(1);
    assertThat(view.pending().get("w")).containsEntry(CLUSTER, 1);
  }

  @Test
  void deliversDecisionsInOrderOnOneThreadAfterApplyingThemToTheView() throws Exception {
    FakeFuxiMaster master = new FakeFuxiMaster();
    Recorder recorder = new Recorder();
    AppMasterSession session = connect(recorder, serve(master));
    session.defineRole(role("w"));
    session.request("w", CLUSTER, 4);

    master.grant("w", "m1", "127.0.0.1:1", 3);
    master.grant("w", "m2", "127.0.0.1:2", 1);
    master.revoke("w", "m1", 2, RevokeReason.PREEMPTED_FOR_PRIORITY);
    master.exit("w", "w-1", "m1", 137);
    master.lastStream().send(AllocateResponse.newBuilder().setRenewedToken("token-2").build());

    await().until(() -> recorder.events.size() == 5);
    assertThat(recorder.events).containsExactly(
        "grant w m1 3", "grant w m2 1", "revoke w m1 2 PREEMPTED_FOR_PRIORITY", "exit w-1",
        "token token-2");
    assertThat(recorder.threads).containsOnly(recorder.threads.get(0));
    assertThat(session.token()).isEqualTo("token-2");
    AllocationView view = session.view();
    assertThat(view.held("w", "m1")).isEqualTo(1);
    assertThat(view.held("w", "m2")).isEqualTo(1);
    assertThat(view.pendingTotal("w")).isZero();
  }

  @Test
  void refusedChangesAreTakenOutOfTheView() throws Exception {
    FakeFuxiMaster master = new FakeFuxiMaster();
    Recorder recorder = new Recorder();
    AppMasterSession session = connect(recorder, serve(master));
    session.defineRole(role("w"));
    session.defineRole(role("huge"));
    session.request("w", CLUSTER, 2);
    session.request("w", machine("m9"), 5);
    await().until(() -> master.changes().size() == 4);
    assertThat(session.view().pendingTotal("w")).isEqualTo(7);

    master.lastStream().send(AllocateResponse.newBuilder().setDecisions(
        AllocateResponse.Decisions.newBuilder()
            .addErrors(error("define_role", "huge", "SHAPE_TOO_LARGE"))
            .addErrors(error("request", "w", "UNKNOWN_MACHINE"))).build());

    await().until(() -> recorder.events.contains("error request w UNKNOWN_MACHINE"));
    assertThat(recorder.events).containsExactly("error define_role huge SHAPE_TOO_LARGE",
        "error request w UNKNOWN_MACHINE");
    AllocationView view = session.view();
    assertThat(view.roles()).containsOnlyKeys("w");
    // The refusal names no amount: the oldest request of the role sent is the one undone.
    assertThat(view.pendingTotal("w")).isEqualTo(5);
    // A role the master already has stays defined.
    session.defineRole(role("again"));
    master.lastStream().send(AllocateResponse.newBuilder().setDecisions(
        AllocateResponse.Decisions.newBuilder()
            .addErrors(error("define_role", "again", "ROLE_EXISTS"))).build());
    await().until(() -> recorder.events.size() == 3);
    assertThat(session.view().roles()).containsKey("again");
  }

  private static ChangeError error(String change, String role, String code) {
    return ChangeError.newBuilder().setChange(change).setRole(role).setCode(code)
        .setMessage("fake").build();
  }

  @Test
  void syncsWhenANewPrimaryAsksAndSendsRefusalsAgainAfterTheSync() throws Exception {
    FakeFuxiMaster newPrimary = new FakeFuxiMaster();
    newPrimary.requireSync = true;
    HostPort newAddress = serve(newPrimary);
    FakeFuxiMaster oldPrimary = new FakeFuxiMaster();
    Recorder recorder = new Recorder();
    AppMasterSession session = connect(recorder, serve(oldPrimary), newAddress);
    session.defineRole(role("w"));
    session.request("w", CLUSTER, 3);
    session.refuse("w", machine("bad"));
    oldPrimary.grant("w", "m1", "127.0.0.1:1", 1);
    await().until(() -> session.view().heldTotal("w") == 1);
    await().until(() -> oldPrimary.changes().size() == 3);

    // The old primary steps down and names its successor, which has never heard of this AM.
    oldPrimary.lastStream().end(fuxiError(Status.Code.UNAVAILABLE, "NOT_PRIMARY", newAddress));

    await().until(() -> recorder.events.contains("reconnected synced=true"));
    assertThat(newPrimary.streams).hasSize(2);
    assertThat(newPrimary.streams.get(0).hello().hasSync()).isFalse();
    AllocateRequest.Hello synced = newPrimary.streams.get(1).hello();
    assertThat(synced.getSync().getRolesList()).containsExactly(role("w"));
    assertThat(synced.getSync().getHeldList()).containsExactly(AllocateRequest.Held.newBuilder()
        .setRole("w").setMachineId("m1").setCount(1).build());
    assertThat(synced.getSync().getPendingList()).singleElement().satisfies(p -> {
      assertThat(p.getLocation()).isEqualTo(CLUSTER);
      assertThat(p.getCount()).isEqualTo(2);
    });
    await().until(() -> newPrimary.changes().size() == 1);
    assertThat(newPrimary.changes().get(0).getRefusals(0).getLocation())
        .isEqualTo(machine("bad"));

    // Afterwards, only changes again, to the new primary.
    session.release("w", "m1", 1);
    await().until(() -> newPrimary.changes().size() == 2);
    assertThat(newPrimary.changes().get(1).getReleasesCount()).isEqualTo(1);
    assertThat(oldPrimary.changes()).hasSize(3);
  }

  @Test
  void reconnectsAfterTheServerEndsTheStreamAndSendsChangesMadeMeanwhile() throws Exception {
    FakeFuxiMaster master = new FakeFuxiMaster();
    Recorder recorder = new Recorder();
    AppMasterSession session = connect(recorder, serve(master));
    session.defineRole(role("w"));
    await().until(() -> master.changes().size() == 1);
    master.lastStream().send(AllocateResponse.newBuilder().setRenewedToken("token-2").build());
    await().until(() -> session.token().equals("token-2"));

    // The server refuses the next Hellos for a while (a rebuilding primary), then ends the stream.
    master.refuseHello = fuxiError(Status.Code.UNAVAILABLE, "REBUILDING", null);
    master.lastStream().end(null);
    await().until(() -> master.streams.size() >= 2);
    session.request("w", CLUSTER, 2);
    master.refuseHello = null;

    await().until(() -> recorder.events.contains("reconnected synced=false"));
    FakeFuxiMaster.Stream latest = master.lastStream();
    assertThat(latest.hello().getApplicationToken()).isEqualTo("token-2");
    assertThat(latest.hello().hasSync()).isFalse();
    await().until(() -> latest.received.stream().anyMatch(AllocateRequest::hasChanges));
    assertThat(latest.received.get(1).getChanges().getRequests(0).getCount()).isEqualTo(2);
    // The request went out once, on the welcomed stream.
    assertThat(master.changes()).filteredOn(c -> c.getRequestsCount() > 0).hasSize(1);
  }

  @Test
  void finishWaitsForTheMasterToEndTheStream() throws Exception {
    FakeFuxiMaster master = new FakeFuxiMaster();
    AppMasterSession session = connect(new Recorder(), serve(master));

    assertThat(session.finish(false, "instance 3 failed", Duration.ofSeconds(10))).isTrue();

    assertThat(master.finishes()).singleElement().satisfies(f -> {
      assertThat(f.getSucceeded()).isFalse();
      assertThat(f.getDiagnostics()).isEqualTo("instance 3 failed");
    });
    assertThatThrownBy(() -> session.request("w", CLUSTER, 1))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void aNewerAttemptEndsTheSessionForGood() throws Exception {
    FakeFuxiMaster master = new FakeFuxiMaster();
    Recorder recorder = new Recorder();
    AppMasterSession session = connect(recorder, serve(master));
    session.defineRole(role("w"));

    master.lastStream().end(Status.FAILED_PRECONDITION.withDescription("attempt 2 took over")
        .asRuntimeException());

    await().until(() -> recorder.events.contains("lost FAILED_PRECONDITION UNCLASSIFIED"));
    assertThat(master.streams).hasSize(1);
    assertThatThrownBy(() -> session.request("w", CLUSTER, 1))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("attempt 2 took over");
  }

  @Test
  void connectFailsWithTheMastersRefusal() throws Exception {
    FakeFuxiMaster master = new FakeFuxiMaster();
    master.refuseHello = fuxiError(Status.Code.PERMISSION_DENIED, "BAD_APPLICATION_TOKEN", null);
    HostPort address = serve(master);

    assertThatThrownBy(() -> connect(new Recorder(), address))
        .isInstanceOfSatisfying(FuxiException.class,
            e -> assertThat(e.code()).isEqualTo(FuxiErrorCode.BAD_APPLICATION_TOKEN));
  }

  @Test
  void refusesReservedAndUndefinedRolesLocally() throws Exception {
    FakeFuxiMaster master = new FakeFuxiMaster();
    AppMasterSession session = connect(new Recorder(), serve(master));

    assertThatThrownBy(() -> session.defineRole(role("fuxi.am")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> session.request("nope", CLUSTER, 1))
        .isInstanceOf(IllegalArgumentException.class);
    session.defineRole(role("w"));
    assertThatThrownBy(() -> session.release("w", "m1", 1))
        .isInstanceOf(IllegalArgumentException.class);
    await().until(() -> master.changes().size() == 1);
    assertThat(master.changes().get(0).getDefineRolesCount()).isEqualTo(1);
  }

  @Test
  void settingsComeFromTheEnvironmentTheMasterSets() {
    AppMasterSettings settings = AppMasterSettings.fromEnvironment(Map.of(
        AppMasterEnvironment.APPLICATION_ID, "app-5",
        AppMasterEnvironment.ATTEMPT, "2",
        AppMasterEnvironment.MASTERS, "10.0.0.1:7080, 10.0.0.2:7080",
        AppMasterEnvironment.APPLICATION_TOKEN, "tok",
        AppMasterEnvironment.MACHINE_ID, "m7"));

    assertThat(settings.applicationId()).isEqualTo("app-5");
    assertThat(settings.attempt()).isEqualTo(2);
    assertThat(settings.masters()).containsExactly(HostPort.of("10.0.0.1", 7080),
        HostPort.of("10.0.0.2", 7080));
    assertThat(settings.applicationToken()).isEqualTo("tok");
    assertThat(settings.machineId()).isEqualTo("m7");
    assertThatThrownBy(() -> AppMasterSettings.fromEnvironment(Map.of(
        AppMasterEnvironment.APPLICATION_ID, "app-5")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(AppMasterEnvironment.ATTEMPT);
  }
}
