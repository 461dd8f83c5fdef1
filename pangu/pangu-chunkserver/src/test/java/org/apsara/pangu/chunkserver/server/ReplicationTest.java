package org.apsara.pangu.chunkserver.server;

import static org.apsara.pangu.chunkserver.server.ChunkServerFixture.content;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.zip.CRC32C;
import org.apsara.pangu.api.v1.GetReplicaResponse;
import org.apsara.pangu.api.v1.ReplicaState;
import org.apsara.pangu.api.v1.ReplicateReplicaResponse;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.apsara.pangu.client.chunkserver.ReplicaWriter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A chunkserver pulls a sealed replica from another and serves it under the same generation. */
class ReplicationTest {
  private static final long CHUNK = 77;
  private static final long GENERATION = 3;
  private static final long SEED = 5;
  private static final int LENGTH = 3 * (1 << 20) + 12_345; // several messages and a partial block

  @TempDir Path directory;
  private ChunkServerFixture fixture;
  private ChunkServer source;
  private ChunkServer target;
  private ChunkServerClient sourceClient;
  private ChunkServerClient targetClient;

  @BeforeEach
  void start() throws Exception {
    fixture = new ChunkServerFixture(directory);
    source = fixture.start("source");
    target = fixture.start("target");
    sourceClient = fixture.client(source);
    targetClient = fixture.client(target);
  }

  @AfterEach
  void stop() throws Exception {
    fixture.close();
  }

  private void writeOnSource(long chunk, int length) throws Exception {
    try (ReplicaWriter writer = sourceClient.openWriter(chunk, GENERATION, fixture.write(chunk),
        true, 0)) {
      writer.write(ByteBuffer.wrap(content(SEED, 0, length)), false);
      writer.finish(Duration.ofSeconds(30));
    }
  }

  @Test
  void sealedReplicaIsCopiedVerifiedAndReadableOnTheTarget() throws Exception {
    writeOnSource(CHUNK, LENGTH);
    sourceClient.seal(CHUNK, GENERATION, LENGTH, fixture.admin(CHUNK));

    ReplicateReplicaResponse response = targetClient.replicate(CHUNK, GENERATION,
        source.address(), fixture.admin(CHUNK), fixture.read(CHUNK));
    CRC32C expected = new CRC32C();
    expected.update(content(SEED, 0, LENGTH));
    assertThat(response.getLength()).isEqualTo(LENGTH);
    assertThat(response.getGeneration()).isEqualTo(GENERATION);
    assertThat(response.getCrc32C()).isEqualTo((int) expected.getValue());

    GetReplicaResponse copy = targetClient.getReplica(CHUNK, fixture.read(CHUNK));
    assertThat(copy.getState()).isEqualTo(ReplicaState.REPLICA_STATE_SEALED);
    assertThat(copy.getGeneration()).isEqualTo(GENERATION);
    assertThat(copy.getLength()).isEqualTo(LENGTH);
    ByteBuffer read = ByteBuffer.allocate(LENGTH);
    targetClient.read(CHUNK, GENERATION, 0, read, fixture.read(CHUNK));
    assertThat(read.array()).isEqualTo(content(SEED, 0, LENGTH));
    assertThat(target.metrics().get("pangu_chunkserver_replicated_bytes").counter().count())
        .isEqualTo(LENGTH);

    assertThatThrownBy(() -> targetClient.replicate(CHUNK, GENERATION, source.address(),
        fixture.admin(CHUNK), fixture.read(CHUNK)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(
            e.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS));
  }

  @Test
  void openReplicaIsNotCopiedAndNothingIsLeftBehind() throws Exception {
    writeOnSource(CHUNK, 10_000);
    assertThatThrownBy(() -> targetClient.replicate(CHUNK, GENERATION, source.address(),
        fixture.admin(CHUNK), fixture.read(CHUNK)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(e.getStatus().getDescription()).contains("REPLICA_STATE_OPEN");
        });
    assertThat(target.store().replica(CHUNK)).isEmpty();
  }

  @Test
  void refusedSourceTokenOrWrongGenerationLeavesNothingBehind() throws Exception {
    writeOnSource(CHUNK, 10_000);
    sourceClient.seal(CHUNK, GENERATION, 10_000, fixture.admin(CHUNK));
    assertThatThrownBy(() -> targetClient.replicate(CHUNK, GENERATION, source.address(),
        fixture.admin(CHUNK), fixture.write(CHUNK)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
          assertThat(e.getStatus().getDescription()).contains("source " + source.address());
        });
    assertThatThrownBy(() -> targetClient.replicate(CHUNK, GENERATION + 1, source.address(),
        fixture.admin(CHUNK), fixture.read(CHUNK)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(
            e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION));
    // Copying needs admin here; read is not enough.
    assertThatThrownBy(() -> targetClient.replicate(CHUNK, GENERATION, source.address(),
        fixture.read(CHUNK), fixture.read(CHUNK)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(
            e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
    assertThat(target.store().replica(CHUNK)).isEmpty();
  }
}
