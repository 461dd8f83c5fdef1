package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.net.ConnectException;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.testkit.RaftLogFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A member whose Raft log failed (a log write failed on a full or failing disk) stops, closing
 * its client port, instead of lingering as a member that looks alive but cannot append; the
 * others go on.
 */
class RaftLogFailureTest {
  @TempDir Path dir;

  @Test
  void aLeaderWhoseLogFailedStopsAndTheOthersGoOn() throws Exception {
    try (NuwaTestCluster cluster = NuwaTestCluster.start(dir, 3);
        NuwaClient client = NuwaClient.builder().endpoints(cluster.endpoints())
            .requestTimeout(Duration.ofSeconds(10)).build()) {
      client.kv().put("before", "1");
      int leader = cluster.awaitLeader();
      NuwaServer failing = cluster.member(leader);
      int port = failing.clientPort();

      RaftLogFiles.closeAsAFailedWriteDoes(failing.raft().division().getRaftLog());

      String reason = failing.stoppedByItself().get(30, TimeUnit.SECONDS);
      assertThat(reason).contains("the Raft log failed to write").contains("MiB free for");
      assertThatThrownBy(() -> new Socket("127.0.0.1", port).close())
          .as("its client port is closed").isInstanceOf(ConnectException.class);
      await().atMost(Duration.ofSeconds(30)).until(() -> IntStream.range(0, cluster.size())
          .filter(i -> i != leader).anyMatch(i -> cluster.member(i).raft().isLeader()));
      client.kv().put("after", "2");
      assertThat(client.kv().get("before").kvs()).hasSize(1);
      assertThat(client.kv().get("after").kvs().get(0).value().toStringUtf8()).isEqualTo("2");
    }
  }
}
