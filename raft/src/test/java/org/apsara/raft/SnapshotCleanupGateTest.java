package org.apsara.raft;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.junit.jupiter.api.Test;

class SnapshotCleanupGateTest {
  @Test
  void cleanupIsDueOncePerLatestSnapshot() {
    SnapshotCleanupGate gate = new SnapshotCleanupGate();
    assertThat(gate.due(null)).isTrue();
    assertThat(gate.due(null)).isFalse();
    SnapshotInfo first = new SingleFileSnapshotInfo(null, TermIndex.valueOf(1, 100));
    assertThat(gate.due(first)).isTrue();
    assertThat(gate.due(first)).isFalse();
    assertThat(gate.due(new SingleFileSnapshotInfo(null, TermIndex.valueOf(1, 200)))).isTrue();
  }
}
