package org.apsara.fuxi.master.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import org.apsara.common.time.ManualClock;
import org.apsara.fuxi.api.FuxiTrailers;
import org.apsara.fuxi.api.v1.ApplicationStatus;
import org.apsara.fuxi.api.v1.Resources;
import org.apsara.fuxi.api.v1.SubmitApplicationRequest;
import org.apsara.fuxi.api.v1.TuboHeartbeatRequest;
import org.apsara.nuwa.client.KeyValue;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.recipes.LeaderElection;
import org.apsara.nuwa.client.recipes.Session;
import org.apsara.testkit.TestClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The primary's purge of finished applications, on its core against the shared Nuwa. Both clocks
 * are the test's and the timer never fires (a one-hour tick): each purge runs when the test calls
 * it, so every expectation is exact. A "restart" is a new core loading the same Nuwa state.
 */
class FinishedApplicationPurgeTest {
  private static final Instant START = Instant.parse("2030-01-01T00:00:00Z");
  private static final FuxiMasterCore.Tokens TOKENS = new FuxiMasterCore.Tokens() {
    @Override
    public String issue(String applicationId) {
      return "token-of-" + applicationId;
    }

    @Override
    public boolean verify(String token, String applicationId) {
      return false;
    }
  };

  @TempDir Path dir;
  private final ManualClock clock = new ManualClock();
  private final TestClock wall = new TestClock(START);
  private final List<FuxiMasterCore> cores = new ArrayList<>();
  private NuwaClient nuwa;
  private Session session;
  private ByteString electionKey;
  private long electionRevision;

  @BeforeEach
  void elect() throws Exception {
    nuwa = NuwaFixture.shared().newClient();
    nuwa.kv().deletePrefix(HardStateStore.ROOT);
    session = Session.open(nuwa);
    new LeaderElection(session, HardStateStore.ELECTION).campaign("test:1");
    KeyValue key = nuwa.kv().getPrefix(HardStateStore.ELECTION).kvs().get(0);
    electionKey = key.key();
    electionRevision = key.createRevision();
  }

  @AfterEach
  void tearDown() {
    cores.forEach(FuxiMasterCore::close);
    session.close();
    nuwa.kv().deletePrefix(HardStateStore.ROOT);
    nuwa.close();
  }

  /** A serving primary keeping {@code finishedMax} finished applications for {@code retention}. */
  private FuxiMasterCore primary(int finishedMax, Duration retention) {
    FuxiMasterConfig config = FuxiMasterConfig.builder().memberId("m1")
        .nuwaEndpoints(List.of("127.0.0.1:2379")).tokenKeyFile(dir.resolve("unused.keys"))
        .tickInterval(Duration.ofHours(1)).rebuildWindow(Duration.ZERO)
        .finishedApplicationsMax(finishedMax).finishedApplicationsRetention(retention).build();
    FuxiMasterCore core = new FuxiMasterCore(config, clock, wall, new HardStateStore(nuwa),
        TOKENS, Optional::empty);
    cores.add(core);
    core.becomePrimary(electionKey, electionRevision);
    assertThat(core.mode()).isEqualTo(FuxiMasterCore.Mode.SERVING);
    core.inLoop(() -> core.heartbeat(TuboHeartbeatRequest.newBuilder().setMachineId("host-1")
        .setAddress("127.0.0.1:1").setCapacity(Resources.newBuilder().setCpuMillis(16_000)
            .setMemoryMib(16_384)).build()));
    return core;
  }

  private static String submit(FuxiMasterCore core, String requestId) {
    return core.inLoop(() -> core.submit(SubmitApplicationRequest.newBuilder()
        .setRequestId(requestId).setName("job").addAmCommand("/bin/am")
        .setAmResources(Resources.newBuilder().setCpuMillis(500).setMemoryMib(256)).build()));
  }

  private static String submitAndKill(FuxiMasterCore core, String requestId) {
    String id = submit(core, requestId);
    core.inLoop(() -> core.killApplication(id, "done", MasterAccess.ApplicationCheck.NONE));
    return id;
  }

  private static void purge(FuxiMasterCore core) {
    core.inLoop(() -> {
      core.purgeFinishedApplications();
      return null;
    });
  }

  private static List<String> held(FuxiMasterCore core) {
    return core.inLoop(() -> core.listApplications(List.of(), tenant -> true))
        .getApplicationsList().stream().map(ApplicationStatus::getApplicationId).toList();
  }

  /** GetApplication on the scheduler thread; a refusal is thrown as the call would answer it. */
  private static ApplicationStatus get(FuxiMasterCore core, String id) {
    try {
      return core.inLoop(() -> core.getApplication(id, MasterAccess.ApplicationCheck.NONE));
    } catch (CompletionException e) {
      throw e.getCause() instanceof StatusRuntimeException s ? s : e;
    }
  }

  /** The application ids Nuwa holds keys for, as the next primary would load them. */
  private List<String> stored() {
    return new ArrayList<>(new HardStateStore(nuwa).load().applications().keySet());
  }

  private List<String> storedRequestIds() {
    return new ArrayList<>(new HardStateStore(nuwa).load().requestIds().keySet());
  }

