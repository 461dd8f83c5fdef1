package org.apsara.fuxi.tubo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apsara.fuxi.tubo.cgroup.CgroupMode;
import org.apsara.fuxi.tubo.cgroup.Enforcement;
import org.apsara.fuxi.tubo.cgroup.GroupUsage;
import org.junit.jupiter.api.Test;

/**
 * The supervisor with real cgroup v1 hierarchies: the contract of {@link SupervisorContract}
 * plus what only a cgroup can do (limits, memory kills, catching detached processes). Needs root
 * and writable cpu, cpuacct and memory hierarchies; skipped with a message elsewhere. Each test
 * uses a cgroup parent of its own and removes it.
 */
class CgroupV1SupervisorTest extends SupervisorContract {
  /** The CPU quota test's grant: a fifth of a core. */
  private static final int QUOTA_MILLICORES = 200;

  @Override
  CgroupMode mode() {
    return CgroupMode.V1;
  }

  @Override
  void assumeAvailable() {
    TuboTests.assumeWritableCgroupV1();
  }

  @Test
  void enforcesWithCgroupV1() {
    assertThat(supervisor.enforcement()).isEqualTo(Enforcement.CGROUP_V1);
  }

  @Test
  void theWorkerIsInItsGroupBeforeItsProgramRuns() throws IOException {
    // The program's very first action reads its own cgroups.
    Path sandbox = supervisor.launch(WorkerSpec.of("w1", "app-1",
        List.of("cat", "/proc/self/cgroup"), WorkerClass.BATCH, 100, 64));

    assertThat(exits.cause("w1")).isEqualTo(new ExitCause.Exited(0));
    String cgroups = Files.readString(sandbox.resolve("stdout"));
    assertThat(cgroups).containsPattern(":memory:/apsara-tubo-test-[0-9a-f]+/batch/w1\\n");
    assertThat(cgroups).containsPattern(":cpu(,cpuacct)?:/apsara-tubo-test-[0-9a-f]+/batch/w1\\n");
  }

  @Test
  void aMemoryHogIsKilledAndReportedAsSuch() {
    // dd's buffer is one 256 MiB block which it fills: far above the 32 MiB limit.
    supervisor.launch(WorkerSpec.of("hog", "app-1",
        List.of("dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"),
        WorkerClass.BATCH, 500, 32));

    assertThat(exits.cause("hog")).isEqualTo(new ExitCause.KilledForMemory(32));
  }

  @Test
  void aWorkerWithinItsMemoryLimitIsNotReportedAsMemoryKilled() {
    supervisor.launch(WorkerSpec.of("small", "app-1",
        List.of("dd", "if=/dev/zero", "of=/dev/null", "bs=8M", "count=1"),
        WorkerClass.BATCH, 500, 64));

    assertThat(exits.cause("small")).isEqualTo(new ExitCause.Exited(0));
  }

  @Test
  void aCpuQuotaCapsABusyLoop() throws Exception {
    supervisor.launch(WorkerSpec.of("spin", "app-1", List.of("sh", "-c", "while :; do :; done"),
        WorkerClass.LATENCY_SENSITIVE, QUOTA_MILLICORES, 64));
    // Let the loop start and run into its quota once.
    await().atMost(Exits.WAIT).until(() -> supervisor.usage("spin").orElseThrow()
        .throttledPeriods() > 0);

    GroupUsage before = supervisor.usage("spin").orElseThrow();
    long startNanos = System.nanoTime();
    // Measuring a rate needs a fixed stretch of time, not a condition to await.
    TimeUnit.SECONDS.sleep(2);
    GroupUsage after = supervisor.usage("spin").orElseThrow();
    long wallNanos = System.nanoTime() - startNanos;

    double cores = (double) (after.cpuUsageNanos() - before.cpuUsageNanos()) / wallNanos;
    // A fifth of a core; an uncapped loop takes a whole one. Low bound generous: the machine is
    // shared and the loop may get less than its quota.
    assertThat(cores).isBetween(0.05, 0.30);
    assertThat(after.throttledPeriods()).isGreaterThan(before.throttledPeriods());
  }

  @Test
  void aKillReachesProcessesThatLeftTheTree() throws IOException {
    // The inner shell exits at once, so the sleep is re-parented to init: no tree leads to it.
    Path sandbox = supervisor.launch(WorkerSpec.of("w1", "app-1", List.of("sh", "-c",
        "sh -c 'sleep 300 & echo $! > detached' ; sleep 300"),
        WorkerClass.BATCH, 100, 64));
    await().atMost(Exits.WAIT).until(() -> Files.exists(sandbox.resolve("detached"))
        && !Files.readString(sandbox.resolve("detached")).isBlank());
    long detached = Long.parseLong(TuboTests.read(sandbox.resolve("detached")));
    assertThat(ProcessHandle.of(detached).map(p -> p.parent().map(ProcessHandle::pid)))
        .as("the detached process no longer descends from the worker")
        .hasValueSatisfying(parent -> assertThat(parent).isNotEqualTo(
            supervisor.running().get(0).pid()));

    supervisor.kill("w1", "revoked");

    assertThat(exits.cause("w1")).isEqualTo(new ExitCause.KilledByRequest("revoked"));
    await().atMost(Exits.WAIT).until(() -> TuboTests.isGoneOrZombie(detached));
  }

  @Test
  void childrenLeftByAnExitedWorkerAreKilledWithItsGroup() throws IOException {
    Path sandbox = supervisor.launch(WorkerSpec.of("w1", "app-1", List.of("sh", "-c",
        "sleep 300 & echo $! > child; exit 0"), WorkerClass.BATCH, 100, 64));

    assertThat(exits.cause("w1")).isEqualTo(new ExitCause.Exited(0));
    long child = Long.parseLong(TuboTests.read(sandbox.resolve("child")));
    assertThat(TuboTests.isGoneOrZombie(child)).isTrue();
  }
}
