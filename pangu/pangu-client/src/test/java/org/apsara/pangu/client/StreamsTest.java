package org.apsara.pangu.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.EOFException;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apsara.pangu.api.ChunkServerLimits;
import org.apsara.pangu.api.v1.CommitChunkRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The output and input streams against a fake master and in-memory chunkservers: packets and
 * chunks, hsync visibility, the non-stop write when a replica fails, read failover and EOF.
 */
class StreamsTest {
  private static final int MIB = 1 << 20;
  private FakeCluster cluster;

  @AfterEach
  void close() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  private static byte[] content(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  /** Writes {@code data} in pieces of {@code piece} bytes. */
  private static void writeInPieces(PanguOutputStream out, byte[] data, int piece)
      throws IOException {
    for (int at = 0; at < data.length; at += piece) {
      out.write(data, at, Math.min(piece, data.length - at));
    }
  }

  private byte[] readAll(String path) throws IOException {
    try (PanguInputStream in = cluster.client.open(path)) {
      return in.readAllBytes();
    }
  }

  @Test
  void packetsStayWithinTheLimitAndChunksRollAtTheChunkSize() throws Exception {
    cluster = new FakeCluster(3);
    long chunkSize = 2L * MIB + 100_000; // not a multiple of the packet size
    byte[] data = content(5 * MIB + 12_345, 1);

    try (PanguOutputStream out = cluster.client.create("/f",
        CreateOptions.DEFAULTS.withChunkSizeBytes(chunkSize))) {
      writeInPieces(out, data, 100_003);
    }

    for (FakeChunkServer server : cluster.chunkServers) {
      assertThat(server.packetSizes).allMatch(size -> size <= ChunkServerLimits
          .DATA_MESSAGE_BYTES_MAX);
    }
    assertThat(cluster.commits).extracting(CommitChunkRequest::getLength)
        .containsExactly(chunkSize, chunkSize, data.length - 2 * chunkSize);
    // Full chunks are committed by the AddChunk of the next one, the last by the CloseFile.
    assertThat(cluster.commitCalls).hasValue(0);
    // Every replica of every chunk holds the same bytes.
    for (FakeCluster.FakeChunk chunk : cluster.file("/f").chunks) {
      byte[] first = chunk.replicas.get(0).replica(chunk.chunkId);
      for (FakeChunkServer replica : chunk.replicas) {
        assertThat(replica.replica(chunk.chunkId)).isEqualTo(first);
      }
    }
    assertThat(cluster.committedContent("/f")).isEqualTo(data);
    assertThat(cluster.file("/f").open).isFalse();
    assertThat(readAll("/f")).isEqualTo(data);
  }

  @Test
  void hsyncedBytesAreOnEveryReplicaAndVisibleToAReader() throws Exception {
    cluster = new FakeCluster(3);
    byte[] data = content(300_000, 2);
    try (PanguOutputStream out = cluster.client.create("/f", CreateOptions.DEFAULTS)) {
      out.write(data, 0, 100_000);
      out.hsync();
      FakeCluster.FakeChunk chunk = cluster.file("/f").chunks.get(0);
      for (FakeChunkServer replica : chunk.replicas) {
        assertThat(replica.replicas.get(chunk.chunkId).synced).isEqualTo(100_000);
      }

      try (PanguInputStream in = cluster.client.open("/f")) {
        assertThat(in.length()).isEqualTo(100_000);
        byte[] seen = new byte[100_000];
        in.readFully(0, seen, 0, seen.length);
        assertThat(seen).isEqualTo(Arrays.copyOf(data, 100_000));
        in.seek(100_000);
        assertThat(in.read()).isEqualTo(-1);

        // The reader at the end sees what the writer syncs next.
        out.write(data, 100_000, 200_000);
        out.hflush();
        byte[] more = new byte[200_000];
        int n = 0;
        while (n < more.length) {
          int r = in.read(more, n, more.length - n);
          assertThat(r).isPositive();
          n += r;
        }
        assertThat(more).isEqualTo(Arrays.copyOfRange(data, 100_000, 300_000));
      }
    }
    assertThat(readAll("/f")).isEqualTo(data);
  }

  @Test
  void aReplicaFailingMidChunkDoesNotFailTheWriter() throws Exception {
    cluster = new FakeCluster(4);
    FakeChunkServer failing = cluster.chunkServers.get(1);
    failing.failWritesAfterBytes = 3 * MIB / 2;
    long chunkSize = 4L * MIB;
    byte[] data = content(10 * MIB + 777, 3);

    PanguOutputStream out = cluster.client.create("/f",
        CreateOptions.DEFAULTS.withChunkSizeBytes(chunkSize));
    // The replica fails within the first 2 MiB; the hsync waits on it and sees the failure.
    writeInPieces(out, Arrays.copyOf(data, 2 * MIB), 65_536);
    out.hsync();
    out.write(data, 2 * MIB, data.length - 2 * MIB);
    out.close();

    assertThat(out.recoveries()).isEqualTo(1);
    // The first chunk was cut short where the survivors ended, the rest went elsewhere.
    List<CommitChunkRequest> commits = cluster.commits;
    assertThat(commits.get(0).getLength()).isLessThan(chunkSize);
    assertThat(commits.stream().mapToLong(CommitChunkRequest::getLength).sum())
        .isEqualTo(data.length);
    assertThat(cluster.addChunkExclusions.get(0)).isEmpty();
    assertThat(cluster.addChunkExclusions.subList(1, cluster.addChunkExclusions.size()))
        .allMatch(excluded -> excluded.equals(List.of(failing.id)));
    for (FakeCluster.FakeChunk chunk : cluster.file("/f").chunks.subList(1,
        cluster.file("/f").chunks.size())) {
      assertThat(chunk.replicas).doesNotContain(failing);
    }
    assertThat(cluster.committedContent("/f")).isEqualTo(data);
    assertThat(readAll("/f")).isEqualTo(data);
  }

  @Test
  void whenEveryReplicaFailsTheUnacknowledgedBytesAreResentToANewChunk() throws Exception {
    cluster = new FakeCluster(6);
    byte[] data = content(3 * MIB, 7);
    PanguOutputStream out = cluster.client.create("/f", CreateOptions.DEFAULTS);
    out.write(data, 0, MIB);
    out.hsync();
    List<FakeChunkServer> first = cluster.file("/f").chunks.get(0).replicas;
    for (FakeChunkServer replica : first) {
      replica.failWritesAfterBytes = MIB + MIB / 2;
    }

    out.write(data, MIB, 2 * MIB);
    out.hsync();
    out.close();

    // Only the synced first MiB stayed in the first chunk; the rest was resent elsewhere.
    assertThat(cluster.commits.get(0).getLength()).isEqualTo(MIB);
    assertThat(cluster.file("/f").chunks.get(1).replicas).doesNotContainAnyElementsOf(first);
    assertThat(cluster.committedContent("/f")).isEqualTo(data);
    assertThat(readAll("/f")).isEqualTo(data);
  }

  @Test
  void aWriteFailsClearlyWhenNoChunkserversAreLeftToTakeIt() throws Exception {
    cluster = new FakeCluster(3);
    cluster.chunkServers.get(2).failWritesAfterBytes = MIB;
    PanguOutputStream out = cluster.client.create("/f", CreateOptions.DEFAULTS);
    byte[] data = content(3 * MIB, 4);

    // The survivors take everything sent so far: the chunk is committed, nothing is lost.
    writeInPieces(out, data, 65_536);
    out.hsync();
    assertThat(out.recoveries()).isEqualTo(1);
    assertThat(cluster.committedContent("/f")).isEqualTo(data);

    // The next chunk would need three chunkservers besides the failed one.
    assertThatThrownBy(() -> {
      out.write(data, 0, 1000);
      out.hsync();
    }).isInstanceOfSatisfying(PanguException.class,
        e -> assertThat(e.code()).isEqualTo(PanguErrorCode.NOT_ENOUGH_CHUNKSERVERS));
    // The failure sticks, and the file was handed to lease recovery at once.
    assertThatThrownBy(() -> out.write(1)).isInstanceOf(PanguException.class);
    assertThat(cluster.recoveredLeases).containsExactly("/f");
    assertThatThrownBy(out::close).isInstanceOfSatisfying(PanguException.class,
        e -> assertThat(e.code()).isEqualTo(PanguErrorCode.NOT_ENOUGH_CHUNKSERVERS));
    out.close(); // a second close does nothing
    assertThat(cluster.client.leases().openStreams()).isZero();
  }

  @Test
  void aReaderFailsOverFromACorruptReplicaAndReportsIt() throws Exception {
    cluster = new FakeCluster(3);
    byte[] data = content(2 * MIB + 5, 5);
    try (PanguOutputStream out = cluster.client.create("/f", CreateOptions.DEFAULTS)) {
      out.write(data);
    }
    FakeChunkServer corrupt = cluster.file("/f").chunks.get(0).replicas.get(0);
    corrupt.corruptReads = true;

    assertThat(readAll("/f")).isEqualTo(data);
    assertThat(cluster.badReplicas).isNotEmpty()
        .allMatch(bad -> bad.getChunkserverId().equals(corrupt.id));
  }

  @Test
  void aSequentialReaderStreamsAheadAndFailsOverWhenTheReplicaDiesMidStream() throws Exception {
    cluster = new FakeCluster(3);
    int size = (int) (PanguInputStream.READ_AHEAD_BYTES + 3 * MIB + 7);
    byte[] data = content(size, 8);
    try (PanguOutputStream out = cluster.client.create("/big", CreateOptions.DEFAULTS)) {
      out.write(data);
    }
    List<FakeChunkServer> replicas = cluster.file("/big").chunks.get(0).replicas;
    assertThat(cluster.file("/big").chunks).hasSize(1);

    // 1 MiB at a time, as most readers do: one call per READ_AHEAD_BYTES, not one per MiB.
    assertThat(readAll("/big")).isEqualTo(data);
    assertThat(replicas.stream().mapToInt(r -> r.readCalls.get()).sum()).isEqualTo(2);

    // Every replica's read dies after 3 messages: each time the reader goes on elsewhere from
    // where the stream stopped, and every byte arrives once, in order.
    replicas.forEach(r -> r.failReadsAfterMessages = 3);
    assertThat(readAll("/big")).isEqualTo(data);
    assertThat(replicas).allMatch(r -> r.readCalls.get() > 1);
  }

  @Test
  void readingEndsAtTheEndOfTheFileAsJavaIoExpects() throws Exception {
    cluster = new FakeCluster(3);
    byte[] data = content(1000, 6);
    try (PanguOutputStream out = cluster.client.create("/f", CreateOptions.DEFAULTS)) {
      out.write(data);
    }
    try (PanguInputStream in = cluster.client.open("/f")) {
      assertThat(in.available()).isEqualTo(1000);
      in.seek(990);
      byte[] tail = new byte[100];
      assertThat(in.read(tail, 0, 100)).isEqualTo(10);
      assertThat(in.read(tail, 0, 100)).isEqualTo(-1);
      assertThat(in.read()).isEqualTo(-1);
      assertThat(in.available()).isZero();

      // Positional reads do not move the stream.
      byte[] middle = new byte[10];
      in.readFully(500, middle, 0, 10);
      assertThat(middle).isEqualTo(Arrays.copyOfRange(data, 500, 510));
      assertThat(in.getPos()).isEqualTo(1000);
      assertThat(in.read(1000, middle, 0, 10)).isEqualTo(-1);
      assertThatThrownBy(() -> in.readFully(995, middle, 0, 10)).isInstanceOf(EOFException.class);

      assertThatThrownBy(() -> in.seek(1001)).isInstanceOf(EOFException.class);
      assertThatThrownBy(() -> in.seek(-1)).isInstanceOf(EOFException.class);
      in.seek(0);
      assertThat(in.read()).isEqualTo(data[0] & 0xff);
    }
  }
}
