package org.apsara.pangu.chunkserver.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apsara.pangu.api.ChunkServerLimits;
import org.apsara.pangu.api.v1.ChunkServerGrpc;
import org.apsara.pangu.api.v1.ReadReplicaRequest;
import org.apsara.pangu.api.v1.ReadReplicaResponse;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.apsara.pangu.client.chunkserver.ReplicaWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reader that stops consuming stops the server: it reads from disk only what the flow-control
 * window lets it send, and resumes when the reader asks for more.
 */
class ReadFlowControlTest {
  private static final long CHUNK = 8;
  private static final int MIB = 1 << 20;
  private static final int LENGTH = 32 * MIB;
  /** The window, the message in flight and gRPC's small send buffer; far below the length. */
  private static final long BUFFERED_MAX =
      ChunkServerLimits.FLOW_CONTROL_WINDOW_BYTES + 4L * MIB;

  @TempDir Path directory;

  @Test
  void stalledReaderHoldsTheServerToTheWindow() throws Exception {
    try (ChunkServerFixture fixture = new ChunkServerFixture(directory)) {
      ChunkServer server = fixture.start("cs1", builder -> builder.chunkSizeBytes(64L * MIB));
      ChunkServerClient client = fixture.client(server);
      byte[] block = new byte[MIB];
      try (ReplicaWriter writer = client.openWriter(CHUNK, 1, fixture.write(CHUNK), true, 0)) {
        for (int i = 0; i < LENGTH / MIB; i++) {
          writer.write(ByteBuffer.wrap(block), false);
        }
        writer.finish(Duration.ofSeconds(60));
      }
      double readBefore = readBytes(server);

      ManagedChannel channel = NettyChannelBuilder
          .forAddress(server.address().host(), server.address().port()).usePlaintext()
          .initialFlowControlWindow(ChunkServerLimits.FLOW_CONTROL_WINDOW_BYTES).build();
      try {
        AtomicLong received = new AtomicLong();
        CompletableFuture<Void> done = new CompletableFuture<>();
        CompletableFuture<ClientCallStreamObserver<ReadReplicaRequest>> call =
            new CompletableFuture<>();
        ChunkServerGrpc.newStub(channel).readReplica(ReadReplicaRequest.newBuilder()
            .setChunkId(CHUNK).setGeneration(1).setOffset(0).setLength(LENGTH)
            .setToken(fixture.read(CHUNK)).build(),
            new ClientResponseObserver<ReadReplicaRequest, ReadReplicaResponse>() {
              @Override
              public void beforeStart(ClientCallStreamObserver<ReadReplicaRequest> stream) {
                stream.disableAutoRequestWithInitial(1); // one message, then nothing
                call.complete(stream);
              }

              @Override
              public void onNext(ReadReplicaResponse response) {
                received.addAndGet(response.getData().size());
              }

              @Override
              public void onError(Throwable t) {
                done.completeExceptionally(t);
              }

              @Override
              public void onCompleted() {
                done.complete(null);
              }
            });
        await().atMost(Duration.ofSeconds(10)).until(() -> received.get() == MIB);
        // The server fills the window and then waits; it never reads the whole replica.
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
            .until(() -> readBytes(server) - readBefore <= BUFFERED_MAX);
        assertThat(readBytes(server) - readBefore).isLessThan(LENGTH);
        assertThat(done).isNotDone();

        call.get().request(Integer.MAX_VALUE);
        done.get(30, TimeUnit.SECONDS);
        assertThat(received.get()).isEqualTo(LENGTH);
        assertThat(readBytes(server) - readBefore).isEqualTo(LENGTH);
      } finally {
        channel.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static double readBytes(ChunkServer server) {
    return server.metrics().get("pangu_chunkserver_read_bytes").counter().count();
  }
}
