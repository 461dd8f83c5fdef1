package org.apsara.pangu.chunkserver.server;

import static org.apsara.pangu.chunkserver.server.ChunkServerFixture.content;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import org.apsara.pangu.api.v1.WritePacket;
import org.apsara.pangu.api.v1.WriteReplicaRequest;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.apsara.pangu.client.chunkserver.ReplicaWriter;
import org.apsara.pangu.chunkserver.store.ReplicaInfo;
import org.apsara.pangu.chunkserver.store.VolumeConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each refusal of WriteReplica answers its status with a clear message, and nothing sent after
 * the failing message is applied: every stream here sends a good packet after the bad one.
 */
class WriteErrorsTest {
  private static final long CHUNK = 21;
  private static final long GENERATION = 5;
  private static final long SEED = 3;
  private static final int KIB = 1 << 10;

  @TempDir Path directory;
  private ChunkServerFixture fixture;
  private ChunkServer server;
  private ChunkServerClient client;

  @BeforeEach
  void start() throws Exception {
    fixture = new ChunkServerFixture(directory);
    server = fixture.start("cs1");
    client = fixture.client(server);
  }

  @AfterEach
  void stop() throws Exception {
    fixture.close();
  }

  private RawWriteStream stream(ChunkServer target) {
    return new RawWriteStream(target, () -> -1);
  }

  private long length(ChunkServer target, long chunk) {
    return target.store().replica(chunk).map(ReplicaInfo::length).orElse(-1L);
  }

  private void writeAndFinish(long length) throws Exception {
    try (ReplicaWriter writer = client.openWriter(CHUNK, GENERATION, fixture.write(CHUNK), true,
        0)) {
      writer.write(ByteBuffer.wrap(content(SEED, 0, (int) length)), true);
      writer.finish(Duration.ofSeconds(30));
    }
  }

