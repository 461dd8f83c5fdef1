package org.apsara.fuxi.master.scheduler;

import java.util.Objects;

/**
 * Where an application master wants units: on one machine, anywhere in one rack, or anywhere in the
 * cluster. Immutable.
 */
public record Location(Level level, String id) {
  /** How specific a location is; the scheduler relaxes MACHINE to RACK to CLUSTER over time. */
  public enum Level {
    MACHINE,
    RACK,
    CLUSTER
  }

  /** The id of {@link #cluster()}. */
  public static final String CLUSTER_ID = "*";

  public Location {
    Objects.requireNonNull(level, "level");
    Objects.requireNonNull(id, "id");
    if (level == Level.CLUSTER && !CLUSTER_ID.equals(id)) {
      throw new IllegalArgumentException("the cluster location has id " + CLUSTER_ID);
    }
  }

  public static Location machine(String machineId) {
    return new Location(Level.MACHINE, machineId);
  }

  public static Location rack(String rackId) {
    return new Location(Level.RACK, rackId);
  }

  public static Location cluster() {
    return new Location(Level.CLUSTER, CLUSTER_ID);
  }

  @Override
  public String toString() {
    return level == Level.CLUSTER ? "cluster" : level.name().toLowerCase() + ":" + id;
  }
}
