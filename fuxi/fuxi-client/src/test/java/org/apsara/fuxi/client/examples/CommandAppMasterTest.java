package org.apsara.fuxi.client.examples;

import static org.apsara.fuxi.client.testing.GrpcTestServer.fuxiError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apsara.common.net.HostPort;
import org.apsara.fuxi.api.v1.AllocateRequest;
import org.apsara.fuxi.api.v1.Location;
import org.apsara.fuxi.api.v1.RevokeReason;
import org.apsara.fuxi.api.v1.StartWorkerRequest;
import org.apsara.fuxi.api.v1.WorkerClass;
import org.apsara.fuxi.client.Backoff;
import org.apsara.fuxi.client.am.AppMasterSettings;
import org.apsara.fuxi.client.testing.FakeFuxiMaster;
import org.apsara.fuxi.client.testing.FakeTubo;
import org.apsara.fuxi.client.testing.GrpcTestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * CommandAppMaster's decisions, driven by scripted grants, revocations and worker exits from a
 * fake master, with a fake Tubo recording the workers it is asked to start.
 */
class CommandAppMasterTest {
  private static final String APP = "app-cmd";
  private static final String ROLE = CommandAppMaster.ROLE;
  private final List<AutoCloseable> open = new ArrayList<>();
  private final FakeFuxiMaster master = new FakeFuxiMaster();
  private final FakeTubo tubo = new FakeTubo();
  private HostPort masterAddress;
  private String tuboAddress;
  private CommandAppMaster am;

