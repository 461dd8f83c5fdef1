package org.apsara.fuxi.tubo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apsara.fuxi.tubo.cgroup.CgroupMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a supervisor does whatever enforces the limits: real processes ({@code sh -c ...}) are
 * launched, killed and reported. Run once per enforcement by the subclasses.
 */
abstract class SupervisorContract {
  @TempDir Path sandboxRoot;

  final Exits exits = new Exits();
  WorkerSupervisor supervisor;

  abstract CgroupMode mode();

  /** Called before each test; may skip it. */
  void assumeAvailable() {}

  @BeforeEach
  void startSupervisor() throws IOException {
    assumeAvailable();
    supervisor = WorkerSupervisor.start(
        TuboTests.config(sandboxRoot, mode(), TuboTests.uniqueCgroupParent()), exits);
  }

  @AfterEach
  void stopSupervisor() throws IOException {
    TuboTests.tearDown(supervisor, exits);
  }

  static WorkerSpec shell(String id, String script) {
    return WorkerSpec.of(id, "app-1", List.of("sh", "-c", script),
        WorkerClass.LATENCY_SENSITIVE, 500, 128);
  }

  @Test
  void reportsExitCodeAndKeepsOutputInTheSandbox() throws IOException {
    Path sandbox = supervisor.launch(shell("w1",
        "echo out; echo err >&2; pwd > cwd.txt; echo \"$TUBO_WORKER_ID $TUBO_APPLICATION_ID\""
            + " > ids.txt; exit 3"));

    WorkerExit exit = exits.await("w1");
    assertThat(exit.cause()).isEqualTo(new ExitCause.Exited(3));
    assertThat(exit.sandbox()).isEqualTo(sandbox).isEqualTo(sandboxRoot.resolve("w1"));
    assertThat(TuboTests.read(sandbox.resolve("stdout"))).isEqualTo("out");
    assertThat(TuboTests.read(sandbox.resolve("stderr"))).isEqualTo("err");
    assertThat(TuboTests.read(sandbox.resolve("cwd.txt"))).isEqualTo(sandbox.toString());
    assertThat(TuboTests.read(sandbox.resolve("ids.txt"))).isEqualTo("w1 app-1");
  }

  @Test
  void reportsZeroExitAndTheEnvironmentGiven() throws IOException {
    Path sandbox = supervisor.launch(shell("w1", "echo \"$GREETING\" > env.txt")
        .withEnv("GREETING", "hello tubo"));

    assertThat(exits.cause("w1")).isEqualTo(new ExitCause.Exited(0));
    assertThat(TuboTests.read(sandbox.resolve("env.txt"))).isEqualTo("hello tubo");
  }

  @Test
  void reportsDeathBySignal() {
    supervisor.launch(shell("w1", "kill -TERM $$; sleep 30"));

    assertThat(exits.cause("w1")).isEqualTo(new ExitCause.KilledBySignal(15));
  }

  @Test
  void killByRequestKillsTheWholeProcessTree() throws IOException {
    Path sandbox = supervisor.launch(shell("w1",
        "sleep 300 & echo $! > child1; (sleep 300 & echo $! > grandchild; wait) & wait"));
    await().atMost(Exits.WAIT).until(() -> Files.exists(sandbox.resolve("child1"))
        && Files.exists(sandbox.resolve("grandchild")));
    long child = Long.parseLong(TuboTests.read(sandbox.resolve("child1")));
    long grandchild = Long.parseLong(TuboTests.read(sandbox.resolve("grandchild")));
    assertThat(ProcessHandle.of(grandchild)).hasValueSatisfying(
        p -> assertThat(p.isAlive()).isTrue());

    assertThat(supervisor.kill("w1", "grant revoked")).isTrue();

    assertThat(exits.cause("w1")).isEqualTo(new ExitCause.KilledByRequest("grant revoked"));
    // Gone, or a zombie about to be reaped by init: kill() returns once none of them runs.
    assertThat(TuboTests.isGoneOrZombie(child)).isTrue();
    assertThat(TuboTests.isGoneOrZombie(grandchild)).isTrue();
    assertThat(supervisor.running()).isEmpty();
  }

  @Test
  void killOfAnUnknownWorkerIsRefused() {
    assertThat(supervisor.kill("nobody", "why not")).isFalse();
  }

