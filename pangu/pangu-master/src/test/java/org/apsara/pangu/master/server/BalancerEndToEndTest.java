package org.apsara.pangu.master.server;

import static org.apsara.pangu.master.server.PanguCluster.AWAIT;
import static org.apsara.pangu.master.server.PanguCluster.CHUNK_SIZE;
import static org.apsara.pangu.master.server.PanguCluster.content;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apsara.pangu.api.v1.ChunkServerLocation;
import org.apsara.pangu.api.v1.LocatedChunk;
import org.apsara.pangu.chunkserver.server.ChunkServer;
import org.apsara.pangu.chunkserver.store.ReplicaInfo;
import org.apsara.pangu.chunkserver.store.ReplicaState;
import org.apsara.pangu.chunkserver.store.VolumeUsage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The balancer end to end: three chunkservers hold every replica, a fourth joins empty, and the
 * master moves replicas to it until disk usage is within the threshold, never leaving a chunk
 * with fewer than three healthy replicas and never running more balancing copies at once than
 * its bound. With the balancer off, the new chunkserver stays empty and this test fails.
 */
class BalancerEndToEndTest {
  /** Every chunkserver's volume: 24 chunks, so one chunk is about 4 percentage points. */
  static final long CAPACITY_BYTES = 24 * CHUNK_SIZE;
  static final double THRESHOLD_PERCENT = 10;
  /** Below the copy slots of the new chunkserver, so that this bound is the one that binds. */
  static final int BALANCE_COPIES_MAX = 2;
  static final int COPIES_PER_CHUNKSERVER = 8;
  /** One chunk per file: the fixture's writer does not renew its short lease. */
  static final int FILES = 12;
  static final int CHUNKS_PER_FILE = 1;
  static final List<String> CHUNKSERVERS = List.of("cs1", "cs2", "cs3", "cs4");

  @TempDir Path dir;
  PanguCluster cluster;

