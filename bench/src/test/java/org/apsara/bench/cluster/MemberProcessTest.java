package org.apsara.bench.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MemberProcessTest {
  @Test
  void cpuTimeCountsTheWorkOfTheProcessAndOfItsChildren(@TempDir Path dir) throws Exception {
    // The process itself only waits; a child it started does the work, as a launcher script
    // that starts the real server would.
    String busyChild = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; exec sleep 60";
    try (MemberProcess member = MemberProcess.start("busy", List.of("sh", "-c",
        "sh -c '" + busyChild + "' & wait"), dir, dir.resolve("busy.log"))) {
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
          assertThat(member.cpuTime()).hasValueSatisfying(cpu ->
              assertThat(cpu).isGreaterThanOrEqualTo(Duration.ofMillis(200))));
    }
  }
}
