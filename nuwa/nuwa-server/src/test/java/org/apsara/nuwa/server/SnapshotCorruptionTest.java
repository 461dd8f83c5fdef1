package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.apsara.nuwa.client.NuwaClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A member whose snapshot file was damaged on disk refuses to start, saying which file and why,
 * rather than serve a wrong state; with the file repaired it starts with every write.
 */
class SnapshotCorruptionTest {
  @TempDir Path dir;

  /** The newest snapshot, the one a start loads: Ratis names them snapshot.TERM_INDEX. */
  private static Path snapshotFile(Path memberDir) throws IOException {
    try (Stream<Path> files = Files.walk(memberDir)) {
      return files.filter(p -> p.getFileName().toString().matches("snapshot\\.\\d+_\\d+"))
          .max(Comparator.comparingLong(SnapshotCorruptionTest::index)).orElse(null);
    }
  }

  private static long index(Path snapshot) {
    String name = snapshot.getFileName().toString();
    return Long.parseLong(name.substring(name.lastIndexOf('_') + 1));
  }

  private static String messages(Throwable failure) {
    StringBuilder all = new StringBuilder();
    for (Throwable t = failure; t != null; t = t.getCause()) {
      all.append(t).append('\n');
      for (Throwable suppressed : t.getSuppressed()) {
        all.append("suppressed: ").append(suppressed).append('\n');
      }
    }
    return all.toString();
  }

  @Test
  void aDamagedSnapshotIsRefusedAndTheRepairedOneLoads() throws Exception {
    Path memberDir = dir.resolve("n1");
    // The test cluster snapshots every 100 log entries.
    try (NuwaTestCluster cluster = NuwaTestCluster.start(dir, 1)) {
      try (NuwaClient client = client(cluster)) {
        for (int i = 0; i < 150; i++) {
          client.kv().put("k" + i, "v" + i);
        }
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> snapshotFile(memberDir) != null);
      cluster.stopMember(0);
      Path snapshot = snapshotFile(memberDir);
      byte[] good = Files.readAllBytes(snapshot);

      // One bit flipped in the middle of the file: the digest recorded beside it catches it.
      byte[] bad = good.clone();
      bad[bad.length / 2] ^= 0x04;
      Files.write(snapshot, bad);
      Throwable refused = catchThrowable(() -> cluster.startMember(0));
      assertThat(refused).as("a member with a damaged snapshot starts").isNotNull();
      assertThat(messages(refused)).contains(snapshot.getFileName().toString())
          .contains("is corrupt: MD5");

      // Without the digest file, the store's own checksum still refuses it.
      Path digest = snapshot.resolveSibling(snapshot.getFileName() + ".md5");
      byte[] digestBytes = Files.readAllBytes(digest);
      Files.delete(digest);
      Throwable stillRefused = catchThrowable(() -> cluster.startMember(0));
      assertThat(stillRefused).isNotNull();
      assertThat(messages(stillRefused)).contains("MVCC snapshot");

      // Repaired, the member starts with every write.
      Files.write(snapshot, good);
      Files.write(digest, digestBytes);
      cluster.startMember(0);
      cluster.awaitLeader();
      try (NuwaClient client = client(cluster)) {
        for (int i : List.of(0, 99, 149)) {
          assertThat(client.kv().get("k" + i).kvs().get(0).value().toStringUtf8())
              .isEqualTo("v" + i);
        }
      }
    }
  }

  private static NuwaClient client(NuwaTestCluster cluster) {
    return NuwaClient.builder().endpoints(cluster.endpoints())
        .requestTimeout(Duration.ofSeconds(10)).build();
  }
}
