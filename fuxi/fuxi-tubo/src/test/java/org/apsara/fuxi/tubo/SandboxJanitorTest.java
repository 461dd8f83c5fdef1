package org.apsara.fuxi.tubo;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import org.apsara.common.time.ManualClock;
import org.junit.jupiter.api.Test;

class SandboxJanitorTest {
  private final ManualClock clock = new ManualClock();

  @Test
  void keepsAtMostTheLastN() {
    SandboxJanitor janitor = new SandboxJanitor(2, Duration.ofHours(1), clock);
    janitor.finished("a", Path.of("/s/a"));
    janitor.finished("b", Path.of("/s/b"));
    assertThat(janitor.expired()).isEmpty();

    janitor.finished("c", Path.of("/s/c"));

    assertThat(janitor.expired()).containsExactly(Path.of("/s/a"));
    assertThat(janitor.size()).isEqualTo(2);
  }

  @Test
  void dropsSandboxesOlderThanTheRetention() {
    SandboxJanitor janitor = new SandboxJanitor(10, Duration.ofMinutes(5), clock);
    janitor.finished("a", Path.of("/s/a"));
    clock.advance(Duration.ofMinutes(3));
    janitor.finished("b", Path.of("/s/b"));
    clock.advance(Duration.ofMinutes(2));
    assertThat(janitor.expired()).as("exactly at the retention").isEmpty();

    clock.advance(Duration.ofSeconds(1));
    assertThat(janitor.expired()).containsExactly(Path.of("/s/a"));
    clock.advance(Duration.ofMinutes(3));
    assertThat(janitor.expired()).containsExactly(Path.of("/s/b"));
  }

  @Test
  void aRelaunchedWorkerIdIsForgottenNotExpired() {
    SandboxJanitor janitor = new SandboxJanitor(0, Duration.ofHours(1), clock);
    janitor.finished("a", Path.of("/s/a"));
    janitor.forget("a");

    assertThat(janitor.expired()).isEmpty();
  }
}
