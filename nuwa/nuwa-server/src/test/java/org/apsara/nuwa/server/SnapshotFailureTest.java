package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.apsara.common.io.FileTrees;
import org.apsara.nuwa.client.NuwaClient;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.junit.jupiter.api.io.TempDir;

/** A member whose snapshots fail (a full or failing disk) keeps serving, and waits to retry. */
class SnapshotFailureTest {
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
        NuwaClient client = NuwaClient.builder().endpoints(cluster.endpoints()).build()) {
      // Where snapshots go is now a file: every snapshot fails to be written.
      Path snapshots = stateMachineDir(dir.resolve("n1"));
      FileTrees.delete(snapshots);
      Files.writeString(snapshots, "not a directory");
      ListAppender<ILoggingEvent> updaterLog = recordUpdaterLog();

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
      assertThat(snapshotFailuresLogged(updaterLog)).isLessThanOrEqualTo(2);
      assertThat(client.kv().get("k399").kvs().get(0).value().toStringUtf8()).isEqualTo("v399");
    }
  }

  /** Ratis's apply thread logs each failed snapshot (and each failed cleanup) as it meets it. */
  private static final String UPDATER_LOGGER = "org.apache.ratis.server.impl.StateMachineUpdater";

  private static ListAppender<ILoggingEvent> recordUpdaterLog() {
    ListAppender<ILoggingEvent> events = new ListAppender<>();
    events.start();
    ((Logger) LoggerFactory.getLogger(UPDATER_LOGGER)).addAppender(events);
    return events;
  }

  private static long snapshotFailuresLogged(ListAppender<ILoggingEvent> events) {
    ((Logger) LoggerFactory.getLogger(UPDATER_LOGGER)).detachAppender(events);
    return events.list.stream()
        .filter(e -> e.getFormattedMessage().contains("Failed to take snapshot")).count();
  }
}
