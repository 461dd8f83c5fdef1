package org.apsara.pangu.chunkserver.server;

import static org.apsara.pangu.chunkserver.server.ChunkServerFixture.content;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import org.apsara.pangu.api.ChunkCapabilities;
import org.apsara.pangu.api.v1.DeletionOutcome;
import org.apsara.pangu.api.v1.ReplicaDeletion;
import org.apsara.pangu.api.v1.ReplicaDeletionResult;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.apsara.pangu.client.chunkserver.ReplicaWriter;
import org.apsara.security.token.CapabilityTokenIssuer;
import org.apsara.security.token.TokenKey;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every call checks its capability token; refusals say why and change nothing. */
class TokenCheckTest {
  private static final long CHUNK = 33;
  private static final long GENERATION = 2;

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

  private Status writeWith(String token) throws Exception {
    try (RawWriteStream stream = new RawWriteStream(server, () -> -1)) {
      return stream.header(CHUNK, GENERATION, token, true, 0)
          .packet(0, content(1, 0, 1000), true).finish();
    }
  }

  private static String issue(TokenKey key, Clock clock, long chunk, String operation) {
    return new CapabilityTokenIssuer(key, clock).issue("acs:ram::system:user/pangu-master",
        ChunkCapabilities.resource(chunk), Set.of(operation), Duration.ofMinutes(1));
  }

  @Test
  void missingTokenIsUnauthenticated() throws Exception {
    Status status = writeWith("");
    assertThat(status.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(status.getDescription()).contains("no capability token")
        .contains("chunk/" + CHUNK).contains("write");
    assertThat(server.store().replica(CHUNK)).isEmpty();
  }

  @Test
  void forgedTokenIsUnauthenticated() throws Exception {
    // Same key id, another secret: what someone without the key could make.
    TokenKey forger = TokenKey.generate(ChunkServerFixture.KEY_ID, new SecureRandom());
    Status status = writeWith(issue(forger, Clock.systemUTC(), CHUNK, ChunkCapabilities.WRITE));
    assertThat(status.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(status.getDescription()).contains("BAD_SIGNATURE");
    assertThat(writeWith("not-a-token").getDescription()).contains("MALFORMED");
    assertThat(server.store().replica(CHUNK)).isEmpty();
  }

  @Test
  void expiredTokenIsUnauthenticated() throws Exception {
    Clock twoHoursAgo = Clock.fixed(Instant.now().minus(Duration.ofHours(2)), ZoneOffset.UTC);
    Status status = writeWith(issue(fixture.key, twoHoursAgo, CHUNK, ChunkCapabilities.WRITE));
    assertThat(status.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(status.getDescription()).contains("EXPIRED").contains("expired at");
    assertThat(server.store().replica(CHUNK)).isEmpty();
  }

  @Test
  void tokenForAnotherChunkIsPermissionDenied() throws Exception {
    Status status = writeWith(fixture.write(CHUNK + 1));
    assertThat(status.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(status.getDescription()).contains("RESOURCE_MISMATCH")
        .contains("chunk/" + (CHUNK + 1)).contains("not to chunk/" + CHUNK);
    assertThat(server.store().replica(CHUNK)).isEmpty();
  }

  @Test
  void readTokenCannotWriteAndWriteTokenCannotReadOrAdminister() throws Exception {
    Status status = writeWith(fixture.read(CHUNK));
    assertThat(status.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(status.getDescription()).contains("OPERATION_NOT_GRANTED")
        .contains("needs write");
    assertThat(server.store().replica(CHUNK)).isEmpty();

    try (ReplicaWriter writer = client.openWriter(CHUNK, GENERATION, fixture.write(CHUNK), true,
        0)) {
      writer.write(ByteBuffer.wrap(content(1, 0, 1000)), false);
      writer.finish(Duration.ofSeconds(30));
    }
    String write = fixture.write(CHUNK);
    assertDenied(() -> client.read(CHUNK, GENERATION, 0, ByteBuffer.allocate(10), write));
    assertDenied(() -> client.seal(CHUNK, GENERATION, 1000, write));
    assertDenied(() -> client.bumpGeneration(CHUNK, GENERATION, GENERATION + 1, write));
    assertDenied(() -> client.getReplica(CHUNK, write));
    List<ReplicaDeletionResult> results = client.deleteReplicas(List.of(ReplicaDeletion
        .newBuilder().setChunkId(CHUNK).setGeneration(GENERATION)
        .setToken(fixture.read(CHUNK)).build()));
    assertThat(results).singleElement().satisfies(result -> {
      assertThat(result.getOutcome()).isEqualTo(DeletionOutcome.DELETION_OUTCOME_REFUSED);
      assertThat(result.getMessage()).contains("needs admin");
    });
    assertThat(server.store().replica(CHUNK)).hasValueSatisfying(replica -> {
      assertThat(replica.length()).isEqualTo(1000);
      assertThat(replica.generation()).isEqualTo(GENERATION);
    });
    // The right tokens work.
    assertThat(client.getReplica(CHUNK, fixture.read(CHUNK)).getLength()).isEqualTo(1000);
    assertThat(client.getReplica(CHUNK, fixture.admin(CHUNK)).getLength()).isEqualTo(1000);
  }

  private static void assertDenied(Runnable call) {
    assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
  }
}
