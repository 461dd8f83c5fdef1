package org.apsara.fuxi.master.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.apsara.common.time.ManualClock;
import org.apsara.fuxi.master.scheduler.Decision.Grant;
import org.apsara.fuxi.master.scheduler.Decision.Revoke;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Each scheduling rule on a small hand-built cluster. */
class SchedulerRulesTest {
  static final Duration MACHINE_WAIT = Duration.ofMillis(10);
  static final Duration RACK_WAIT = Duration.ofMillis(20);
  static final Duration PREEMPT_WAIT = Duration.ofMillis(50);
  static final Resources MACHINE = Resources.of(4000, 8192);
  static final Resources UNIT = Resources.of(1000, 2048);

  ManualClock clock;
  Scheduler s;

  @BeforeEach
  void setUp() {
    clock = new ManualClock();
    s = new Scheduler(clock, new SchedulerConfig(MACHINE_WAIT, RACK_WAIT, PREEMPT_WAIT));
  }

  /** Two racks of two machines, each holding 4 UNITs. */
  void fourMachines() {
    s.addMachine("m1", "r1", MACHINE);
    s.addMachine("m2", "r1", MACHINE);
    s.addMachine("m3", "r2", MACHINE);
    s.addMachine("m4", "r2", MACHINE);
  }

  void app(String app, String group, String role, int priority) {
    s.registerApplication(app, group);
    s.defineRole(app, role, UNIT, priority);
  }

  List<Decision> advanceAndTick(Duration d) {
    clock.advance(d);
    return s.tick();
  }

  @Test
  void requestForAMachineWithRoomIsGrantedThereAtOnce() {
    fourMachines();
    s.defineQuotaGroup("g", Resources.ZERO, Resources.of(100_000, 100_000));
    app("a", "g", "w", 1);
    assertThat(s.request("a", "w", Location.machine("m3"), 3))
        .containsExactly(new Grant("a", "w", "m3", 3));
    assertThat(s.freeCapacity("m3")).isEqualTo(Resources.of(1000, 2048));
  }

  @Test
  void machineRequestRelaxesToItsRackAfterTheMachineWaitThenToTheCluster() {
    fourMachines();
    s.defineQuotaGroup("g", Resources.ZERO, Resources.of(100_000, 100_000));
    app("filler", "g", "w", 1);
    s.request("filler", "w", Location.machine("m1"), 4);
    s.request("filler", "w", Location.machine("m2"), 3);
    app("a", "g", "w", 1);

    assertThat(s.request("a", "w", Location.machine("m1"), 2)).isEmpty();
    assertThat(advanceAndTick(MACHINE_WAIT.minusMillis(1))).isEmpty();
    // The rack (m2) has room for one unit; the second waits for the rack, then goes anywhere.
    assertThat(advanceAndTick(Duration.ofMillis(1))).containsExactly(new Grant("a", "w", "m2", 1));
    assertThat(advanceAndTick(RACK_WAIT.minusMillis(1))).isEmpty();
    assertThat(advanceAndTick(Duration.ofMillis(1))).containsExactly(new Grant("a", "w", "m3", 1));
    assertThat(s.pendingUnits("a", "w")).isZero();
  }

  @Test
  void freedCapacityGoesToTheMachineQueueBeforeRackAndClusterQueues() {
    fourMachines();
    s.defineQuotaGroup("g", Resources.ZERO, Resources.of(100_000, 100_000));
    app("filler", "g", "w", 1);
    s.request("filler", "w", Location.cluster(), 16);
    app("anywhere", "g", "w", 1);
    app("local", "g", "w", 1);
    assertThat(s.request("anywhere", "w", Location.cluster(), 1)).isEmpty();
    assertThat(s.request("local", "w", Location.machine("m2"), 1)).isEmpty();

    assertThat(s.release("filler", "w", "m2", 1)).containsExactly(new Grant("local", "w", "m2", 1));
    assertThat(s.release("filler", "w", "m4", 1))
        .containsExactly(new Grant("anywhere", "w", "m4", 1));
  }

