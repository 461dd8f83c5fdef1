package org.apsara.fuxi.tubo;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import org.apsara.common.time.MonotonicClock;
import org.apsara.fuxi.tubo.cgroup.CgroupDrivers;
import org.apsara.fuxi.tubo.cgroup.CgroupMode;
import org.apsara.fuxi.tubo.cgroup.HostPaths;

/**
 * Everything a {@link WorkerSupervisor} is configured with, each value with its default. Immutable;
 * change a value with the {@code with...} methods.
 *
 * @param sandboxRoot the directory holding one sandbox directory per worker; Tubo owns it
 * @param resources what the machine offers to workers ({@link MachineResources#detect()} or
 *     configured); a launch beyond it is refused
 * @param cgroupMode which cgroup version to use; default {@link CgroupMode#AUTO}
 * @param cgroupParent Tubo's group in each cgroup hierarchy; default {@value
 *     CgroupDrivers#DEFAULT_PARENT_NAME}. Two Tubos on one machine need different ones.
 * @param sandboxesKept finished sandboxes kept for debugging, at most; default {@value
 *     #DEFAULT_SANDBOXES_KEPT}, never above {@link TuboLimits#MAX_SANDBOXES_KEPT}
 * @param sandboxRetention how long a finished sandbox is kept at most; default {@link
 *     #DEFAULT_SANDBOX_RETENTION}
 * @param defaultPath the {@code PATH} of a worker whose environment sets none
 * @param clock the clock sandbox retention is measured with
 * @param host where the kernel's files are read
 */
public record TuboConfig(
    Path sandboxRoot,
    MachineResources resources,
    CgroupMode cgroupMode,
    String cgroupParent,
    int sandboxesKept,
    Duration sandboxRetention,
    String defaultPath,
    MonotonicClock clock,
    HostPaths host) {

  /** Finished sandboxes kept unless configured otherwise. */
  public static final int DEFAULT_SANDBOXES_KEPT = 20;

  /** How long a finished sandbox is kept unless configured otherwise. */
  public static final Duration DEFAULT_SANDBOX_RETENTION = Duration.ofHours(1);

  /** A worker's PATH unless its environment sets one. */
  public static final String DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

  public TuboConfig {
    Objects.requireNonNull(sandboxRoot, "sandboxRoot");
    Objects.requireNonNull(resources, "resources");
    Objects.requireNonNull(cgroupMode, "cgroupMode");
    Objects.requireNonNull(cgroupParent, "cgroupParent");
    Objects.requireNonNull(sandboxRetention, "sandboxRetention");
    Objects.requireNonNull(defaultPath, "defaultPath");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(host, "host");
    sandboxRoot = sandboxRoot.toAbsolutePath().normalize();
    if (!CgroupDrivers.PARENT_NAME_PATTERN.matcher(cgroupParent).matches()) {
      throw new IllegalArgumentException("cgroupParent '" + cgroupParent + "' does not match "
          + CgroupDrivers.PARENT_NAME_PATTERN);
    }
    if (sandboxesKept < 0 || sandboxesKept > TuboLimits.MAX_SANDBOXES_KEPT) {
      throw new IllegalArgumentException("sandboxesKept " + sandboxesKept + " is outside [0, "
          + TuboLimits.MAX_SANDBOXES_KEPT + "]");
    }
    if (sandboxRetention.isNegative()) {
      throw new IllegalArgumentException("sandboxRetention cannot be negative");
    }
  }

  /** The defaults, with the sandboxes under {@code sandboxRoot} and these resources. */
  public static TuboConfig defaults(Path sandboxRoot, MachineResources resources) {
    return new TuboConfig(sandboxRoot, resources, CgroupMode.AUTO,
        CgroupDrivers.DEFAULT_PARENT_NAME, DEFAULT_SANDBOXES_KEPT, DEFAULT_SANDBOX_RETENTION,
        DEFAULT_PATH, MonotonicClock.SYSTEM, HostPaths.SYSTEM);
  }

  public TuboConfig withCgroupMode(CgroupMode mode) {
    return new TuboConfig(sandboxRoot, resources, mode, cgroupParent, sandboxesKept,
        sandboxRetention, defaultPath, clock, host);
  }

  public TuboConfig withCgroupParent(String parent) {
    return new TuboConfig(sandboxRoot, resources, cgroupMode, parent, sandboxesKept,
        sandboxRetention, defaultPath, clock, host);
  }

  public TuboConfig withSandboxRetention(int kept, Duration retention) {
    return new TuboConfig(sandboxRoot, resources, cgroupMode, cgroupParent, kept, retention,
        defaultPath, clock, host);
  }

  public TuboConfig withDefaultPath(String path) {
    return new TuboConfig(sandboxRoot, resources, cgroupMode, cgroupParent, sandboxesKept,
        sandboxRetention, path, clock, host);
  }

  public TuboConfig withClock(MonotonicClock newClock) {
    return new TuboConfig(sandboxRoot, resources, cgroupMode, cgroupParent, sandboxesKept,
        sandboxRetention, defaultPath, newClock, host);
  }
}
