package org.apsara.pangu.master.server;

import static org.apsara.pangu.master.server.PanguCluster.AWAIT;
import static org.apsara.pangu.master.server.PanguCluster.content;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import org.apsara.pangu.api.MasterTrailers;
import org.apsara.pangu.api.v1.ChunkServerLocation;
import org.apsara.pangu.api.v1.GetFileStatusRequest;
import org.apsara.pangu.api.v1.LocatedChunk;
import org.apsara.pangu.api.v1.MkdirsRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three master members and three chunkservers: followers name the leader's client address, and
 * when the leader stops a follower takes over, rebuilds the chunk locations from the
 * chunkservers' reports and serves the file written before.
 */
class ThreeMasterFailoverTest {
  @TempDir Path dir;
  PanguCluster cluster;

  @BeforeEach
  void start() throws Exception {
    cluster = new PanguCluster(dir, 3).startMasters();
    for (int i = 1; i <= 3; i++) {
      cluster.startChunkServer("cs" + i);
    }
    await().atMost(AWAIT).until(() -> cluster.awaitLeader().chunks().servers().size() == 3);
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  @Test
  void aFollowerTakesOverAndServesWhatTheOldLeaderWrote() throws Exception {
    cluster.writeFile("/before", "w", 21, 150_000);
    MasterServer old = cluster.awaitLeader();

    MasterServer follower = cluster.masters().stream().filter(m -> m != old).findFirst()
        .orElseThrow();
    assertThatThrownBy(() -> cluster.stub(follower).getFileStatus(
        GetFileStatusRequest.newBuilder().setPath("/before").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
          assertThat(e.getTrailers().get(MasterTrailers.ERROR_CODE)).isEqualTo("NOT_LEADER");
          assertThat(e.getTrailers().get(MasterTrailers.LEADER))
              .isEqualTo(old.clientAddress().format());
        });

    cluster.stopMaster(old.config().memberId());
    MasterServer next = await("a new leader").atMost(AWAIT).until(cluster::awaitLeader,
        m -> m != old);
    // The new leader knows the chunk's replicas once the chunkservers reported to it.
    await("locations rebuilt").atMost(AWAIT).until(() ->
        cluster.locations("/before").getChunks(0).getLocationsCount() == 3);
    LocatedChunk chunk = cluster.locations("/before").getChunks(0);
    for (ChunkServerLocation location : chunk.getLocationsList()) {
      assertThat(cluster.read(chunk, location)).isEqualTo(content(21, 0, 150_000));
    }
    // And it takes writes.
    cluster.stub(next).mkdirs(MkdirsRequest.newBuilder().setPath("/after").build());
    cluster.writeFile("/after/f", "w2", 22, 10_000);
    assertThat(cluster.locations("/after/f").getChunks(0).getLocationsCount()).isEqualTo(3);
  }
}