  @Test
  void packetAtWrongOffsetFailsAndLaterPacketsAreNotApplied() throws Exception {
    try (RawWriteStream stream = stream(server)) {
      Status status = stream.header(CHUNK, GENERATION, fixture.write(CHUNK), true, 0)
          .packet(0, content(SEED, 0, 100 * KIB), true)
          .packet(200 * KIB, content(SEED, 200 * KIB, 10 * KIB), false) // a gap
          .packet(100 * KIB, content(SEED, 100 * KIB, 10 * KIB), true) // would fit
          .finish();
      assertThat(status.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(status.getDescription())
          .contains("append expected offset " + 200 * KIB)
          .contains("length is " + 100 * KIB);
      assertThat(stream.acks).containsExactly(100L * KIB);
    }
    assertThat(length(server, CHUNK)).isEqualTo(100 * KIB);
  }

  @Test
  void headerWithWrongStartOffsetIsRefusedBeforeAnyPacket() throws Exception {
    writeAndFinish(5000);
    try (RawWriteStream stream = stream(server)) {
      Status status = stream.header(CHUNK, GENERATION, fixture.write(CHUNK), false, 4000)
          .packet(4000, content(SEED, 4000, 100), true)
          .finish();
      assertThat(status.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(status.getDescription()).contains("starts at offset 4000")
          .contains("the replica has 5000 bytes");
    }
    assertThat(length(server, CHUNK)).isEqualTo(5000);
  }

  @Test
  void staleGenerationIsRefused() throws Exception {
    writeAndFinish(5000);
    for (long generation : new long[] {GENERATION - 1, GENERATION + 1}) {
      try (RawWriteStream stream = stream(server)) {
        Status status = stream.header(CHUNK, generation, fixture.write(CHUNK), false, 5000)
            .packet(5000, content(SEED, 5000, 100), true)
            .finish();
        assertThat(status.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(status.getDescription()).contains("generation " + generation)
            .contains("generation " + GENERATION);
      }
    }
    assertThat(length(server, CHUNK)).isEqualTo(5000);
  }

  @Test
  void fullVolumeAnswersResourceExhaustedWithTheVolumesNumbers() throws Exception {
    // One small volume: 256 KiB of which 64 KiB are reserved.
    ChunkServer tiny = ChunkServer.start(singleVolume("tiny", 256 * KIB, 64 * KIB));
    try (tiny; RawWriteStream stream = stream(tiny)) {
      Status status = stream.header(CHUNK, GENERATION, fixture.write(CHUNK), true, 0)
          .packet(0, content(SEED, 0, 100 * KIB), true)
          .packet(100 * KIB, content(SEED, 100 * KIB, 100 * KIB), true) // crosses the reserve
          .packet(100 * KIB, content(SEED, 100 * KIB, 10 * KIB), true) // would fit
          .finish();
      assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(status.getDescription()).contains("is full").contains("reserved " + 64 * KIB)
          .contains("free now");
      assertThat(stream.acks).containsExactly(100L * KIB);
      assertThat(length(tiny, CHUNK)).isEqualTo(100 * KIB);
    }
  }

  private ChunkServerConfig singleVolume(String name, long capacity, long reserve) {
    return ChunkServerConfig.builder()
        .volume(new VolumeConfig(directory.resolve(name), capacity, reserve))
        .chunkSizeBytes(ChunkServerFixture.TEST_CHUNK_SIZE_BYTES)
        .port(0)
        .tokenKeyFile(fixture.keyFile)
        .build();
  }

  @Test
  void appendingToSealedReplicaIsRefused() throws Exception {
    writeAndFinish(5000);
    client.seal(CHUNK, GENERATION, 5000, fixture.admin(CHUNK));
    try (RawWriteStream stream = stream(server)) {
      Status status = stream.header(CHUNK, GENERATION, fixture.write(CHUNK), false, 5000)
          .packet(5000, content(SEED, 5000, 100), true)
          .finish();
      assertThat(status.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(status.getDescription()).contains("SEALED").contains("no more writes");
    }
    assertThat(length(server, CHUNK)).isEqualTo(5000);
  }

  @Test
  void missingAndExistingReplicasAreNamed() throws Exception {
    try (RawWriteStream stream = stream(server)) {
      Status status = stream.header(CHUNK, GENERATION, fixture.write(CHUNK), false, 0)
          .packet(0, content(SEED, 0, 100), true).finish();
      assertThat(status.getCode()).isEqualTo(Status.Code.NOT_FOUND);
      assertThat(status.getDescription()).contains("no replica of chunk " + CHUNK);
    }
    assertThat(server.store().replica(CHUNK)).isEmpty();
    writeAndFinish(5000);
    try (RawWriteStream stream = stream(server)) {
      Status status = stream.header(CHUNK, GENERATION, fixture.write(CHUNK), true, 0)
          .packet(0, content(SEED + 1, 0, 100), true).finish();
      assertThat(status.getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
      assertThat(status.getDescription()).contains("already exists");
    }
    assertThat(length(server, CHUNK)).isEqualTo(5000);
  }

  @Test
  void writingPastTheChunkSizeIsOutOfRange() throws Exception {
    int size = (int) ChunkServerFixture.TEST_CHUNK_SIZE_BYTES;
    try (ReplicaWriter writer = client.openWriter(CHUNK, GENERATION, fixture.write(CHUNK), true,
        0)) {
      writer.write(ByteBuffer.wrap(content(SEED, 0, size - 10)), false);
      // The refusal may reach the writer during the next write or at finish.
      assertThatThrownBy(() -> {
        writer.write(ByteBuffer.wrap(content(SEED, size - 10, 20)), false);
        writer.write(ByteBuffer.wrap(content(SEED, size + 10, 5)), false);
        writer.finish(Duration.ofSeconds(30));
      })
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.OUT_OF_RANGE);
            assertThat(e.getStatus().getDescription()).contains("exceed the chunk size");
          });
    }
    assertThat(length(server, CHUNK)).isEqualTo(size - 10);
  }

  @Test
  void corruptedPacketIsDataLossAndNotApplied() throws Exception {
    try (RawWriteStream stream = stream(server)) {
      byte[] data = content(SEED, 1000, 1000);
      Status status = stream.header(CHUNK, GENERATION, fixture.write(CHUNK), true, 0)
          .packet(0, content(SEED, 0, 1000), false)
          .packet(1000, data, 0x12345678, true)
          .packet(1000, data, true)
          .finish();
      assertThat(status.getCode()).isEqualTo(Status.Code.DATA_LOSS);
      assertThat(status.getDescription()).contains("offset 1000").contains("CRC32C")
          .contains("nothing of it was applied");
    }
    assertThat(length(server, CHUNK)).isEqualTo(1000);
  }

  @Test
  void protocolViolationsAreInvalidArgument() throws Exception {
    try (RawWriteStream stream = stream(server)) {
      Status status = stream.packet(0, content(SEED, 0, 100), true).finish();
      assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(status.getDescription()).contains("must be its header");
    }
    try (RawWriteStream stream = stream(server)) {
      Status status = stream.header(CHUNK, GENERATION, fixture.write(CHUNK), true, 0)
          .raw(WriteReplicaRequest.newBuilder().setPacket(WritePacket.newBuilder()
              .setData(com.google.protobuf.ByteString.copyFrom(new byte[(1 << 20) + 1])))
              .build())
          .finish();
      assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(status.getDescription()).contains("at most 1048576 bytes");
    }
    try (RawWriteStream stream = stream(server)) {
      assertThat(stream.finish().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    }
    assertThat(length(server, CHUNK)).isZero();
  }
}
