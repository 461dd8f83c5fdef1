package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.testkit.RaftLogFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A member whose Raft log ends in a torn write (the machine lost power before the write was
 * forced) starts again with every acknowledged write; a log damaged otherwise is refused with an
 * error that names the segment.
 */
class TornLogWriteTest {
  private static final int KEYS = 50;

  @TempDir Path dir;

  private static NuwaTestCluster writeKeysAndStop(Path dir) {
    NuwaTestCluster cluster = NuwaTestCluster.start(dir, 1);
    try (NuwaClient client = client(cluster)) {
      for (int i = 0; i < KEYS; i++) {
        client.kv().put("k" + i, "v" + i);
      }
    }
    cluster.stopMember(0);
    return cluster;
  }

  @Test
  void aTornLastWriteIsCutOffAndTheMemberStartsWithEveryWrite() throws Exception {
    try (NuwaTestCluster cluster = writeKeysAndStop(dir)) {
      Path segment = RaftLogFiles.openSegment(dir.resolve("n1"));
      long entriesEnd = Files.size(segment);
      // The member was writing one more entry when the power went.
      RaftLogFiles.appendTornEntry(segment);

      cluster.startMember(0);
      cluster.awaitLeader();

      // The segment may have been closed since (renamed log_0-END), but not written to.
      assertThat(Files.size(RaftLogFiles.firstSegment(dir.resolve("n1"))))
          .as("the torn write cut off").isEqualTo(entriesEnd);
      try (NuwaClient client = client(cluster)) {
        for (int i = 0; i < KEYS; i++) {
          assertThat(client.kv().get("k" + i).kvs().get(0).value().toStringUtf8())
              .isEqualTo("v" + i);
        }
        client.kv().put("after", "restart");
      }
    }
  }

  @Test
  void aDamagedLastEntryIsRefusedNamingTheSegment() throws Exception {
    try (NuwaTestCluster cluster = writeKeysAndStop(dir)) {
      Path segment = RaftLogFiles.openSegment(dir.resolve("n1"));
      byte[] good = Files.readAllBytes(segment);
      // A changed byte in the last entry's checksum: no sector of it reads as zeros, so it is
      // not a torn write, and the entry may have been acknowledged.
      byte[] bad = good.clone();
      int at = bad.length - 2;
      bad[at] = (byte) (bad[at] == 1 ? 2 : 1);
      Files.write(segment, bad);

      Throwable refused = catchThrowable(() -> cluster.startMember(0));

      assertThat(refused).as("a member with a damaged log starts").isNotNull();
      assertThat(refused).rootCause().hasMessageContaining(segment.toString())
          .hasMessageContaining("is damaged at byte").hasMessageContaining("fails its checksum");
      assertThat(Files.readAllBytes(segment)).as("the log left as it was").isEqualTo(bad);

      Files.write(segment, good);
      cluster.startMember(0);
      cluster.awaitLeader();
      try (NuwaClient client = client(cluster)) {
        assertThat(client.kv().get("k" + (KEYS - 1)).kvs()).hasSize(1);
      }
    }
  }

  private static NuwaClient client(NuwaTestCluster cluster) {
    return NuwaClient.builder().endpoints(cluster.endpoints())
        .requestTimeout(Duration.ofSeconds(10)).build();
  }
}
