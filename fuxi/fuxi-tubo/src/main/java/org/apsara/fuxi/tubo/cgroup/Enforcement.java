package org.apsara.fuxi.tubo.cgroup;

/** How a Tubo enforces its workers' limits; reported to the master and in Tubo's health. */
public enum Enforcement {
  /** cgroup v1: one hierarchy per controller (cpu, cpuacct, memory; freezer when mounted). */
  CGROUP_V1,
  /** cgroup v2: one unified hierarchy with the cpu and memory controllers. */
  CGROUP_V2,
  /**
   * No cgroups (not root, or no writable hierarchy): workers run without CPU or memory limits,
   * a memory kill cannot be detected, and a kill reaches only the process tree Tubo can see. For
   * a laptop, never for a shared machine.
   */
  UNENFORCED
}
