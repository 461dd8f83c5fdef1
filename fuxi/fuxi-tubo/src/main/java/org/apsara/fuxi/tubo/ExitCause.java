package org.apsara.fuxi.tubo;

/**
 * Why a worker is gone. Exactly one cause is reported per worker, chosen in this order: a kill
 * Tubo was asked for ({@link KilledByRequest}) wins over a memory kill ({@link KilledForMemory}),
 * which wins over what the process's status says ({@link KilledBySignal} or {@link Exited}).
 * {@link LaunchFailed} means the worker's own program never ran.
 *
 * <p>Exit status follows the shell's convention: the JDK reports a process ended by signal n as
 * status 128 + n, so a worker that calls {@code exit(137)} itself is reported as killed by signal
 * 9. Workers should exit with codes below 128.
 */
public sealed interface ExitCause {

  /** The kind of cause, for metrics and switches. */
  Kind kind();

  /** The kinds of {@link ExitCause}. */
  enum Kind {
    EXITED,
    KILLED_FOR_MEMORY,
    KILLED_BY_REQUEST,
    KILLED_BY_SIGNAL,
    LAUNCH_FAILED,
    UNOBSERVED
  }

  /** The worker's program exited by itself with this status (0 to 127). */
  record Exited(int code) implements ExitCause {
    @Override
    public Kind kind() {
      return Kind.EXITED;
    }
  }

  /**
   * The kernel killed a process of the worker's group because the group went over its memory
   * limit (the cgroup's oom_kill counter rose), and the worker's main process then ended with a
   * failure.
   */
  record KilledForMemory(long memoryLimitMib) implements ExitCause {
    @Override
    public Kind kind() {
      return Kind.KILLED_FOR_MEMORY;
    }
  }

  /** Tubo killed the whole group because it was asked to ({@link WorkerSupervisor#kill}). */
  record KilledByRequest(String reason) implements ExitCause {
    @Override
    public Kind kind() {
      return Kind.KILLED_BY_REQUEST;
    }
  }

  /** The worker's main process was ended by this signal, not by Tubo. */
  record KilledBySignal(int signal) implements ExitCause {
    @Override
    public Kind kind() {
      return Kind.KILLED_BY_SIGNAL;
    }
  }

  /**
   * The worker's program never ran: the sandbox or the cgroup could not be made, the process
   * could not be started, it could not join its cgroup, or the program was not found.
   */
  record LaunchFailed(String message) implements ExitCause {
    @Override
    public Kind kind() {
      return Kind.LAUNCH_FAILED;
    }
  }

  /**
   * The worker was adopted after a Tubo restart and ended while Tubo was not its parent, so its
   * exit status could not be read (only a process's parent can). A memory kill is still reported
   * as {@link KilledForMemory}, since the cgroup's counter survives.
   */
  record Unobserved() implements ExitCause {
    @Override
    public Kind kind() {
      return Kind.UNOBSERVED;
    }
  }
}
