package org.apsara.pangu.chunkserver.server;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.zip.CRC32C;
import org.apsara.pangu.api.v1.ChunkServerGrpc;
import org.apsara.pangu.api.v1.WritePacket;
import org.apsara.pangu.api.v1.WriteReplicaAck;
import org.apsara.pangu.api.v1.WriteReplicaHeader;
import org.apsara.pangu.api.v1.WriteReplicaRequest;

/**
 * A WriteReplica stream driven message by message, for tests that need to send what a correct
 * client never would, or to see every ack. Sends without waiting for flow control: tests keep
 * what they send well below the window.
 */
final class RawWriteStream implements AutoCloseable {
  final List<Long> acks = new CopyOnWriteArrayList<>();
  /** Each ack paired with the synced length the server's store had when the ack arrived. */
  final List<long[]> acksWithStoreSynced = new CopyOnWriteArrayList<>();
  final CompletableFuture<Status> result = new CompletableFuture<>();
  private final ManagedChannel channel;
  private final StreamObserver<WriteReplicaRequest> requests;

  RawWriteStream(ChunkServer server, LongSupplier storeSyncedLength) {
    channel = NettyChannelBuilder.forAddress(server.address().host(), server.address().port())
        .usePlaintext().build();
    requests = ChunkServerGrpc.newStub(channel).writeReplica(new StreamObserver<>() {
      @Override
      public void onNext(WriteReplicaAck ack) {
        acks.add(ack.getSyncedLength());
        acksWithStoreSynced.add(
            new long[] {ack.getSyncedLength(), storeSyncedLength.getAsLong()});
      }

      @Override
      public void onError(Throwable t) {
        result.complete(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        result.complete(Status.OK);
      }
    });
  }

  RawWriteStream header(long chunkId, long generation, String token, boolean create,
      long startOffset) {
    requests.onNext(WriteReplicaRequest.newBuilder().setHeader(WriteReplicaHeader.newBuilder()
        .setChunkId(chunkId).setGeneration(generation).setToken(token).setCreate(create)
        .setStartOffset(startOffset)).build());
    return this;
  }

  RawWriteStream packet(long offset, byte[] data, boolean sync) {
    CRC32C crc = new CRC32C();
    crc.update(data);
    return packet(offset, data, (int) crc.getValue(), sync);
  }

  RawWriteStream packet(long offset, byte[] data, int crc32c, boolean sync) {
    requests.onNext(WriteReplicaRequest.newBuilder().setPacket(WritePacket.newBuilder()
        .setOffset(offset).setData(ByteString.copyFrom(data)).setCrc32C(crc32c)
        .setSync(sync)).build());
    return this;
  }

  RawWriteStream raw(WriteReplicaRequest request) {
    requests.onNext(request);
    return this;
  }

  /** Half-closes and waits for the call to end. */
  Status finish() throws Exception {
    requests.onCompleted();
    return result.get(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow();
    channel.awaitTermination(5, TimeUnit.SECONDS);
  }
}
