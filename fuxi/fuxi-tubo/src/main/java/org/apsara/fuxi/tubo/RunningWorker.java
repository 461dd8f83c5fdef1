package org.apsara.fuxi.tubo;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A worker that runs now, as reported in heartbeats and used to rebuild the master's state after a
 * failover. Immutable snapshot.
 *
 * @param spec what it was launched with
 * @param pid the process id of its main process
 * @param sandbox its sandbox directory
 * @param launchSequence increases with every launch on this machine, across Tubo restarts; the
 *     larger, the younger
 * @param adopted whether this Tubo took the worker over from a previous Tubo process
 */
public record RunningWorker(
    WorkerSpec spec, long pid, Path sandbox, long launchSequence, boolean adopted) {
  public RunningWorker {
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(sandbox, "sandbox");
  }

  public String workerId() {
    return spec.workerId();
  }
}
