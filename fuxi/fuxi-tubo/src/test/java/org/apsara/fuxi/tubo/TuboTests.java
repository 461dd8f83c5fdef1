package org.apsara.fuxi.tubo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.apsara.fuxi.tubo.cgroup.CgroupMode;
import org.apsara.fuxi.tubo.cgroup.CgroupMounts;
import org.apsara.fuxi.tubo.cgroup.HostPaths;
import org.junit.jupiter.api.Assumptions;

/** What the supervisor tests share: machine checks, configuration, clean-up. */
final class TuboTests {
  private TuboTests() {}

  /** Resources for tests: more than the tests ask for, whatever the machine has. */
  static final MachineResources RESOURCES = new MachineResources(8000, 8192);

  /** A cgroup parent of its own for each test, so that tests never see each other's groups. */
  static String uniqueCgroupParent() {
    return "apsara-tubo-test-" + UUID.randomUUID().toString().substring(0, 8);
  }

  static TuboConfig config(Path sandboxRoot, CgroupMode mode, String cgroupParent) {
    return TuboConfig.defaults(sandboxRoot, RESOURCES)
        .withCgroupMode(mode)
        .withCgroupParent(cgroupParent);
  }

  /**
   * Skips the calling test unless this process is root and the cgroup v1 cpu, cpuacct and memory
   * hierarchies are mounted and writable.
   */
  static void assumeWritableCgroupV1() {
    boolean root = "root".equals(System.getProperty("user.name"));
    Assumptions.assumeTrue(root, "needs root to write cgroups; runs as "
        + System.getProperty("user.name"));
    boolean mounted;
    try {
      CgroupMounts mounts = CgroupMounts.read(HostPaths.SYSTEM.mountinfo());
      mounted = List.of("cpu", "cpuacct", "memory").stream()
          .allMatch(c -> mounts.v1(c).map(m -> Files.isWritable(m.mountPoint())).orElse(false));
    } catch (IOException e) {
      mounted = false;
    }
    Assumptions.assumeTrue(mounted,
        "needs writable cgroup v1 cpu, cpuacct and memory hierarchies; this machine has none");
  }

  /**
   * The cgroup v1 freezer hierarchy; skips the calling test unless it is mounted and writable
   * (call {@link #assumeWritableCgroupV1} first).
   */
  static Path assumeWritableFreezer() {
    Optional<Path> freezer;
    try {
      freezer = CgroupMounts.read(HostPaths.SYSTEM.mountinfo()).v1("freezer")
          .map(CgroupMounts.Mount::mountPoint).filter(Files::isWritable);
    } catch (IOException e) {
      freezer = Optional.empty();
    }
    Assumptions.assumeTrue(freezer.isPresent(),
        "needs a writable cgroup v1 freezer hierarchy; this machine has none");
    return freezer.get();
  }

  /** Kills what a test left, waits for the reports, and removes the test's cgroups. */
  static void tearDown(WorkerSupervisor supervisor, Exits exits) throws IOException {
    if (supervisor == null) {
      return;
    }
    List<String> left = supervisor.running().stream().map(RunningWorker::workerId).toList();
    supervisor.killAll("test over");
    await().atMost(Exits.WAIT).until(() -> supervisor.running().isEmpty());
    left.forEach(exits::await);
    supervisor.close();
    assertThat(supervisor.removeTuboCgroups()).as("no worker cgroup left").isTrue();
  }

  /** Whether a process no longer runs: gone, or a zombie its (new) parent has yet to reap. */
  static boolean isGoneOrZombie(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      return stat.charAt(stat.lastIndexOf(')') + 2) == 'Z';
    } catch (IOException e) {
      return true;
    }
  }

  /** Whether a SIGKILL waits to be taken by the process (as by a frozen one). */
  static boolean killPending(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
      // The process-wide (ShdPnd) and the thread's (SigPnd) pending signals, bit n-1 for n.
      if ((line.startsWith("ShdPnd:") || line.startsWith("SigPnd:"))
          && (Long.parseUnsignedLong(line.substring(7).trim(), 16) & (1L << 8)) != 0) {
        return true;
      }
    }
    return false;
  }

  static String read(Path file) throws IOException {
    return Files.readString(file).trim();
  }
}
