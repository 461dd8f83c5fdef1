package org.apsara.pangu.master.server;

import static org.apsara.pangu.master.server.PanguCluster.AWAIT;
import static org.apsara.pangu.master.server.PanguCluster.content;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.IntStream;
import org.apsara.pangu.api.MasterTrailers;
import org.apsara.pangu.api.v1.AddChunkRequest;
import org.apsara.pangu.api.v1.ChunkServerAdminState;
import org.apsara.pangu.api.v1.ChunkServerLocation;
import org.apsara.pangu.api.v1.ChunkServerReport;
import org.apsara.pangu.api.v1.CloseFileRequest;
import org.apsara.pangu.api.v1.CloseFilesRequest;
import org.apsara.pangu.api.v1.CommitChunkRequest;
import org.apsara.pangu.api.v1.CreateFilesRequest;
import org.apsara.pangu.api.v1.CreateRequest;
import org.apsara.pangu.api.v1.DecommissionChunkServerRequest;
import org.apsara.pangu.api.v1.DeletePathsRequest;
import org.apsara.pangu.api.v1.DeleteRequest;
import org.apsara.pangu.api.v1.DeleteResult;
import org.apsara.pangu.api.v1.FileStatus;
import org.apsara.pangu.api.v1.FileStatusResult;
import org.apsara.pangu.api.v1.GetChunkLocationsResponse;
import org.apsara.pangu.api.v1.GetClusterReportRequest;
import org.apsara.pangu.api.v1.GetFileStatusRequest;
import org.apsara.pangu.api.v1.GetFileStatusesRequest;
import org.apsara.pangu.api.v1.ListDirectoryRequest;
import org.apsara.pangu.api.v1.LocatedChunk;
import org.apsara.pangu.api.v1.MkdirsRequest;
import org.apsara.pangu.api.v1.PanguMasterGrpc;
import org.apsara.pangu.api.v1.RecoverLeaseRequest;
import org.apsara.pangu.api.v1.ReplicaState;
import org.apsara.pangu.api.v1.SetQuotaRequest;
import org.apsara.pangu.chunkserver.server.ChunkServer;
import org.apsara.pangu.chunkserver.store.ReplicaInfo;
import org.apsara.pangu.client.chunkserver.ReplicaWriter;
import org.apsara.pangu.master.chunks.ReplicaView;
import org.apsara.pangu.master.namespace.NamespaceLimits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One master member and real chunkservers: the write protocol end to end, repair after a
 * chunkserver dies or a replica rots, lease recovery that keeps synced bytes, and the errors of
 * the contract with their trailers.
 */
class SingleMasterEndToEndTest {
  @TempDir Path dir;
  PanguCluster cluster;

