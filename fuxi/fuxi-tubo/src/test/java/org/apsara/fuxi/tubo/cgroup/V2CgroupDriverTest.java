package org.apsara.fuxi.tubo.cgroup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apsara.fuxi.tubo.WorkerClass;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cgroup v2 driver, file level, against a directory laid out like cgroupfs in a temp dir
 * ({@link FakeCgroupFs}), not a real hierarchy: the cgroup2 hierarchy of the machine these tests
 * were written on offers no cpu or memory controller. What is checked is what the driver writes
 * where, and how it reads what the kernel writes (memory.events, cpu.stat). Kills use real
 * processes whose pids the test puts in the fake group.
 */
class V2CgroupDriverTest {
  private static final String PARENT = "apsara-tubo";

  @TempDir Path root;

  private Process sleeper;
  private Thread killer;

  @AfterEach
  void killSleeper() {
    if (sleeper != null) {
      sleeper.destroyForcibly();
    }
    if (killer != null) {
      // A kill a failed test left held in the fake file system.
      killer.interrupt();
    }
  }

  private FakeCgroupFs fs(boolean withKill, boolean withSwap) throws IOException {
    return new FakeCgroupFs(root, "cpuset cpu io memory pids", withKill, withSwap);
  }

  @Test
  void prepareEnablesControllersDownToTheClassesAndWeighsThem() throws IOException {
    FakeCgroupFs fs = fs(true, true);
    V2CgroupDriver driver = new V2CgroupDriver(fs, PARENT, root);

    driver.prepare(2000);

    assertThat(Files.readString(root.resolve("cgroup.subtree_control"))).isEqualTo("cpu memory");
    assertThat(Files.readString(root.resolve(PARENT + "/cgroup.subtree_control")))
        .isEqualTo("cpu memory");
    assertThat(Files.readString(root.resolve(PARENT + "/batch/cgroup.subtree_control")))
        .isEqualTo("cpu memory");
    assertThat(Files.readString(root.resolve(PARENT + "/cpu.weight"))).isEqualTo("200");
    assertThat(Files.readString(root.resolve(PARENT + "/latency/cpu.weight"))).isEqualTo("10000");
    assertThat(Files.readString(root.resolve(PARENT + "/batch/cpu.weight"))).isEqualTo("1");

    // Idempotent: a restarted Tubo prepares again without enabling twice.
    int writes = fs.writesTo("cgroup.subtree_control").size();
    driver.prepare(2000);
    assertThat(fs.writesTo("cgroup.subtree_control")).hasSize(writes);
  }

  @Test
  void prepareRefusesAHierarchyWithoutTheControllers() throws IOException {
    FakeCgroupFs fs = new FakeCgroupFs(root, "io pids", true, true);

    assertThatThrownBy(() -> new V2CgroupDriver(fs, PARENT, root).prepare(2000))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("offers controllers").hasMessageContaining("[cpu, memory]");
  }

  @Test
  void aWorkerGroupGetsQuotaWeightAndMemoryLimitWithoutSwap() throws IOException {
    FakeCgroupFs fs = fs(true, true);
    V2CgroupDriver driver = new V2CgroupDriver(fs, PARENT, root);
    driver.prepare(2000);

    List<Path> procs = driver.createWorkerGroup(WorkerClass.BATCH, "w1", 250, 64);

    Path group = root.resolve(PARENT + "/batch/w1");
    assertThat(procs).containsExactly(group.resolve("cgroup.procs"));
    assertThat(Files.readString(group.resolve("cpu.max"))).isEqualTo("25000 100000");
    assertThat(Files.readString(group.resolve("cpu.weight"))).isEqualTo("25");
    assertThat(Files.readString(group.resolve("memory.max"))).isEqualTo("67108864");
    assertThat(Files.readString(group.resolve("memory.swap.max"))).isEqualTo("0");
    assertThat(Files.readString(group.resolve("memory.oom.group"))).isEqualTo("1");
    assertThat(driver.exists(WorkerClass.BATCH, "w1")).isTrue();
    assertThat(driver.listWorkerGroups())
        .isEqualTo(Map.of(WorkerClass.BATCH, List.of("w1"), WorkerClass.LATENCY_SENSITIVE,
            List.of()));
  }

  @Test
  void withoutSwapAccountingNoSwapLimitIsWritten() throws IOException {
    FakeCgroupFs fs = fs(true, false);
    V2CgroupDriver driver = new V2CgroupDriver(fs, PARENT, root);
    driver.prepare(2000);

    driver.createWorkerGroup(WorkerClass.LATENCY_SENSITIVE, "w1", 1000, 64);

    assertThat(fs.writesTo("memory.swap.max")).isEmpty();
    assertThat(Files.readString(root.resolve(PARENT + "/latency/w1/cpu.max")))
        .isEqualTo("100000 100000");
  }

