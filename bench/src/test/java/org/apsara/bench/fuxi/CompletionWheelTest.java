package org.apsara.bench.fuxi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CompletionWheelTest {
  @Test
  void entriesComeDueAtTheirMillisecondEvenBeyondOneTurn() {
    CompletionWheel wheel = new CompletionWheel(10, 0); // 32 slots
    wheel.schedule(1, 5);
    wheel.schedule(2, 5 + 32); // same slot, next turn
    wheel.schedule(3, 7);
    List<Long> due = new ArrayList<>();
    List<Long> dueAt = new ArrayList<>();
    CompletionWheel.DueHandler collect =
        (entry, at) -> {
          due.add(entry);
          dueAt.add(at);
        };

    assertThat(wheel.drainDue(4, 100, collect)).isZero();
    assertThat(wheel.drainDue(6, 100, collect)).isEqualTo(1);
    assertThat(due).containsExactly(1L);
    assertThat(wheel.drainDue(36, 100, collect)).isEqualTo(1);
    assertThat(due).containsExactly(1L, 3L);
    assertThat(wheel.drainDue(37, 100, collect)).isEqualTo(1);
    assertThat(due).containsExactly(1L, 3L, 2L);
    assertThat(dueAt).containsExactly(5L, 7L, 37L);
    assertThat(wheel.size()).isZero();
  }
}
