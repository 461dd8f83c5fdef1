package org.apsara.fuxi.master.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apsara.common.time.ManualClock;
import org.apsara.fuxi.master.scheduler.Reports.ApplicationReport;
import org.apsara.fuxi.master.scheduler.Reports.HeldUnits;
import org.apsara.fuxi.master.scheduler.Reports.MachineReport;
import org.apsara.fuxi.master.scheduler.Reports.RoleReport;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every refusal: the right code, a message naming the culprit, and no change of state. */
class SchedulerErrorsTest {
  static final Resources MACHINE = Resources.of(4000, 8192);
  static final Resources UNIT = Resources.of(1000, 2048);

  ManualClock clock;
  Scheduler s;

  @BeforeEach
  void setUp() {
    clock = new ManualClock();
    s =
        new Scheduler(
            clock,
            new SchedulerConfig(
                Duration.ofMillis(10), Duration.ofMillis(20), Duration.ofMillis(50)));
    s.addMachine("m1", "r1", MACHINE);
    s.addMachine("m2", "r2", MACHINE);
    s.defineQuotaGroup("g", Resources.of(2000, 4096), Resources.of(6000, 12288));
    s.registerApplication("a", "g");
    s.defineRole("a", "w", UNIT, 1);
    s.request("a", "w", Location.machine("m1"), 2);
    s.request("a", "w", Location.cluster(), 9);
  }

  /** Everything observable; equal before and after a refused call. */
  String state() {
    return s.machineReports()
        + " "
        + s.groupUsage("g")
        + " "
        + s.quotaGroup("g")
        + " "
        + s.pendingUnits("a", "w")
        + " "
        + s.freeCapacity("m1")
        + s.freeCapacity("m2");
  }

  void refused(SchedulerErrorCode code, String messagePart, ThrowingCallable call) {
    String before = state();
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(SchedulerException.class, e -> assertThat(e.code()).isEqualTo(code))
        .hasMessageContaining(messagePart);
    assertThat(state()).isEqualTo(before);
    s.checkConsistency();
  }

  @Test
  void badQuotaGroupUpdatesAndRemovals() {
    refused(
        SchedulerErrorCode.QUOTA_MIN_EXCEEDS_MAX,
        "exceeds its max",
        () -> s.updateQuotaGroup("g", Resources.of(3000, 4096), Resources.of(2000, 4096)));
    refused(
        SchedulerErrorCode.QUOTA_MIN_EXCEEDS_CLUSTER,
        "exceeds the cluster's capacity",
        () -> s.updateQuotaGroup("g", Resources.of(8001, 1), Resources.of(9000, 9000)));
    refused(
        SchedulerErrorCode.INVALID_RESOURCES,
        "cannot be negative",
        () -> s.updateQuotaGroup("g", Resources.ZERO, Resources.of(-1, 0)));
    refused(
        SchedulerErrorCode.UNKNOWN_QUOTA_GROUP,
        "nosuch",
        () -> s.updateQuotaGroup("nosuch", Resources.ZERO, Resources.ZERO));
    refused(SchedulerErrorCode.QUOTA_GROUP_IN_USE, "a", () -> s.removeQuotaGroup("g"));
    refused(SchedulerErrorCode.UNKNOWN_QUOTA_GROUP, "nosuch", () -> s.removeQuotaGroup("nosuch"));
  }

  @Test
  void shapeLargerThanAnyMachine() {
    // Each dimension alone fits some machine, but no single machine holds both.
    s.addMachine("cpuHeavy", "r3", Resources.of(32000, 1024));
    refused(
        SchedulerErrorCode.SHAPE_LARGER_THAN_ANY_MACHINE,
        "fits on no live machine",
        () -> s.defineRole("a", "big", Resources.of(8000, 8192), 1));
    refused(
        SchedulerErrorCode.SHAPE_LARGER_THAN_ANY_MACHINE,
        "a/big",
        () -> s.defineRole("a", "big", Resources.of(1000, 9000), 1));
  }

