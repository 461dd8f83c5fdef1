package org.apsara.fuxi.tubo.cgroup;

/**
 * What a worker's group has used, read from its cgroup. Immutable snapshot.
 *
 * @param cpuUsageNanos CPU time of all its processes since the group was made
 * @param memoryBytes memory charged to it now (including page cache)
 * @param oomKills processes the kernel killed in it for memory
 * @param throttledPeriods CFS periods in which its quota ran out
 */
public record GroupUsage(
    long cpuUsageNanos, long memoryBytes, long oomKills, long throttledPeriods) {
  public static final GroupUsage NONE = new GroupUsage(0, 0, 0, 0);
}
