package org.apsara.pangu.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apsara.pangu.api.v1.BadReplica;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link PanguInputStream} over chunkservers offering the bulk read path: reads go through it,
 * a block damaged on the way is treated as a corrupt replica, and a connection that breaks falls
 * back to gRPC on the same replica.
 */
class BulkReadStreamsTest {
  private static final int MIB = 1 << 20;
  /** Not a multiple of the block size: chunks end in partial blocks. */
  private static final long CHUNK_SIZE = 3L * MIB + 1234;

  private FakeCluster cluster;

  @AfterEach
  void close() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  private byte[] writeFile(String path, int size) throws IOException {
    byte[] data = new byte[size];
    new Random(size).nextBytes(data);
    try (PanguOutputStream out = cluster.client.create(path,
        CreateOptions.DEFAULTS.withChunkSizeBytes(CHUNK_SIZE))) {
      out.write(data);
    }
    return data;
  }

  /** Reads the whole file sequentially with a caller buffer of {@code piece} bytes. */
  private byte[] readAll(String path, int piece) throws IOException {
    try (PanguInputStream in = cluster.client.open(path)) {
      byte[] result = new byte[(int) in.length()];
      int done = 0;
      while (true) {
        int n = in.read(result, done, Math.min(piece, result.length - done));
        if (n < 0 || done == result.length) {
          break;
        }
        done += n;
      }
      assertThat(done).isEqualTo(result.length);
      assertThat(in.read()).isEqualTo(-1);
      return result;
    }
  }

  private int grpcReads() {
    return cluster.chunkServers.stream().mapToInt(server -> server.readCalls.get()).sum();
  }

  @Test
  void sequentialAndPositionalReadsGoThroughTheBulkPath() throws Exception {
    cluster = new FakeCluster(3);
    List<FakeBulkServer> bulk = cluster.offerBulkReads();
    byte[] data = writeFile("/f", 7 * MIB + 5);

    assertThat(readAll("/f", MIB)).isEqualTo(data);
    assertThat(readAll("/f", 1000)).isEqualTo(data);
    assertThat(readAll("/f", 3 * MIB)).isEqualTo(data);
    try (PanguInputStream in = cluster.client.open("/f")) {
      byte[] piece = new byte[10_000];
      for (long at : new long[] {0, 1, CHUNK_SIZE - 5000, 4096 * 7 + 3, data.length - 10_000}) {
        in.readFully(at, piece, 0, piece.length);
        assertThat(piece).isEqualTo(Arrays.copyOfRange(data, (int) at, (int) at + piece.length));
      }
    }

    assertThat(grpcReads()).isZero();
    assertThat(bulk.stream().mapToInt(server -> server.requests.get()).sum()).isPositive();
    assertThat(cluster.badReplicas).isEmpty();
  }

  @Test
  void aBlockDamagedOnTheWayIsReportedAndReadFromAnotherReplica() throws Exception {
    cluster = new FakeCluster(3);
    List<FakeBulkServer> bulk = cluster.offerBulkReads();
    byte[] data = writeFile("/f", 2 * MIB);
    FakeChunkServer first = cluster.file("/f").chunks.get(0).replicas.get(0);
    bulk.get(cluster.chunkServers.indexOf(first)).corruptBlock = 100;

    assertThat(readAll("/f", MIB)).isEqualTo(data);

    assertThat(cluster.badReplicas).singleElement().satisfies((BadReplica bad) -> {
      assertThat(bad.getChunkserverId()).isEqualTo(first.id);
      assertThat(bad.getReason()).contains("checksum mismatch in block 100");
    });
    // The other replica was read over the bulk path too.
    assertThat(grpcReads()).isZero();
  }

  @Test
  void anErrorTheChunkServerAnswersIsTheReplicasAndTheNextReplicaServes() throws Exception {
    cluster = new FakeCluster(3);
    List<FakeBulkServer> bulk = cluster.offerBulkReads();
    byte[] data = writeFile("/f", 2 * MIB);
    FakeChunkServer first = cluster.file("/f").chunks.get(0).replicas.get(0);
    // What a chunkserver answers when the replica's disk failed under it.
    bulk.get(cluster.chunkServers.indexOf(first)).answerReadsWith = Status.Code.INTERNAL;

    assertThat(readAll("/f", MIB)).isEqualTo(data);

    // Not read again through gRPC there (a broken path would be), nor reported corrupt.
    assertThat(first.readCalls.get()).isZero();
    assertThat(grpcReads()).isZero();
    assertThat(cluster.badReplicas).isEmpty();
  }

  @Test
  void aConnectionBrokenMidAnswerFallsBackToGrpcOnTheSameReplica() throws Exception {
    cluster = new FakeCluster(3);
    List<FakeBulkServer> bulk = cluster.offerBulkReads();
    byte[] data = writeFile("/f", 5 * MIB);
    bulk.forEach(server -> server.closeAfterBytes = MIB + MIB / 2);
    FakeChunkServer first = cluster.file("/f").chunks.get(0).replicas.get(0);

    assertThat(readAll("/f", MIB)).isEqualTo(data);

    // Nothing is blamed on the replica: the rest came from it over gRPC.
    assertThat(cluster.badReplicas).isEmpty();
    assertThat(first.readCalls.get()).isPositive();
    assertThat(bulk.get(cluster.chunkServers.indexOf(first)).requests.get()).isEqualTo(1);
  }
}
