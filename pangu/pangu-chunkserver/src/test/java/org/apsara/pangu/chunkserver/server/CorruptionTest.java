package org.apsara.pangu.chunkserver.server;

import static org.apsara.pangu.chunkserver.server.ChunkServerFixture.content;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.apsara.pangu.client.chunkserver.ReplicaWriter;
import org.apsara.pangu.chunkserver.store.ChunkStore;
import org.apsara.pangu.chunkserver.store.CorruptReplicaReport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A byte rotting on disk is caught by the read that touches it and reported for the master. */
class CorruptionTest {
  private static final long CHUNK = 0x1234;
  private static final long GENERATION = 4;
  private static final int LENGTH = 64 << 10;

  @TempDir Path directory;
  private ChunkServerFixture fixture;
  private ChunkServer server;
  private ChunkServerClient client;

  @BeforeEach
  void start() throws Exception {
    fixture = new ChunkServerFixture(directory);
    server = fixture.start("cs1");
    client = fixture.client(server);
    try (ReplicaWriter writer = client.openWriter(CHUNK, GENERATION, fixture.write(CHUNK), true,
        0)) {
      writer.write(ByteBuffer.wrap(content(9, 0, LENGTH)), false);
      writer.finish(Duration.ofSeconds(30));
    }
    client.seal(CHUNK, GENERATION, LENGTH, fixture.admin(CHUNK));
  }

  @AfterEach
  void stop() throws Exception {
    fixture.close();
  }

  @Test
  void flippedByteAnswersDataLossNamingChunkAndBlockAndIsReported() throws Exception {
    long position = 3 * ChunkStore.BLOCK_SIZE_BYTES + 100;
    try (RandomAccessFile file =
        new RandomAccessFile(ChunkServerFixture.dataFile(server, CHUNK).toFile(), "rw")) {
      file.seek(position);
      int value = file.read();
      file.seek(position);
      file.write(~value & 0xff);
    }
    String token = fixture.read(CHUNK);
    assertThatThrownBy(() -> client.read(CHUNK, GENERATION, 0, ByteBuffer.allocate(LENGTH),
        token)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DATA_LOSS);
          assertThat(e.getStatus().getDescription()).contains("chunk " + CHUNK)
              .contains("checksum mismatch in block 3");
        });
    assertThat(fixture.corruptReports).singleElement().satisfies(report -> {
      assertThat(report.chunkId()).isEqualTo(CHUNK);
      assertThat(report.blockIndex()).hasValue(3);
    });
    HeartbeatReport heartbeat = server.heartbeatReport();
    assertThat(heartbeat.corruptReplicas()).extracting(CorruptReplicaReport::chunkId)
        .containsExactly(CHUNK);
    assertThat(heartbeat.replicas()).singleElement()
        .satisfies(replica -> assertThat(replica.corrupt()).isTrue());
    assertThat(server.metrics().get("pangu_chunkserver_corrupt_replicas_found").counter()
        .count()).isEqualTo(1.0);

    // The other blocks stay readable, each verified on its own.
    ByteBuffer head = ByteBuffer.allocate(3 * ChunkStore.BLOCK_SIZE_BYTES);
    client.read(CHUNK, GENERATION, 0, head, token);
    assertThat(head.array()).isEqualTo(content(9, 0, head.capacity()));

    server.acknowledgeCorruptReports(heartbeat.corruptReplicas());
    assertThat(server.heartbeatReport().corruptReplicas()).isEmpty();
  }
}