  @Test
  void invalidShapesAndCapacities() {
    refused(
        SchedulerErrorCode.INVALID_RESOURCES,
        "MAX_MACHINE_CPU_MILLIS",
        () -> s.defineRole("a", "zero", Resources.of(0, 1), 1));
    refused(
        SchedulerErrorCode.INVALID_RESOURCES,
        "capacity of machine m9",
        () ->
            s.addMachine("m9", "r1", Resources.of(1, SchedulerLimits.MAX_MACHINE_MEMORY_MIB + 1)));
    refused(
        SchedulerErrorCode.INVALID_RESOURCES,
        "negative",
        () -> s.defineQuotaGroup("neg", Resources.of(-1, 0), Resources.ZERO));
  }

  @Test
  void unknownRoleApplicationMachineRackAndGroup() {
    refused(
        SchedulerErrorCode.UNKNOWN_ROLE,
        "has no role x",
        () -> s.request("a", "x", Location.cluster(), 1));
    refused(
        SchedulerErrorCode.UNKNOWN_APPLICATION,
        "no application zz",
        () -> s.request("zz", "w", Location.cluster(), 1));
    refused(SchedulerErrorCode.UNKNOWN_APPLICATION, "zz", () -> s.unregisterApplication("zz"));
    refused(
        SchedulerErrorCode.UNKNOWN_MACHINE,
        "m9",
        () -> s.request("a", "w", Location.machine("m9"), 1));
    refused(SchedulerErrorCode.UNKNOWN_MACHINE, "m9", () -> s.removeMachine("m9"));
    refused(
        SchedulerErrorCode.UNKNOWN_RACK, "r9", () -> s.request("a", "w", Location.rack("r9"), 1));
    refused(SchedulerErrorCode.UNKNOWN_RACK, "r9", () -> s.refuse("a", "w", Location.rack("r9")));
    refused(
        SchedulerErrorCode.UNKNOWN_QUOTA_GROUP,
        "no quota group nope",
        () -> s.registerApplication("b", "nope"));
  }

  @Test
  void countsOutOfRangeNameTheLimit() {
    for (int bad : new int[] {0, -1, Integer.MIN_VALUE, SchedulerLimits.MAX_UNITS_PER_CALL + 1}) {
      refused(
          SchedulerErrorCode.COUNT_OUT_OF_RANGE,
          "MAX_UNITS_PER_CALL=1000000",
          () -> s.request("a", "w", Location.cluster(), bad));
      refused(
          SchedulerErrorCode.COUNT_OUT_OF_RANGE,
          "MAX_UNITS_PER_CALL",
          () -> s.release("a", "w", "m1", bad));
    }
    for (int i = 0; i < 9; i++) {
      s.request("a", "w", Location.cluster(), SchedulerLimits.MAX_UNITS_PER_CALL);
    }
    refused(
        SchedulerErrorCode.TOO_MANY_PENDING_UNITS,
        "MAX_PENDING_UNITS_PER_ROLE=10000000",
        () -> s.request("a", "w", Location.cluster(), SchedulerLimits.MAX_UNITS_PER_CALL));
  }

  @Test
  void priorityOutOfRange() {
    refused(
        SchedulerErrorCode.PRIORITY_OUT_OF_RANGE, "1001", () -> s.defineRole("a", "p", UNIT, 1001));
    refused(SchedulerErrorCode.PRIORITY_OUT_OF_RANGE, "-1", () -> s.defineRole("a", "p", UNIT, -1));
  }

  @Test
  void quotaGroupBounds() {
    refused(
        SchedulerErrorCode.QUOTA_MIN_EXCEEDS_CLUSTER,
        "exceeds the cluster's capacity {cpu: 8000m",
        () -> s.defineQuotaGroup("huge", Resources.of(8001, 1), Resources.of(9000, 9000)));
    refused(
        SchedulerErrorCode.QUOTA_MIN_EXCEEDS_MAX,
        "exceeds its max",
        () -> s.defineQuotaGroup("inverted", Resources.of(2000, 1), Resources.of(1000, 1)));
  }

  @Test
  void duplicates() {
    refused(SchedulerErrorCode.DUPLICATE_MACHINE, "m1", () -> s.addMachine("m1", "r1", MACHINE));
    refused(
        SchedulerErrorCode.DUPLICATE_QUOTA_GROUP,
        "g",
        () -> s.defineQuotaGroup("g", Resources.ZERO, Resources.ZERO));
    refused(SchedulerErrorCode.DUPLICATE_APPLICATION, "a", () -> s.registerApplication("a", "g"));
    refused(SchedulerErrorCode.DUPLICATE_ROLE, "a/w", () -> s.defineRole("a", "w", UNIT, 1));
  }

