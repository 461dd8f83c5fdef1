package org.apsara.pangu.chunkserver.server;

import static org.apsara.pangu.chunkserver.server.ChunkServerFixture.content;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.apsara.pangu.client.chunkserver.ReplicaWriter;
import org.apsara.security.tls.ClusterCa;
import org.apsara.security.tls.LeafSpec;
import org.apsara.security.tls.TlsContexts;
import org.apsara.security.tls.TlsMaterial;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** With mutual TLS, clients and peer chunkservers need a certificate of the cluster CA. */
class MutualTlsTest {
  private static final long CHUNK = 500;
  private static final long GENERATION = 1;

  @TempDir Path directory;

  @Test
  void dataPathAndReplicationRunOverMutualTlsAndPlaintextIsRefused() throws Exception {
    ClusterCa ca = ClusterCa.create(directory.resolve("ca"));
    Path certs = directory.resolve("certs");
    TlsMaterial a = ca.issue(leaf("cs-a"), certs);
    TlsMaterial b = ca.issue(leaf("cs-b"), certs);
    TlsMaterial user = ca.issue(leaf("client"), certs);
    try (ChunkServerFixture fixture = new ChunkServerFixture(directory)) {
      ChunkServer source = fixture.start("a", builder -> builder.tls(a).clientCertAuth(true));
      ChunkServer target = fixture.start("b", builder -> builder.tls(b).clientCertAuth(true));
      try (ChunkServerClient toSource =
              ChunkServerClient.connect(source.address(), TlsContexts.forClient(user));
          ChunkServerClient toTarget =
              ChunkServerClient.connect(target.address(), TlsContexts.forClient(user))) {
        try (ReplicaWriter writer = toSource.openWriter(CHUNK, GENERATION, fixture.write(CHUNK),
            true, 0)) {
          writer.write(ByteBuffer.wrap(content(1, 0, 200_000)), false);
          assertThat(writer.finish(Duration.ofSeconds(30))).isEqualTo(200_000);
        }
        toSource.seal(CHUNK, GENERATION, 200_000, fixture.admin(CHUNK));
        toTarget.replicate(CHUNK, GENERATION, source.address(), fixture.admin(CHUNK),
            fixture.read(CHUNK));
        ByteBuffer read = ByteBuffer.allocate(200_000);
        toTarget.read(CHUNK, GENERATION, 0, read, fixture.read(CHUNK));
        assertThat(read.array()).isEqualTo(content(1, 0, 200_000));
        // The bulk read path is plaintext: with TLS it stays closed and clients are told so.
        assertThat(source.bulkReadPort()).isEqualTo(-1);
        assertThat(toSource.serverInfo().getBulkReadPort()).isZero();
      }
      ChunkServerClient plaintext = fixture.client(source);
      assertThatThrownBy(() -> plaintext.getReplica(CHUNK, fixture.read(CHUNK)))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(
              e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    }
  }

  private static LeafSpec leaf(String name) {
    return LeafSpec.forHosts(name, List.of("127.0.0.1"), Duration.ofDays(1));
  }
}
