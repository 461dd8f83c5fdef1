package org.apsara.fuxi.tubo;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A worker that is gone, and why. Immutable.
 *
 * @param spec what the worker was launched with
 * @param cause why it is gone
 * @param sandbox its sandbox directory, kept for a while after the exit (see {@link TuboConfig})
 */
public record WorkerExit(WorkerSpec spec, ExitCause cause, Path sandbox) {
  public WorkerExit {
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(cause, "cause");
    Objects.requireNonNull(sandbox, "sandbox");
  }

  public String workerId() {
    return spec.workerId();
  }
}
