package org.apsara.pangu.master.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.master.MasterConfig;
import org.junit.jupiter.api.Test;

/** A master's configuration refuses what cannot work, naming it. */
class MasterConfigTest {
  static final Path DIR = Path.of("data");
  static final HostPort A = HostPort.of("127.0.0.1", 7001);
  static final HostPort B = HostPort.of("127.0.0.1", 7002);
  static final HostPort C = HostPort.of("127.0.0.1", 7003);

  @Test
  void defaultsDescribeAGroupOfThree() {
    MasterConfig config = MasterConfig.builder("m2", Map.of("m1", A, "m2", B, "m3", C), DIR)
        .build();
    assertThat(config.self()).isEqualTo(B);
    assertThat(config.electionTimeoutMin()).isEqualTo(MasterConfig.DEFAULT_ELECTION_TIMEOUT_MIN);
  }

  @Test
  void refusesWhatCannotWork() {
    assertThatThrownBy(() -> MasterConfig.builder("m9", Map.of("m1", A), DIR).build())
        .hasMessageContaining("member m9 is not among the peers");
    assertThatThrownBy(() -> MasterConfig.builder("m1", Map.of("m1", A, "m2", B), DIR).build())
        .hasMessageContaining("odd number of members up to 5, not 2");
    assertThatThrownBy(() -> MasterConfig.builder("m1", Map.of("m1", A), DIR)
        .electionTimeoutMin(Duration.ZERO).build())
        .hasMessageContaining("election timeout must be positive");
    assertThatThrownBy(() -> MasterConfig.builder("m1", Map.of("m1", A), DIR)
        .appendBatchWait(Duration.ofSeconds(1)).build())
        .hasMessageContaining("append batch wait must be 0..100 ms");
  }
}