  @BeforeEach
  void start() throws Exception {
    cluster = new PanguCluster(dir, 1)
        .volumeCapacity(CAPACITY_BYTES)
        .masterSettings(b -> b.balanceThresholdPercent(THRESHOLD_PERCENT)
            .balanceCopiesMax(BALANCE_COPIES_MAX)
            .copiesPerChunkServer(COPIES_PER_CHUNKSERVER))
        .startMasters();
    cluster.awaitLeader();
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  @Test
  void anEmptyChunkServerThatJoinsIsFilledUntilUsageIsEvenAndEveryChunkKeepsThreeReplicas()
      throws Exception {
    for (String id : CHUNKSERVERS.subList(0, 3)) {
      cluster.startChunkServer(id);
    }
    await("three chunkservers registered").atMost(AWAIT)
        .until(() -> cluster.awaitLeader().chunks().servers().size() == 3);
    int[] lengths = new int[CHUNKS_PER_FILE];
    Arrays.fill(lengths, (int) CHUNK_SIZE);
    List<String> paths = new ArrayList<>();
    for (int i = 0; i < FILES; i++) {
      String path = "/balance/f" + i;
      cluster.writeFile(path, "writer-" + i, i, lengths);
      paths.add(path);
    }
    Map<Long, LocatedChunk> chunks = new HashMap<>();
    Map<Long, Integer> seeds = new HashMap<>();
    for (int i = 0; i < FILES; i++) {
      for (LocatedChunk c : cluster.locations(paths.get(i)).getChunksList()) {
        chunks.put(c.getChunkId(), c);
        seeds.put(c.getChunkId(), i);
      }
    }
    assertThat(chunks).hasSize(FILES * CHUNKS_PER_FILE);
    await("every chunk sealed on the three").atMost(AWAIT)
        .until(() -> chunks.values().stream().allMatch(c -> holders(c).size() == 3));
    assertThat(balanceCopiesStarted()).isZero();
    double repairCopiesBefore = counter("pangu.master.repair.copies.started");
    double deletedBefore = counter("pangu.master.repair.replicas.deleted");

    cluster.startChunkServer("cs4");
    List<String> violations = new ArrayList<>();
    await("usage within " + THRESHOLD_PERCENT + " percentage points").atMost(AWAIT)
        .pollInterval(Duration.ofMillis(250))
        .until(() -> {
          violations.addAll(checkEveryChunk(paths, chunks, seeds));
          // Settled: within the threshold, and every move over (no excess replica left).
          return !violations.isEmpty() || (spreadOnChunkServers() <= THRESHOLD_PERCENT / 100
              && chunks.values().stream().allMatch(c -> holders(c).size() == 3));
        });
    assertThat(violations).isEmpty();
    assertThat(spreadOnChunkServers()).isLessThanOrEqualTo(THRESHOLD_PERCENT / 100);

    // The new chunkserver took replicas, through more copies than the bound allows at once,
    // and never more than the bound ran at once.
    long onNew = chunks.values().stream().filter(c -> holders(c).contains("cs4")).count();
    assertThat(onNew).isGreaterThan(BALANCE_COPIES_MAX);
    assertThat(balanceCopiesStarted()).isGreaterThanOrEqualTo(onNew);
    // Each move ended with exactly one excess replica removed, and no chunk ever fell short so
    // that repair had to copy it (a second replica trimmed would have made it so). A move's copy
    // is counted as finished just after the master learns of the new replica, which another
    // thread may trim first: the two counters can be a moment apart, so they are awaited.
    await("one excess replica removed per finished move").atMost(AWAIT).untilAsserted(() ->
        assertThat(counter("pangu.master.repair.replicas.deleted") - deletedBefore)
            .isEqualTo(counter("pangu.master.repair.balance.copies.finished")));
    assertThat(counter("pangu.master.repair.copies.started")).isEqualTo(repairCopiesBefore);
    assertThat(gauge("pangu.master.repair.balance.copies.in.flight.peak"))
        .isBetween(1.0, (double) BALANCE_COPIES_MAX);
    await("the master sees the spread within the threshold").atMost(AWAIT).until(() ->
        gauge("pangu.master.repair.balance.spread") <= THRESHOLD_PERCENT / 100);

    // Every replica, moved or not, serves the file's bytes.
    for (int i = 0; i < FILES; i++) {
      for (LocatedChunk c : cluster.locations(paths.get(i)).getChunksList()) {
        assertThat(c.getLocationsList()).hasSize(3);
        for (ChunkServerLocation location : c.getLocationsList()) {
          assertThat(cluster.read(c, location)).isEqualTo(
              content(i, c.getFileOffset(), (int) c.getLength()));
        }
      }
    }
  }

  /**
   * The chunkservers that really hold a healthy replica of the chunk: sealed with its
   * generation and length, not corrupt (asked of the chunkservers, not the master).
   */
  List<String> holders(LocatedChunk chunk) {
    List<String> holders = new ArrayList<>();
    for (String id : CHUNKSERVERS) {
      ChunkServer server = cluster.chunkServer(id);
      if (server == null) {
        continue;
      }
      for (ReplicaInfo r : server.heartbeatReport().replicas()) {
        if (r.chunkId() == chunk.getChunkId() && r.state() == ReplicaState.SEALED
            && r.generation() == chunk.getGeneration() && r.length() == chunk.getLength()
            && !r.corrupt()) {
          holders.add(id);
        }
      }
    }
    return holders;
  }

  /**
   * What is wrong now: a chunk with fewer than three healthy replicas, or one that no location
   * the master lists can serve (a reader tries them in order, as the client does).
   */
  List<String> checkEveryChunk(List<String> paths, Map<Long, LocatedChunk> chunks,
      Map<Long, Integer> seeds) {
    List<String> wrong = new ArrayList<>();
    for (LocatedChunk c : chunks.values()) {
      List<String> holders = holders(c);
      if (holders.size() < 3) {
        wrong.add("chunk " + c.getChunkId() + " has healthy replicas only on " + holders);
      }
    }
    for (String path : paths) {
      for (LocatedChunk c : cluster.locations(path).getChunksList()) {
        byte[] expected = content(seeds.get(c.getChunkId()), c.getFileOffset(),
            (int) c.getLength());
        boolean served = false;
        for (ChunkServerLocation location : c.getLocationsList()) {
          try {
            if (Arrays.equals(cluster.read(c, location), expected)) {
              served = true;
              break;
            }
          } catch (RuntimeException e) {
            // A replica trimmed after the listing: the next location serves.
          }
        }
        if (!served) {
          wrong.add("chunk " + c.getChunkId() + " of " + path + " could not be read from "
              + c.getLocationsList());
        }
      }
    }
    return wrong;
  }

  /** The fullest chunkserver's used fraction minus the emptiest's, as they report them. */
  double spreadOnChunkServers() {
    double max = 0;
    double min = 1;
    for (String id : CHUNKSERVERS) {
      long used = 0;
      long capacity = 0;
      for (VolumeUsage v : cluster.chunkServer(id).heartbeatReport().volumes()) {
        used += v.usedBytes();
        capacity += v.capacityBytes();
      }
      double fraction = (double) used / capacity;
      max = Math.max(max, fraction);
      min = Math.min(min, fraction);
    }
    return max - min;
  }

  double balanceCopiesStarted() {
    return counter("pangu.master.repair.balance.copies.started");
  }

  /** The sum over a counter's tags (0 before it exists). */
  double counter(String name) {
    return cluster.awaitLeader().metrics().find(name).counters().stream()
        .mapToDouble(Counter::count).sum();
  }

  double gauge(String name) {
    Gauge gauge = cluster.awaitLeader().metrics().find(name).gauge();
    assertThat(gauge).as(name).isNotNull();
    return gauge.value();
  }
}
