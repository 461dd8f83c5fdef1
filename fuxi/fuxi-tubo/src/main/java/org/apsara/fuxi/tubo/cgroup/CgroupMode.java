package org.apsara.fuxi.tubo.cgroup;

/** Which cgroup driver to use: found from the mounts, or forced. */
public enum CgroupMode {
  /**
   * cgroup v2 if its hierarchy offers the cpu and memory controllers, else cgroup v1 if its cpu,
   * cpuacct and memory hierarchies are mounted, else unenforced; a hierarchy that cannot be
   * written falls back to unenforced with a warning.
   */
  AUTO,
  /** cgroup v1; fails if its hierarchies are missing or not writable. */
  V1,
  /** cgroup v2; fails if the hierarchy lacks the cpu or memory controller or is not writable. */
  V2,
  /** No cgroups, on purpose. */
  NONE
}
