package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.apsara.common.io.FileTrees;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.testkit.LogRecorder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A member whose snapshots fail (a full or failing disk) keeps serving, and waits to retry. */
class SnapshotFailureTest {
  /** Ratis's apply thread logs each failed snapshot (and failed cleanup) as it meets it. */
  static final String UPDATER_LOGGER = "org.apache.ratis.server.impl.StateMachineUpdater";
  static final String SNAPSHOT_FAILED = "Failed to take snapshot";

  @TempDir Path dir;

  /** Where Ratis keeps the state machine's snapshots: the group directory's {@code sm}. */
  private static Path stateMachineDir(Path memberDir) throws IOException {
    try (Stream<Path> paths = Files.walk(memberDir)) {
      return paths.filter(p -> p.getFileName().toString().equals("sm") && Files.isDirectory(p))
          .findFirst().orElseThrow();
    }
  }

  @Test
  void aFailedSnapshotWaitsBeforeTheNextTryAndTheMemberServesOn() throws Exception {
    // The test cluster snapshots every 100 log entries.
    try (NuwaTestCluster cluster = NuwaTestCluster.start(dir, 1);
        NuwaClient client = NuwaClient.builder().endpoints(cluster.endpoints()).build();
        LogRecorder updaterLog = LogRecorder.of(UPDATER_LOGGER)) {
      // Where snapshots go is now a file: every snapshot fails to be written.
      Path snapshots = stateMachineDir(dir.resolve("n1"));
      FileTrees.delete(snapshots);
      Files.writeString(snapshots, "not a directory");

      for (int i = 0; i < 150; i++) {
        client.kv().put("k" + i, "v" + i);
      }
      await().atMost(Duration.ofSeconds(20))
          .until(() -> cluster.member(0).stateMachine().snapshotsFailed() >= 1);
      for (int i = 150; i < 400; i++) {
        client.kv().put("k" + i, "v" + i);
      }

      // Due after the 100th entry, and again after every entry since: tried once.
      assertThat(cluster.member(0).stateMachine().snapshotsFailed()).isEqualTo(1);
      assertThat(cluster.member(0).stateMachine().snapshotsTaken()).isZero();
      // Logged: the failure, and the first look for old snapshots to delete (the directory
      // cannot be listed either); not another look after every entry since.
      assertThat(updaterLog.count(SNAPSHOT_FAILED)).isLessThanOrEqualTo(2);
      assertThat(client.kv().get("k399").kvs().get(0).value().toStringUtf8()).isEqualTo("v399");
    }
  }
}