  @Test
  void higherPriorityWaitingRequestIsServedFirst() {
    fourMachines();
    s.defineQuotaGroup("g", Resources.ZERO, Resources.of(100_000, 100_000));
    app("filler", "g", "w", 1);
    s.request("filler", "w", Location.cluster(), 16);
    app("low", "g", "w", 1);
    app("high", "g", "w", 5);
    s.request("low", "w", Location.cluster(), 1);
    s.request("high", "w", Location.cluster(), 1);
    assertThat(s.release("filler", "w", "m1", 1)).containsExactly(new Grant("high", "w", "m1", 1));
  }

  @Test
  void equalPriorityApplicationsShareFreedCapacityRoundRobin() {
    fourMachines();
    s.defineQuotaGroup("g", Resources.ZERO, Resources.of(100_000, 100_000));
    app("filler", "g", "w", 1);
    s.request("filler", "w", Location.cluster(), 16);
    app("a", "g", "w", 1);
    app("b", "g", "w", 1);
    s.request("a", "w", Location.cluster(), 10);
    s.request("b", "w", Location.cluster(), 10);
    StringBuilder order = new StringBuilder();
    for (String m : List.of("m1", "m2", "m3")) {
      for (int i = 0; i < 2; i++) {
        for (Decision d : s.release("filler", "w", m, 1)) {
          order.append(d.appId());
        }
      }
    }
    assertThat(order.toString()).isEqualTo("ababab");
  }

  @Test
  void groupNeverGoesPastItsMaximum() {
    fourMachines();
    s.defineQuotaGroup("small", Resources.ZERO, Resources.of(2500, 100_000));
    app("a", "small", "w", 1);
    assertThat(s.request("a", "w", Location.cluster(), 5))
        .containsExactly(new Grant("a", "w", "m1", 2));
    assertThat(s.pendingUnits("a", "w")).isEqualTo(3);
    assertThat(s.groupUsage("small")).isEqualTo(Resources.of(2000, 4096));
  }

  @Test
  void idleQuotaIsLentAndTakenBackWhenItsOwnerNeedsIt() {
    fourMachines();
    s.defineQuotaGroup("owner", Resources.of(8000, 16384), Resources.of(16000, 32768));
    s.defineQuotaGroup("borrower", Resources.ZERO, Resources.of(16000, 32768));
    app("b", "borrower", "w", 9);
    assertThat(s.request("b", "w", Location.cluster(), 16)).hasSize(4);
    app("o", "owner", "w", 0);
    assertThat(s.request("o", "w", Location.cluster(), 3)).isEmpty();
    assertThat(advanceAndTick(PREEMPT_WAIT.minusMillis(1))).isEmpty();

    List<Decision> decisions = advanceAndTick(Duration.ofMillis(1));
    assertThat(decisions)
        .filteredOn(d -> d instanceof Revoke)
        .extracting(d -> ((Revoke) d).reason())
        .containsOnly(RevokeReason.PREEMPTED_FOR_QUOTA);
    assertThat(decisions)
        .filteredOn(d -> d instanceof Revoke)
        .extracting(Decision::appId)
        .containsOnly("b");
    assertThat(decisions)
        .filteredOn(d -> d instanceof Grant)
        .extracting(Decision::count)
        .containsExactly(1, 1, 1);
    assertThat(s.pendingUnits("o", "w")).isZero();
    assertThat(s.groupUsage("owner")).isEqualTo(Resources.of(3000, 6144));
    SchedulerStats stats = s.stats();
    assertThat(stats.grantedUnits()).isEqualTo(16 + 3);
    assertThat(stats.revokedUnits()).containsEntry(RevokeReason.PREEMPTED_FOR_QUOTA, 3L);
    assertThat(stats.borrowingGroups()).isEqualTo(1);
    assertThat(stats.pendingUnits()).isZero();
  }

