package org.apsara.fuxi.tubo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.apsara.fuxi.tubo.cgroup.CgroupMounts;
import org.apsara.fuxi.tubo.cgroup.HostPaths;

/**
 * The CPU and memory this machine offers to workers: what it has, less what is kept for the
 * system (the kernel, Tubo itself, other daemons). Immutable.
 *
 * <p>Detection takes the smaller of the machine's and of the limits of the cgroup Tubo runs in
 * (and its ancestors): a Tubo in a container must not offer more than the container has, even
 * though it places its workers in groups of its own.
 *
 * @param cpuMillicores CPU offered to workers, in thousandths of a core
 * @param memoryMib memory offered to workers
 */
public record MachineResources(int cpuMillicores, long memoryMib) {
  /** CPU kept for the system unless configured otherwise: half a core. */
  public static final int DEFAULT_RESERVED_CPU_MILLICORES = 500;

  /** Memory kept for the system unless configured otherwise: 1 GiB. */
  public static final long DEFAULT_RESERVED_MEMORY_MIB = 1024;

  /** A cgroup limit at or above this many bytes means "no limit" (v1 writes 2^63 - page). */
  static final long UNLIMITED_BYTES = 1L << 60;

  public MachineResources {
    if (cpuMillicores <= 0 || memoryMib <= 0) {
      throw new IllegalArgumentException("a machine must offer some cpu and memory, not "
          + cpuMillicores + " millicores and " + memoryMib + " MiB");
    }
  }

  /**
   * Detects the machine's CPU (the JVM's available processors, which already honour Tubo's cpuset
   * and quota) and memory ({@code MemTotal} of meminfo), lowers them to the limits of Tubo's own
   * cgroup, and subtracts the reserve.
   *
   * @throws IOException if meminfo cannot be read
   * @throws IllegalArgumentException if nothing is left after the reserve
   */
  public static MachineResources detect(
      HostPaths host, int availableProcessors, int reservedCpuMillicores, long reservedMemoryMib)
      throws IOException {
    if (reservedCpuMillicores < 0 || reservedMemoryMib < 0) {
      throw new IllegalArgumentException("a reserve cannot be negative");
    }
    long cpu = availableProcessors * 1000L;
    long memoryMib = memTotalMib(Files.readString(host.meminfo()));
    OwnLimits own = ownLimits(host);
    if (own.cpuMillicores().isPresent()) {
      cpu = Math.min(cpu, own.cpuMillicores().getAsLong());
    }
    if (own.memoryBytes().isPresent()) {
      memoryMib = Math.min(memoryMib, own.memoryBytes().getAsLong() / (1024 * 1024));
    }
    long offeredCpu = cpu - reservedCpuMillicores;
    long offeredMemory = memoryMib - reservedMemoryMib;
    if (offeredCpu <= 0 || offeredMemory <= 0) {
      throw new IllegalArgumentException("the machine has " + cpu + " millicores and "
          + memoryMib + " MiB; the reserve of " + reservedCpuMillicores + " millicores and "
          + reservedMemoryMib + " MiB leaves nothing for workers");
    }
    return new MachineResources((int) Math.min(Integer.MAX_VALUE, offeredCpu), offeredMemory);
  }

  /** {@link #detect} with this JVM's processors and the default reserve. */
  public static MachineResources detect() throws IOException {
    return detect(HostPaths.SYSTEM, Runtime.getRuntime().availableProcessors(),
        DEFAULT_RESERVED_CPU_MILLICORES, DEFAULT_RESERVED_MEMORY_MIB);
  }

  static long memTotalMib(String meminfo) {
    for (String line : meminfo.split("\n")) {
      if (line.startsWith("MemTotal:")) {
        String[] parts = line.substring("MemTotal:".length()).trim().split("\\s+");
        return Long.parseLong(parts[0]) / 1024;
      }
    }
    throw new IllegalArgumentException("meminfo has no MemTotal line");
  }

  /** The limits of the cgroup a process runs in, lowest along the path to the root. */
  record OwnLimits(OptionalLong cpuMillicores, OptionalLong memoryBytes) {}

  static OwnLimits ownLimits(HostPaths host) throws IOException {
    if (!Files.exists(host.selfCgroup()) || !Files.exists(host.mountinfo())) {
      return new OwnLimits(OptionalLong.empty(), OptionalLong.empty());
    }
    CgroupMounts mounts = CgroupMounts.read(host.mountinfo());
    Map<String, String> paths =
        CgroupMounts.parseProcessCgroups(Files.readString(host.selfCgroup()));
    long cpu = Long.MAX_VALUE;
    long memory = Long.MAX_VALUE;

    Optional<Path> v1Memory = groupDir(mounts.v1("memory"), paths.get("memory"));
    if (v1Memory.isPresent()) {
      for (Path dir : ancestors(v1Memory.get(), mounts.v1("memory").get().mountPoint())) {
        memory = Math.min(memory, readLimitBytes(dir.resolve("memory.limit_in_bytes")));
      }
    }
    Optional<Path> v1Cpu = groupDir(mounts.v1("cpu"), paths.get("cpu"));
    if (v1Cpu.isPresent()) {
      for (Path dir : ancestors(v1Cpu.get(), mounts.v1("cpu").get().mountPoint())) {
        long quota = readLong(dir.resolve("cpu.cfs_quota_us"), -1);
        long period = readLong(dir.resolve("cpu.cfs_period_us"), -1);
        if (quota > 0 && period > 0) {
          cpu = Math.min(cpu, quota * 1000 / period);
        }
      }
    }
    Optional<Path> v2 = groupDir(mounts.unified(), paths.get(""));
    if (v2.isPresent()) {
      for (Path dir : ancestors(v2.get(), mounts.unified().get().mountPoint())) {
        memory = Math.min(memory, readLimitBytes(dir.resolve("memory.max")));
        Path cpuMax = dir.resolve("cpu.max");
        if (Files.exists(cpuMax)) {
          String[] parts = Files.readString(cpuMax).trim().split("\\s+");
          if (parts.length == 2 && !parts[0].equals("max")) {
            cpu = Math.min(cpu, Long.parseLong(parts[0]) * 1000 / Long.parseLong(parts[1]));
          }
        }
      }
    }
    return new OwnLimits(
        cpu == Long.MAX_VALUE ? OptionalLong.empty() : OptionalLong.of(cpu),
        memory == Long.MAX_VALUE ? OptionalLong.empty() : OptionalLong.of(memory));
  }

  private static Optional<Path> groupDir(Optional<CgroupMounts.Mount> mount, String path) {
    if (mount.isEmpty() || path == null) {
      return Optional.empty();
    }
    return CgroupMounts.directoryOf(mount.get(), path).filter(Files::isDirectory);
  }

  /** {@code dir} and its parents up to and including {@code top}. */
  private static List<Path> ancestors(Path dir, Path top) {
    List<Path> dirs = new ArrayList<>();
    for (Path p = dir; p != null && p.startsWith(top); p = p.getParent()) {
      dirs.add(p);
    }
    return dirs;
  }

  private static long readLimitBytes(Path file) throws IOException {
    if (!Files.exists(file)) {
      return Long.MAX_VALUE;
    }
    String value = Files.readString(file).trim();
    if (value.equals("max")) {
      return Long.MAX_VALUE;
    }
    long bytes = Long.parseLong(value);
    return bytes >= UNLIMITED_BYTES ? Long.MAX_VALUE : bytes;
  }

  private static long readLong(Path file, long absent) throws IOException {
    return Files.exists(file) ? Long.parseLong(Files.readString(file).trim()) : absent;
  }
}