  @BeforeEach
  void start() throws Exception {
    cluster = new PanguCluster(dir, 1).startMasters();
    cluster.awaitLeader();
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  void startChunkServers(int count) throws Exception {
    for (int i = 1; i <= count; i++) {
      cluster.startChunkServer("cs" + i);
    }
    await("chunkservers registered").atMost(AWAIT).until(() ->
        cluster.awaitLeader().chunks().servers().size() == count);
  }

  /**
   * A chunkserver holding the chunk once three do, the master knowing each as healthy and each
   * holding its file: a victim the test picks any earlier may not hold the replica yet.
   */
  ChunkServerLocation settledHolder(String path, LocatedChunk chunk, int chunkServers) {
    String id = await("three replicas settled").atMost(AWAIT).until(() -> {
      List<String> holders = healthyHolders(chunk);
      List<String> onDisk = IntStream.rangeClosed(1, chunkServers).mapToObj(i -> "cs" + i)
          .filter(cs -> Files.exists(replicaPath(cluster.chunkServer(cs), chunk.getChunkId())))
          .toList();
      return holders.size() == 3 && holders.equals(onDisk) ? holders.get(0) : null;
    }, Objects::nonNull);
    return cluster.locations(path).getChunks(chunk.getIndex()).getLocationsList().stream()
        .filter(location -> location.getId().equals(id)).findFirst().orElseThrow();
  }

  /** The leader's replication monitor made no copy and deleted no replica. */
  static void assertNothingCopiedOrDeleted(MasterServer leader) {
    assertThat(leader.metrics().counter("pangu.master.repair.copies.started").count())
        .as("copies made").isZero();
    assertThat(leader.metrics().counter("pangu.master.repair.replicas.deleted").count())
        .as("replicas deleted").isZero();
  }

  /** Healthy (sealed, right generation and length, alive, not corrupt) replicas of a chunk. */
  List<String> healthyHolders(LocatedChunk chunk) {
    return cluster.awaitLeader().chunks().replicas(chunk.getChunkId()).stream()
        .filter(r -> r.serverAlive() && !r.corrupt()
            && r.state() == ReplicaState.REPLICA_STATE_SEALED
            && r.generation() == chunk.getGeneration() && r.lengthBytes() == chunk.getLength())
        .map(ReplicaView::serverId).sorted().toList();
  }

  @Test
  void aFileWrittenToThreeReplicasIsCommittedSealedAndReadBack() throws Exception {
    startChunkServers(3);
    int first = (int) PanguCluster.CHUNK_SIZE;
    int second = 300_001;
    FileStatus closed = cluster.writeFile("/data/f", "writer-1", 11, first, second);
    assertThat(closed.getOpen()).isFalse();
    assertThat(closed.getLength()).isEqualTo(first + second);
    assertThat(closed.getChunkCount()).isEqualTo(2);

    GetChunkLocationsResponse located = cluster.locations("/data/f");
    assertThat(located.getHasMore()).isFalse();
    assertThat(located.getChunksList()).hasSize(2);
    LocatedChunk c0 = located.getChunks(0);
    LocatedChunk c1 = located.getChunks(1);
    assertThat(c0.getFileOffset()).isZero();
    assertThat(c1.getFileOffset()).isEqualTo(first);
    assertThat(c1.getLength()).isEqualTo(second);
    assertThat(c1.getCommitted()).isTrue();
    assertThat(c1.getToken()).isNotEmpty();
    for (LocatedChunk chunk : located.getChunksList()) {
      assertThat(chunk.getLocationsList()).extracting(ChunkServerLocation::getId)
          .containsExactlyInAnyOrder("cs1", "cs2", "cs3");
      for (ChunkServerLocation location : chunk.getLocationsList()) {
        assertThat(cluster.read(chunk, location))
            .isEqualTo(content(11, chunk.getFileOffset(), (int) chunk.getLength()));
      }
      // After the commit the master seals every replica at the committed length.
      await("replicas sealed").atMost(AWAIT).until(() -> healthyHolders(chunk).size() == 3);
    }
    // Reads from the middle of a file give the right offsets.
    GetChunkLocationsResponse tail = cluster.leaderStub().getChunkLocations(
        org.apsara.pangu.api.v1.GetChunkLocationsRequest.newBuilder().setPath("/data/f")
            .setFromIndex(1).setLimit(1).build());
    assertThat(tail.getChunksList()).singleElement()
        .satisfies(c -> assertThat(c.getFileOffset()).isEqualTo(first));
  }

  @Test
  void committedChunksAreSealedWhereTheyWereWrittenAndNeitherCopiedNorTrimmed() throws Exception {
    // A fourth chunkserver that a chunk could be copied to while its replicas' seals are under
    // way, were they not counted until the seals answer.
    startChunkServers(4);
    int[] lengths = new int[8];
    Arrays.fill(lengths, 64 << 10);
    cluster.writeFile("/many-chunks", "w", 23, lengths);

    MasterServer leader = cluster.awaitLeader();
    for (LocatedChunk chunk : cluster.locations("/many-chunks").getChunksList()) {
      await("chunk " + chunk.getIndex() + " sealed on three").atMost(AWAIT)
          .until(() -> healthyHolders(chunk).size() == 3);
    }
    assertNothingCopiedOrDeleted(leader);
  }

  @Test
  void aChunkIsCommittedByTheAddChunkOfTheNextOneOrByTheClose() throws Exception {
    startChunkServers(3);
    PanguMasterGrpc.PanguMasterBlockingStub master = cluster.leaderStub();
    PanguCluster.FileWithChunk created = cluster.createWithChunk("/pair", "w");
    FileStatus file = created.file();
    LocatedChunk first = created.chunk();
    assertThat(cluster.writeChunk(first, content(31, 0, 1000), true)).isEqualTo(1000);
    CommitChunkRequest.Builder commit = CommitChunkRequest.newBuilder()
        .setChunkIndex(first.getIndex()).setChunkId(first.getChunkId())
        .setGeneration(first.getGeneration()).setLength(1000);

    // A commit CommitChunk would refuse is refused the same way, and nothing is allocated.
    assertRefused(() -> master.addChunk(AddChunkRequest.newBuilder()
            .setFileId(file.getInodeId()).setClientName("w")
            .setCommitPrevious(commit.clone().setLength(NamespaceLimits.MAX_CHUNK_SIZE_BYTES + 1))
            .build()),
        Status.Code.INVALID_ARGUMENT, "INVALID_ARGUMENT", "commit_previous.length");
    assertRefused(() -> master.addChunk(AddChunkRequest.newBuilder()
            .setFileId(file.getInodeId()).setClientName("w")
            .setCommitPrevious(commit.clone().setChunkId(first.getChunkId() + 100)).build()),
        Status.Code.FAILED_PRECONDITION, "CHUNK_MISMATCH", "no chunk");
    assertThat(cluster.locations("/pair").getChunksList()).singleElement()
        .satisfies(c -> assertThat(c.getCommitted()).isFalse());

    LocatedChunk second = master.addChunk(AddChunkRequest.newBuilder()
        .setFileId(file.getInodeId()).setClientName("w").setCommitPrevious(commit).build())
        .getChunk();
    assertThat(second.getIndex()).isEqualTo(1);
    assertThat(second.getFileOffset()).isEqualTo(1000);
    LocatedChunk committed = cluster.locations("/pair").getChunks(0);
    assertThat(committed.getCommitted()).isTrue();
    assertThat(committed.getLength()).isEqualTo(1000);
    await("the committed chunk sealed on three").atMost(AWAIT)
        .until(() -> healthyHolders(committed).size() == 3);

    // The close commits the last chunk the same way.
    assertThat(cluster.writeChunk(second, content(31, 1000, 500), true)).isEqualTo(500);
    CommitChunkRequest.Builder commitLast = CommitChunkRequest.newBuilder().setChunkIndex(1)
        .setChunkId(second.getChunkId()).setGeneration(second.getGeneration()).setLength(500);
    assertRefused(() -> master.closeFile(CloseFileRequest.newBuilder()
            .setFileId(file.getInodeId()).setClientName("w")
            .setCommitLast(commitLast.clone().setLength(NamespaceLimits.MAX_CHUNK_SIZE_BYTES + 1))
            .build()),
        Status.Code.INVALID_ARGUMENT, "INVALID_ARGUMENT", "commit_last.length");
    FileStatus closed = master.closeFile(CloseFileRequest.newBuilder()
        .setFileId(file.getInodeId()).setClientName("w").setCommitLast(commitLast).build())
        .getStatus();
    assertThat(closed.getOpen()).isFalse();
    assertThat(closed.getLength()).isEqualTo(1500);
    LocatedChunk last = cluster.locations("/pair").getChunks(1);
    await("the last chunk sealed on three").atMost(AWAIT)
        .until(() -> healthyHolders(last).size() == 3);
  }

  @Test
  void theChunksOfADeadChunkServerAreCopiedBackToThreeReplicas() throws Exception {
    startChunkServers(3);
    cluster.writeFile("/f", "w", 5, 200_000);
    LocatedChunk chunk = cluster.locations("/f").getChunks(0);
    await().atMost(AWAIT).until(() -> healthyHolders(chunk).size() == 3);

    cluster.startChunkServer("cs4");
    cluster.killChunkServer("cs2");
    await("re-replicated onto cs4").atMost(AWAIT)
        .until(() -> healthyHolders(chunk).equals(List.of("cs1", "cs3", "cs4")));
    assertThat(cluster.awaitLeader().chunks().server("cs2").alive()).isFalse();
    LocatedChunk relocated = cluster.locations("/f").getChunks(0);
    assertThat(relocated.getLocationsList()).extracting(ChunkServerLocation::getId)
        .containsExactlyInAnyOrder("cs1", "cs3", "cs4");
    ChunkServerLocation copy = relocated.getLocationsList().stream()
        .filter(l -> l.getId().equals("cs4")).findFirst().orElseThrow();
    assertThat(cluster.read(relocated, copy)).isEqualTo(content(5, 0, 200_000));
  }

  @Test
  void withAChunkServerDownNewChunksTakeTwoReplicasAndAreCopiedUpWhenItReturns()
      throws Exception {
    startChunkServers(3);
    cluster.killChunkServer("cs3");
    await("cs3 declared dead").atMost(AWAIT)
        .until(() -> !cluster.awaitLeader().chunks().server("cs3").alive());

    cluster.writeFile("/while-down", "w", 9, 150_000);
    LocatedChunk chunk = cluster.locations("/while-down").getChunks(0);
    assertThat(chunk.getLocationsList()).extracting(ChunkServerLocation::getId)
        .containsExactlyInAnyOrder("cs1", "cs2");
    await("sealed on both").atMost(AWAIT)
        .until(() -> healthyHolders(chunk).equals(List.of("cs1", "cs2")));

    cluster.startChunkServer("cs3");
    await("copied up to three").atMost(AWAIT)
        .until(() -> healthyHolders(chunk).equals(List.of("cs1", "cs2", "cs3")));
    ChunkServerLocation copy = cluster.locations("/while-down").getChunks(0).getLocationsList()
        .stream().filter(l -> l.getId().equals("cs3")).findFirst().orElseThrow();
    assertThat(cluster.read(chunk, copy)).isEqualTo(content(9, 0, 150_000));

    // With two of three down, one chunkserver is fewer than the two a chunk needs at least.
    cluster.killChunkServer("cs2");
    cluster.killChunkServer("cs3");
    await("cs2 and cs3 declared dead").atMost(AWAIT).until(() ->
        !cluster.awaitLeader().chunks().server("cs2").alive()
            && !cluster.awaitLeader().chunks().server("cs3").alive());
    FileStatus file = cluster.leaderStub().create(CreateRequest.newBuilder().setPath("/one-left")
        .setClientName("w").build()).getStatus();
    assertRefused(() -> cluster.leaderStub().addChunk(AddChunkRequest.newBuilder()
        .setFileId(file.getInodeId()).setClientName("w").build()),
        Status.Code.RESOURCE_EXHAUSTED, "NOT_ENOUGH_CHUNKSERVERS", "needs at least 2");
  }

  @Test
  void aDecommissionedChunkServersChunksMoveToTheOthersAndItTakesNoNewOnes() throws Exception {
    startChunkServers(4);
    cluster.writeFile("/d/a", "w", 21, 100_000);
    cluster.writeFile("/d/b", "w", 22, 120_000);
    List<LocatedChunk> written = List.of(cluster.locations("/d/a").getChunks(0),
        cluster.locations("/d/b").getChunks(0));
    for (LocatedChunk chunk : written) {
      await().atMost(AWAIT).until(() -> healthyHolders(chunk).size() == 3);
    }
    String leaving = written.get(0).getLocations(0).getId();

    ChunkServerReport started = decommission(leaving, false);
    assertThat(started.getAdminState())
        .isNotEqualTo(ChunkServerAdminState.CHUNKSERVER_ADMIN_STATE_IN_SERVICE);
    assertThat(cluster.chunkServer(leaving).heartbeatReport().decommissioning()).isTrue();
    awaitAdminState(leaving, ChunkServerAdminState.CHUNKSERVER_ADMIN_STATE_DECOMMISSIONED);
    for (LocatedChunk chunk : written) {
      // Three replicas on the chunkservers in service; the leaving one keeps its own.
      assertThat(healthyHolders(chunk).stream().filter(id -> !id.equals(leaving)))
          .as("chunk %d", chunk.getChunkId()).hasSize(3);
    }
    cluster.writeFile("/d/c", "w", 23, 1000);
    assertThat(cluster.locations("/d/c").getChunks(0).getLocationsList())
        .extracting(ChunkServerLocation::getId).doesNotContain(leaving).hasSize(3);

    // The chunkserver keeps it on its disks: a new leader learns it from its heartbeats.
    cluster.stopMaster("m1");
    cluster.startMaster("m1");
    cluster.awaitLeader();
    awaitAdminState(leaving, ChunkServerAdminState.CHUNKSERVER_ADMIN_STATE_DECOMMISSIONED);

    // Back in service: every chunk is trimmed back to three replicas.
    assertThat(decommission(leaving, true).getAdminState())
        .isEqualTo(ChunkServerAdminState.CHUNKSERVER_ADMIN_STATE_IN_SERVICE);
    for (LocatedChunk chunk : written) {
      await("trimmed to three").atMost(AWAIT).until(() -> healthyHolders(chunk).size() == 3);
    }

    assertRefused(() -> decommission("cs-unknown", false), Status.Code.NOT_FOUND, "NOT_FOUND",
        "cs-unknown");
    assertRefused(() -> decommission("", false), Status.Code.INVALID_ARGUMENT,
        "INVALID_ARGUMENT", "chunkserver_id is required");
    cluster.killChunkServer("cs4");
    await().atMost(AWAIT).until(() -> !cluster.awaitLeader().chunks().server("cs4").alive());
    assertRefused(() -> decommission("cs4", false), Status.Code.FAILED_PRECONDITION,
        "CHUNKSERVER_NOT_ALIVE", "cs4");
  }

  private ChunkServerReport decommission(String id, boolean cancel) {
    return cluster.leaderStub().decommissionChunkServer(DecommissionChunkServerRequest
        .newBuilder().setChunkserverId(id).setCancel(cancel).build()).getChunkserver();
  }

  private void awaitAdminState(String id, ChunkServerAdminState state) {
    await(id + " " + state).atMost(AWAIT).until(() -> cluster.leaderStub()
        .getClusterReport(GetClusterReportRequest.getDefaultInstance()).getChunkserversList()
        .stream().filter(s -> s.getLocation().getId().equals(id)).findFirst()
        .map(s -> s.getAdminState() == state
            && (state != ChunkServerAdminState.CHUNKSERVER_ADMIN_STATE_DECOMMISSIONED
                || s.getChunksToMove() == 0))
        .orElse(false));
  }

  @Test
  void aReplicaReportedBeforeTheWritersLastBytesIsSealedNotDeleted() throws Exception {
    startChunkServers(3);
    PanguMasterGrpc.PanguMasterBlockingStub master = cluster.leaderStub();
    PanguCluster.FileWithChunk created = cluster.createWithChunk("/late-report", "w");
    FileStatus file = created.file();
    LocatedChunk chunk = created.chunk();
    int half = 100_000;
    List<ReplicaWriter> writers = new ArrayList<>();
    for (ChunkServerLocation location : chunk.getLocationsList()) {
      ReplicaWriter w = cluster.chunkClient(location).openWriter(chunk.getChunkId(),
          chunk.getGeneration(), chunk.getToken(), true, 0);
      w.write(ByteBuffer.wrap(content(9, 0, half)), true);
      assertThat(w.awaitSynced(half, Duration.ofSeconds(30))).isEqualTo(half);
      writers.add(w);
    }
    await("every replica reported open at the first half").atMost(AWAIT).until(() ->
        cluster.awaitLeader().chunks().replicas(chunk.getChunkId()).stream()
            .filter(r -> r.lengthBytes() == half).count() == 3);
    // cs2's heartbeats go on saying "open, half the bytes" after the writer sent the rest.
    cluster.freezeReports("cs2");
    for (ReplicaWriter w : writers) {
      w.write(ByteBuffer.wrap(content(9, half, half)), true);
      assertThat(w.finish(Duration.ofSeconds(30))).isEqualTo(2L * half);
    }
    master.commitChunk(CommitChunkRequest.newBuilder().setFileId(file.getInodeId())
        .setClientName("w").setChunkIndex(0).setChunkId(chunk.getChunkId())
        .setGeneration(chunk.getGeneration()).setLength(2L * half).build());
    master.closeFile(CloseFileRequest.newBuilder().setFileId(file.getInodeId())
        .setClientName("w").build());

    // Sealing cs2's replica (it holds every byte) is right; deleting it as shorter than the
    // chunk, on the word of an old report, would leave two copies until a new one is made.
    MasterServer leader = cluster.awaitLeader();
    await("cs2's replica sealed").atMost(AWAIT).until(() -> heldBy("cs2", chunk.getChunkId())
        .map(r -> r.state() == org.apsara.pangu.chunkserver.store.ReplicaState.SEALED)
        .orElse(false));
    cluster.thawReports("cs2");
    LocatedChunk committed = cluster.locations("/late-report").getChunks(0);
    await("three healthy replicas").atMost(AWAIT)
        .until(() -> healthyHolders(committed).equals(List.of("cs1", "cs2", "cs3")));
    assertThat(heldBy("cs2", chunk.getChunkId())).hasValueSatisfying(
        r -> assertThat(r.length()).isEqualTo(2L * half));
    assertNothingCopiedOrDeleted(leader);
  }

  @Test
  void aReplicaLeftShortByTheWriterRefusesTheSealAndIsReplaced() throws Exception {
    startChunkServers(3);
    PanguMasterGrpc.PanguMasterBlockingStub master = cluster.leaderStub();
    PanguCluster.FileWithChunk created = cluster.createWithChunk("/short", "w");
    FileStatus file = created.file();
    LocatedChunk chunk = created.chunk();
    int half = 100_000;
    for (ChunkServerLocation location : chunk.getLocationsList()) {
      ReplicaWriter w = cluster.chunkClient(location).openWriter(chunk.getChunkId(),
          chunk.getGeneration(), chunk.getToken(), true, 0);
      // The writer lost cs2 half way and went on with the other two.
      int length = location.getId().equals("cs2") ? half : 2 * half;
      w.write(ByteBuffer.wrap(content(4, 0, length)), true);
      assertThat(w.finish(Duration.ofSeconds(30))).isEqualTo(length);
    }
    master.commitChunk(CommitChunkRequest.newBuilder().setFileId(file.getInodeId())
        .setClientName("w").setChunkIndex(0).setChunkId(chunk.getChunkId())
        .setGeneration(chunk.getGeneration()).setLength(2L * half).build());
    master.closeFile(CloseFileRequest.newBuilder().setFileId(file.getInodeId())
        .setClientName("w").build());

    // cs2 cannot be sealed at the committed length: it is deleted and copied again.
    MasterServer leader = cluster.awaitLeader();
    LocatedChunk committed = cluster.locations("/short").getChunks(0);
    await("three healthy replicas").atMost(AWAIT)
        .until(() -> healthyHolders(committed).equals(List.of("cs1", "cs2", "cs3")));
    assertThat(leader.metrics().counter("pangu.master.repair.replicas.deleted").count())
        .isEqualTo(1);
    assertThat(heldBy("cs2", chunk.getChunkId())).hasValueSatisfying(
        r -> assertThat(r.length()).isEqualTo(2L * half));
  }

  @Test
  void aNewLeaderAsksWritersToRetryUntilChunkserversHadTimeToReport() throws Exception {
    cluster.close();
    // A long dead interval: the leader stays "new" for the whole test. A long lease: the file
    // stays the writer's while the chunkservers start, however slow the machine.
    cluster = new PanguCluster(Files.createDirectories(dir.resolve("slow")), 1)
        .masterSettings(b -> b.deadInterval(Duration.ofMinutes(5))
            .leaseDuration(Duration.ofMinutes(5)))
        .startMasters();
    PanguMasterGrpc.PanguMasterBlockingStub master = cluster.leaderStub();
    FileStatus file = master.create(CreateRequest.newBuilder().setPath("/early")
        .setClientName("a").build()).getStatus();
    assertRefused(() -> master.addChunk(AddChunkRequest.newBuilder()
        .setFileId(file.getInodeId()).setClientName("a").build()),
        Status.Code.UNAVAILABLE, "LEADER_NOT_READY", "not heard from enough chunkservers");
    startChunkServers(3);
    assertThat(master.addChunk(AddChunkRequest.newBuilder().setFileId(file.getInodeId())
        .setClientName("a").build()).getChunk().getLocationsCount()).isEqualTo(3);
  }

  private Optional<ReplicaInfo> heldBy(String chunkServer, long chunkId) {
    return cluster.chunkServer(chunkServer).heartbeatReport().replicas().stream()
        .filter(r -> r.chunkId() == chunkId).findFirst();
  }

  @Test
  void aReplicaWhoseBytesRotIsReportedCorruptAndReplaced() throws Exception {
    startChunkServers(4);
    cluster.writeFile("/f", "w", 9, 100_000);
    LocatedChunk chunk = cluster.locations("/f").getChunks(0);
    ChunkServerLocation victim = settledHolder("/f", chunk, 4);

    Path data = dataFile(cluster.chunkServer(victim.getId()), chunk.getChunkId());
    try (FileChannel file = FileChannel.open(data, StandardOpenOption.WRITE)) {
      file.write(ByteBuffer.wrap(new byte[] {1, 2, 3, 4}), 5000);
    }
    // A reader meets the rot; the chunkserver reports the replica corrupt in its heartbeat.
    assertThatThrownBy(() -> cluster.read(chunk, victim))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DATA_LOSS));

