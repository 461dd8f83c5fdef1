package org.apsara.fuxi.tubo.cgroup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Finds the cgroup hierarchies of this machine and opens the driver Tubo will use. */
public final class CgroupDrivers {
  private static final Logger log = LoggerFactory.getLogger(CgroupDrivers.class);

  /** How long a kill may take to empty a group before it is reported as failed. */
  public static final Duration KILL_TIMEOUT = Duration.ofSeconds(10);

  /**
   * How long a stopping Tubo waits for the kills that hold a group frozen to thaw it. A kill
   * holds a group frozen for about a second at most: the wait for the freeze to take, then one
   * round of signals.
   */
  public static final Duration STOP_FREEZING_WAIT = Duration.ofSeconds(5);

  /** Tubo's group name, relative to a hierarchy's root: one or more plain path segments. */
  public static final Pattern PARENT_NAME_PATTERN =
      Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(/[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}){0,7}");

  /** The default name of Tubo's group. */
  public static final String DEFAULT_PARENT_NAME = "apsara-tubo";

  private CgroupDrivers() {}

  /**
   * Opens and {@link CgroupDriver#prepare prepares} the driver {@code mode} asks for.
   *
   * <p>In {@link CgroupMode#AUTO}, a machine without usable cgroups (none mounted, or not
   * writable, typically because Tubo is not root) gets the unenforced driver and a loud warning;
   * in {@link CgroupMode#V1} and {@link CgroupMode#V2} it is an error.
   *
   * @param parentName Tubo's group, relative to each hierarchy's root
   * @param machineMillicores the machine's CPU, for the class weights
   * @throws IOException if a forced version is not available or cannot be prepared
   */
  public static CgroupDriver open(
      CgroupMode mode, String parentName, int machineMillicores, HostPaths host)
      throws IOException {
    requireParentName(parentName);
    if (mode == CgroupMode.NONE) {
      return unenforced("cgroups turned off by configuration");
    }
    CgroupMounts mounts = CgroupMounts.read(host.mountinfo());
    Optional<CgroupDriver> v2 = v2(mounts, parentName);
    Optional<CgroupDriver> v1 = v1(mounts, parentName);
    CgroupDriver chosen;
    switch (mode) {
      case V2 -> chosen = v2.orElseThrow(() -> new IOException(
          "cgroup v2 was asked for, but no cgroup2 hierarchy offers the cpu and memory"
              + " controllers"));
      case V1 -> chosen = v1.orElseThrow(() -> new IOException(
          "cgroup v1 was asked for, but the cpu, cpuacct and memory hierarchies are not all"
              + " mounted"));
      default -> {
        if (v2.isPresent()) {
          chosen = v2.get();
        } else if (v1.isPresent()) {
          chosen = v1.get();
        } else {
          return unenforced("no cgroup hierarchy with the cpu and memory controllers");
        }
      }
    }
    try {
      chosen.prepare(machineMillicores);
    } catch (IOException e) {
      if (mode != CgroupMode.AUTO) {
        throw new IOException("cannot prepare " + chosen.describe() + ": " + e.getMessage(), e);
      }
      return unenforced("cannot write " + chosen.describe() + ": " + e);
    }
    log.info("Tubo enforces worker limits with {}", chosen.describe());
    return chosen;
  }

  /** The v2 driver if a cgroup2 hierarchy offers both controllers Tubo needs. */
  static Optional<CgroupDriver> v2(CgroupMounts mounts, String parentName) throws IOException {
    Optional<CgroupMounts.Mount> unified = mounts.unified();
    if (unified.isEmpty()) {
      return Optional.empty();
    }
    Path root = unified.get().mountPoint();
    Path controllers = root.resolve("cgroup.controllers");
    if (!Files.exists(controllers)) {
      return Optional.empty();
    }
    String offered = " " + Files.readString(controllers).trim() + " ";
    for (String needed : V2CgroupDriver.CONTROLLERS) {
      if (!offered.contains(" " + needed + " ")) {
        return Optional.empty();
      }
    }
    return Optional.of(new V2CgroupDriver(new CgroupFiles(), parentName, root));
  }

  /** The v1 driver if the cpu, cpuacct and memory hierarchies are mounted. */
  static Optional<CgroupDriver> v1(CgroupMounts mounts, String parentName) {
    Optional<CgroupMounts.Mount> cpu = mounts.v1("cpu");
    Optional<CgroupMounts.Mount> cpuacct = mounts.v1("cpuacct");
    Optional<CgroupMounts.Mount> memory = mounts.v1("memory");
    if (cpu.isEmpty() || cpuacct.isEmpty() || memory.isEmpty()) {
      return Optional.empty();
    }
    Path freezer = mounts.v1("freezer").map(CgroupMounts.Mount::mountPoint).orElse(null);
    return Optional.of(new V1CgroupDriver(new CgroupFiles(), parentName,
        cpu.get().mountPoint(), cpuacct.get().mountPoint(), memory.get().mountPoint(), freezer));
  }

  private static CgroupDriver unenforced(String why) {
    CgroupDriver driver = new UnenforcedCgroupDriver(why);
    log.warn("**********************************************************************");
    log.warn("Tubo runs {}.", driver.describe());
    log.warn("Workers are NOT isolated; fine for a laptop, not for a shared machine.");
    log.warn("**********************************************************************");
    return driver;
  }

  static String requireParentName(String parentName) {
    if (parentName == null || !PARENT_NAME_PATTERN.matcher(parentName).matches()) {
      throw new IllegalArgumentException(
          "cgroup parent name '" + parentName + "' does not match " + PARENT_NAME_PATTERN);
    }
    return parentName;
  }
}
