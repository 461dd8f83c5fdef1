package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import org.apsara.common.net.HostPort;
import org.apsara.testkit.Ports;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The leader keeps history bounded to the configured number of revisions. */
class AutoCompactionTest {
  @TempDir Path dir;

  @Test
  void historyOlderThanTheRetentionIsCompacted() throws Exception {
    NuwaConfig config = NuwaConfig.builder()
        .memberId("n1")
        .peer("n1", HostPort.of("127.0.0.1", Ports.freePort()))
        .dataDir(dir)
        .clientPort(0)
        .electionTimeoutMin(Duration.ofMillis(300))
        .autoCompactionRetainRevisions(50)
        .autoCompactionInterval(Duration.ofMillis(200))
        .build();
    try (NuwaServer server = NuwaServer.start(config)) {
      await().atMost(Duration.ofSeconds(20)).until(() -> server.stateMachine().isLeaderReady());
      DurabilityTest.writeKeys(server.clientEndpoint(), 0, 120);
      long revision = server.stateMachine().store().revision();
      await().atMost(Duration.ofSeconds(20))
          .until(() -> server.stateMachine().store().compactRevision() >= revision - 50);
      assertThat(server.stateMachine().store().compactRevision()).isLessThanOrEqualTo(revision);
      // The latest values are untouched by compaction.
      DurabilityTest.assertAllPresent(server.clientEndpoint(), 120);
    }
  }
}
