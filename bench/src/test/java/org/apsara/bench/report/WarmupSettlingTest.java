package org.apsara.bench.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

class WarmupSettlingTest {
  private static final OptionalDouble UNREAD = OptionalDouble.empty();

  @Test
  void settlesAfterThreeWindowsWithoutANewBest() {
    WarmupSettling settling = new WarmupSettling(2);
    assertThat(settling.record(UNREAD, 1000, 5000)).isFalse();
    assertThat(settling.record(UNREAD, 1040, 5100)).isFalse(); // within 5%: flat 1
    assertThat(settling.record(UNREAD, 990, 5200)).isFalse(); // flat 2
    assertThat(settling.record(UNREAD, 1049, 4000)).isTrue(); // flat 3
    assertThat(settling.windows()).isEqualTo(4);
  }

  @Test
  void aRisingRateOfAnyOperationKeepsTheWarmupGoing() {
    WarmupSettling settling = new WarmupSettling(2);
    settling.record(UNREAD, 1000, 5000);
    settling.record(UNREAD, 1000, 5000);
    settling.record(UNREAD, 1000, 5000);
    // The gets jump: the compiler has just finished their path; the count starts again.
    assertThat(settling.record(UNREAD, 1000, 6000)).isFalse();
    assertThat(settling.record(UNREAD, 1000, 6000)).isFalse();
    assertThat(settling.record(UNREAD, 1000, 6000)).isFalse();
    assertThat(settling.record(UNREAD, 1000, 6000)).isTrue();
  }

  @Test
  void aDipDoesNotEndAClimb() {
    // Measured shape of a JVM server warming up on a slow machine: a noisy dip between gains.
    WarmupSettling settling = new WarmupSettling(1);
    for (double rate : new double[] {600, 900, 700, 1300, 1250, 1900, 2400}) {
      assertThat(settling.record(UNREAD, rate)).as("after %s", rate).isFalse();
    }
  }

  @Test
  void flatWindowsCountOnlyOnceTheCompilersAreQuiet() {
    WarmupSettling settling = new WarmupSettling(1);
    settling.record(OptionalDouble.of(0.40), 1000);
    // Flat rates, but the compilers still take a third, then a tenth of the CPU.
    assertThat(settling.record(OptionalDouble.of(0.33), 1000)).isFalse();
    assertThat(settling.record(OptionalDouble.of(0.10), 1000)).isFalse();
    assertThat(settling.record(OptionalDouble.of(0.10), 1000)).isFalse();
    assertThat(settling.record(OptionalDouble.of(0.04), 1000)).isFalse();
    assertThat(settling.record(OptionalDouble.of(0.05), 1000)).isFalse();
    assertThat(settling.record(UNREAD, 1000)).isTrue();
  }

  @Test
  void rejectsAWindowOfTheWrongWidth() {
    assertThatThrownBy(() -> new WarmupSettling(2).record(UNREAD, 1)).isInstanceOf(
        IllegalArgumentException.class);
    assertThatThrownBy(() -> new WarmupSettling(0)).isInstanceOf(IllegalArgumentException.class);
  }
}
