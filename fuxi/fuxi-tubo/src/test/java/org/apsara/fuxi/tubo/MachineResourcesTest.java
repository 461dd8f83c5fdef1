package org.apsara.fuxi.tubo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apsara.fuxi.tubo.cgroup.HostPaths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Detection against /proc and cgroup files laid out in a temp dir, and once on this machine. */
class MachineResourcesTest {
  private static final String MEMINFO = "MemTotal:       16384000 kB\nMemFree:  100 kB\n";

  @TempDir Path dir;

  /** A host whose Tubo runs in group /tubo of the given hierarchy layout. */
  private HostPaths host(String mountinfo, String selfCgroup) throws IOException {
    Files.writeString(dir.resolve("meminfo"), MEMINFO);
    Files.writeString(dir.resolve("mountinfo"), mountinfo);
    Files.writeString(dir.resolve("cgroup"), selfCgroup);
    return new HostPaths(dir.resolve("mountinfo"), dir.resolve("cgroup"), dir.resolve("meminfo"));
  }

  private Path group(String... parts) throws IOException {
    Path group = dir.resolve(String.join("/", parts));
    Files.createDirectories(group);
    return group;
  }

  @Test
  void withoutCgroupLimitsTheMachineLessTheReserveIsOffered() throws IOException {
    HostPaths host = host("", "");

    assertThat(MachineResources.detect(host, 4, 500, 1024))
        .isEqualTo(new MachineResources(3500, 16000 - 1024));
  }

  @Test
  void theLimitsOfTubosOwnV1GroupAndItsAncestorsLowerWhatIsOffered() throws IOException {
    Path memory = group("memory");
    Path cpu = group("cpu");
    Files.writeString(group("memory", "outer").resolve("memory.limit_in_bytes"),
        Long.toString(6L << 30));
    Files.writeString(group("memory", "outer", "tubo").resolve("memory.limit_in_bytes"),
        "9223372036854771712");
    Files.writeString(group("cpu", "outer", "tubo").resolve("cpu.cfs_quota_us"), "150000");
    Files.writeString(group("cpu", "outer", "tubo").resolve("cpu.cfs_period_us"), "100000");
    HostPaths host = host(
        "35 31 0:32 / " + memory + " rw - cgroup cgroup rw,memory\n"
            + "32 31 0:29 / " + cpu + " rw - cgroup cgroup rw,cpu\n",
        "4:memory:/outer/tubo\n1:cpu:/outer/tubo\n");

    assertThat(MachineResources.detect(host, 4, 500, 1024))
        .isEqualTo(new MachineResources(1000, 6 * 1024 - 1024));
  }

  @Test
  void theLimitsOfTubosOwnV2GroupLowerWhatIsOffered() throws IOException {
    Path unified = group("unified");
    Files.writeString(group("unified", "tubo").resolve("memory.max"), Long.toString(2L << 30));
    Files.writeString(group("unified", "tubo").resolve("cpu.max"), "250000 100000");
    Files.writeString(unified.resolve("memory.max"), "max");
    HostPaths host = host("41 31 0:38 / " + unified + " rw - cgroup2 cgroup2 rw\n", "0::/tubo\n");

    assertThat(MachineResources.detect(host, 8, 500, 1024))
        .isEqualTo(new MachineResources(2000, 1024));
  }

  @Test
  void aReserveThatLeavesNothingIsAnError() throws IOException {
    HostPaths host = host("", "");

    assertThatThrownBy(() -> MachineResources.detect(host, 1, 1000, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("leaves nothing for workers");
  }

  @Test
  void detectsThisMachine() throws IOException {
    MachineResources detected = MachineResources.detect();
    int processors = Runtime.getRuntime().availableProcessors();

    assertThat(detected.cpuMillicores()).isPositive()
        .isLessThanOrEqualTo(processors * 1000 - MachineResources.DEFAULT_RESERVED_CPU_MILLICORES);
    assertThat(detected.memoryMib()).isPositive();
  }
}
