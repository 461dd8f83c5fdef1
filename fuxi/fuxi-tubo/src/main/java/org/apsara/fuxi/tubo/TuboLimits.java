package org.apsara.fuxi.tubo;

import java.util.regex.Pattern;

/** Every limit Tubo checks, in one place. */
public final class TuboLimits {
  private TuboLimits() {}

  /**
   * What a worker id and an application id may look like: they name directories (the sandbox, the
   * cgroup), so no separators, no leading dot, and a bounded length.
   */
  public static final Pattern ID_PATTERN = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");

  /** Workers one Tubo supervises at once (running and being launched). */
  public static final int MAX_WORKERS = 1024;

  /** Arguments of a worker's command, including the program. */
  public static final int MAX_COMMAND_ARGS = 4096;

  /** Environment variables given to a worker. */
  public static final int MAX_ENVIRONMENT_ENTRIES = 1024;

  /** Bytes of the command plus the environment: well below the kernel's ARG_MAX of 2 MiB. */
  public static final int MAX_COMMAND_AND_ENVIRONMENT_BYTES = 512 * 1024;

  /** The smallest CPU grant: below this the CFS quota is too short to run anything useful. */
  public static final int MIN_CPU_MILLICORES = 10;

  /** The largest CPU grant of one worker (1024 cores). */
  public static final int MAX_CPU_MILLICORES = 1024 * 1000;

  /** The smallest memory grant: a shell and a small program fit. */
  public static final long MIN_MEMORY_MIB = 4;

  /** The largest memory grant of one worker (16 TiB). */
  public static final long MAX_MEMORY_MIB = 16L * 1024 * 1024;

  /** Bytes of a kill or launch-failure reason kept and reported. */
  public static final int MAX_REASON_CHARS = 1024;

  /** Finished sandboxes kept for debugging, at most, whatever the configured count. */
  public static final int MAX_SANDBOXES_KEPT = 10_000;
}
