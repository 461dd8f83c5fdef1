package org.apsara.fuxi.tubo.cgroup;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CgroupMountsTest {
  /** A hybrid machine: one v1 hierarchy per controller, and an empty cgroup2 one. */
  private static final String HYBRID = String.join("\n",
      "23 1 0:21 / /sys rw,nosuid - sysfs sysfs rw",
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct",
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
      "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer",
      "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd",
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate",
      "");

  @Test
  void findsEachV1ControllerAndTheUnifiedHierarchy() {
    CgroupMounts mounts = CgroupMounts.parse(HYBRID);

    assertThat(mounts.v1("cpu").orElseThrow().mountPoint())
        .isEqualTo(Path.of("/sys/fs/cgroup/cpu,cpuacct"));
    assertThat(mounts.v1("cpuacct").orElseThrow().controllers())
        .isEqualTo(Set.of("cpu", "cpuacct"));
    assertThat(mounts.v1("memory").orElseThrow().mountPoint())
        .isEqualTo(Path.of("/sys/fs/cgroup/memory"));
    assertThat(mounts.v1("systemd")).as("a named hierarchy has no controller").isEmpty();
    assertThat(mounts.v1("pids")).isEmpty();
    assertThat(mounts.unified().orElseThrow().mountPoint())
        .isEqualTo(Path.of("/sys/fs/cgroup/unified"));
    assertThat(mounts.mounts()).hasSize(5);
  }

  @Test
  void readsAPureV2MachineAndEscapedMountPoints() {
    CgroupMounts mounts = CgroupMounts.parse(
        "30 24 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
            + "31 24 0:27 / /mnt/with\\040space rw - cgroup2 cgroup2 rw\n"
            + "garbage line\n");

    assertThat(mounts.v1("memory")).isEmpty();
    assertThat(mounts.unified().orElseThrow().mountPoint()).isEqualTo(Path.of("/sys/fs/cgroup"));
    assertThat(mounts.mounts().get(1).mountPoint()).isEqualTo(Path.of("/mnt/with space"));
  }

  @Test
  void readsTheGroupsOfAProcess() {
    Map<String, String> paths = CgroupMounts.parseProcessCgroups(
        "4:memory:/process_api/abc\n2:cpu,cpuacct:/\n1:name=systemd:/init.scope\n0::/user.slice\n");

    assertThat(paths).containsEntry("memory", "/process_api/abc")
        .containsEntry("cpu", "/").containsEntry("cpuacct", "/")
        .containsEntry("", "/user.slice");
  }

  @Test
  void mapsAGroupPathToItsDirectoryAlsoUnderABindMountedSubtree() {
    CgroupMounts.Mount host = new CgroupMounts.Mount(Path.of("/sys/fs/cgroup/memory"), "/",
        false, Set.of("memory"));
    CgroupMounts.Mount container = new CgroupMounts.Mount(Path.of("/sys/fs/cgroup/memory"),
        "/docker/abc", false, Set.of("memory"));

    assertThat(CgroupMounts.directoryOf(host, "/a/b"))
        .contains(Path.of("/sys/fs/cgroup/memory/a/b"));
    assertThat(CgroupMounts.directoryOf(host, "/")).contains(Path.of("/sys/fs/cgroup/memory"));
    assertThat(CgroupMounts.directoryOf(container, "/docker/abc/x"))
        .contains(Path.of("/sys/fs/cgroup/memory/x"));
    assertThat(CgroupMounts.directoryOf(container, "/elsewhere")).isEmpty();
  }
}
