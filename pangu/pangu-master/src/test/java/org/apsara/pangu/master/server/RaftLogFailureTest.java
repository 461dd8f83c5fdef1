package org.apsara.pangu.master.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ConnectException;
import java.net.Socket;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apsara.testkit.RaftLogFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A master whose Raft log failed (a log write failed on a full or failing disk) stops, closing
 * its client port, instead of lingering as a member that looks alive but cannot append.
 */
class RaftLogFailureTest {
  @TempDir Path dir;
  PanguCluster cluster;

  @AfterEach
  void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aMasterWhoseLogFailedStops() throws Exception {
    cluster = new PanguCluster(dir, 1).startMasters();
    MasterServer master = cluster.awaitLeader();
    int port = master.clientAddress().port();

    RaftLog log = master.node().division().getRaftLog();
    RaftLogFiles.closeAsAFailedWriteDoes(log);
    assertThat(log.isOpened()).isFalse();

    String reason = master.stoppedByItself().get(30, TimeUnit.SECONDS);
    assertThat(reason).contains("the Raft log failed to write").contains("MiB free for");
    assertThatThrownBy(() -> new Socket("127.0.0.1", port).close())
        .as("its client port is closed").isInstanceOf(ConnectException.class);
  }
}
