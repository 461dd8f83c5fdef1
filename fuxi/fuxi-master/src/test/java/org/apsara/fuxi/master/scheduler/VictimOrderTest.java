package org.apsara.fuxi.master.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.apsara.common.time.ManualClock;
import org.apsara.fuxi.master.scheduler.Decision.Grant;
import org.apsara.fuxi.master.scheduler.Decision.Revoke;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Preemption takes the least urgent units first: lowest priority, then the newest allocation. */
class VictimOrderTest {
  static final Duration WAIT = Duration.ofMillis(50);
  static final Resources UNIT = Resources.of(1000, 2048);

  ManualClock clock;
  Scheduler s;

  @BeforeEach
  void setUp() {
    clock = new ManualClock();
    s = new Scheduler(clock, new SchedulerConfig(WAIT, WAIT, WAIT));
    // Five machines of one unit each, so that every allocation is alone on its machine.
    for (int i = 1; i <= 5; i++) {
      s.addMachine("m" + i, "r", UNIT);
    }
    s.defineQuotaGroup("g", Resources.ZERO, Resources.of(100_000, 100_000));
  }

  void holder(String app, int priority, String machine) {
    s.registerApplication(app, "g");
    s.defineRole(app, "w", UNIT, priority);
    assertThat(s.request(app, "w", Location.machine(machine), 1))
        .containsExactly(new Grant(app, "w", machine, 1));
  }

  /** One more unit for "urgent": waits, then preempts one victim after the wait. */
  List<Decision> preemptOnce() {
    assertThat(s.request("urgent", "w", Location.cluster(), 1)).isEmpty();
    clock.advance(WAIT);
    return s.tick();
  }

  @Test
  void lowestPriorityFirstThenNewestFirst() {
    holder("old", 1, "m1");
    holder("mid", 5, "m2");
    holder("gone", 1, "m3");
    holder("young", 1, "m4");
    holder("newer", 1, "m5");
    // Released from the middle of the priority-1 list: the list must stay linked around it.
    s.release("gone", "w", "m3", 1);
    s.registerApplication("urgent", "g");
    s.defineRole("urgent", "w", UNIT, 10);
    assertThat(s.request("urgent", "w", Location.cluster(), 1))
        .containsExactly(new Grant("urgent", "w", "m3", 1));

    assertThat(preemptOnce())
        .containsExactly(
            new Revoke("newer", "w", "m5", 1, RevokeReason.PREEMPTED_FOR_PRIORITY),
            new Grant("urgent", "w", "m5", 1));
    assertThat(preemptOnce())
        .containsExactly(
            new Revoke("young", "w", "m4", 1, RevokeReason.PREEMPTED_FOR_PRIORITY),
            new Grant("urgent", "w", "m4", 1));
    assertThat(preemptOnce())
        .containsExactly(
            new Revoke("old", "w", "m1", 1, RevokeReason.PREEMPTED_FOR_PRIORITY),
            new Grant("urgent", "w", "m1", 1));
    assertThat(preemptOnce())
        .containsExactly(
            new Revoke("mid", "w", "m2", 1, RevokeReason.PREEMPTED_FOR_PRIORITY),
            new Grant("urgent", "w", "m2", 1));
    // Nothing less urgent is left: the next request only waits.
    assertThat(preemptOnce()).isEmpty();
    s.checkConsistency();
  }
}
