package org.apsara.pangu.client;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;
import org.apsara.pangu.api.ChunkServerLimits;
import org.apsara.pangu.api.v1.ChunkServerGrpc;
import org.apsara.pangu.api.v1.GetReplicaRequest;
import org.apsara.pangu.api.v1.GetReplicaResponse;
import org.apsara.pangu.api.v1.GetServerInfoRequest;
import org.apsara.pangu.api.v1.GetServerInfoResponse;
import org.apsara.pangu.api.v1.ReadReplicaRequest;
import org.apsara.pangu.api.v1.ReadReplicaResponse;
import org.apsara.pangu.api.v1.ReplicaState;
import org.apsara.pangu.api.v1.WriteReplicaAck;
import org.apsara.pangu.api.v1.WriteReplicaRequest;
import org.apsara.pangu.client.chunkserver.BulkReadProtocol;
import org.apsara.pangu.client.chunkserver.BulkWriteProtocol;

/**
 * A chunkserver keeping replicas in memory, following the WriteReplica/ReadReplica/GetReplica
 * protocol closely enough for the client's streams, with faults a test can switch on.
 */
final class FakeChunkServer extends ChunkServerGrpc.ChunkServerImplBase {
  final String id;
  final Map<Long, Replica> replicas = new ConcurrentHashMap<>();
  /** Data sizes of every packet received, in order. */
  final List<Integer> packetSizes = new CopyOnWriteArrayList<>();
  /** Bytes this server accepts in all before it fails every write stream. */
  volatile long failWritesAfterBytes = Long.MAX_VALUE;
  /** Answer every read with DATA_LOSS, as a replica failing its checksum does. */
  volatile boolean corruptReads;
  /** Reads send this many messages, then fail UNAVAILABLE (as a chunkserver that died). */
  volatile int failReadsAfterMessages = Integer.MAX_VALUE;
  /** ReadReplica calls served. */
  final java.util.concurrent.atomic.AtomicInteger readCalls =
      new java.util.concurrent.atomic.AtomicInteger();
  final AtomicLong bytesReceived = new AtomicLong();
  /** The bulk read path this chunkserver offers, or null for none. */
  volatile FakeBulkServer bulk;
  /** Whether GetServerInfo offers bulk writes on {@link #bulk}'s port (which refuses them). */
  volatile boolean offerBulkWrites;

  static final class Replica {
    final long generation;
    final ByteArrayOutputStream data = new ByteArrayOutputStream();
    long synced;

    Replica(long generation) {
      this.generation = generation;
    }

    synchronized byte[] bytes() {
      return data.toByteArray();
    }
  }

  FakeChunkServer(String id) {
    this.id = id;
  }

  byte[] replica(long chunkId) {
    Replica replica = replicas.get(chunkId);
    return replica == null ? null : replica.bytes();
  }

  @Override
  public StreamObserver<WriteReplicaRequest> writeReplica(StreamObserver<WriteReplicaAck> out) {
    return new StreamObserver<>() {
      Replica replica;
      boolean failed;

      @Override
      public void onNext(WriteReplicaRequest request) {
        if (failed) {
          return;
        }
        if (request.hasHeader()) {
          replica = new Replica(request.getHeader().getGeneration());
          replicas.put(request.getHeader().getChunkId(), replica);
          return;
        }
        ByteString data = request.getPacket().getData();
        packetSizes.add(data.size());
        if (data.size() > ChunkServerLimits.DATA_MESSAGE_BYTES_MAX) {
          fail(Status.INVALID_ARGUMENT.withDescription("packet of " + data.size() + " bytes"));
          return;
        }
        if (bytesReceived.addAndGet(data.size()) > failWritesAfterBytes) {
          fail(Status.UNAVAILABLE.withDescription("injected failure of " + id));
          return;
        }
        CRC32C crc = new CRC32C();
        crc.update(data.asReadOnlyByteBuffer());
        if ((int) crc.getValue() != request.getPacket().getCrc32C()) {
          fail(Status.DATA_LOSS.withDescription("bad packet CRC"));
          return;
        }
        synchronized (replica) {
          if (request.getPacket().getOffset() != replica.data.size()) {
            fail(Status.FAILED_PRECONDITION.withDescription("offset "
                + request.getPacket().getOffset() + " but length " + replica.data.size()));
            return;
          }
          replica.data.writeBytes(data.toByteArray());
          if (request.getPacket().getSync()) {
            replica.synced = replica.data.size();
            out.onNext(WriteReplicaAck.newBuilder().setSyncedLength(replica.synced).build());
          }
        }
      }

      private void fail(Status status) {
        failed = true;
        out.onError(status.asRuntimeException());
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        if (failed) {
          return;
        }
        synchronized (replica) {
          replica.synced = replica.data.size();
          out.onNext(WriteReplicaAck.newBuilder().setSyncedLength(replica.synced).build());
        }
        out.onCompleted();
      }
    };
  }

  @Override
  public void readReplica(ReadReplicaRequest request, StreamObserver<ReadReplicaResponse> out) {
    readCalls.incrementAndGet();
    if (corruptReads) {
      out.onError(Status.DATA_LOSS.withDescription("injected checksum failure on " + id)
          .asRuntimeException());
      return;
    }
    Replica replica = replicas.get(request.getChunkId());
    if (replica == null) {
      out.onError(Status.NOT_FOUND.asRuntimeException());
      return;
    }
    byte[] bytes = replica.bytes();
    long end = request.getOffset() + request.getLength();
    if (end > bytes.length) {
      out.onError(Status.OUT_OF_RANGE.withDescription("replica has " + bytes.length)
          .asRuntimeException());
      return;
    }
    int sent = 0;
    for (long at = request.getOffset(); at < end; ) {
      if (sent++ == failReadsAfterMessages) {
        out.onError(Status.UNAVAILABLE.withDescription("injected: " + id + " went away")
            .asRuntimeException());
        return;
      }
      int n = (int) Math.min(ChunkServerLimits.DATA_MESSAGE_BYTES_MAX, end - at);
      ByteString data = ByteString.copyFrom(bytes, (int) at, n);
      CRC32C crc = new CRC32C();
      crc.update(data.asReadOnlyByteBuffer());
      out.onNext(ReadReplicaResponse.newBuilder().setOffset(at).setData(data)
          .setCrc32C((int) crc.getValue()).build());
      at += n;
    }
    out.onCompleted();
  }

  @Override
  public void getServerInfo(GetServerInfoRequest request,
      StreamObserver<GetServerInfoResponse> out) {
    FakeBulkServer offered = bulk;
    out.onNext(GetServerInfoResponse.newBuilder().setChunkserverId(id)
        .setBulkReadPort(offered == null ? 0 : offered.port())
        .setBulkReadVersion(BulkReadProtocol.VERSION)
        .setBulkWriteVersion(offered != null && offerBulkWrites ? BulkWriteProtocol.VERSION : 0)
        .build());
    out.onCompleted();
  }

  @Override
  public void getReplica(GetReplicaRequest request, StreamObserver<GetReplicaResponse> out) {
    Replica replica = replicas.get(request.getChunkId());
    if (replica == null) {
      out.onError(Status.NOT_FOUND.asRuntimeException());
      return;
    }
    synchronized (replica) {
      out.onNext(GetReplicaResponse.newBuilder().setChunkId(request.getChunkId())
          .setGeneration(replica.generation).setLength(replica.data.size())
          .setSyncedLength(replica.synced).setState(ReplicaState.REPLICA_STATE_OPEN).build());
    }
    out.onCompleted();
  }
}