  @AfterEach
  void closeAll() throws Exception {
    if (am != null) {
      am.shutdown();
    }
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private CompletableFuture<CommandAppMaster.Outcome> start(String... args) throws Exception {
    GrpcTestServer masterServer = new GrpcTestServer(master);
    open.add(masterServer);
    masterAddress = masterServer.address();
    GrpcTestServer tuboServer = new GrpcTestServer(tubo);
    open.add(tuboServer);
    tuboAddress = tuboServer.address().format();
    AppMasterSettings settings = AppMasterSettings.of(APP, 1, List.of(masterAddress), "tok")
        .withTimeouts(Duration.ofSeconds(20), Duration.ofSeconds(5),
            new Backoff(Duration.ofMillis(5), Duration.ofMillis(50)));
    am = new CommandAppMaster(CommandOptions.parse(args), settings);
    return am.start();
  }

  /** Units of the role asked for so far, summed over every request. */
  private int requested() {
    return master.changes().stream().flatMap(c -> c.getRequestsList().stream())
        .mapToInt(r -> r.getCount()).sum();
  }

  private int released(String machine) {
    return master.changes().stream().flatMap(c -> c.getReleasesList().stream())
        .filter(r -> r.getMachineId().equals(machine)).mapToInt(r -> r.getCount()).sum();
  }

  private StartWorkerRequest awaitStart(int n) {
    await().until(() -> tubo.starts.size() >= n);
    return tubo.starts.get(n - 1);
  }

  @Test
  void runsEveryInstanceAndSucceedsWhenAllExitZero() throws Exception {
    var outcome = start("--instances", "2", "--cpu", "250", "--memory", "128", "--priority", "7",
        "--", "/bin/echo", "hi");
    await().until(() -> requested() == 2);
    AllocateRequest.Changes defined = master.changes().get(0);
    assertThat(defined.getDefineRoles(0).getRole()).isEqualTo(ROLE);
    assertThat(defined.getDefineRoles(0).getShape().getCpuMillis()).isEqualTo(250);
    assertThat(defined.getDefineRoles(0).getShape().getMemoryMib()).isEqualTo(128);
    assertThat(defined.getDefineRoles(0).getPriority()).isEqualTo(7);
    assertThat(defined.getDefineRoles(0).getWorkerClass()).isEqualTo(WorkerClass.BATCH);
    assertThat(master.changes().get(1).getRequests(0).getLocation().getLevel())
        .isEqualTo(Location.Level.CLUSTER);

    master.grant(ROLE, "m1", tuboAddress, 2);
    StartWorkerRequest first = awaitStart(1);
    StartWorkerRequest second = awaitStart(2);
    assertThat(List.of(first, second)).allSatisfy(s -> {
      assertThat(s.getApplicationId()).isEqualTo(APP);
      assertThat(s.getApplicationToken()).isEqualTo("tok");
      assertThat(s.getRole()).isEqualTo(ROLE);
      assertThat(s.getCommandList()).containsExactly("/bin/echo", "hi");
    });
    assertThat(List.of(first, second))
        .extracting(s -> s.getEnvironmentOrThrow(CommandAppMaster.INSTANCE_ENV))
        .containsExactlyInAnyOrder("0", "1");

    master.exit(ROLE, first.getWorkerId(), "m1", 0);
    await().until(() -> released("m1") == 1);
    assertThat(master.finishes()).isEmpty();
    master.exit(ROLE, second.getWorkerId(), "m1", 0);

    CommandAppMaster.Outcome result = outcome.get(10, TimeUnit.SECONDS);
    assertThat(result.succeeded()).isTrue();
    assertThat(result.exitCode()).isZero();
    assertThat(released("m1")).isEqualTo(2);
    assertThat(master.finishes()).singleElement()
        .satisfies(f -> assertThat(f.getSucceeded()).isTrue());
    assertThat(requested()).isEqualTo(2);
  }

  @Test
  void restartsAFailedInstanceOnANewUnit() throws Exception {
    var outcome = start("--instances", "1", "--max-failures-per-instance", "3", "--", "job");
    await().until(() -> requested() == 1);
    master.grant(ROLE, "m1", tuboAddress, 1);
    StartWorkerRequest first = awaitStart(1);

    master.exit(ROLE, first.getWorkerId(), "m1", 3);

    await().until(() -> requested() == 2);
    assertThat(released("m1")).isEqualTo(1);
    // Workers started after a renewal carry the renewed token.
    master.lastStream().send(org.apsara.fuxi.api.v1.AllocateResponse.newBuilder()
        .setRenewedToken("tok-2").build());
    master.grant(ROLE, "m2", tuboAddress, 1);
    StartWorkerRequest second = awaitStart(2);
    assertThat(second.getApplicationToken()).isEqualTo("tok-2");
    assertThat(second.getWorkerId()).isNotEqualTo(first.getWorkerId());
    assertThat(second.getEnvironmentOrThrow(CommandAppMaster.INSTANCE_ENV)).isEqualTo("0");
    master.exit(ROLE, second.getWorkerId(), "m2", 0);

    assertThat(outcome.get(10, TimeUnit.SECONDS).succeeded()).isTrue();
    assertThat(released("m2")).isEqualTo(1);
  }

  @Test
  void refusesAMachineWhereInstancesKeepFailingAndGivesBackItsLateGrants() throws Exception {
    var outcome = start("--instances", "1", "--max-failures-per-instance", "5",
        "--max-failures-per-machine", "2", "--", "job");
    await().until(() -> requested() == 1);
    for (int run = 1; run <= 2; run++) {
      master.grant(ROLE, "bad", tuboAddress, 1);
      StartWorkerRequest started = awaitStart(run);
      master.exit(ROLE, started.getWorkerId(), "bad", 1);
      int asked = run + 1;
      await().until(() -> requested() == asked);
    }
    await().until(() -> master.changes().stream().anyMatch(c -> c.getRefusalsCount() > 0));
    assertThat(master.changes().stream().flatMap(c -> c.getRefusalsList().stream()).toList())
        .singleElement().satisfies(r -> {
          assertThat(r.getRole()).isEqualTo(ROLE);
          assertThat(r.getLocation().getLevel()).isEqualTo(Location.Level.MACHINE);
          assertThat(r.getLocation().getId()).isEqualTo("bad");
        });

    // A grant on the refused machine decided before the refusal arrived: given back, asked again.
    master.grant(ROLE, "bad", tuboAddress, 1);
    await().until(() -> released("bad") == 3 && requested() == 4);
    assertThat(tubo.starts).hasSize(2);

    master.grant(ROLE, "good", tuboAddress, 1);
    StartWorkerRequest third = awaitStart(3);
    master.exit(ROLE, third.getWorkerId(), "good", 0);
    assertThat(outcome.get(10, TimeUnit.SECONDS).succeeded()).isTrue();
  }

  @Test
  void failsWithDiagnosticsOnceAnInstanceFailedItsLimit() throws Exception {
    var outcome = start("--instances", "2", "--max-failures-per-instance", "2", "--", "job");
    await().until(() -> requested() == 2);
    master.grant(ROLE, "m1", tuboAddress, 2);
    awaitStart(2);
    StartWorkerRequest doomed = tubo.starts.stream()
        .filter(s -> s.getEnvironmentOrThrow(CommandAppMaster.INSTANCE_ENV).equals("1"))
        .findFirst().orElseThrow();
    master.exit(ROLE, doomed.getWorkerId(), "m1", 9);
    await().until(() -> requested() == 3);
    master.grant(ROLE, "m2", tuboAddress, 1);
    StartWorkerRequest retry = awaitStart(3);
    master.exit(ROLE, retry.getWorkerId(), "m2", 9);

    CommandAppMaster.Outcome result = outcome.get(10, TimeUnit.SECONDS);
    assertThat(result.succeeded()).isFalse();
    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(master.finishes()).singleElement().satisfies(f -> {
      assertThat(f.getSucceeded()).isFalse();
      assertThat(f.getDiagnostics()).contains("instance 1 failed 2 times")
          .contains("exited 9 on m2");
    });
  }

  @Test
  void aLaunchRefusedByTuboCountsAsAFailureAndReleasesTheUnit() throws Exception {
    tubo.startRefusal = r -> r.getWorkerId().endsWith("-r1")
        ? fuxiError(Status.Code.FAILED_PRECONDITION, "NOT_GRANTED", null) : null;
    var outcome = start("--instances", "1", "--", "job");
    await().until(() -> requested() == 1);
    master.grant(ROLE, "m1", tuboAddress, 1);

    await().until(() -> released("m1") == 1 && requested() == 2);
    master.grant(ROLE, "m1", tuboAddress, 1);
    StartWorkerRequest second = awaitStart(2);
    master.exit(ROLE, second.getWorkerId(), "m1", 0);

    assertThat(outcome.get(10, TimeUnit.SECONDS).succeeded()).isTrue();
  }

  @Test
  void aRevokedInstanceIsStoppedAndAskedForAgainWithoutReleasingOrCountingAFailure()
      throws Exception {
    var outcome = start("--instances", "1", "--max-failures-per-instance", "1", "--", "job");
    await().until(() -> requested() == 1);
    master.grant(ROLE, "m1", tuboAddress, 1);
    StartWorkerRequest first = awaitStart(1);

    master.revoke(ROLE, "m1", 1, RevokeReason.PREEMPTED_FOR_QUOTA);

    await().until(() -> requested() == 2);
    await().until(() -> tubo.stops.size() == 1);
    assertThat(tubo.stops.get(0).getWorkerId()).isEqualTo(first.getWorkerId());
    // Its kill is reported later; it neither fails the instance (limit 1) nor releases a unit.
    master.exit(ROLE, first.getWorkerId(), "m1", 137);
    master.grant(ROLE, "m2", tuboAddress, 1);
    StartWorkerRequest second = awaitStart(2);
    master.exit(ROLE, second.getWorkerId(), "m2", 0);

    assertThat(outcome.get(10, TimeUnit.SECONDS).succeeded()).isTrue();
    assertThat(released("m1")).isZero();
  }

  @Test
  void optionsAreCheckedWithTheUsage() {
    CommandOptions options = CommandOptions.parse("--instances", "4", "--class",
        "latency-sensitive", "--", "sh", "-c", "exit 0");
    assertThat(options.instances()).isEqualTo(4);
    assertThat(options.workerClass()).isEqualTo(WorkerClass.LATENCY_SENSITIVE);
    assertThat(options.command()).containsExactly("sh", "-c", "exit 0");
    assertThat(options.maxFailuresPerInstance())
        .isEqualTo(CommandOptions.DEFAULT_MAX_FAILURES_PER_INSTANCE);

    assertThatThrownBy(() -> CommandOptions.parse("--instances", "2"))
        .hasMessageContaining("a command is needed");
    assertThatThrownBy(() -> CommandOptions.parse("--instances", "0", "--", "x"))
        .hasMessageContaining("--instances");
    assertThatThrownBy(() -> CommandOptions.parse("--bogus", "1", "--", "x"))
        .hasMessageContaining("unknown option").hasMessageContaining("usage:");
    assertThatThrownBy(() -> CommandOptions.parse("--cpu", "lots", "--", "x"))
        .hasMessageContaining("--cpu needs a number");
  }
}