  @Test
  void noQuotaPreemptionForARequestBeyondItsGroupsMinimum() {
    fourMachines();
    s.defineQuotaGroup("owner", Resources.of(1000, 2048), Resources.of(16000, 32768));
    s.defineQuotaGroup("borrower", Resources.ZERO, Resources.of(16000, 32768));
    app("b", "borrower", "w", 1);
    s.request("b", "w", Location.cluster(), 16);
    app("o", "owner", "w", 1);
    s.request("o", "w", Location.cluster(), 2);
    List<Decision> first = advanceAndTick(PREEMPT_WAIT);
    assertThat(first)
        .extracting(d -> d.getClass().getSimpleName())
        .containsExactly("Revoke", "Grant");
    // The owner now holds its minimum: its second unit would be borrowed, so nobody is preempted.
    for (int i = 0; i < 5; i++) {
      assertThat(advanceAndTick(PREEMPT_WAIT)).isEmpty();
    }
    assertThat(s.pendingUnits("o", "w")).isEqualTo(1);
  }

  @Test
  void aGroupAtItsMinimumIsNeverPreemptedForQuota() {
    s.addMachine("m1", "r1", MACHINE);
    s.defineQuotaGroup("a", Resources.of(4000, 8192), Resources.of(4000, 8192));
    s.defineQuotaGroup("b", Resources.of(4000, 8192), Resources.of(4000, 8192));
    app("x", "a", "w", 1);
    app("y", "b", "w", 1000);
    s.request("x", "w", Location.cluster(), 4);
    s.request("y", "w", Location.cluster(), 1);
    for (int i = 0; i < 5; i++) {
      assertThat(advanceAndTick(PREEMPT_WAIT)).isEmpty();
    }
  }

  @Test
  void equalPriorityIsNeverPreempted() {
    fourMachines();
    s.defineQuotaGroup("g", Resources.ZERO, Resources.of(100_000, 100_000));
    app("holder", "g", "w", 3);
    s.request("holder", "w", Location.cluster(), 16);
    app("peer", "g", "w", 3);
    s.request("peer", "w", Location.cluster(), 2);
    for (int i = 0; i < 5; i++) {
      assertThat(advanceAndTick(PREEMPT_WAIT)).isEmpty();
    }
  }

  @Test
  void priorityDoesNotPreemptAcrossGroups() {
    fourMachines();
    s.defineQuotaGroup("g", Resources.ZERO, Resources.of(100_000, 100_000));
    s.defineQuotaGroup("h", Resources.ZERO, Resources.of(100_000, 100_000));
    app("low", "h", "w", 0);
    s.request("low", "w", Location.cluster(), 16);
    app("high", "g", "w", 1000);
    s.request("high", "w", Location.cluster(), 1);
    for (int i = 0; i < 5; i++) {
      assertThat(advanceAndTick(PREEMPT_WAIT)).isEmpty();
    }
  }

  @Test
  void higherPriorityPreemptsLowerPriorityOfItsGroupAfterThePreemptionWait() {
    fourMachines();
    s.defineQuotaGroup("g", Resources.ZERO, Resources.of(100_000, 100_000));
    app("low", "g", "w", 1);
    app("mid", "g", "w", 3);
    s.request("mid", "w", Location.cluster(), 8);
    s.request("low", "w", Location.cluster(), 8);
    app("urgent", "g", "w", 7);
    s.request("urgent", "w", Location.cluster(), 2);
    assertThat(advanceAndTick(PREEMPT_WAIT.minusMillis(1))).isEmpty();
    List<Decision> decisions = advanceAndTick(Duration.ofMillis(1));
    assertThat(decisions)
        .containsExactly(
            new Revoke("low", "w", "m4", 1, RevokeReason.PREEMPTED_FOR_PRIORITY),
            new Grant("urgent", "w", "m4", 1),
            new Revoke("low", "w", "m4", 1, RevokeReason.PREEMPTED_FOR_PRIORITY),
            new Grant("urgent", "w", "m4", 1));
    assertThat(s.heldUnits("mid", "w", "m1") + s.heldUnits("mid", "w", "m2")).isEqualTo(8);
    s.checkConsistency();
  }

