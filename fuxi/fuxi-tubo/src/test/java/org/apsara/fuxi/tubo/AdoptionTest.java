package org.apsara.fuxi.tubo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apsara.fuxi.tubo.cgroup.CgroupMode;
import org.apsara.fuxi.tubo.cgroup.CgroupMounts;
import org.apsara.fuxi.tubo.cgroup.HostPaths;
import org.apsara.testkit.ChildProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A Tubo crashes (SIGKILL of its JVM, a separate process: {@link TuboCrashMain}) while its
 * workers run; a new Tubo on the same sandbox root and cgroup parent adopts the survivor, reports
 * the one that ended while no Tubo watched, does not report again the one already reported, and
 * removes cgroups nobody owns. Runs unenforced and, as root, with real cgroup v1 hierarchies.
 */
class AdoptionTest {
  private static final Pattern LAUNCHED = Pattern.compile("LAUNCHED long=(\\d+) ends=(\\d+)");

  @TempDir Path dir;

  private final Exits exits = new Exits();
  private WorkerSupervisor supervisor;
  private ChildProcess crashingTubo;

  @AfterEach
  void tearDown() throws IOException {
    if (crashingTubo != null) {
      crashingTubo.close();
    }
    TuboTests.tearDown(supervisor, exits);
  }

  @ParameterizedTest
  @EnumSource(value = CgroupMode.class, names = {"NONE", "V1"})
  void aRestartedTuboAdoptsItsWorkers(CgroupMode mode) throws IOException {
    if (mode == CgroupMode.V1) {
      TuboTests.assumeWritableCgroupV1();
    }
    Path root = dir.resolve("sandboxes");
    String parent = TuboTests.uniqueCgroupParent();
    crashingTubo = ChildProcess.builder(TuboCrashMain.class)
        .name("tubo-" + mode)
        .args(root.toString(), parent, mode.name())
        .logFile(dir.resolve("tubo.log"))
        .start();
    Matcher launched = LAUNCHED.matcher(crashingTubo.awaitLogLine(LAUNCHED, Exits.WAIT));
    assertThat(launched.find()).isTrue();
    long longPid = Long.parseLong(launched.group(1));
    long endsPid = Long.parseLong(launched.group(2));

    // Crash: SIGKILL to the JVM alone, as the kernel's OOM killer or a power cut would do.
    ProcessHandle.of(crashingTubo.pid()).orElseThrow().destroyForcibly();
    await().atMost(Exits.WAIT).until(() -> !crashingTubo.isAlive());
    Files.writeString(root.resolve("ends").resolve("go"), "");
    await().atMost(Exits.WAIT).until(() -> TuboTests.isGoneOrZombie(endsPid));
    Path stray = null;
    if (mode == CgroupMode.V1) {
      // A group no sandbox knows of, as if a worker's record had been lost.
      Path memory = CgroupMounts.read(HostPaths.SYSTEM.mountinfo()).v1("memory").orElseThrow()
          .mountPoint();
      stray = memory.resolve(parent).resolve("batch").resolve("stray");
      Files.createDirectory(stray);
    }

    supervisor = WorkerSupervisor.start(TuboTests.config(root, mode, parent), exits);

    List<RunningWorker> running = supervisor.running();
    assertThat(running).singleElement().satisfies(worker -> {
      assertThat(worker.workerId()).isEqualTo("long");
      assertThat(worker.pid()).isEqualTo(longPid);
      assertThat(worker.adopted()).isTrue();
      assertThat(worker.spec().role()).as("the role survives the restart").isEqualTo("mappers");
    });
    assertThat(exits.cause("ends")).isEqualTo(new ExitCause.Unobserved());
    assertThat(root.resolve("done").resolve("stdout")).as("a kept sandbox").exists();
    if (stray != null) {
      assertThat(stray).doesNotExist();
    }

    supervisor.launch(WorkerSpec.of("fresh", "app-1", List.of("sleep", "300"),
        WorkerClass.BATCH, 100, 64));
    assertThat(supervisor.running()).extracting(RunningWorker::workerId)
        .containsExactly("long", "fresh");

    assertThat(supervisor.kill("long", "application finished")).isTrue();
    assertThat(exits.cause("long"))
        .isEqualTo(new ExitCause.KilledByRequest("application finished"));
    await().atMost(Exits.WAIT).until(() -> TuboTests.isGoneOrZombie(longPid));
    // "done" was reported by the crashed Tubo, so not again.
    await().during(Duration.ofMillis(200)).atMost(Exits.WAIT).until(() -> !exits.has("done"));
  }
}
