package org.apsara.nuwa.server.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.apsara.common.time.ManualClock;
import org.apsara.nuwa.api.NuwaLimits;
import org.junit.jupiter.api.Test;

class LeaseTimersTest {
  private final ManualClock clock = new ManualClock();
  private final LeaseTimers timers = new LeaseTimers(clock);

  private void advance(long millis) {
    clock.advance(Duration.ofMillis(millis));
  }

  @Test
  void aLeaseExpiresWhenItsTtlHasPassed() {
    timers.granted(1, 10);
    advance(9_999);
    assertThat(timers.expired(10)).isEmpty();
    advance(1);
    assertThat(timers.expired(10)).containsExactly(1L);
  }

  @Test
  void remainingSecondsRoundUpAndStopAtZero() {
    timers.granted(1, 10);
    assertThat(timers.remainingSeconds(1)).isEqualTo(10);
    advance(1);
    assertThat(timers.remainingSeconds(1)).isEqualTo(10);
    advance(999);
    assertThat(timers.remainingSeconds(1)).isEqualTo(9);
    advance(8_500);
    assertThat(timers.remainingSeconds(1)).isEqualTo(1);
    advance(60_000);
    assertThat(timers.remainingSeconds(1)).isZero();
  }

  @Test
  void renewRestartsTheFullTtl() {
    timers.granted(1, 10);
    advance(8_000);
    assertThat(timers.renew(1)).isEqualTo(10);
    advance(8_000);
    assertThat(timers.expired(10)).isEmpty();
    assertThat(timers.remainingSeconds(1)).isEqualTo(2);
    advance(2_000);
    assertThat(timers.expired(10)).containsExactly(1L);
  }

  @Test
  void unknownLeasesAnswerMinusOne() {
    assertThat(timers.renew(5)).isEqualTo(LeaseTimers.UNKNOWN).isEqualTo(-1);
    assertThat(timers.remainingSeconds(5)).isEqualTo(-1);
    timers.granted(5, 3);
    timers.revoked(5);
    assertThat(timers.renew(5)).isEqualTo(-1);
    timers.revoked(5);
    assertThat(timers.size()).isZero();
  }

  @Test
  void expiredListsOldestDeadlineFirstAndAtMostMax() {
    timers.granted(30, 3);
    timers.granted(10, 1);
    timers.granted(20, 2);
    timers.granted(40, 100);
    advance(5_000);
    assertThat(timers.expired(10)).containsExactly(10L, 20L, 30L);
    assertThat(timers.expired(2)).containsExactly(10L, 20L);
    assertThat(timers.expired(0)).isEmpty();
    assertThat(timers.expired(10)).as("asking again answers again").hasSize(3);
    timers.revoked(10);
    assertThat(timers.expired(10)).containsExactly(20L, 30L);
  }

  @Test
  void equalDeadlinesAreOrderedById() {
    timers.granted(9, 1);
    timers.granted(-4, 1);
    timers.granted(2, 1);
    advance(1_000);
    assertThat(timers.expired(10)).containsExactly(-4L, 2L, 9L);
  }

  @Test
  void resetAllGivesEveryLeaseAFullTtlAgain() {
    timers.granted(1, 10);
    timers.granted(2, 5);
    advance(7_000);
    assertThat(timers.expired(10)).containsExactly(2L);
    timers.resetAll();
    assertThat(timers.expired(10)).isEmpty();
    assertThat(timers.remainingSeconds(1)).isEqualTo(10);
    assertThat(timers.remainingSeconds(2)).isEqualTo(5);
    advance(5_000);
    assertThat(timers.expired(10)).containsExactly(2L);
  }

  @Test
  void grantingAgainReplacesTheTimer() {
    timers.granted(1, 1);
    timers.granted(1, 100);
    advance(50_000);
    assertThat(timers.expired(10)).isEmpty();
    assertThat(timers.size()).isEqualTo(1);
  }

  @Test
  void clearForgetsEverything() {
    timers.granted(1, 1);
    timers.granted(2, 1);
    timers.clear();
    advance(10_000);
    assertThat(timers.expired(10)).isEmpty();
    assertThat(timers.remainingSeconds(1)).isEqualTo(-1);
  }

  @Test
  void theLongestTtlNeitherOverflowsNorExpires() {
    advance(Long.MAX_VALUE / 2_000_000L); // a clock reading far from zero
    LeaseTimers late = new LeaseTimers(clock);
    late.granted(1, NuwaLimits.MAX_LEASE_TTL_SECONDS);
    late.granted(2, Long.MAX_VALUE);
    advance(Duration.ofDays(365).toMillis());
    assertThat(late.expired(10)).isEmpty();
    assertThat(late.remainingSeconds(1))
        .isEqualTo(NuwaLimits.MAX_LEASE_TTL_SECONDS - Duration.ofDays(365).toSeconds());
    assertThat(late.remainingSeconds(2)).isPositive();
  }

  @Test
  void refusesNegativeArguments() {
    assertThatThrownBy(() -> timers.granted(1, -1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> timers.expired(-1)).isInstanceOf(IllegalArgumentException.class);
  }
}
