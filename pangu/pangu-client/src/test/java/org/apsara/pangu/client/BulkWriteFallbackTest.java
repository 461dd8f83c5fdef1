package org.apsara.pangu.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.io.IOException;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link PanguOutputStream} over chunkservers that offer the bulk write path but whose bulk port
 * refuses: a refusal of the path itself (a connection limit) sends the write through WriteReplica
 * on the same replica, while a refusal of the write (a stale generation) fails the replica as a
 * refused WriteReplica stream would.
 */
class BulkWriteFallbackTest {
  private static final int MIB = 1 << 20;
  private static final long CHUNK_SIZE = 2L * MIB;

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
      assertThat(out.recoveries()).isZero();
    }
    return data;
  }

  @Test
  void aBulkPortAtItsConnectionLimitSendsTheWriteThroughWriteReplica() throws Exception {
    cluster = new FakeCluster(3);
    List<FakeBulkServer> bulk = cluster.offerBulkReads();
    cluster.chunkServers.forEach(server -> server.offerBulkWrites = true);

    byte[] data = writeFile("/f", 5 * MIB + 77); // three chunks

    assertThat(cluster.committedContent("/f")).isEqualTo(data);
    // Each chunkserver was tried once; its bulk path is then left alone for a while, so the
    // later chunks went to WriteReplica at once.
    assertThat(bulk).allSatisfy(server -> assertThat(server.writesRefused.get()).isEqualTo(1));
  }

  @Test
  void aRefusedBulkWriteFailsTheReplicaAndTheWriteGoesOnWithoutIt() throws Exception {
    cluster = new FakeCluster(4);
    List<FakeBulkServer> bulk = cluster.offerBulkReads();
    FakeChunkServer refusing = cluster.chunkServers.get(2); // not the replica the fake reads back
    refusing.offerBulkWrites = true;
    bulk.get(2).refuseWritesWith = Status.Code.FAILED_PRECONDITION;

    byte[] data = new byte[3 * MIB];
    new Random(5).nextBytes(data);
    try (PanguOutputStream out = cluster.client.create("/g",
        CreateOptions.DEFAULTS.withChunkSizeBytes(CHUNK_SIZE))) {
      out.write(data);
      out.hsync();
      // Not the path's fault: no WriteReplica retry on that chunkserver, but a recovery.
      assertThat(out.recoveries()).isEqualTo(1);
    }
    assertThat(cluster.committedContent("/g")).isEqualTo(data);
    assertThat(bulk.get(2).writesRefused.get()).isEqualTo(1);
    assertThat(cluster.addChunkExclusions).anySatisfy(
        excluded -> assertThat(excluded).contains(refusing.id));
  }
}
