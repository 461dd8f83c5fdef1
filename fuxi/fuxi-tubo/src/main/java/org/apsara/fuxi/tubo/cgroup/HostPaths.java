package org.apsara.fuxi.tubo.cgroup;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where Tubo reads what the kernel says about this machine and its own process; tests point these
 * at files of their own.
 *
 * @param mountinfo the mount table of Tubo's process ({@code /proc/self/mountinfo})
 * @param selfCgroup the cgroups of Tubo's process ({@code /proc/self/cgroup})
 * @param meminfo the memory of the machine ({@code /proc/meminfo})
 */
public record HostPaths(Path mountinfo, Path selfCgroup, Path meminfo) {
  /** The running kernel's files. */
  public static final HostPaths SYSTEM = new HostPaths(
      Path.of("/proc/self/mountinfo"), Path.of("/proc/self/cgroup"), Path.of("/proc/meminfo"));

  public HostPaths {
    Objects.requireNonNull(mountinfo, "mountinfo");
    Objects.requireNonNull(selfCgroup, "selfCgroup");
    Objects.requireNonNull(meminfo, "meminfo");
  }
}
