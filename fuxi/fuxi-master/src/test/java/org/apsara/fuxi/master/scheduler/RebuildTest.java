package org.apsara.fuxi.master.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.apsara.common.time.ManualClock;
import org.apsara.fuxi.master.scheduler.Decision.Grant;
import org.apsara.fuxi.master.scheduler.Decision.Revoke;
import org.apsara.fuxi.master.scheduler.Reports.ApplicationReport;
import org.apsara.fuxi.master.scheduler.Reports.HeldUnits;
import org.apsara.fuxi.master.scheduler.Reports.MachineReport;
import org.apsara.fuxi.master.scheduler.Reports.PendingDemand;
import org.apsara.fuxi.master.scheduler.Reports.RoleReport;
import org.junit.jupiter.api.Test;

/** Failover: machines are authoritative, masters are told the difference. */
class RebuildTest {
  static final Resources MACHINE = Resources.of(4000, 8192);
  static final Resources UNIT = Resources.of(1000, 2048);

  @Test
  void machinesAreAuthoritativeAndMastersAreReconciled() {
    Scheduler s = new Scheduler(new ManualClock(), SchedulerConfig.DEFAULTS);
    List<MachineReport> machines =
        List.of(
            new MachineReport(
                "m1",
                "r1",
                MACHINE,
                List.of(new HeldUnits("a", "w", 2), new HeldUnits("gone", "w", 1))),
            new MachineReport("m2", "r1", MACHINE, List.of(new HeldUnits("a", "w", 1))));
    // The master believes 3 on m1 (one too many), nothing on m2, and 1 on a machine that is gone.
    List<ApplicationReport> apps =
        List.of(
            new ApplicationReport(
                "a",
                "g",
                List.of(
                    new RoleReport(
                        "w",
                        UNIT,
                        1,
                        Map.of("m1", 3, "m9", 1),
                        List.of(new PendingDemand(Location.machine("m9"), 2))))));
    List<Decision> out =
        s.rebuild(
            List.of(new QuotaGroupSpec("g", Resources.of(2000, 4096), Resources.of(8000, 16384))),
            machines,
            apps);
    assertThat(out)
        .containsExactly(
            new Revoke("gone", "w", "m1", 1, RevokeReason.APPLICATION_GONE),
            new Revoke("a", "w", "m1", 1, RevokeReason.MACHINE_LOST),
            new Revoke("a", "w", "m9", 1, RevokeReason.MACHINE_LOST),
            new Grant("a", "w", "m2", 1),
            // Demand for the vanished machine m9 is kept at cluster level and placed.
            new Grant("a", "w", "m1", 2));
    assertThat(s.heldUnits("a", "w", "m1")).isEqualTo(4);
    assertThat(s.heldUnits("a", "w", "m2")).isEqualTo(1);
    assertThat(s.groupUsage("g")).isEqualTo(UNIT.times(5));
    assertThat(s.freeCapacity("m1")).isEqualTo(Resources.ZERO);
    s.checkConsistency();
  }
}
