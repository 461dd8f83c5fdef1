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

  @Test
  void aFoundingGroupHasAnOddSizeAndAJoiningMemberNamesSomeoneToAsk() {
    NuwaConfig.Builder twoPeers = oneMember().peer("n2", HostPort.of("127.0.0.1", 2381));
    assertThatThrownBy(twoPeers::build)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("a Nuwa group has 1, 3 or 5 members, not 2");
    assertThat(twoPeers.join(true).build().join()).isTrue();
    assertThatThrownBy(() -> oneMember().join(true).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("a joining member's peers name it and at least one member of the running"
            + " group, at most 5 in all, not 1");
  }

  @Test
  void toBuilderKeepsEverySetting() {
    NuwaConfig config = oneMember().peer("n2", HostPort.of("127.0.0.1", 2381)).join(true)
        .clientPort(12379).metricsPort(0).appendBatchWait(Duration.ZERO)
        .authTokenTtl(Duration.ofMinutes(1)).quotaBytes(64L << 20).build();
    assertThat(config.toBuilder().build()).isEqualTo(config);
  }

  @Test
  void theQuotaIsEtcdsUnlessTheHeapIsSmallAndMayBeSetOrTurnedOff() {
    // 2 GiB, as etcd, where the heap is large enough; else 40% of the heap, but never below 4 MiB.
    assertThat(NuwaConfig.defaultQuotaBytes(16L << 30)).isEqualTo(2L << 30);
    assertThat(NuwaConfig.defaultQuotaBytes(1L << 30)).isEqualTo((long) ((1L << 30) * 0.4));
    assertThat(NuwaConfig.defaultQuotaBytes(1L << 20)).isEqualTo(4L << 20);
    assertThat(oneMember().build().effectiveQuotaBytes())
        .isEqualTo(NuwaConfig.defaultQuotaBytes(Runtime.getRuntime().maxMemory()));
    assertThat(oneMember().quotaBytes(8L << 20).build().effectiveQuotaBytes()).isEqualTo(8L << 20);
    assertThat(oneMember().quotaBytes(-1).build().effectiveQuotaBytes()).isEqualTo(Long.MAX_VALUE);
    assertThatThrownBy(() -> oneMember().quotaBytes(1 << 20).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least 4 MiB");
  }
}
