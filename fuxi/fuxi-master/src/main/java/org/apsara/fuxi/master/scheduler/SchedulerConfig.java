package org.apsara.fuxi.master.scheduler;

import java.time.Duration;
import java.util.Objects;

/**
 * The scheduler's timing: how long a request waits for its machine before any machine of the rack
 * will do, how long it then waits for its rack before any machine will do, and how long a request
 * waits at cluster level before the scheduler preempts for it. Immutable.
 */
public record SchedulerConfig(
    Duration machineLocalityWait, Duration rackLocalityWait, Duration preemptionWait) {

  /** Short waits: a grant is worth more to a batch job now than a local grant later. */
  public static final SchedulerConfig DEFAULTS =
      new SchedulerConfig(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofSeconds(1));

  public SchedulerConfig {
    Objects.requireNonNull(machineLocalityWait, "machineLocalityWait");
    Objects.requireNonNull(rackLocalityWait, "rackLocalityWait");
    Objects.requireNonNull(preemptionWait, "preemptionWait");
    if (machineLocalityWait.isNegative()
        || rackLocalityWait.isNegative()
        || preemptionWait.isNegative()) {
      throw new IllegalArgumentException("waits cannot be negative: " + this);
    }
  }
}
