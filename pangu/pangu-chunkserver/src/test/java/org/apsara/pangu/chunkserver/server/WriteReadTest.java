package org.apsara.pangu.chunkserver.server;

import static org.apsara.pangu.chunkserver.server.ChunkServerFixture.content;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apsara.pangu.api.v1.GetReplicaResponse;
import org.apsara.pangu.api.v1.ReplicaState;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.apsara.pangu.client.chunkserver.ReplicaWriter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writes over real gRPC on loopback and reads back what was written. */
class WriteReadTest {
  private static final long CHUNK = 7;
  private static final long GENERATION = 1;
  private static final long SEED = 42;

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

  private long storeSynced() {
    return server.store().replica(CHUNK).map(r -> r.syncedLength()).orElse(-1L);
  }

  @Test
  void pipelinedPacketsWithSyncsAreAckedAtSyncedLengthsAndReadBackAtRandomOffsets()
      throws Exception {
    Random random = new Random(1);
    List<Long> expectedAcks = new ArrayList<>();
    long offset = 0;
    try (RawWriteStream stream = new RawWriteStream(server, this::storeSynced)) {
      stream.header(CHUNK, GENERATION, fixture.write(CHUNK), true, 0);
      for (int i = 0; i < 40; i++) {
        int size = 1 + random.nextInt(150 << 10);
        boolean sync = i % 6 == 5;
        stream.packet(offset, content(SEED, offset, size), sync);
        offset += size;
        if (sync) {
          expectedAcks.add(offset);
        }
      }
      expectedAcks.add(offset); // the final ack, on half-close
      assertThat(stream.finish().getCode()).isEqualTo(Status.Code.OK);
      // One ack per sync packet plus the last, each exactly the length at that sync.
      assertThat(stream.acks).containsExactlyElementsOf(expectedAcks);
      for (long[] ack : stream.acksWithStoreSynced) {
        assertThat(ack[0]).as("an ack never exceeds what the store has synced")
            .isLessThanOrEqualTo(ack[1]);
      }
    }
    long length = offset;
    GetReplicaResponse replica = client.getReplica(CHUNK, fixture.read(CHUNK));
    assertThat(replica.getLength()).isEqualTo(length);
    assertThat(replica.getSyncedLength()).isEqualTo(length);
    assertThat(replica.getState()).isEqualTo(ReplicaState.REPLICA_STATE_OPEN);
    assertThat(replica.getGeneration()).isEqualTo(GENERATION);

    String readToken = fixture.read(CHUNK);
    for (int i = 0; i < 100; i++) {
      long at = (long) (random.nextDouble() * length);
      int size = (int) Math.min(length - at, 1 + random.nextInt(3 << 20)); // some span messages
      ByteBuffer target = ByteBuffer.allocate(size);
      client.read(CHUNK, GENERATION, at, target, readToken);
      assertThat(target.array()).as("read of %d bytes at %d", size, at)
          .isEqualTo(content(SEED, at, size));
    }
    ByteBuffer whole = ByteBuffer.allocate((int) length);
    client.read(CHUNK, GENERATION, 0, whole, readToken);
    assertThat(whole.array()).isEqualTo(content(SEED, 0, (int) length));

    // The packets were appended from the network buffers they arrived in, and every one of
    // those buffers was given back.
    assertThat(server.writeMarshaller().aliasedPackets()).isPositive();
    assertThat(server.writeMarshaller().retainedCount()).isZero();
  }

  @Test
  void replicaWriterAppendsResumesAndSeals() throws Exception {
    int first = 3 * (1 << 20) / 2; // spans two packets
    try (ReplicaWriter writer = client.openWriter(CHUNK, GENERATION, fixture.write(CHUNK), true,
        0)) {
      writer.write(ByteBuffer.wrap(content(SEED, 0, first)), true);
      assertThat(writer.awaitSynced(first, Duration.ofSeconds(30))).isEqualTo(first);
      assertThat(writer.finish(Duration.ofSeconds(30))).isEqualTo(first);
    }
    // A second stream continues the open replica where the first ended.
    int second = 10_000;
    try (ReplicaWriter writer = client.openWriter(CHUNK, GENERATION, fixture.write(CHUNK), false,
        first)) {
      writer.write(ByteBuffer.wrap(content(SEED, first, second)), false);
      assertThat(writer.finish(Duration.ofSeconds(30))).isEqualTo(first + second);
    }
    long length = first + second;
    assertThat(client.seal(CHUNK, GENERATION, length, fixture.admin(CHUNK))).isEqualTo(length);
    GetReplicaResponse replica = client.getReplica(CHUNK, fixture.admin(CHUNK));
    assertThat(replica.getState()).isEqualTo(ReplicaState.REPLICA_STATE_SEALED);
    assertThat(replica.getLength()).isEqualTo(length);
    ByteBuffer whole = ByteBuffer.allocate((int) length);
    client.read(CHUNK, GENERATION, 0, whole, fixture.read(CHUNK));
    assertThat(whole.array()).isEqualTo(content(SEED, 0, (int) length));
    // Sealing again at the same length is a no-op; at another it is refused.
    client.seal(CHUNK, GENERATION, length, fixture.admin(CHUNK));
    assertThatThrownBy(() -> client.seal(CHUNK, GENERATION, length - 1, fixture.admin(CHUNK)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(
            e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION));
  }

  @Test
  void readErrorsNameTheProblem() throws Exception {
    try (ReplicaWriter writer = client.openWriter(CHUNK, GENERATION, fixture.write(CHUNK), true,
        0)) {
      writer.write(ByteBuffer.wrap(content(SEED, 0, 5000)), false);
      writer.finish(Duration.ofSeconds(30));
    }
    String token = fixture.read(CHUNK);
    assertThatThrownBy(() -> client.read(CHUNK, GENERATION, 4000, ByteBuffer.allocate(1001),
        token)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.OUT_OF_RANGE);
          assertThat(e.getStatus().getDescription()).contains("the replica has 5000 bytes");
        });
    assertThatThrownBy(() -> client.read(CHUNK, GENERATION + 1, 0, ByteBuffer.allocate(10),
        token)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(e.getStatus().getDescription()).contains("generation 2")
              .contains("generation 1");
        });
    assertThatThrownBy(() -> client.read(CHUNK + 1, GENERATION, 0, ByteBuffer.allocate(10),
        fixture.read(CHUNK + 1))).isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
  }

  @Test
  void metricsEndpointCountsBytesAndReplicas() throws Exception {
    try (ReplicaWriter writer = client.openWriter(CHUNK, GENERATION, fixture.write(CHUNK), true,
        0)) {
      writer.write(ByteBuffer.wrap(content(SEED, 0, 12345)), true);
      writer.finish(Duration.ofSeconds(30));
    }
    client.read(CHUNK, GENERATION, 0, ByteBuffer.allocate(345), fixture.read(CHUNK));
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(
        "http://127.0.0.1:" + server.metricsPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.body())
        .containsPattern("pangu_chunkserver_written_bytes_total\\{[^}]*\\} 12345\\.0")
        .containsPattern("pangu_chunkserver_read_bytes_total\\{[^}]*\\} 345\\.0")
        .containsPattern("pangu_chunkserver_replicas\\{[^}]*\\} 1\\.0")
        .contains("pangu_chunkserver_volume_free_bytes")
        .contains("pangu_chunkserver_corrupt_replicas_found_total");
    HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(
        "http://127.0.0.1:" + server.metricsPort() + "/health")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(health.statusCode()).isEqualTo(200);
  }
}
