package org.apsara.fuxi.master.scheduler;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the world tells a new master after a failover ({@link Scheduler#rebuild}): each Tubo reports
 * its machine and the units it runs, each application master reports its roles, what it believes it
 * holds and what it still wants. Machines are authoritative for what is held. Immutable.
 */
public final class Reports {
  private Reports() {}

  /** Units of one role of one application running on a machine. */
  public record HeldUnits(String appId, String role, int count) {}

  /** A Tubo's report: its machine and every unit it runs. */
  public record MachineReport(
      String machineId, String rack, Resources capacity, List<HeldUnits> held) {
    public MachineReport {
      held = List.copyOf(held);
    }
  }

  /** Units a role still waits for at one location. */
  public record PendingDemand(Location location, int count) {}

  /**
   * One role as its application master sees it: definition, the units it believes it holds per
   * machine, and its pending demand.
   */
  public record RoleReport(
      String role,
      Resources shape,
      int priority,
      Map<String, Integer> heldByMachine,
      List<PendingDemand> pending) {
    public RoleReport {
      Objects.requireNonNull(role, "role");
      heldByMachine = Map.copyOf(heldByMachine);
      pending = List.copyOf(pending);
    }
  }

  /** An application master's report. */
  public record ApplicationReport(String appId, String quotaGroup, List<RoleReport> roles) {
    public ApplicationReport {
      roles = List.copyOf(roles);
    }
  }
}