  @Test
  void refusedMachineAndRackAreAvoidedAndWaitingDemandMovesOn() {
    fourMachines();
    s.defineQuotaGroup("g", Resources.ZERO, Resources.of(100_000, 100_000));
    app("a", "g", "w", 1);
    s.refuse("a", "w", Location.machine("m1"));
    assertThat(s.request("a", "w", Location.rack("r1"), 1))
        .containsExactly(new Grant("a", "w", "m2", 1));
    s.refuse("a", "w", Location.rack("r1"));
    assertThat(s.request("a", "w", Location.cluster(), 1))
        .containsExactly(new Grant("a", "w", "m3", 1));

    app("b", "g", "w", 1);
    app("filler", "g", "w", 1);
    s.request("filler", "w", Location.machine("m4"), 4);
    assertThat(s.request("b", "w", Location.machine("m4"), 1)).isEmpty();
    // Refusing the machine it waits for moves the demand to its rack, where m3 has room.
    assertThat(s.refuse("b", "w", Location.machine("m4")))
        .containsExactly(new Grant("b", "w", "m3", 1));
  }

  @Test
  void lostMachineRevokesItsUnitsAndMovesItsWaitingDemand() {
    fourMachines();
    s.defineQuotaGroup("g", Resources.ZERO, Resources.of(100_000, 100_000));
    app("a", "g", "w", 1);
    s.request("a", "w", Location.machine("m1"), 4);
    app("b", "g", "w", 1);
    assertThat(s.request("b", "w", Location.machine("m1"), 2)).isEmpty();
    List<Decision> decisions = s.removeMachine("m1");
    assertThat(decisions)
        .containsExactly(
            new Revoke("a", "w", "m1", 4, RevokeReason.MACHINE_LOST), new Grant("b", "w", "m2", 2));
    assertThat(s.heldUnits("a", "w", "m1")).isZero();
  }

  @Test
  void unregisteredApplicationsUnitsAreRevokedAndGivenToWaitingOnes() {
    s.addMachine("m1", "r1", MACHINE);
    s.defineQuotaGroup("g", Resources.ZERO, Resources.of(100_000, 100_000));
    app("a", "g", "w", 1);
    s.request("a", "w", Location.cluster(), 4);
    app("b", "g", "w", 1);
    s.request("b", "w", Location.cluster(), 1);
    assertThat(s.unregisterApplication("a"))
        .containsExactly(
            new Revoke("a", "w", "m1", 4, RevokeReason.APPLICATION_GONE),
            new Grant("b", "w", "m1", 1));
  }

  @Test
  void newMachineCapacityServesWaitingRequests() {
    s.addMachine("m1", "r1", MACHINE);
    s.defineQuotaGroup("g", Resources.ZERO, Resources.of(100_000, 100_000));
    app("a", "g", "w", 1);
    s.request("a", "w", Location.cluster(), 6);
    assertThat(s.addMachine("m2", "r2", MACHINE)).containsExactly(new Grant("a", "w", "m2", 2));
  }

  @Test
  void withdrawCancelsOnlyWaitingUnits() {
    s.addMachine("m1", "r1", MACHINE);
    s.defineQuotaGroup("g", Resources.ZERO, Resources.of(100_000, 100_000));
    app("a", "g", "w", 1);
    s.request("a", "w", Location.cluster(), 6);
    assertThat(s.withdraw("a", "w", Location.cluster(), 5)).isEqualTo(2);
    assertThat(s.pendingUnits("a", "w")).isZero();
    assertThat(s.release("a", "w", "m1", 1)).isEmpty();
    s.checkConsistency();
  }

