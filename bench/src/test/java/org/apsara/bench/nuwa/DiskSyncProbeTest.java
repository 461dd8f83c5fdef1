package org.apsara.bench.nuwa;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class DiskSyncProbeTest {
  @Test
  void summarizesProbesByTheirMedian() {
    String line =
        DiskSyncProbe.summarize(
            List.of(
                new DiskSyncProbe.Result(256, 1000, 0.5),
                new DiskSyncProbe.Result(256, 3000, 0.1),
                new DiskSyncProbe.Result(256, 2000, 0.2)));

    assertThat(line)
        .isEqualTo(
            "256-byte O_DSYNC appends: 2000/s, p50 0.20 ms (median of 3; per round: 1000, 3000,"
                + " 2000 /s)");
  }

  @Test
  void saysSoWhenNothingWasMeasured() {
    assertThat(DiskSyncProbe.summarize(List.of())).isEqualTo("not measured");
  }
}
