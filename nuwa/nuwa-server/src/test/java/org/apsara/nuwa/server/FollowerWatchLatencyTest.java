package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.Watcher;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A watcher connected to a follower sees a write soon after the leader acknowledged it, even in a
 * quiet cluster, where the leader's next message to the follower is a heartbeat half an election
 * timeout away.
 */
class FollowerWatchLatencyTest {
  /** Heartbeats every second: without the follower's commit check, events lag up to that. */
  static final Duration ELECTION_TIMEOUT = Duration.ofSeconds(2);
  static final int WRITES = 5;

  @TempDir Path dir;
  NuwaTestCluster cluster;

  @AfterEach
  void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aFollowersWatcherSeesAQuietWriteWithinAFractionOfTheHeartbeatInterval() throws Exception {
    cluster = NuwaTestCluster.start(dir, 3, b -> b.electionTimeoutMin(ELECTION_TIMEOUT));
    int leader = cluster.awaitLeader();
    int follower = (leader + 1) % 3;
    BlockingQueue<Long> seenAtNanos = new LinkedBlockingQueue<>();
    try (NuwaClient writer = NuwaClient.builder().endpoints(List.of(cluster.endpoint(leader)))
            .build();
        NuwaClient watching = NuwaClient.builder().endpoints(List.of(cluster.endpoint(follower)))
            .build();
        Watcher watcher = watching.watch().watch("quiet-key",
            response -> response.events().forEach(e -> seenAtNanos.add(System.nanoTime())))) {
      // The watch is registered once it reports an event: a first write proves it.
      writer.kv().put("quiet-key", "start");
      assertThat(seenAtNanos.poll(30, TimeUnit.SECONDS)).as("first event").isNotNull();

      List<Long> lagsMillis = new ArrayList<>();
      for (int i = 0; i < WRITES; i++) {
        // Let the cluster fall quiet, then write once.
        Thread.sleep(ELECTION_TIMEOUT.toMillis() / 2 + 200);
        writer.kv().put("quiet-key", "v" + i);
        long acknowledgedNanos = System.nanoTime();
        Long seen = seenAtNanos.poll(10, TimeUnit.SECONDS);
        assertThat(seen).as("event of write %d", i).isNotNull();
        lagsMillis.add(Math.max(0, TimeUnit.NANOSECONDS.toMillis(seen - acknowledgedNanos)));
      }
      lagsMillis.sort(null);
      assertThat(lagsMillis.get(WRITES / 2)).as("median lag in ms of %s", lagsMillis)
          .isLessThan(ELECTION_TIMEOUT.toMillis() / 8);
    }
  }
}