  @Test
  void quotaPreemptionTakesBorrowedUnitsEvenWhenGuaranteedOnesAreLessUrgent() {
    s.addMachine("m1", "r1", MACHINE);
    s.defineQuotaGroup("owner", Resources.of(2000, 4096), Resources.of(4000, 8192));
    s.defineQuotaGroup("guaranteed", Resources.of(2000, 4096), Resources.of(2000, 4096));
    s.defineQuotaGroup("borrower", Resources.ZERO, Resources.of(4000, 8192));
    app("c", "guaranteed", "w", 0);
    app("b", "borrower", "w", 5);
    s.request("c", "w", Location.cluster(), 2);
    s.request("b", "w", Location.cluster(), 2);
    app("o", "owner", "w", 0);
    s.request("o", "w", Location.cluster(), 2);
    List<Decision> decisions = advanceAndTick(PREEMPT_WAIT);
    assertThat(decisions)
        .containsExactly(
            new Revoke("b", "w", "m1", 1, RevokeReason.PREEMPTED_FOR_QUOTA),
            new Grant("o", "w", "m1", 1),
            new Revoke("b", "w", "m1", 1, RevokeReason.PREEMPTED_FOR_QUOTA),
            new Grant("o", "w", "m1", 1));
    assertThat(s.heldUnits("c", "w", "m1")).isEqualTo(2);
  }

  @Test
  void preemptionWorkPerRetryIsBoundedAndTheRestFollowsOnTheNextRetry() {
    Resources tiny = Resources.of(100, 100);
    s.addMachine("m1", "r1", Resources.of(16000, 16000));
    s.defineQuotaGroup("owner", tiny.times(100), Resources.of(16000, 16000));
    s.defineQuotaGroup("borrower", Resources.ZERO, Resources.of(16000, 16000));
    s.registerApplication("b", "borrower");
    s.defineRole("b", "w", tiny, 1);
    s.request("b", "w", Location.cluster(), 160);
    s.registerApplication("o", "owner");
    s.defineRole("o", "w", tiny, 1);
    s.request("o", "w", Location.cluster(), 100);

    assertThat(advanceAndTick(PREEMPT_WAIT)).hasSize(2 * SchedulerLimits.MAX_PREEMPTION_ROUNDS);
    assertThat(s.pendingUnits("o", "w")).isEqualTo(100 - SchedulerLimits.MAX_PREEMPTION_ROUNDS);
    assertThat(advanceAndTick(PREEMPT_WAIT.minusMillis(1))).isEmpty();
    advanceAndTick(Duration.ofMillis(1));
    assertThat(s.pendingUnits("o", "w")).isZero();
    assertThat(s.heldUnits("b", "w", "m1")).isEqualTo(60);
    s.checkConsistency();
  }

  @Test
  void aLoweredMaximumRevokesTheLeastUrgentUnitsAtOnceAndOthersGetThem() {
    fourMachines();
    s.defineQuotaGroup("a", Resources.ZERO, UNIT.times(16));
    s.defineQuotaGroup("b", Resources.ZERO, UNIT.times(16));
    app("urgent", "a", "w", 5);
    app("lax", "a", "w", 1);
    app("other", "b", "w", 1);
    s.request("lax", "w", Location.machine("m1"), 4);
    s.request("urgent", "w", Location.machine("m2"), 4);
    s.request("other", "w", Location.cluster(), 10);
    assertThat(s.pendingUnits("other", "w")).isEqualTo(2);

    // 8 units above a maximum of 5: the 3 least urgent go, and the waiting group gets 2 of them.
    assertThat(s.updateQuotaGroup("a", Resources.ZERO, UNIT.times(5)))
        .containsExactly(
            new Revoke("lax", "w", "m1", 3, RevokeReason.PREEMPTED_FOR_QUOTA),
            new Grant("other", "w", "m1", 2));
    assertThat(s.groupUsage("a")).isEqualTo(UNIT.times(5));
    assertThat(s.quotaGroup("a")).isEqualTo(new QuotaGroupSpec("a", Resources.ZERO, UNIT.times(5)));
    // At its maximum the group gets nothing more, even with a machine idle.
    s.release("other", "w", "m1", 2);
    assertThat(s.request("lax", "w", Location.cluster(), 1)).isEmpty();
    assertThat(advanceAndTick(PREEMPT_WAIT)).isEmpty();
    s.checkConsistency();
  }

