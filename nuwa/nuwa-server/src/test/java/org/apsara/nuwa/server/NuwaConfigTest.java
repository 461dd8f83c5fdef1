package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.apsara.common.net.HostPort;
import org.junit.jupiter.api.Test;

/** What a member's configuration accepts, and what it refuses with a message that says why. */
class NuwaConfigTest {
  private static NuwaConfig.Builder oneMember() {
    return NuwaConfig.builder()
        .memberId("n1")
        .peer("n1", HostPort.of("127.0.0.1", 2380))
        .dataDir(Path.of("data"));
  }

  @Test
  void theAppendBatchWaitDefaultsToOneMillisecondAndMayBeZero() {
    assertThat(oneMember().build().appendBatchWait()).isEqualTo(Duration.ofMillis(1));
    assertThat(oneMember().appendBatchWait(Duration.ZERO).build().appendBatchWait())
        .isZero();
    assertThat(oneMember().appendBatchWait(NuwaConfig.APPEND_BATCH_WAIT_MAX).build()
        .appendBatchWait()).isEqualTo(Duration.ofMillis(100));
  }

  @Test
  void anAppendBatchWaitOutsideItsBoundsIsRefused() {
    assertThatThrownBy(() -> oneMember().appendBatchWait(Duration.ofNanos(-1000)).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("the append batch wait must be between 0 and 100ms, not -1us");
    assertThatThrownBy(() -> oneMember().appendBatchWait(Duration.ofMillis(101)).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("the append batch wait must be between 0 and 100ms, not 101000us");
  }
}
