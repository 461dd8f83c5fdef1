package org.apsara.fuxi.tubo;

/**
 * The two classes of work a machine runs side by side. The class decides the CPU weight of the
 * cgroup a worker is placed under and the order of eviction under memory pressure; the numbers are
 * in {@link org.apsara.fuxi.tubo.cgroup.CpuWeights}.
 */
public enum WorkerClass {
  /**
   * Services: run at full weight, so that they get the CPU as soon as they want it and their
   * latency does not suffer from batch work on the same machine. Never evicted by Tubo.
   */
  LATENCY_SENSITIVE("latency"),

  /**
   * Batch work: runs at a tiny weight under its own parent group, so it soaks up idle CPU but
   * yields it to services at once; evicted first, youngest first, when memory runs short.
   */
  BATCH("batch");

  private final String groupName;

  WorkerClass(String groupName) {
    this.groupName = groupName;
  }

  /** The name of the class's parent cgroup under Tubo's own group, e.g. {@code batch}. */
  public String groupName() {
    return groupName;
  }

  /** The class whose {@link #groupName()} is {@code name}, or {@code null}. */
  public static WorkerClass ofGroupName(String name) {
    for (WorkerClass workerClass : values()) {
      if (workerClass.groupName.equals(name)) {
        return workerClass;
      }
    }
    return null;
  }
}
