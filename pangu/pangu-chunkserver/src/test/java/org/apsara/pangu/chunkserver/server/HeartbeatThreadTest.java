package org.apsara.pangu.chunkserver.server;

import static org.apsara.pangu.chunkserver.server.ChunkServerFixture.content;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apsara.pangu.api.v1.HeartbeatRequest;
import org.apsara.pangu.client.chunkserver.ReplicaWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A chunkserver configured with a master heartbeats on its own thread and reports readiness. */
class HeartbeatThreadTest {
  /** Short, so that three missed intervals pass quickly. */
  private static final int INTERVAL_MS = 50;

  @TempDir Path directory;

  private static int status(HttpClient http, int port, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .build(), HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  @Test
  void heartbeatsFollowTheMastersIntervalCarryNewReplicasAndDriveReadiness() throws Exception {
    try (ChunkServerFixture fixture = new ChunkServerFixture(directory);
        FakeTracker master = new FakeTracker(INTERVAL_MS)) {
      ChunkServer server = fixture.start("cs1",
          b -> b.masterAddresses(List.of(master.address())));
      HttpClient http = HttpClient.newHttpClient();
      await().atMost(Duration.ofSeconds(10)).until(() -> master.requests.size() >= 3);
      assertThat(master.requests.get(0).getFullReport()).isTrue();
      assertThat(master.requests.get(0).getLocation().getId()).isEqualTo(server.id());
      assertThat(master.requests.get(1).getFullReport()).isFalse();
      assertThat(status(http, server.metricsPort(), "/ready")).isEqualTo(200);

      try (ReplicaWriter writer = fixture.client(server).openWriter(77, 1, fixture.write(77),
          true, 0)) {
        writer.write(ByteBuffer.wrap(content(77, 0, 1234)), true);
        writer.finish(Duration.ofSeconds(30));
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> master.requests.stream()
          .filter(request -> !request.getFullReport())
          .flatMap(request -> request.getReplicasList().stream())
          .anyMatch(replica -> replica.getChunkId() == 77 && replica.getLength() == 1234));
      assertThat(server.metrics().get("pangu_chunkserver_heartbeats_sent")
          .tag("report", "incremental").counter().count()).isPositive();

      master.close(); // the master goes away: not ready after three silent intervals
      await().atMost(Duration.ofSeconds(10))
          .until(() -> status(http, server.metricsPort(), "/ready") == 503);
      assertThat(status(http, server.metricsPort(), "/health"))
          .as("an unreachable master does not make the chunkserver unhealthy").isEqualTo(200);
      assertThat(server.metrics().get("pangu_chunkserver_heartbeats_failed").counter().count())
          .isPositive();
      assertThat(server.metrics().get("pangu_chunkserver_heartbeat_last_success_age_seconds")
          .gauge().value()).isGreaterThan(3 * INTERVAL_MS / 1000.0);
      HeartbeatRequest last = master.last();
      assertThat(last.getLocation().getAddress()).isEqualTo(server.address().format());
    }
  }
}
