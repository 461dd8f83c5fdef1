package org.apsara.fuxi.tubo;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What to run on this machine and within which limits. Immutable; the constructor checks every
 * field against {@link TuboLimits} and throws {@link IllegalArgumentException} naming the field,
 * the value and the limit.
 *
 * @param workerId unique on this machine while the worker runs or its sandbox is kept; names its
 *     sandbox directory and its cgroup
 * @param applicationId the application the worker belongs to, for reports
 * @param role the application's role the worker is a unit of (for instance {@code fuxi.am} for an
 *     application master): grants are counted per (application, role), so a restarted Tubo must
 *     know it for the workers it adopts
 * @param command the program and its arguments (no shell is involved unless the program is one)
 * @param environment the worker's whole environment: Tubo's own environment is not inherited (it
 *     may hold credentials); Tubo adds {@code TUBO_WORKER_ID}, {@code TUBO_APPLICATION_ID}, {@code
 *     TUBO_SANDBOX}, {@code HOME} (the sandbox) and a default {@code PATH} unless given here
 * @param workerClass latency-sensitive service or batch work
 * @param cpuMillicores the CPU granted: a hard cap (CFS quota) and the worker's weight in its class
 * @param memoryMib the memory granted: above it the kernel kills the worker
 */
public record WorkerSpec(
    String workerId,
    String applicationId,
    String role,
    List<String> command,
    Map<String, String> environment,
    WorkerClass workerClass,
    int cpuMillicores,
    long memoryMib) {

  /**
   * The role of a worker launched without one (the supervisor's own tests and tools), and of a
   * worker recorded by a Tubo that did not record roles yet.
   */
  public static final String DEFAULT_ROLE = "default";

  public WorkerSpec {
    requireId(workerId, "workerId");
    requireId(applicationId, "applicationId");
    requireId(role, "role");
    Objects.requireNonNull(command, "command");
    Objects.requireNonNull(environment, "environment");
    Objects.requireNonNull(workerClass, "workerClass");
    command = List.copyOf(command);
    environment = Map.copyOf(environment);
    if (command.isEmpty() || command.get(0).isEmpty()) {
      throw new IllegalArgumentException("worker " + workerId + ": the command is empty");
    }
    if (command.size() > TuboLimits.MAX_COMMAND_ARGS) {
      throw new IllegalArgumentException("worker " + workerId + ": " + command.size()
          + " command arguments, more than the limit of " + TuboLimits.MAX_COMMAND_ARGS);
    }
    if (environment.size() > TuboLimits.MAX_ENVIRONMENT_ENTRIES) {
      throw new IllegalArgumentException("worker " + workerId + ": " + environment.size()
          + " environment entries, more than the limit of " + TuboLimits.MAX_ENVIRONMENT_ENTRIES);
    }
    long bytes = 0;
    for (String arg : command) {
      requireNoNul(arg, workerId, "command argument");
      bytes += arg.getBytes(StandardCharsets.UTF_8).length + 1;
    }
    for (Map.Entry<String, String> entry : environment.entrySet()) {
      String key = entry.getKey();
      if (key.isEmpty() || key.indexOf('=') >= 0) {
        throw new IllegalArgumentException(
            "worker " + workerId + ": bad environment variable name '" + key + "'");
      }
      requireNoNul(key, workerId, "environment variable name");
      requireNoNul(entry.getValue(), workerId, "environment value");
      bytes += key.getBytes(StandardCharsets.UTF_8).length
          + entry.getValue().getBytes(StandardCharsets.UTF_8).length + 2;
    }
    if (bytes > TuboLimits.MAX_COMMAND_AND_ENVIRONMENT_BYTES) {
      throw new IllegalArgumentException("worker " + workerId + ": command and environment take "
          + bytes + " bytes, more than the limit of "
          + TuboLimits.MAX_COMMAND_AND_ENVIRONMENT_BYTES);
    }
    if (cpuMillicores < TuboLimits.MIN_CPU_MILLICORES
        || cpuMillicores > TuboLimits.MAX_CPU_MILLICORES) {
      throw new IllegalArgumentException("worker " + workerId + ": cpuMillicores " + cpuMillicores
          + " is outside [" + TuboLimits.MIN_CPU_MILLICORES + ", "
          + TuboLimits.MAX_CPU_MILLICORES + "]");
    }
    if (memoryMib < TuboLimits.MIN_MEMORY_MIB || memoryMib > TuboLimits.MAX_MEMORY_MIB) {
      throw new IllegalArgumentException("worker " + workerId + ": memoryMib " + memoryMib
          + " is outside [" + TuboLimits.MIN_MEMORY_MIB + ", " + TuboLimits.MAX_MEMORY_MIB + "]");
    }
  }

  /**
   * A spec of role {@link #DEFAULT_ROLE} with no environment of its own; for callers and tests
   * that need neither.
   */
  public static WorkerSpec of(
      String workerId,
      String applicationId,
      List<String> command,
      WorkerClass workerClass,
      int cpuMillicores,
      long memoryMib) {
    return new WorkerSpec(workerId, applicationId, DEFAULT_ROLE, command, Map.of(), workerClass,
        cpuMillicores, memoryMib);
  }

  /** This spec with {@code key=value} added to its environment. */
  public WorkerSpec withEnv(String key, String value) {
    Map<String, String> env = new LinkedHashMap<>(environment);
    env.put(key, value);
    return new WorkerSpec(
        workerId, applicationId, role, command, env, workerClass, cpuMillicores, memoryMib);
  }

  /**
   * The id of a worker on its machine when several applications share the machine: the
   * application's own worker id (unique within the application only: two applications may both
   * name a worker {@code am-1}) prefixed by the application id and a dot. The agent launches
   * every worker under such an id; {@link #applicationWorkerId()} takes it apart again.
   *
   * @throws IllegalArgumentException if the result does not match {@link TuboLimits#ID_PATTERN}
   */
  public static String machineWorkerId(String applicationId, String applicationWorkerId) {
    requireId(applicationId, "applicationId");
    requireId(applicationWorkerId, "workerId");
    String id = applicationId + "." + applicationWorkerId;
    requireId(id, "application id and worker id together");
    return id;
  }

  /**
   * The worker id as its application knows it: {@link #workerId} without the {@code
   * applicationId.} prefix of {@link #machineWorkerId}, or {@link #workerId} itself when it has no
   * such prefix. Workers see it as {@code TUBO_WORKER_ID}.
   */
  public String applicationWorkerId() {
    String prefix = applicationId + ".";
    return workerId.startsWith(prefix) && workerId.length() > prefix.length()
        ? workerId.substring(prefix.length())
        : workerId;
  }

  /** This spec with another role. */
  public WorkerSpec withRole(String newRole) {
    return new WorkerSpec(workerId, applicationId, newRole, command, environment, workerClass,
        cpuMillicores, memoryMib);
  }

  static void requireId(String id, String what) {
    Objects.requireNonNull(id, what);
    if (!TuboLimits.ID_PATTERN.matcher(id).matches()) {
      throw new IllegalArgumentException(what + " '" + id + "' does not match "
          + TuboLimits.ID_PATTERN.pattern());
    }
  }

  private static void requireNoNul(String s, String workerId, String what) {
    Objects.requireNonNull(s, what);
    if (s.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("worker " + workerId + ": a " + what + " contains NUL");
    }
  }
}
