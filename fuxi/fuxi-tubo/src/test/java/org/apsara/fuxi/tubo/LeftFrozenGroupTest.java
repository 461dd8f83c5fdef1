package org.apsara.fuxi.tubo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apsara.fuxi.tubo.cgroup.CgroupMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Tubo whose JVM ended in the middle of a kill left the worker's group frozen with the SIGKILL
 * sent: the process hangs in the freezer with the kill pending, for as long as the group stays
 * frozen. The next Tubo on the same sandbox root and cgroup parent thaws it, the kill lands, and
 * the worker is reported gone rather than adopted. Needs root and the cgroup v1 cpu, cpuacct,
 * memory and freezer hierarchies; skipped elsewhere.
 */
class LeftFrozenGroupTest {
  @TempDir Path sandboxRoot;

  private final Exits exits = new Exits();
  private final String parent = TuboTests.uniqueCgroupParent();
  private WorkerSupervisor stopped;
  private WorkerSupervisor supervisor;
  private Path freezerState;
  private long workerPid;

  @AfterEach
  void cleanUp() throws IOException {
    // Whatever failed above, nothing is left frozen or running: thaw, kill, then a supervisor
    // reports what is left and removes the groups.
    if (freezerState != null && Files.exists(freezerState)) {
      Files.writeString(freezerState, "THAWED");
    }
    if (workerPid > 0) {
      ProcessHandle.of(workerPid).ifPresent(ProcessHandle::destroyForcibly);
    }
    if (supervisor == null && stopped != null) {
      supervisor = WorkerSupervisor.start(config(), exits);
    }
    TuboTests.tearDown(supervisor, exits);
  }

  private TuboConfig config() {
    return TuboTests.config(sandboxRoot, CgroupMode.V1, parent);
  }

  @Test
  void aGroupLeftFrozenWithAKillPendingIsThawedByTheNextTubo() throws IOException {
    TuboTests.assumeWritableCgroupV1();
    Path freezer = TuboTests.assumeWritableFreezer();
    stopped = WorkerSupervisor.start(config(), exits);
    stopped.launch(WorkerSpec.of("w1", "app-1", List.of("sleep", "300"),
        WorkerClass.BATCH, 100, 64));
    workerPid = stopped.running().get(0).pid();
    stopped.close();
    // What the stopped Tubo's kill got done before its JVM ended: the group frozen, SIGKILL sent.
    freezerState = freezer.resolve(parent).resolve("batch").resolve("w1").resolve("freezer.state");
    Files.writeString(freezerState, "FROZEN");
    await().atMost(Exits.WAIT).until(() -> TuboTests.read(freezerState).equals("FROZEN"));
    ProcessHandle.of(workerPid).orElseThrow().destroyForcibly();
    await().atMost(Exits.WAIT).until(() -> TuboTests.killPending(workerPid));
    assertThat(TuboTests.isGoneOrZombie(workerPid)).as("frozen, it holds on to its kill").isFalse();

    supervisor = WorkerSupervisor.start(config(), exits);

    assertThat(exits.cause("w1")).isEqualTo(new ExitCause.Unobserved());
    assertThat(TuboTests.isGoneOrZombie(workerPid)).isTrue();
    assertThat(freezerState.getParent()).as("the group is removed").doesNotExist();
    assertThat(supervisor.running()).isEmpty();
  }
}
