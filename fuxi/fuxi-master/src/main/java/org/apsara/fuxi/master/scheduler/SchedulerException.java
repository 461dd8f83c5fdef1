package org.apsara.fuxi.master.scheduler;

import java.util.Objects;

/**
 * A call the scheduler refused, with a typed {@link #code() code} and a message that names the
 * offending id, value and limit. The scheduler's state is unchanged when this is thrown.
 */
public final class SchedulerException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final SchedulerErrorCode code;

  public SchedulerException(SchedulerErrorCode code, String message) {
    super(code + ": " + message, null, false, false);
    this.code = Objects.requireNonNull(code, "code");
  }

  public SchedulerErrorCode code() {
    return code;
  }
}