  @Test
  void aMissingProgramIsALaunchFailure() {
    supervisor.launch(WorkerSpec.of("w1", "app-1", List.of("no-such-program-in-tubo-tests"),
        WorkerClass.BATCH, 100, 64));

    assertThat(exits.cause("w1")).isInstanceOfSatisfying(ExitCause.LaunchFailed.class,
        failed -> assertThat(failed.message())
            .contains("command not found: no-such-program-in-tubo-tests"));
  }

  @Test
  void runningListsLaunchedWorkersYoungestLast() {
    supervisor.launch(shell("w1", "sleep 300"));
    supervisor.launch(shell("w2", "sleep 300"));

    List<RunningWorker> running = supervisor.running();
    assertThat(running).extracting(RunningWorker::workerId).containsExactly("w1", "w2");
    assertThat(running.get(0).launchSequence()).isLessThan(running.get(1).launchSequence());
    assertThat(running).allSatisfy(r -> {
      assertThat(r.adopted()).isFalse();
      assertThat(ProcessHandle.of(r.pid())).isPresent();
    });
  }

  @Test
  void refusesWhatItCannotRunAndChangesNothing() {
    supervisor.launch(shell("w1", "sleep 300"));

    assertThatThrownBy(() -> supervisor.launch(shell("w1", "true")))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("already runs");
    assertThatThrownBy(() -> supervisor.launch(WorkerSpec.of("big", "app-1", List.of("true"),
        WorkerClass.BATCH, TuboTests.RESOURCES.cpuMillicores(), 64)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("millicores").hasMessageContaining("are free");
    assertThatThrownBy(() -> supervisor.launch(WorkerSpec.of("fat", "app-1", List.of("true"),
        WorkerClass.BATCH, 100, TuboTests.RESOURCES.memoryMib())))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("MiB");
    assertThat(supervisor.running()).extracting(RunningWorker::workerId).containsExactly("w1");
    assertThat(sandboxRoot.resolve("big")).doesNotExist();
  }

  /** A batch worker that holds about 8 MiB (a shell variable) until killed. */
  static WorkerSpec memoryHolder(String id) {
    return WorkerSpec.of(id, "app-1", List.of("sh", "-c",
        "x=$(head -c 8000000 /dev/zero | tr '\\000' a); echo ready > ready; sleep 300;"
            + " echo \"$x\" > /dev/null"), WorkerClass.BATCH, 100, 64);
  }

  @Test
  void evictsBatchWorkersYoungestFirstAndNeverServices() {
    Path old = supervisor.launch(memoryHolder("batch-old"));
    supervisor.launch(WorkerSpec.of("service", "app-2", List.of("sleep", "300"),
        WorkerClass.LATENCY_SENSITIVE, 100, 64));
    Path young = supervisor.launch(memoryHolder("batch-young"));
    await().atMost(Exits.WAIT).until(() -> Files.exists(old.resolve("ready"))
        && Files.exists(young.resolve("ready")));

    assertThat(supervisor.evictBatchUntilFree(1)).containsExactly("batch-young");
    assertThat(exits.cause("batch-young")).isInstanceOf(ExitCause.KilledByRequest.class);
    assertThat(supervisor.evictBatchUntilFree(100_000)).containsExactly("batch-old");
    assertThat(exits.cause("batch-old")).isInstanceOfSatisfying(ExitCause.KilledByRequest.class,
        k -> assertThat(k.reason()).startsWith("evicted"));
    assertThat(supervisor.evictBatchUntilFree(100_000)).isEmpty();
    assertThat(supervisor.running()).extracting(RunningWorker::workerId)
        .containsExactly("service");
  }

  @Test
  void keepsOnlyTheLastSandboxesAndReusesAWorkerId() throws IOException {
    assertThat(supervisor.removeTuboCgroups()).isTrue();
    supervisor.close();
    supervisor = WorkerSupervisor.start(
        TuboTests.config(sandboxRoot, mode(), TuboTests.uniqueCgroupParent())
            .withSandboxRetention(1, Duration.ofHours(1)), exits);

    Path first = supervisor.launch(shell("w1", "echo first"));
    exits.await("w1");
    Path second = supervisor.launch(shell("w2", "echo second"));
    exits.await("w2");

    assertThat(first).doesNotExist();
    assertThat(TuboTests.read(second.resolve("stdout"))).isEqualTo("second");

    exits.forget("w2");
    Path again = supervisor.launch(shell("w2", "echo again"));
    assertThat(exits.cause("w2")).isEqualTo(new ExitCause.Exited(0));
    assertThat(again).isEqualTo(second);
    assertThat(TuboTests.read(again.resolve("stdout"))).isEqualTo("again");
  }
}