  @Test
  void aRaisedMaximumServesWaitingRequestsAtOnce() {
    fourMachines();
    s.defineQuotaGroup("g", Resources.ZERO, UNIT.times(2));
    app("a", "g", "w", 1);
    s.request("a", "w", Location.cluster(), 5);
    assertThat(s.pendingUnits("a", "w")).isEqualTo(3);

    List<Decision> out = s.updateQuotaGroup("g", Resources.ZERO, UNIT.times(4));
    assertThat(out).allSatisfy(d -> assertThat(d).isInstanceOf(Grant.class));
    assertThat(out.stream().mapToInt(Decision::count).sum()).isEqualTo(2);
    assertThat(s.pendingUnits("a", "w")).isEqualTo(1);
    assertThat(s.groupUsage("g")).isEqualTo(UNIT.times(4));
  }

  @Test
  void aRaisedMinimumLetsAStarvingRequestTakeBorrowedUnitsAtTheNextTick() {
    fourMachines();
    s.defineQuotaGroup("owner", Resources.ZERO, UNIT.times(16));
    s.defineQuotaGroup("borrower", Resources.ZERO, UNIT.times(16));
    app("b", "borrower", "w", 1);
    app("o", "owner", "w", 1);
    s.request("b", "w", Location.cluster(), 16);
    s.request("o", "w", Location.cluster(), 2);
    // Beyond its minimum (zero) the owner may not preempt: it starves and is retried later.
    assertThat(advanceAndTick(PREEMPT_WAIT)).isEmpty();

    assertThat(s.updateQuotaGroup("owner", UNIT.times(2), UNIT.times(16))).isEmpty();
    // Now guaranteed: the very next tick preempts, not the next retry a preemption wait later.
    List<Decision> out = advanceAndTick(Duration.ofMillis(1));
    assertThat(out)
        .filteredOn(d -> d instanceof Revoke)
        .allSatisfy(
            d -> {
              assertThat(d.appId()).isEqualTo("b");
              assertThat(((Revoke) d).reason()).isEqualTo(RevokeReason.PREEMPTED_FOR_QUOTA);
            });
    assertThat(out.stream().filter(d -> d instanceof Revoke).mapToInt(Decision::count).sum())
        .isEqualTo(2);
    assertThat(out.stream().filter(d -> d instanceof Grant).mapToInt(Decision::count).sum())
        .isEqualTo(2);
    assertThat(s.pendingUnits("o", "w")).isZero();
    assertThat(s.groupUsage("owner")).isEqualTo(UNIT.times(2));
    s.checkConsistency();
  }

  @Test
  void aGroupIsRemovedOnlyOnceNoApplicationIsRegisteredInIt() {
    fourMachines();
    s.defineQuotaGroup("g", UNIT, UNIT.times(8));
    app("a", "g", "w", 1);
    s.request("a", "w", Location.cluster(), 2);
    assertThatThrownBy(() -> s.removeQuotaGroup("g"))
        .isInstanceOfSatisfying(
            SchedulerException.class,
            e -> assertThat(e.code()).isEqualTo(SchedulerErrorCode.QUOTA_GROUP_IN_USE));
    assertThat(s.groupUsage("g")).isEqualTo(UNIT.times(2));

    s.unregisterApplication("a");
    s.removeQuotaGroup("g");
    assertThat(s.stats().quotaGroups()).isZero();
    assertThatThrownBy(() -> s.registerApplication("b", "g"))
        .isInstanceOfSatisfying(
            SchedulerException.class,
            e -> assertThat(e.code()).isEqualTo(SchedulerErrorCode.UNKNOWN_QUOTA_GROUP));
    // The name is free again.
    s.defineQuotaGroup("g", Resources.ZERO, UNIT);
    app("b", "g", "w", 1);
    assertThat(s.request("b", "w", Location.cluster(), 2)).hasSize(1);
    s.checkConsistency();
  }
}