  @Test
  void aLimitThatCannotBeWrittenLeavesNoGroupBehind() throws IOException {
    FakeCgroupFs fs = fs(true, true);
    V2CgroupDriver driver = new V2CgroupDriver(fs, PARENT, root);
    driver.prepare(2000);
    fs.failWritesTo("memory.max");

    assertThatThrownBy(() -> driver.createWorkerGroup(WorkerClass.BATCH, "w1", 100, 64))
        .isInstanceOf(IOException.class).hasMessageContaining("memory.max");
    assertThat(root.resolve(PARENT + "/batch/w1")).doesNotExist();
  }

  @Test
  void readsMemoryKillsAndCpuFromTheKernelsFiles() throws IOException {
    FakeCgroupFs fs = fs(true, true);
    V2CgroupDriver driver = new V2CgroupDriver(fs, PARENT, root);
    driver.prepare(2000);
    driver.createWorkerGroup(WorkerClass.BATCH, "w1", 100, 64);
    Path group = root.resolve(PARENT + "/batch/w1");
    fs.kernelWrites(group.resolve("memory.events"),
        "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n");
    fs.kernelWrites(group.resolve("cpu.stat"), "usage_usec 1500\nuser_usec 1000\n"
        + "system_usec 500\nnr_periods 40\nnr_throttled 7\nthrottled_usec 900\n");
    fs.kernelWrites(group.resolve("memory.current"), "4096\n");

    assertThat(driver.usage(WorkerClass.BATCH, "w1"))
        .isEqualTo(new GroupUsage(1_500_000, 4096, 1, 7));
  }

  @Test
  void killUsesCgroupKillAndRemovesTheEmptyGroup() throws IOException {
    FakeCgroupFs fs = fs(true, true);
    V2CgroupDriver driver = new V2CgroupDriver(fs, PARENT, root);
    driver.prepare(2000);
    driver.createWorkerGroup(WorkerClass.BATCH, "w1", 100, 64);
    Path group = root.resolve(PARENT + "/batch/w1");
    sleeper = new ProcessBuilder("sleep", "300").start();
    fs.kernelWrites(group.resolve("cgroup.procs"), sleeper.pid() + "\n");
    assertThatThrownBy(() -> driver.removeWorkerGroup(WorkerClass.BATCH, "w1"))
        .as("a group with a process cannot be removed").isInstanceOf(IOException.class);

    driver.killAll(WorkerClass.BATCH, "w1");

    assertThat(fs.writesTo("cgroup.kill")).containsExactly(PARENT + "/batch/w1/cgroup.kill=1");
    await().atMost(Duration.ofSeconds(10)).until(() -> !sleeper.isAlive());
    driver.removeWorkerGroup(WorkerClass.BATCH, "w1");
    assertThat(group).doesNotExist();
    assertThat(driver.removeTuboGroups()).isTrue();
    assertThat(root.resolve(PARENT)).doesNotExist();
  }

  @Test
  void withoutCgroupKillTheGroupIsFrozenSignalledAndThawed() throws IOException {
    FakeCgroupFs fs = fs(false, true);
    V2CgroupDriver driver = new V2CgroupDriver(fs, PARENT, root);
    driver.prepare(2000);
    driver.createWorkerGroup(WorkerClass.LATENCY_SENSITIVE, "w1", 100, 64);
    Path group = root.resolve(PARENT + "/latency/w1");
    sleeper = new ProcessBuilder("sleep", "300").start();
    fs.kernelWrites(group.resolve("cgroup.procs"), sleeper.pid() + "\n");

    driver.killAll(WorkerClass.LATENCY_SENSITIVE, "w1");

    assertThat(fs.writesTo("cgroup.freeze")).containsExactly(
        PARENT + "/latency/w1/cgroup.freeze=1", PARENT + "/latency/w1/cgroup.freeze=0");
    assertThat(driver.pids(WorkerClass.LATENCY_SENSITIVE, "w1")).isEmpty();
    await().atMost(Duration.ofSeconds(10)).until(() -> !sleeper.isAlive());
  }

  @Test
  void groupsLeftFrozenAreThawedAndOnlyThose() throws IOException {
    FakeCgroupFs fs = fs(false, true);
    V2CgroupDriver driver = new V2CgroupDriver(fs, PARENT, root);
    driver.prepare(2000);
    driver.createWorkerGroup(WorkerClass.BATCH, "frozen", 100, 64);
    driver.createWorkerGroup(WorkerClass.LATENCY_SENSITIVE, "running", 100, 64);
    Path frozen = root.resolve(PARENT + "/batch/frozen/cgroup.freeze");
    fs.kernelWrites(frozen, "1\n");

    assertThat(driver.thawLeftFrozen()).containsExactly("frozen");

    assertThat(fs.writesTo("cgroup.freeze")).containsExactly(
        PARENT + "/batch/frozen/cgroup.freeze=0");
    assertThat(Files.readString(frozen)).isEqualTo("0");
  }

