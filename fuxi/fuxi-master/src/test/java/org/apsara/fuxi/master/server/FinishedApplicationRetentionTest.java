package org.apsara.fuxi.master.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class FinishedApplicationRetentionTest {
  private static final long HOUR_MILLIS = Duration.ofHours(1).toMillis();

  @Test
  void theOldestBeyondTheCountAreDueOldestFirstWhateverTheOrderTheyWereAdded() {
    FinishedApplicationRetention r = new FinishedApplicationRetention(2, Duration.ofDays(1));
    r.add("app-3", 30);
    r.add("app-1", 10);
    r.add("app-4", 40);
    r.add("app-2", 20);
    assertThat(r.due(50, 100)).containsExactly("app-1", "app-2");
    // A tie in finish time is broken by id, the same on every primary.
    r.add("app-0", 10);
    assertThat(r.due(50, 100)).containsExactly("app-0", "app-1", "app-2");
    r.remove("app-0");
    r.remove("app-1");
    assertThat(r.due(50, 100)).containsExactly("app-2");
    assertThat(r.size()).isEqualTo(3);
  }

  @Test
  void thoseOlderThanTheRetentionAreDueEvenBelowTheCount() {
    FinishedApplicationRetention r = new FinishedApplicationRetention(100, Duration.ofHours(1));
    r.add("app-1", 0);
    r.add("app-2", HOUR_MILLIS / 2);
    assertThat(r.due(HOUR_MILLIS, 100)).isEmpty(); // exactly the retention old: still kept
    assertThat(r.due(HOUR_MILLIS + 1, 100)).containsExactly("app-1");
    assertThat(r.due(2 * HOUR_MILLIS, 100)).containsExactly("app-1", "app-2");
  }

  @Test
  void theLimitThatRemovesMoreWins() {
    FinishedApplicationRetention r = new FinishedApplicationRetention(3, Duration.ofHours(1));
    for (int i = 1; i <= 5; i++) {
      r.add("app-" + i, i * HOUR_MILLIS);
    }
    // The count alone purges the 2 oldest; at 4h+1ms the age alone purges the 3 that finished
    // more than an hour before (at 1h, 2h, 3h). Earlier, at 2h, only the count purges.
    assertThat(r.due(4 * HOUR_MILLIS + 1, 100)).containsExactly("app-1", "app-2", "app-3");
    assertThat(r.due(2 * HOUR_MILLIS, 100)).containsExactly("app-1", "app-2");
  }

  @Test
  void aBatchIsBounded() {
    FinishedApplicationRetention r = new FinishedApplicationRetention(1, Duration.ofDays(1));
    for (int i = 1; i <= 10; i++) {
      r.add("app-" + i, i);
    }
    assertThat(r.due(100, 4)).containsExactly("app-1", "app-2", "app-3", "app-4");
    assertThat(r.due(100, 100)).hasSize(9).doesNotContain("app-10");
  }

  @Test
  void refusesLimitsThatWouldPurgeEverything() {
    assertThatThrownBy(() -> new FinishedApplicationRetention(0, Duration.ofHours(1)))
        .hasMessageContaining("keptMax 0");
    assertThatThrownBy(() -> new FinishedApplicationRetention(1, Duration.ZERO))
        .hasMessageContaining("retention PT0S must be positive");
  }
}
