package org.apsara.pangu.chunkserver.server;

import static org.apsara.pangu.chunkserver.server.ChunkServerFixture.content;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apsara.pangu.api.ChunkServerLimits;
import org.apsara.pangu.api.v1.DeletionOutcome;
import org.apsara.pangu.api.v1.GetReplicaResponse;
import org.apsara.pangu.api.v1.ReplicaDeletion;
import org.apsara.pangu.api.v1.ReplicaDeletionResult;
import org.apsara.pangu.api.v1.ReplicaState;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.apsara.pangu.client.chunkserver.ReplicaWriter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The master's calls: recovery after a writer died, generation bumps, garbage collection. */
class AdminCallsTest {
  private static final long GENERATION = 1;

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

  private void write(long chunk, int length, boolean sync) throws Exception {
    ReplicaWriter writer = client.openWriter(chunk, GENERATION, fixture.write(chunk), true, 0);
    writer.write(ByteBuffer.wrap(content(chunk, 0, length)), sync);
    if (sync) {
      writer.awaitSynced(length, Duration.ofSeconds(30));
    }
    writer.finish(Duration.ofSeconds(30));
  }

  @Test
  void recoveryReadsStateSealsAtSyncedLengthAndBumpsTheGeneration() throws Exception {
    long chunk = 1;
    write(chunk, 20_000, true);
    GetReplicaResponse state = client.getReplica(chunk, fixture.admin(chunk));
    assertThat(state.getState()).isEqualTo(ReplicaState.REPLICA_STATE_OPEN);
    assertThat(state.getSyncedLength()).isEqualTo(20_000);
    assertThat(state.getGeneration()).isEqualTo(GENERATION);
    assertThat(state.getCorrupt()).isFalse();

    // Bumping an open replica is refused: the master seals first.
    assertThatThrownBy(() -> client.bumpGeneration(chunk, GENERATION, GENERATION + 1,
        fixture.admin(chunk))).isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION));
    // Sealing longer than the replica is refused.
    assertThatThrownBy(() -> client.seal(chunk, GENERATION, 20_001, fixture.admin(chunk)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(e.getStatus().getDescription()).contains("the replica has 20000");
        });
    client.seal(chunk, GENERATION, 15_000, fixture.admin(chunk));
    assertThat(client.bumpGeneration(chunk, GENERATION, GENERATION + 1, fixture.admin(chunk)))
        .isEqualTo(GENERATION + 1);
    // Repeating a completed bump succeeds.
    client.bumpGeneration(chunk, GENERATION, GENERATION + 1, fixture.admin(chunk));

    GetReplicaResponse after = client.getReplica(chunk, fixture.read(chunk));
    assertThat(after.getGeneration()).isEqualTo(GENERATION + 1);
    assertThat(after.getLength()).isEqualTo(15_000);
    assertThat(after.getState()).isEqualTo(ReplicaState.REPLICA_STATE_SEALED);
    assertThatThrownBy(() -> client.read(chunk, GENERATION, 0, ByteBuffer.allocate(10),
        fixture.read(chunk))).isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION));
    ByteBuffer read = ByteBuffer.allocate(15_000);
    client.read(chunk, GENERATION + 1, 0, read, fixture.read(chunk));
    assertThat(read.array()).isEqualTo(content(chunk, 0, 15_000));
  }

  @Test
  void writerThatDiesKeepsItsAcknowledgedBytesForTheMastersRecovery() throws Exception {
    long chunk = 2;
    ReplicaWriter writer = client.openWriter(chunk, GENERATION, fixture.write(chunk), true, 0);
    writer.write(ByteBuffer.wrap(content(chunk, 0, 30_000)), true);
    long acknowledged = writer.awaitSynced(30_000, Duration.ofSeconds(30));
    writer.write(ByteBuffer.wrap(content(chunk, 30_000, 5_000)), false);
    writer.close(); // the writer dies: its stream is cancelled without a final sync

    // The master asks what is there and seals at the synced length, which covers every ack.
    GetReplicaResponse state = client.getReplica(chunk, fixture.admin(chunk));
    assertThat(state.getState()).isEqualTo(ReplicaState.REPLICA_STATE_OPEN);
    assertThat(state.getSyncedLength()).isGreaterThanOrEqualTo(acknowledged);
    client.seal(chunk, GENERATION, state.getSyncedLength(), fixture.admin(chunk));
    client.bumpGeneration(chunk, GENERATION, GENERATION + 1, fixture.admin(chunk));
    int sealed = (int) state.getSyncedLength();
    ByteBuffer read = ByteBuffer.allocate(sealed);
    client.read(chunk, GENERATION + 1, 0, read, fixture.read(chunk));
    assertThat(read.array()).isEqualTo(content(chunk, 0, sealed));
  }

  @Test
  void deleteBatchDecidesEachEntryOnItsOwn() throws Exception {
    write(10, 1000, false);
    write(11, 1000, false);
    write(12, 1000, false);
    List<ReplicaDeletionResult> results = client.deleteReplicas(List.of(
        deletion(10, GENERATION, fixture.admin(10)),
        deletion(11, GENERATION + 1, fixture.admin(11)),
        deletion(12, GENERATION, fixture.admin(11)),
        deletion(13, GENERATION, fixture.admin(13))));
    assertThat(results).extracting(ReplicaDeletionResult::getOutcome).containsExactly(
        DeletionOutcome.DELETION_OUTCOME_DELETED,
        DeletionOutcome.DELETION_OUTCOME_STALE_GENERATION,
        DeletionOutcome.DELETION_OUTCOME_REFUSED,
        DeletionOutcome.DELETION_OUTCOME_NOT_FOUND);
    assertThat(results).extracting(ReplicaDeletionResult::getChunkId)
        .containsExactly(10L, 11L, 12L, 13L);
    assertThat(server.store().replica(10)).isEmpty();
    assertThat(server.store().replica(11)).isPresent();
    assertThat(server.store().replica(12)).isPresent();
    assertThat(ChunkServerFixture.dataFile(server, 10)).doesNotExist();

    List<ReplicaDeletion> tooMany = new ArrayList<>();
    for (int i = 0; i <= ChunkServerLimits.DELETE_BATCH_MAX; i++) {
      tooMany.add(deletion(1000 + i, GENERATION, "x"));
    }
    assertThatThrownBy(() -> client.deleteReplicas(tooMany))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("at most 1024");
        });
  }

  private static ReplicaDeletion deletion(long chunk, long generation, String token) {
    return ReplicaDeletion.newBuilder().setChunkId(chunk).setGeneration(generation)
        .setToken(token).build();
  }

  @Test
  void heartbeatReportListsVolumesAndReplicas() throws Exception {
    write(40, 5000, true);
    write(41, 7000, true);
    HeartbeatReport report = server.heartbeatReport();
    assertThat(report.volumes()).singleElement().satisfies(volume -> {
      assertThat(volume.replicaCount()).isEqualTo(2);
      assertThat(volume.usedBytes()).isGreaterThanOrEqualTo(12_000);
    });
    assertThat(report.replicas()).extracting(r -> r.chunkId()).containsExactly(40L, 41L);
    assertThat(report.replicas()).extracting(r -> r.syncedLength()).containsExactly(5000L, 7000L);
    assertThat(report.corruptReplicas()).isEmpty();
  }
}
