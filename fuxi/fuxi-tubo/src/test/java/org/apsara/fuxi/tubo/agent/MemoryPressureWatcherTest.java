package org.apsara.fuxi.tubo.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.apsara.fuxi.tubo.ExitCause;
import org.apsara.fuxi.tubo.MachineResources;
import org.apsara.fuxi.tubo.RunningWorker;
import org.apsara.fuxi.tubo.TuboConfig;
import org.apsara.fuxi.tubo.WorkerClass;
import org.apsara.fuxi.tubo.WorkerExit;
import org.apsara.fuxi.tubo.WorkerSpec;
import org.apsara.fuxi.tubo.WorkerSupervisor;
import org.apsara.fuxi.tubo.cgroup.CgroupMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Under memory pressure batch workers go, youngest first and only as many as the shortfall
 * needs, and services stay. Unenforced supervision, so that what a worker holds is its grant and
 * the arithmetic is exact.
 */
class MemoryPressureWatcherTest {
  @TempDir Path dir;

  private final Queue<WorkerExit> exits = new ConcurrentLinkedQueue<>();
  private WorkerSupervisor supervisor;

  @AfterEach
  void stop() {
    if (supervisor != null) {
      supervisor.killAll("test over");
      await().atMost(Duration.ofSeconds(30)).until(() -> supervisor.running().isEmpty());
      supervisor.close();
    }
  }

  @Test
  void batchWorkersAreEvictedYoungestFirstUntilTheShortfallIsCoveredAndServicesStay()
      throws Exception {
    supervisor = WorkerSupervisor.start(TuboConfig.defaults(dir, new MachineResources(8000, 8192))
        .withCgroupMode(CgroupMode.NONE), exits::add);
    launch("service", WorkerClass.LATENCY_SENSITIVE);
    launch("old-batch", WorkerClass.BATCH);
    launch("young-batch", WorkerClass.BATCH);
    AtomicLong available = new AtomicLong(2048);
    MemoryPressureWatcher watcher = new MemoryPressureWatcher(supervisor, 512, available::get);

    assertThat(watcher.checkOnce()).as("enough memory: nothing happens").isEmpty();

    // 50 MiB short: the youngest batch worker (64 MiB) covers it.
    available.set(462);
    assertThat(watcher.checkOnce()).containsExactly("young-batch");
    await().atMost(Duration.ofSeconds(30)).until(() -> exits.size() == 1);
    assertThat(exits.peek().cause()).isInstanceOfSatisfying(ExitCause.KilledByRequest.class,
        killed -> assertThat(killed.reason()).contains("evicted"));

    // Far short: every batch worker goes, the service never does.
    available.set(10);
    assertThat(watcher.checkOnce()).containsExactly("old-batch");
    assertThat(watcher.checkOnce()).isEmpty();
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
        assertThat(supervisor.running()).extracting(RunningWorker::workerId)
            .containsExactly("service"));
  }

  @Test
  void memAvailableIsReadFromMeminfoInMib() {
    String meminfo = "MemTotal:       24576000 kB\nMemFree:         1000000 kB\n"
        + "MemAvailable:    2097152 kB\nBuffers:          100 kB\n";
    assertThat(MemoryPressureWatcher.memAvailableMib(meminfo)).isEqualTo(2048);
    assertThatThrownBy(() -> MemoryPressureWatcher.memAvailableMib("MemTotal: 1 kB\n"))
        .hasMessageContaining("MemAvailable");
  }

  private void launch(String id, WorkerClass workerClass) throws Exception {
    supervisor.launch(new WorkerSpec(id, "app", "role", List.of("sleep", "600"), Map.of(),
        workerClass, 100, 64));
  }
}
