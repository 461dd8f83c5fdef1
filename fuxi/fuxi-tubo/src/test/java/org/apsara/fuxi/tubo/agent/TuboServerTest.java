package org.apsara.fuxi.tubo.agent;

import static org.apsara.fuxi.tubo.agent.TuboFixture.WAIT;
import static org.apsara.fuxi.tubo.agent.TuboFixture.grant;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;
import org.apsara.fuxi.api.FuxiTrailers;
import org.apsara.fuxi.api.v1.LaunchAppMaster;
import org.apsara.fuxi.api.v1.ListWorkersRequest;
import org.apsara.fuxi.api.v1.RunningWorker;
import org.apsara.fuxi.api.v1.SequencedExit;
import org.apsara.fuxi.api.v1.StartWorkerRequest;
import org.apsara.fuxi.api.v1.StopWorkerRequest;
import org.apsara.fuxi.api.v1.TuboHeartbeatRequest;
import org.apsara.fuxi.api.v1.WorkerClass;
import org.apsara.fuxi.api.v1.WorkerExit;
import org.apsara.fuxi.tubo.cgroup.CgroupMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Tubo (real worker processes, unenforced) against a fake FuxiMaster that records its
 * heartbeats and scripts the answers.
 */
class TuboServerTest {
  @TempDir Path dir;

  private TuboFixture fixture;
  private FakeFuxiMaster master;

  @BeforeEach
  void setUp() throws IOException {
    fixture = new TuboFixture(dir);
    master = fixture.master;
  }

  @AfterEach
  void tearDown() throws IOException {
    fixture.close();
  }

  @Test
  void heartbeatsCarryTheRunningWorkersAndEachExitUntilAcknowledged() throws Exception {
    master.answer(a -> a.addGrants(grant("app-1", "mappers", 2)));
    TuboServer tubo = fixture.start();
    fixture.startSleeper("app-1", "mappers", "w1");
    fixture.startWorker("app-1", "mappers", "w2", "sh", "-c", "exit 3");

    TuboHeartbeatRequest beat = awaitHeartbeat(h -> h.getRunningCount() == 1
        && h.getExitsCount() == 1);
    assertThat(beat.getMachineId()).isEqualTo("m1");
    assertThat(beat.getRack()).isEqualTo("/r1");
    assertThat(beat.getAddress()).isEqualTo(tubo.advertisedAddress().format());
    assertThat(beat.getCapacity().getCpuMillis()).isEqualTo(8000);
    assertThat(beat.getCapacity().getMemoryMib()).isEqualTo(8192);
    assertThat(beat.getEnforcement())
        .isEqualTo(fixture.cgroupMode == CgroupMode.V1 ? "cgroup v1" : "unenforced");
    RunningWorker w1 = beat.getRunning(0);
    assertThat(w1.getApplicationId()).isEqualTo("app-1");
    assertThat(w1.getRole()).isEqualTo("mappers");
    assertThat(w1.getWorkerId()).isEqualTo("w1");
    assertThat(w1.getResources()).isEqualTo(TuboFixture.SHAPE);
    assertThat(w1.getWorkerClass()).isEqualTo(WorkerClass.BATCH);
    SequencedExit exit = beat.getExits(0);
    assertThat(exit.getExit().getWorkerId()).isEqualTo("w2");
    assertThat(exit.getExit().getRole()).isEqualTo("mappers");
    assertThat(exit.getExit().getMachineId()).isEqualTo("m1");
    assertThat(exit.getExit().getKind()).isEqualTo(WorkerExit.Kind.EXITED);
    assertThat(exit.getExit().getExitCode()).isEqualTo(3);

    // Not acknowledged: every heartbeat repeats it.
    int from = master.count();
    fixture.awaitHeartbeats(3);
    assertThat(master.since(from))
        .allSatisfy(h -> assertThat(h.getExitsList()).containsExactly(exit));

    master.answer(a -> a.setAcknowledgedExitSequence(exit.getSequence()));
    awaitHeartbeat(h -> h.getExitsCount() == 0);
    from = master.count();
    fixture.awaitHeartbeats(3);
    assertThat(master.since(from)).allSatisfy(h -> {
      assertThat(h.getExitsList()).isEmpty();
      assertThat(h.getRunningList()).extracting(RunningWorker::getWorkerId).containsExactly("w1");
    });
  }