  @Test
  void badIdsAndReleases() {
    refused(
        SchedulerErrorCode.INVALID_ARGUMENT,
        "MAX_ID_LENGTH=256",
        () -> s.addMachine("", "r1", MACHINE));
    refused(
        SchedulerErrorCode.INVALID_ARGUMENT,
        "MAX_ID_LENGTH",
        () -> s.registerApplication("x".repeat(SchedulerLimits.MAX_ID_LENGTH + 1), "g"));
    refused(
        SchedulerErrorCode.RELEASE_EXCEEDS_HELD,
        "holds 4 units on m1, cannot release 5",
        () -> s.release("a", "w", "m1", 5));
    refused(
        SchedulerErrorCode.INVALID_ARGUMENT,
        "whole cluster",
        () -> s.refuse("a", "w", Location.cluster()));
  }

  @Test
  void requestForARefusedLocation() {
    s.refuse("a", "w", Location.rack("r2"));
    refused(
        SchedulerErrorCode.LOCATION_REFUSED,
        "refuses machine:m2",
        () -> s.request("a", "w", Location.machine("m2"), 1));
    refused(
        SchedulerErrorCode.LOCATION_REFUSED,
        "refuses rack:r2",
        () -> s.request("a", "w", Location.rack("r2"), 1));
  }

  @Test
  void rebuildRefusesAWrongOrNonEmptyStartAndChangesNothing() {
    refused(
        SchedulerErrorCode.NOT_EMPTY,
        "needs an empty scheduler",
        () -> s.rebuild(List.of(), List.of()));

    Scheduler fresh = new Scheduler(clock, SchedulerConfig.DEFAULTS);
    fresh.defineQuotaGroup("g", Resources.ZERO, Resources.of(100_000, 100_000));
    List<ApplicationReport> apps =
        List.of(
            new ApplicationReport(
                "a", "g", List.of(new RoleReport("w", UNIT, 1, Map.of(), List.of()))));
    MachineReport overfull =
        new MachineReport("m1", "r1", MACHINE, List.of(new HeldUnits("a", "w", 5)));
    assertThatThrownBy(() -> fresh.rebuild(List.of(overfull), apps))
        .isInstanceOfSatisfying(
            SchedulerException.class,
            e -> assertThat(e.code()).isEqualTo(SchedulerErrorCode.INVALID_REPORT))
        .hasMessageContaining("more than its capacity");
    MachineReport ok = new MachineReport("m1", "r1", MACHINE, List.of());
    assertThatThrownBy(() -> fresh.rebuild(List.of(ok, ok), apps))
        .hasMessageContaining("reported twice");
    assertThatThrownBy(
            () ->
                fresh.rebuild(
                    List.of(ok), List.of(new ApplicationReport("a", "missing", List.of()))))
        .hasMessageContaining("UNKNOWN_QUOTA_GROUP");
    assertThatThrownBy(
            () ->
                fresh.rebuild(
                    List.of(
                        new QuotaGroupSpec("big", Resources.of(4001, 1), Resources.of(8000, 8192))),
                    List.of(ok),
                    apps))
        .isInstanceOfSatisfying(
            SchedulerException.class,
            e -> assertThat(e.code()).isEqualTo(SchedulerErrorCode.QUOTA_MIN_EXCEEDS_CLUSTER));
    assertThatThrownBy(
            () ->
                fresh.rebuild(
                    List.of(new QuotaGroupSpec("fine", Resources.ZERO, Resources.ZERO)),
                    List.of(ok),
                    List.of(new ApplicationReport("a", "missing", List.of()))))
        .hasMessageContaining("UNKNOWN_QUOTA_GROUP");
    assertThat(fresh.machineReports()).isEmpty();
    // The refused rebuilds did not leave their groups behind.
    assertThatThrownBy(() -> fresh.groupUsage("fine")).hasMessageContaining("UNKNOWN_QUOTA_GROUP");
    assertThat(fresh.rebuild(List.of(ok), apps)).isEmpty();
    assertThat(fresh.machineReports()).hasSize(1);
  }
}