    MasterServer leader = cluster.awaitLeader();
    await("corrupt replica deleted").atMost(AWAIT).until(() ->
        leader.metrics().counter("pangu.master.repair.replicas.deleted").count() >= 1);
    await("replaced by a healthy copy").atMost(AWAIT).until(() ->
        healthyHolders(chunk).size() == 3 && leader.chunks().replicas(chunk.getChunkId())
            .stream().noneMatch(ReplicaView::corrupt));
    LocatedChunk relocated = cluster.locations("/f").getChunks(0);
    assertThat(relocated.getLocationsList()).hasSize(3);
    for (ChunkServerLocation location : relocated.getLocationsList()) {
      assertThat(cluster.read(relocated, location)).isEqualTo(content(9, 0, 100_000));
    }
  }

  @Test
  void aChunkServerWhoseDiskFailsStopsServingItAndItsReplicasAreCopiedBack() throws Exception {
    startChunkServers(4);
    cluster.writeFile("/f", "w", 11, 100_000);
    LocatedChunk chunk = cluster.locations("/f").getChunks(0);
    ChunkServerLocation victim = settledHolder("/f", chunk, 4);

    // The disk goes away: every path into the volume now fails with the file system's error.
    Path volume = cluster.chunkServer(victim.getId()).config().storeConfig().volumes().get(0)
        .directory();
    Files.move(volume.resolve("chunks"), volume.resolve("chunks.gone"));
    Files.writeString(volume.resolve("chunks"), "not a directory");
    // A reader meets the disk error; the chunkserver checks the volume and takes it out.
    assertThatThrownBy(() -> cluster.read(chunk, victim))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL));

    await("the failed volume reported").atMost(AWAIT).until(() -> cluster.leaderStub()
        .getClusterReport(GetClusterReportRequest.getDefaultInstance()).getChunkserversList()
        .stream().filter(s -> s.getLocation().getId().equals(victim.getId())).findFirst()
        .map(s -> s.getFailedVolumesCount() == 1
            && s.getFailedVolumes(0).getFailure().contains("is not a directory"))
        .orElse(false));
    await("copied back to three replicas").atMost(AWAIT).until(() ->
        healthyHolders(chunk).size() == 3 && !healthyHolders(chunk).contains(victim.getId()));
    LocatedChunk relocated = cluster.locations("/f").getChunks(0);
    assertThat(relocated.getLocationsList()).extracting(ChunkServerLocation::getId)
        .hasSize(3).doesNotContain(victim.getId());
    for (ChunkServerLocation location : relocated.getLocationsList()) {
      assertThat(cluster.read(relocated, location)).isEqualTo(content(11, 0, 100_000));
    }
  }

  @Test
  void leaseRecoveryKeepsTheSyncedBytesOfAnUncommittedLastChunk() throws Exception {
    startChunkServers(3);
    PanguMasterGrpc.PanguMasterBlockingStub master = cluster.leaderStub();
    PanguCluster.FileWithChunk created = cluster.createWithChunk("/log", "dying-writer");
    FileStatus file = created.file();
    LocatedChunk chunk = created.chunk();
    // Every replica syncs 123_457 bytes; the writer then dies without committing.
    long synced = cluster.writeChunk(chunk, content(3, 0, 123_457), false);
    assertThat(synced).isEqualTo(123_457);

    // While the lease is live another client is told "not yet".
    assertThat(master.recoverLease(RecoverLeaseRequest.newBuilder().setPath("/log")
        .setClientName("other").build()).getClosed()).isFalse();

    // The lease monitor recovers the file once the lease expires.
    await("lease recovered").atMost(AWAIT).until(() -> !cluster.leaderStub().getFileStatus(
        GetFileStatusRequest.newBuilder().setPath("/log").build()).getStatus().getOpen());
    FileStatus recovered = cluster.leaderStub().getFileStatus(
        GetFileStatusRequest.newBuilder().setPath("/log").build()).getStatus();
    assertThat(recovered.getLength()).isEqualTo(123_457);
    assertThat(recovered.getChunkCount()).isEqualTo(1);

    LocatedChunk after = cluster.locations("/log").getChunks(0);
    assertThat(after.getCommitted()).isTrue();
    assertThat(after.getLength()).isEqualTo(123_457);
    assertThat(after.getGeneration()).isGreaterThan(chunk.getGeneration());
    assertThat(after.getLocationsList()).hasSize(3);
    for (ChunkServerLocation location : after.getLocationsList()) {
      assertThat(cluster.read(after, location)).isEqualTo(content(3, 0, 123_457));
    }
    assertThat(master.recoverLease(RecoverLeaseRequest.newBuilder().setPath("/log")
        .setClientName("other").build()).getClosed()).isTrue();
  }

  @Test
  void deletedFilesReplicasAreCollectedAndALeftoverReplicaIsDeletedAsAnOrphan()
      throws Exception {
    startChunkServers(3);
    cluster.writeFile("/gone", "w", 4, 50_000);
    LocatedChunk chunk = cluster.locations("/gone").getChunks(0);
    await().atMost(AWAIT).until(() -> healthyHolders(chunk).size() == 3);
    MasterServer leader = cluster.awaitLeader();

    cluster.leaderStub().delete(org.apsara.pangu.api.v1.DeleteRequest.newBuilder()
        .setPath("/gone").build());
    await("replicas deleted and the garbage forgotten").atMost(AWAIT).until(() ->
        leader.node().namespace().garbageChunks(0, 10).isEmpty()
            && List.of("cs1", "cs2", "cs3").stream().allMatch(id -> cluster.chunkServer(id)
                .store().replicas().stream().noneMatch(r -> r.chunkId() == chunk.getChunkId())));

    // A chunkserver that was away during the collection comes back with its replica: the
    // namespace no longer knows the chunk, so the replica is an orphan and goes.
    org.apsara.security.token.CapabilityTokenIssuer issuer =
        new org.apsara.security.token.CapabilityTokenIssuer(
            org.apsara.security.token.TokenKeyFile.load(cluster.keyFile).get(0),
            java.time.Clock.systemUTC());
    String write = issuer.issue("test", org.apsara.pangu.api.ChunkCapabilities.resource(
        chunk.getChunkId()), java.util.Set.of("write"), java.time.Duration.ofMinutes(5));
    try (var writer = cluster.chunkClient("cs1").openWriter(chunk.getChunkId(), 1, write, true,
        0)) {
      writer.write(ByteBuffer.wrap(content(4, 0, 1000)), true);
      writer.finish(java.time.Duration.ofSeconds(10));
    }
    assertThat(cluster.chunkServer("cs1").store().replicas()).isNotEmpty();
    await("orphan deleted").atMost(AWAIT).until(() ->
        cluster.chunkServer("cs1").store().replicas().isEmpty());
  }

  @Test
  void refusalsCarryTheContractsStatusAndErrorCodeTrailer() throws Exception {
    startChunkServers(3);
    PanguMasterGrpc.PanguMasterBlockingStub master = cluster.leaderStub();
    assertRefused(() -> master.getFileStatus(GetFileStatusRequest.newBuilder()
        .setPath("/missing").build()), Status.Code.NOT_FOUND, "NOT_FOUND", "/missing");

    master.create(CreateRequest.newBuilder().setPath("/held").setClientName("a").build());
    assertRefused(() -> master.create(CreateRequest.newBuilder().setPath("/held")
        .setClientName("b").setOverwrite(true).build()),
        Status.Code.FAILED_PRECONDITION, "LEASE_HELD_BY_OTHER", "client 'a'");

    master.mkdirs(MkdirsRequest.newBuilder().setPath("/q").build());
    master.setQuota(SetQuotaRequest.newBuilder().setPath("/q").setNameQuota(2)
        .setSpaceQuota(-1).build());
    master.create(CreateRequest.newBuilder().setPath("/q/one").setClientName("a").build());
    assertRefused(() -> master.create(CreateRequest.newBuilder().setPath("/q/two")
        .setClientName("a").build()), Status.Code.RESOURCE_EXHAUSTED, "NAME_QUOTA_EXCEEDED",
        "/q");

    assertRefused(() -> master.listDirectory(ListDirectoryRequest.newBuilder().setPath("/")
        .setLimit(5000).build()), Status.Code.INVALID_ARGUMENT, "INVALID_ARGUMENT",
        "limit 5000");
    assertRefused(() -> master.create(CreateRequest.newBuilder().setPath("/x").build()),
        Status.Code.INVALID_ARGUMENT, "INVALID_ARGUMENT", "client_name is required");
    assertRefused(() -> master.getFileStatus(GetFileStatusRequest.newBuilder()
        .setPath("relative").build()), Status.Code.INVALID_ARGUMENT, "INVALID_PATH", "relative");

    FileStatus wide = master.create(CreateRequest.newBuilder().setPath("/wide")
        .setClientName("a").setReplication(5).build()).getStatus();
    // Once every live chunkserver had a dead interval to report, too few is final.
    await().atMost(AWAIT).until(() -> cluster.awaitLeader().chunks().reportsSettled());
    // Fewer than its replication is enough down to two; a writer excluding two leaves one.
    assertRefused(() -> master.addChunk(AddChunkRequest.newBuilder()
        .setFileId(wide.getInodeId()).setClientName("a").addExcludedChunkservers("cs1")
        .addExcludedChunkservers("cs2").build()),
        Status.Code.RESOURCE_EXHAUSTED, "NOT_ENOUGH_CHUNKSERVERS", "replication 5",
        "only 1 qualify");
    // Nothing was allocated: the file still has no chunk.
    assertThat(master.getFileStatus(GetFileStatusRequest.newBuilder().setPath("/wide")
        .build()).getStatus().getChunkCount()).isZero();

    assertThat(master.getClusterReport(GetClusterReportRequest.getDefaultInstance())
        .getChunkserversList()).hasSize(3);
  }

  @Test
  void statusesAskedTogetherAreAnsweredAndRefusedPathByPath() {
    PanguMasterGrpc.PanguMasterBlockingStub master = cluster.leaderStub();
    master.create(CreateRequest.newBuilder().setPath("/dir/file").setClientName("a")
        .setCreateParent(true).build());
    List<FileStatusResult> results = master.getFileStatuses(GetFileStatusesRequest.newBuilder()
        .addPaths("/dir/file").addPaths("/missing").addPaths("relative").addPaths("")
        .addPaths("/dir/file/below").addPaths("/dir").addPaths("/dir/file").build())
        .getResultsList();
    assertThat(results).hasSize(7);
    assertThat(results.get(0).getStatus().getPath()).isEqualTo("/dir/file");
    assertThat(results.get(1).getError().getCode()).isEqualTo("NOT_FOUND");
    assertThat(results.get(1).getError().getMessage()).contains("/missing");
    assertThat(results.get(2).getError().getCode()).isEqualTo("INVALID_PATH");
    assertThat(results.get(2).getError().getMessage()).contains("relative");
    assertThat(results.get(3).getError().getCode()).isEqualTo("INVALID_ARGUMENT");
    assertThat(results.get(3).getError().getMessage()).contains("paths[3] is required");
    assertThat(results.get(4).getError().getCode()).isEqualTo("NOT_A_DIRECTORY");
    assertThat(results.get(5).getStatus().getDirectory()).isTrue();
    assertThat(results.get(6)).isEqualTo(results.get(0));

    assertRefused(() -> master.getFileStatuses(GetFileStatusesRequest.getDefaultInstance()),
        Status.Code.INVALID_ARGUMENT, "INVALID_ARGUMENT", "paths holds 0 items");
    GetFileStatusesRequest.Builder tooMany = GetFileStatusesRequest.newBuilder();
    for (int i = 0; i <= PanguMasterService.PATHS_PER_CALL_MAX; i++) {
      tooMany.addPaths("/dir");
    }
    assertRefused(() -> master.getFileStatuses(tooMany.build()), Status.Code.INVALID_ARGUMENT,
        "INVALID_ARGUMENT", "paths holds 257 items; between 1 and 256");
  }

  @Test
  void deletesMadeTogetherAreAppliedAndRefusedPathByPath() {
    PanguMasterGrpc.PanguMasterBlockingStub master = cluster.leaderStub();
    for (String path : List.of("/gone/a", "/gone/b", "/full/c")) {
      master.create(CreateRequest.newBuilder().setPath(path).setClientName("a")
          .setCreateParent(true).build());
    }
    List<DeleteResult> results = master.deletePaths(DeletePathsRequest.newBuilder()
        .addDeletes(delete("/gone/a", false)).addDeletes(delete("/missing", false))
        .addDeletes(delete("/full", false)).addDeletes(delete("relative", false))
        .addDeletes(delete("/gone/b", false)).addDeletes(delete("/gone/b", false))
        .addDeletes(delete("/", true)).build()).getResultsList();

    assertThat(results).hasSize(7);
    assertThat(results.get(0).hasError()).isFalse();
    assertThat(results.get(1).getError().getCode()).isEqualTo("NOT_FOUND");
    assertThat(results.get(2).getError().getCode()).isEqualTo("DIRECTORY_NOT_EMPTY");
    assertThat(results.get(2).getError().getMessage()).contains("/full");
    assertThat(results.get(3).getError().getCode()).isEqualTo("INVALID_PATH");
    assertThat(results.get(4).hasError()).isFalse();
    // The second delete of a path runs after the first.
    assertThat(results.get(5).getError().getCode()).isEqualTo("NOT_FOUND");
    assertThat(results.get(6).getError().getCode()).isEqualTo("ROOT_NOT_ALLOWED");
    // What was refused is still there; what was deleted is gone.
    assertThat(master.listDirectory(ListDirectoryRequest.newBuilder().setPath("/gone").build())
        .getEntriesList()).isEmpty();
    assertThat(master.getFileStatus(GetFileStatusRequest.newBuilder().setPath("/full/c")
        .build()).getStatus().getDirectory()).isFalse();

    assertRefused(() -> master.deletePaths(DeletePathsRequest.getDefaultInstance()),
        Status.Code.INVALID_ARGUMENT, "INVALID_ARGUMENT", "deletes holds 0 items");
  }

  @Test
  void createsAndClosesMadeTogetherAreAppliedAndRefusedOneByOne() {
    PanguMasterGrpc.PanguMasterBlockingStub master = cluster.leaderStub();
    master.create(CreateRequest.newBuilder().setPath("/taken").setClientName("other").build());
    List<FileStatusResult> created = master.createFiles(CreateFilesRequest.newBuilder()
        .addCreates(create("/new/a", "w")).addCreates(create("/taken", "w"))
        .addCreates(create("/new/b", "w")).addCreates(create("/new/a", "w"))
        .addCreates(CreateRequest.newBuilder().setPath("/new/c")).build()).getResultsList();

    assertThat(created).hasSize(5);
    FileStatus a = created.get(0).getStatus();
    assertThat(a.getPath()).isEqualTo("/new/a");
    assertThat(a.getOpen()).isTrue();
    assertThat(created.get(1).getError().getCode()).isEqualTo("ALREADY_EXISTS");
    FileStatus b = created.get(2).getStatus();
    assertThat(created.get(3).getError().getCode()).isEqualTo("ALREADY_EXISTS");
    assertThat(created.get(4).getError().getCode()).isEqualTo("INVALID_ARGUMENT");
    assertThat(created.get(4).getError().getMessage())
        .contains("creates[4].client_name is required");

    List<FileStatusResult> closed = master.closeFiles(CloseFilesRequest.newBuilder()
        .addCloses(close(a.getInodeId(), "w")).addCloses(close(b.getInodeId(), "intruder"))
        .addCloses(close(0, "w")).build()).getResultsList();

    assertThat(closed).hasSize(3);
    assertThat(closed.get(0).getStatus().getOpen()).isFalse();
    assertThat(closed.get(1).getError().getCode()).isEqualTo("NOT_LEASE_HOLDER");
    assertThat(closed.get(2).getError().getMessage()).contains("closes[2].file_id is required");
    assertThat(master.getFileStatus(GetFileStatusRequest.newBuilder().setPath("/new/b")
        .build()).getStatus().getOpen()).as("refused close left it open").isTrue();
    assertRefused(() -> master.closeFiles(CloseFilesRequest.getDefaultInstance()),
        Status.Code.INVALID_ARGUMENT, "INVALID_ARGUMENT", "closes holds 0 items");
  }

  private static CreateRequest create(String path, String client) {
    return CreateRequest.newBuilder().setPath(path).setClientName(client).setCreateParent(true)
        .build();
  }

  private static CloseFileRequest close(long fileId, String client) {
    return CloseFileRequest.newBuilder().setFileId(fileId).setClientName(client).build();
  }

  private static DeleteRequest delete(String path, boolean recursive) {
    return DeleteRequest.newBuilder().setPath(path).setRecursive(recursive).build();
  }

  @Test
  void createMakesMissingParentsAndLogsNothingForAParentThatExists() throws Exception {
    PanguMasterGrpc.PanguMasterBlockingStub master = cluster.leaderStub();
    master.create(CreateRequest.newBuilder().setPath("/made/by/create/one")
        .setClientName("a").setCreateParent(true).build());
    assertThat(master.getFileStatus(GetFileStatusRequest.newBuilder().setPath("/made/by/create")
        .build()).getStatus().getDirectory()).isTrue();

    MasterServer leader = cluster.awaitLeader();
    long before = leader.node().appliedIndex();
    master.create(CreateRequest.newBuilder().setPath("/made/by/create/two")
        .setClientName("a").setCreateParent(true).build());
    assertThat(leader.node().appliedIndex()).as("one entry: the create alone")
        .isEqualTo(before + 1);

    // A parent that is a file is still judged by the mkdirs.
    assertRefused(() -> master.create(CreateRequest.newBuilder()
        .setPath("/made/by/create/one/three").setClientName("a").setCreateParent(true).build()),
        Status.Code.ALREADY_EXISTS, "ALREADY_EXISTS", "/made/by/create/one");
  }

  static void assertRefused(Runnable call, Status.Code code, String errorCode,
      String... messageParts) {
    assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(code);
      assertThat(e.getTrailers().get(MasterTrailers.ERROR_CODE)).isEqualTo(errorCode);
      for (String part : messageParts) {
        assertThat(e.getStatus().getDescription()).contains(part);
      }
    });
  }

  /** The data file of a replica, per the chunk store's layout. */
  static Path dataFile(ChunkServer server, long chunkId) {
    Path file = replicaPath(server, chunkId);
    assertThat(Files.exists(file)).as("replica file %s", file).isTrue();
    return file;
  }

  static Path replicaPath(ChunkServer server, long chunkId) {
    Path volume = server.config().storeConfig().volumes().get(0).directory();
    return volume.resolve("chunks").resolve(String.format("%02x", chunkId & 0xff))
        .resolve(String.format("%016x.data", chunkId));
  }
}