  @Test
  void servesHealthReadinessAndMetrics() throws Exception {
    fixture.start(fixture.config(List.of(master.address())).metricsPort(0).build());
    fixture.awaitHeartbeats(1);
    HttpClient http = HttpClient.newHttpClient();
    String base = "http://127.0.0.1:" + fixture.tubo.metricsPort();
    assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
    await().atMost(WAIT).until(() -> http.send(
        HttpRequest.newBuilder(URI.create(base + "/ready")).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
    assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body())
        .contains("fuxi_tubo_running_workers").contains("fuxi_tubo_heartbeats_answered_total");
  }

  @Test
  void theGrantTableIsEnforcedNewestFirstButNeverWhileTheMasterRebuilds() throws Exception {
    master.answer(a -> a.addGrants(grant("app-1", "mappers", 3))
        .addGrants(grant("app-1", "reducers", 1)));
    fixture.start();
    fixture.startSleeper("app-1", "mappers", "w1");
    fixture.startSleeper("app-1", "mappers", "w2");
    fixture.startSleeper("app-1", "mappers", "w3");
    fixture.startSleeper("app-1", "reducers", "r1");

    // A new primary collecting soft state sends a partial table: nothing may be killed for it.
    master.answer(a -> a.clearGrants().addGrants(grant("app-1", "mappers", 1))
        .setRebuilding(true));
    fixture.awaitHeartbeats(5);
    assertThat(fixture.running()).containsExactly("w1", "w2", "w3", "r1");
    assertThat(master.exitsSeen()).isEmpty();

    // The same table, enforced: the two newest mappers go, and the reducer nobody grants.
    master.answer(a -> a.setRebuilding(false));
    await().atMost(WAIT).until(() -> fixture.running().equals(List.of("w1")));
    awaitHeartbeat(h -> h.getExitsCount() == 3);
    assertThat(master.last().getExitsList()).allSatisfy(e -> {
      assertThat(e.getExit().getKind()).isEqualTo(WorkerExit.Kind.KILLED_BY_REQUEST);
      assertThat(e.getExit().getDetail()).isEqualTo(TuboAgent.REVOKED);
    }).extracting(e -> e.getExit().getWorkerId()).containsExactlyInAnyOrder("w2", "w3", "r1");
  }

  @Test
  void aStartBeyondTheGrantIsRefusedOnlyAfterOneMoreHeartbeat() throws Exception {
    // A long interval: any heartbeat during the call is the one the refusal path sends.
    master.answer(a -> a.addGrants(grant("app-1", "mappers", 1))
        .setHeartbeatIntervalMillis(60_000));
    fixture.start();
    fixture.awaitHeartbeats(1);
    fixture.startSleeper("app-1", "mappers", "w1");

    int before = master.count();
    StatusRuntimeException refused = catchStatus(
        () -> fixture.startSleeper("app-1", "mappers", "w2"));
    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(errorCode(refused)).isEqualTo("NOT_GRANTED");
    assertThat(refused.getStatus().getDescription()).contains("holds 1 units of role mappers");
    assertThat(master.count()).as("heartbeated before refusing").isGreaterThan(before);

    StatusRuntimeException otherRole = catchStatus(
        () -> fixture.startSleeper("app-1", "reducers", "r1"));
    assertThat(errorCode(otherRole)).isEqualTo("NOT_GRANTED");
    StatusRuntimeException reserved = catchStatus(
        () -> fixture.startSleeper("app-1", TuboAgent.APP_MASTER_ROLE, "am-2"));
    assertThat(reserved.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(fixture.running()).containsExactly("w1");
  }

  @Test
  void aStartIsAcceptedWhenTheGrantReachesTuboOnlyThroughTheExtraHeartbeat() throws Exception {
    master.answer(a -> a.setHeartbeatIntervalMillis(60_000));
    fixture.start();
    fixture.awaitHeartbeats(1);
    // The master grants; the AM hears of it first. Tubo would not heartbeat for a minute.
    master.answer(a -> a.addGrants(grant("app-1", "mappers", 1)));
    int before = master.count();

    fixture.startSleeper("app-1", "mappers", "w1");

    assertThat(master.count()).isGreaterThan(before);
    assertThat(fixture.running()).containsExactly("w1");
  }

  @Test
  void badTokensAreRefused() throws Exception {
    master.answer(a -> a.addGrants(grant("app-1", "mappers", 5)));
    fixture.start();
    String otherApps = fixture.token("app-2");
    for (String token : List.of("", "not-a-token", fixture.expiredToken("app-1"), otherApps)) {
      StatusRuntimeException refused = catchStatus(() -> fixture.client.startWorker(
          StartWorkerRequest.newBuilder().setApplicationId("app-1").setApplicationToken(token)
              .setRole("mappers").setWorkerId("w1").addCommand("true").build()));
      assertThat(refused.getStatus().getCode()).as(token).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(errorCode(refused)).isEqualTo("BAD_APPLICATION_TOKEN");
    }
    StatusRuntimeException list = catchStatus(() -> fixture.client.listWorkers(
        ListWorkersRequest.newBuilder().setApplicationId("app-1").setApplicationToken(otherApps)
            .build()));
    assertThat(errorCode(list)).isEqualTo("BAD_APPLICATION_TOKEN");
    StatusRuntimeException stop = catchStatus(() -> fixture.client.stopWorker(
        StopWorkerRequest.newBuilder().setApplicationId("app-1").setApplicationToken(otherApps)
            .setWorkerId("w1").build()));
    assertThat(errorCode(stop)).isEqualTo("BAD_APPLICATION_TOKEN");
    assertThat(fixture.running()).isEmpty();
  }

  @Test
  void workersOfTwoApplicationsMayShareAnIdAndEachSeesOnlyItsOwn() throws Exception {
    master.answer(a -> a.addGrants(grant("app-1", "mappers", 2))
        .addGrants(grant("app-2", "mappers", 1)));
    fixture.start();
    String sandbox = fixture.startWorker("app-1", "mappers", "w1", "sh", "-c",
        "echo \"$TUBO_WORKER_ID $TUBO_APPLICATION_ID $GREETING\" > who; exec sleep 300")
        .getSandbox();
    fixture.startSleeper("app-2", "mappers", "w1");

    StatusRuntimeException again = catchStatus(() -> fixture.startSleeper("app-1", "mappers",
        "w1"));
    assertThat(again.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
    assertThat(errorCode(again)).isEqualTo("WORKER_EXISTS");
    await().atMost(WAIT).until(() -> Files.exists(Path.of(sandbox, "who")));
    await().atMost(WAIT).until(() -> Files.readString(Path.of(sandbox, "who")).endsWith("\n"));
    assertThat(Files.readString(Path.of(sandbox, "who")).strip()).isEqualTo("w1 app-1 hello");

    List<RunningWorker> listed = fixture.client.listWorkers(ListWorkersRequest.newBuilder()
        .setApplicationId("app-1").setApplicationToken(fixture.token("app-1")).build())
        .getRunningList();
    assertThat(listed).singleElement().satisfies(w -> {
      assertThat(w.getApplicationId()).isEqualTo("app-1");
      assertThat(w.getWorkerId()).isEqualTo("w1");
    });

    StopWorkerRequest stop = StopWorkerRequest.newBuilder().setApplicationId("app-1")
        .setApplicationToken(fixture.token("app-1")).setWorkerId("w1").setReason("done with it")
        .build();
    assertThat(fixture.client.stopWorker(stop).getStopped()).isTrue();
    awaitHeartbeat(h -> h.getExitsCount() == 1);
    WorkerExit exit = master.last().getExits(0).getExit();
    assertThat(exit.getApplicationId()).isEqualTo("app-1");
    assertThat(exit.getKind()).isEqualTo(WorkerExit.Kind.KILLED_BY_REQUEST);
    assertThat(exit.getDetail()).isEqualTo("done with it");
    assertThat(fixture.client.stopWorker(stop).getStopped()).isFalse();
    assertThat(fixture.tubo.runningWorkers()).singleElement()
        .satisfies(w -> assertThat(w.spec().applicationId()).isEqualTo("app-2"));
  }

  @Test
  void anApplicationMasterIsLaunchedOnceHoweverOftenTheMasterAsks() throws Exception {
    LaunchAppMaster launch = LaunchAppMaster.newBuilder()
        .setApplicationId("app-1")
        .setWorkerId("am-1")
        .addCommand("sh").addCommand("-c")
        .addCommand("echo \"$FUXI_APPLICATION_ID $TUBO_WORKER_ID\" > who;"
            + " while [ ! -f stop ]; do sleep 0.05; done")
        .putEnvironment("FUXI_APPLICATION_ID", "app-1")
        .setResources(TuboFixture.SHAPE)
        .setWorkerClass(WorkerClass.LATENCY_SENSITIVE)
        .build();
    // Repeated in every answer, as a master does until it sees the AM run.
    master.answer(a -> a.addGrants(grant("app-1", TuboAgent.APP_MASTER_ROLE, 1))
        .addLaunchAppMasters(launch));
    master.acknowledgeAll(true);
    fixture.start();

    TuboHeartbeatRequest running = awaitHeartbeat(h -> h.getRunningCount() == 1);
    assertThat(running.getRunning(0).getRole()).isEqualTo(TuboAgent.APP_MASTER_ROLE);
    assertThat(running.getRunning(0).getWorkerId()).isEqualTo("am-1");
    assertThat(running.getRunning(0).getWorkerClass()).isEqualTo(WorkerClass.LATENCY_SENSITIVE);
    fixture.awaitHeartbeats(3);
    assertThat(fixture.running()).containsExactly("am-1");
    Path sandbox = fixture.tubo.runningWorkers().get(0).sandbox();
    await().atMost(WAIT).until(() -> Files.exists(sandbox.resolve("who")));
    assertThat(Files.readString(sandbox.resolve("who")).strip()).isEqualTo("app-1 am-1");

    // The AM ends; the launch still in the answers must not start it again.
    Files.writeString(sandbox.resolve("stop"), "");
    // Acknowledged at once, so it may be in a single heartbeat: look at all of them.
    await().atMost(WAIT).until(() -> !master.exitsSeen().isEmpty());
    fixture.awaitHeartbeats(3);
    assertThat(fixture.running()).isEmpty();
    assertThat(master.exitsSeen()).extracting(e -> e.getExit().getWorkerId())
        .containsExactly("am-1");
    assertThat(master.exitsSeen().get(0).getExit().getKind()).isEqualTo(WorkerExit.Kind.EXITED);
  }

  @Test
  void killApplicationsStopsEveryWorkerOfThoseApplicationsOnly() throws Exception {
    master.answer(a -> a.addGrants(grant("app-1", "mappers", 2))
        .addGrants(grant("app-2", "mappers", 1)));
    fixture.start();
    fixture.startSleeper("app-1", "mappers", "w1");
    fixture.startSleeper("app-1", "mappers", "w2");
    fixture.startSleeper("app-2", "mappers", "w1");

    master.answer(a -> a.addKillApplications("app-1"));
    await().atMost(WAIT).until(() -> fixture.tubo.runningWorkers().size() == 1);
    assertThat(fixture.tubo.runningWorkers().get(0).spec().applicationId()).isEqualTo("app-2");
    awaitHeartbeat(h -> h.getExitsCount() == 2);
    assertThat(master.last().getExitsList()).allSatisfy(e -> {
      assertThat(e.getExit().getApplicationId()).isEqualTo("app-1");
      assertThat(e.getExit().getDetail()).isEqualTo(TuboAgent.APPLICATION_ENDED);
    });
  }

  @Test
  void aRestartedTuboAdoptsItsWorkersAndReportsThemWithTheirRoles() throws Exception {
    master.answer(a -> a.addGrants(grant("app-1", "mappers", 2)));
    TuboServer first = fixture.start();
    fixture.startSleeper("app-1", "mappers", "w1");
    fixture.startWorker("app-1", "mappers", "w2", "true");
    long exitBefore = awaitHeartbeat(h -> h.getExitsCount() == 1).getExits(0).getSequence();
    long pid = first.runningWorkers().get(0).pid();
    master.answer(a -> a.setAcknowledgedExitSequence(exitBefore));
    awaitHeartbeat(h -> h.getExitsCount() == 0);

    first.close();
    assertThat(ProcessHandle.of(pid)).as("the worker outlives its Tubo")
        .hasValueSatisfying(h -> assertThat(h.isAlive()).isTrue());

    int from = master.count();
    TuboServer second = fixture.start();
    assertThat(second.runningWorkers()).singleElement().satisfies(w -> {
      assertThat(w.pid()).isEqualTo(pid);
      assertThat(w.adopted()).isTrue();
      assertThat(w.spec().role()).isEqualTo("mappers");
    });
    await().atMost(WAIT).until(() -> master.since(from).stream()
        .anyMatch(h -> h.getRunningCount() == 1));
    RunningWorker reported = master.since(from).stream().filter(h -> h.getRunningCount() == 1)
        .findFirst().orElseThrow().getRunning(0);
    assertThat(reported.getWorkerId()).isEqualTo("w1");
    assertThat(reported.getRole()).isEqualTo("mappers");
    assertThat(fixture.client.listWorkers(ListWorkersRequest.newBuilder()
        .setApplicationId("app-1").setApplicationToken(fixture.token("app-1")).build())
        .getRunningList()).extracting(RunningWorker::getWorkerId).containsExactly("w1");

    // Exit numbers go on where the previous Tubo stopped: the master acknowledged up to
    // exitBefore and must not take a new exit for an old one.
    fixture.startWorker("app-1", "mappers", "w3", "true");
    TuboHeartbeatRequest withExit = awaitHeartbeat(h -> h.getExitsCount() == 1);
    assertThat(withExit.getExits(0).getSequence()).isGreaterThan(exitBefore);
  }

  @Test
  void heartbeatsFollowThePrimaryAndTryTheOtherMembersOtherwise() throws Exception {
    try (FakeFuxiMaster standby = new FakeFuxiMaster();
        FakeFuxiMaster primary = new FakeFuxiMaster()) {
      // Listed: the fixture's master and a standby; the primary is reachable only by redirect.
      master.standby(primary.address().format());
      standby.standby("");
      fixture.start(fixture.config(List.of(master.address(), standby.address())).build());
      await().atMost(WAIT).until(() -> primary.count() >= 3);

      // Failover: the primary steps down without knowing the new one; the next listed member
      // that answers takes the heartbeats.
      primary.standby("");
      master.standby(null);
      int before = master.count();
      await().atMost(WAIT).until(() -> master.count() >= before + 3);
      assertThat(master.last().getMachineId()).isEqualTo("m1");
    }
  }

  // ---------------------------------------------------------------------------------------------

  private TuboHeartbeatRequest awaitHeartbeat(Predicate<TuboHeartbeatRequest> condition) {
    int from = master.count();
    return await().atMost(WAIT).until(
        () -> master.since(from).stream().filter(condition).findFirst().orElse(null),
        found -> found != null);
  }

  private static StatusRuntimeException catchStatus(Runnable call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      return e;
    }
    throw new AssertionError("the call succeeded");
  }

  private static String errorCode(StatusRuntimeException e) {
    return e.getTrailers() == null ? null : e.getTrailers().get(FuxiTrailers.ERROR_CODE);
  }
}