  @Test
  void stoppingWaitsForAKillToThawItsGroupAndLaterKillsDoNotFreeze() throws Exception {
    FakeCgroupFs fs = fs(false, true);
    V2CgroupDriver driver = new V2CgroupDriver(fs, PARENT, root);
    driver.prepare(2000);
    driver.createWorkerGroup(WorkerClass.BATCH, "w1", 100, 64);
    driver.createWorkerGroup(WorkerClass.BATCH, "w2", 100, 64);
    Path freeze = root.resolve(PARENT + "/batch/w1/cgroup.freeze");
    sleeper = new ProcessBuilder("sleep", "300").start();
    fs.kernelWrites(root.resolve(PARENT + "/batch/w1/cgroup.procs"), sleeper.pid() + "\n");
    CountDownLatch frozen = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    fs.holdAfterWriting("cgroup.freeze", "1", frozen, release);
    CompletableFuture<Void> kill = killOnAThread(driver, "w1");
    assertThat(frozen.await(10, TimeUnit.SECONDS)).as("the kill froze w1").isTrue();

    // What stopping sees of the group when it returns: the process may end right after.
    CompletableFuture<String> freezeWhenStopped = CompletableFuture.supplyAsync(() -> {
      boolean thawed = driver.stopFreezing();
      try {
        return thawed + " " + Files.readString(freeze);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    await("stopping waits while w1 is frozen").during(Duration.ofMillis(200))
        .atMost(Duration.ofSeconds(10)).until(() -> !freezeWhenStopped.isDone());
    release.countDown();

    assertThat(freezeWhenStopped.get(10, TimeUnit.SECONDS)).isEqualTo("true 0");
    kill.get(10, TimeUnit.SECONDS);
    driver.killAll(WorkerClass.BATCH, "w2");
    assertThat(fs.writesTo("cgroup.freeze")).as("w2 is killed without freezing").containsExactly(
        PARENT + "/batch/w1/cgroup.freeze=1", PARENT + "/batch/w1/cgroup.freeze=0");
    await().atMost(Duration.ofSeconds(10)).until(() -> !sleeper.isAlive());
  }

  @Test
  void aKillInterruptedWhileItsGroupIsFrozenStillThawsIt() throws Exception {
    FakeCgroupFs fs = fs(false, true);
    V2CgroupDriver driver = new V2CgroupDriver(fs, PARENT, root);
    driver.prepare(2000);
    driver.createWorkerGroup(WorkerClass.BATCH, "w1", 100, 64);
    CountDownLatch frozen = new CountDownLatch(1);
    fs.holdAfterWriting("cgroup.freeze", "1", frozen, new CountDownLatch(1));
    CompletableFuture<Void> kill = killOnAThread(driver, "w1");
    assertThat(frozen.await(10, TimeUnit.SECONDS)).as("the kill froze w1").isTrue();

    // As the supervisor's close does to its thread.
    killer.interrupt();

    assertThat(kill).failsWithin(Duration.ofSeconds(10));
    assertThat(Files.readString(root.resolve(PARENT + "/batch/w1/cgroup.freeze")))
        .isEqualTo("0");
  }

  /** Runs {@code killAll} of a batch worker on {@link #killer}; the future ends with it. */
  private CompletableFuture<Void> killOnAThread(V2CgroupDriver driver, String workerId) {
    CompletableFuture<Void> kill = new CompletableFuture<>();
    killer = new Thread(() -> {
      try {
        driver.killAll(WorkerClass.BATCH, workerId);
        kill.complete(null);
      } catch (IOException | RuntimeException e) {
        kill.completeExceptionally(e);
      }
    }, "kill-" + workerId);
    killer.start();
    return kill;
  }

  @Test
  void removingTuboGroupsKeepsThemWhileAWorkerGroupIsLeft() throws IOException {
    FakeCgroupFs fs = fs(true, true);
    V2CgroupDriver driver = new V2CgroupDriver(fs, PARENT, root);
    driver.prepare(2000);
    driver.createWorkerGroup(WorkerClass.BATCH, "w1", 100, 64);

    assertThat(driver.removeTuboGroups()).isFalse();
    assertThat(root.resolve(PARENT + "/batch/w1")).exists();
  }
}