  private static void assertPurged(FuxiMasterCore core, String id) {
    assertThatThrownBy(() -> get(core, id)).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
          assertThat(e.getTrailers().get(FuxiTrailers.ERROR_CODE))
              .isEqualTo("UNKNOWN_APPLICATION");
          assertThat(e.getStatus().getDescription()).startsWith(
              "application " + id + " finished and was purged: the master keeps at most"
                  + " applications.finished.max=");
        });
  }

  @Test
  void theOldestFinishedBeyondTheCountArePurgedFromMemoryAndNuwaAndARunningOneNever() {
    FuxiMasterCore core = primary(3, Duration.ofDays(1));
    String running = submit(core, "running");
    List<String> finished = new ArrayList<>();
    for (int i = 1; i <= 5; i++) {
      wall.advance(Duration.ofMinutes(1));
      finished.add(submitAndKill(core, "r" + i));
    }
    assertThat(held(core)).hasSize(6);

    purge(core);
    List<String> kept = finished.subList(2, 5);
    assertThat(held(core)).containsExactly(running, kept.get(0), kept.get(1), kept.get(2));
    assertThat(stored()).containsExactlyInAnyOrder(running, kept.get(0), kept.get(1),
        kept.get(2));
    assertThat(storedRequestIds()).containsExactlyInAnyOrder("running", "r3", "r4", "r5");
    assertThat(get(core, running).getState()).isEqualTo(ApplicationStatus.State.RUNNING);
    assertPurged(core, finished.get(0));
    assertPurged(core, finished.get(1));
    assertThatThrownBy(() -> get(core, "app-99999999"))
        .hasMessageContaining("no application app-99999999")
        .hasMessageNotContaining("purged");

    // Its request id went with it: a retried submit is a new application now.
    String again = submit(core, "r1");
    assertThat(again).isNotIn(finished);
    assertThat(get(core, again).getState()).isEqualTo(ApplicationStatus.State.RUNNING);
  }

  @Test
  void finishedApplicationsOlderThanTheRetentionArePurgedAndARunningOneNever() {
    FuxiMasterCore core = primary(1000, Duration.ofHours(1));
    String running = submit(core, "running");
    String first = submitAndKill(core, "first");
    wall.advance(Duration.ofMinutes(30));
    String second = submitAndKill(core, "second");

    wall.advance(Duration.ofMinutes(30)); // first is exactly an hour old: kept
    purge(core);
    assertThat(held(core)).containsExactly(running, first, second);

    wall.advance(Duration.ofMillis(1));
    purge(core);
    assertThat(held(core)).containsExactly(running, second);
    assertThat(stored()).containsExactlyInAnyOrder(running, second);
    assertPurged(core, first);

    wall.advance(Duration.ofDays(2));
    purge(core);
    assertThat(held(core)).containsExactly(running);
    assertThat(stored()).containsExactly(running);
  }

  @Test
  void purgedApplicationsStayGoneAfterARestartAndTheRetainedOnesComeBack() {
    FuxiMasterCore first = primary(2, Duration.ofDays(1));
    List<String> finished = new ArrayList<>();
    for (int i = 1; i <= 4; i++) {
      wall.advance(Duration.ofMinutes(1));
      finished.add(submitAndKill(first, "r" + i));
    }
    ApplicationStatus newest = get(first, finished.get(3));
    purge(first);
    first.close();

    FuxiMasterCore second = primary(2, Duration.ofDays(1));
    assertThat(held(second)).containsExactly(finished.get(2), finished.get(3));
    assertThat(get(second, finished.get(3))).isEqualTo(newest);
    assertPurged(second, finished.get(0));
    assertPurged(second, finished.get(1));
    second.close();

    // A primary with a lower limit purges the oldest of what it loaded, by the stored finish time.
    FuxiMasterCore third = primary(1, Duration.ofDays(1));
    purge(third);
    assertThat(held(third)).containsExactly(finished.get(3));
    assertThat(stored()).containsExactly(finished.get(3));
    assertThat(storedRequestIds()).containsExactly("r4");
  }

  @Test
  void aBacklogLargerThanOneNuwaTransactionIsPurgedInBoundedBatches() {
    int backlog = HardStateStore.PURGE_BATCH_MAX + 6;
    HardStateStore store = new HardStateStore(nuwa);
    store.guard(electionKey, electionRevision);
    for (int n = 1; n <= backlog; n++) {
      String id = FuxiMasterCore.applicationId(n);
      store.createApplication(
          SubmitApplicationRequest.newBuilder().setRequestId("r" + n).addAmCommand("/bin/am")
              .build(),
          ApplicationStatus.newBuilder().setApplicationId(id).setQuotaGroup("default")
              .setState(ApplicationStatus.State.SUCCEEDED).setAmAttempt(1)
              .setFinishTimeMillis(START.toEpochMilli() + n).build(),
          n + 1);
    }

    FuxiMasterCore core = primary(1, Duration.ofDays(1));
    assertThat(held(core)).hasSize(backlog);
    purge(core);
    assertThat(held(core)).hasSize(backlog - HardStateStore.PURGE_BATCH_MAX);
    assertThat(stored()).hasSize(backlog - HardStateStore.PURGE_BATCH_MAX);
    purge(core);
    String newest = FuxiMasterCore.applicationId(backlog);
    assertThat(held(core)).containsExactly(newest);
    assertThat(stored()).containsExactly(newest);
    assertPurged(core, FuxiMasterCore.applicationId(1));
  }
}
