package org.apsara.pangu.client.chunkserver;

import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.api.ChunkServerLimits;
import org.apsara.pangu.api.v1.BumpGenerationRequest;
import org.apsara.pangu.api.v1.ChunkServerGrpc;
import org.apsara.pangu.api.v1.DeleteReplicasRequest;
import org.apsara.pangu.api.v1.GetReplicaRequest;
import org.apsara.pangu.api.v1.GetReplicaResponse;
import org.apsara.pangu.api.v1.GetServerInfoRequest;
import org.apsara.pangu.api.v1.GetServerInfoResponse;
import org.apsara.pangu.api.v1.ReadReplicaRequest;
import org.apsara.pangu.api.v1.ReadReplicaResponse;
import org.apsara.pangu.api.v1.ReplicaDeletion;
import org.apsara.pangu.api.v1.ReplicaDeletionResult;
import org.apsara.pangu.api.v1.ReplicateReplicaRequest;
import org.apsara.pangu.api.v1.ReplicateReplicaResponse;
import org.apsara.pangu.api.v1.SealReplicaRequest;
import org.apsara.pangu.api.v1.WriteReplicaHeader;

/**
 * A small client of one chunkserver's data path: for tests, for chunkservers copying replicas
 * from each other, and as the base of the file system client.
 *
 * <p>Errors are gRPC's: every method throws {@link StatusRuntimeException} with the status the
 * chunkserver answered (see the contract in {@code chunkserver.proto}); a data message whose
 * CRC32C or offset is wrong on arrival fails with {@code DATA_LOSS}.
 *
 * <p>Thread-safe: any number of calls may run concurrently over the one channel. Unary calls
 * wait at most {@link #unaryTimeout}.
 */
public final class ChunkServerClient implements AutoCloseable {
  /** How long a unary call waits unless the client was built with another timeout. */
  public static final Duration DEFAULT_UNARY_TIMEOUT = Duration.ofSeconds(30);

  private final Channel channel;
  private final ManagedChannel owned;
  private final Duration unaryTimeout;

  /** A client over {@code channel}, which the caller keeps and closes. */
  public ChunkServerClient(Channel channel, Duration unaryTimeout) {
    this.channel = Objects.requireNonNull(channel, "channel");
    this.owned = null;
    this.unaryTimeout = Objects.requireNonNull(unaryTimeout, "unaryTimeout");
  }

  private ChunkServerClient(ManagedChannel channel, Duration unaryTimeout) {
    this.channel = channel;
    this.owned = channel;
    this.unaryTimeout = unaryTimeout;
  }

  /**
   * Connects to a chunkserver (lazily, on the first call); {@link #close} closes the channel.
   *
   * @param tls a client context ({@code TlsContexts.forClient}), or {@code null} for plaintext
   */
  public static ChunkServerClient connect(HostPort address, SslContext tls) {
    NettyChannelBuilder builder = NettyChannelBuilder
        .forAddress(address.host(), address.port())
        .maxInboundMessageSize(ChunkServerLimits.DATA_MESSAGE_BYTES_MAX
            + ChunkServerLimits.MESSAGE_OVERHEAD_BYTES_MAX)
        .initialFlowControlWindow(ChunkServerLimits.FLOW_CONTROL_WINDOW_BYTES)
        // A retried stream would replay packets that wrap the caller's buffers, and a replayed
        // write is wrong anyway: offsets decide what a retry must resend.
        .disableRetry();
    if (tls != null) {
      builder.sslContext(tls);
    } else {
      builder.usePlaintext();
    }
    return new ChunkServerClient(builder.build(), DEFAULT_UNARY_TIMEOUT);
  }

  /**
   * Starts a WriteReplica stream: a {@link ReplicaWriter} over gRPC, whose status and ack
   * methods may be called from any thread.
   *
   * @param create whether to create the replica (then {@code startOffset} must be 0)
   * @param startOffset the replica's length, where the first packet goes
   */
  public ReplicaWriter openWriter(long chunkId, long generation, String token, boolean create,
      long startOffset) {
    return new GrpcReplicaWriter(ChunkServerGrpc.newStub(channel), WriteReplicaHeader.newBuilder()
        .setChunkId(chunkId).setGeneration(generation).setToken(token).setCreate(create)
        .setStartOffset(startOffset).build());
  }

  /** Receives the data of a read in order, one message at a time. */
  @FunctionalInterface
  public interface DataConsumer {
    /**
     * @param offset where {@code data} starts in the replica
     * @param data a read-only view of the received bytes (no copy); valid after the call returns
     */
    void accept(long offset, ByteBuffer data);
  }

  /**
   * Reads {@code length} bytes at {@code offset}, handing each message's data to {@code
   * consumer} without copying it. Each message's CRC32C and offset are checked on arrival. If the
   * consumer throws, the call is cancelled and the exception propagates.
   */
  public void read(long chunkId, long generation, long offset, long length, String token,
      DataConsumer consumer) {
    read(chunkId, generation, offset, length, token, consumer, null);
  }

  /**
   * Like {@link #read(long, long, long, long, String, DataConsumer)}, but the whole call fails
   * with {@code DEADLINE_EXCEEDED} once {@code timeout} has passed ({@code null}: no limit), so
   * that a chunkserver that stopped sending cannot block the reader forever.
   */
  public void read(long chunkId, long generation, long offset, long length, String token,
      DataConsumer consumer, Duration timeout) {
    try (ReadStream stream = openRead(chunkId, generation, offset, length, token, timeout)) {
      for (ByteBuffer data = stream.next(); data != null; data = stream.next()) {
        consumer.accept(stream.position() - data.remaining(), data);
      }
    }
  }

  /**
   * Opens a read of {@code length} bytes at {@code offset} that the caller takes one data message
   * at a time ({@link ReadStream#next}). The chunkserver sends ahead of the caller as far as the
   * stream's flow-control window lets it, so a sequential reader keeps the chunkserver, the
   * network and itself busy at once instead of paying a round trip per message. Each message's
   * CRC32C and offset are checked on arrival; {@code timeout} ({@code null}: none) bounds the
   * whole read. Close it to end the call early.
   */
  public ReadStream openRead(long chunkId, long generation, long offset, long length,
      String token, Duration timeout) {
    ReadReplicaRequest request = ReadReplicaRequest.newBuilder().setChunkId(chunkId)
        .setGeneration(generation).setOffset(offset).setLength(length).setToken(token).build();
    Context.CancellableContext context = Context.current().withCancellation();
    Context previous = context.attach();
    try {
      ChunkServerGrpc.ChunkServerBlockingStub stub = ChunkServerGrpc.newBlockingStub(channel);
      if (timeout != null) {
        stub = stub.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS);
      }
      return new ReadStream(chunkId, offset, length, stub.readReplica(request), context);
    } catch (RuntimeException e) {
      context.cancel(null);
      throw e;
    } finally {
      context.detach(previous);
    }
  }

  /**
   * One replica read in progress ({@link #openRead}). Not thread-safe: one reader takes its
   * messages. Errors are the chunkserver's statuses as {@link StatusRuntimeException}, or {@code
   * DATA_LOSS} for a message that arrived damaged or out of place.
   */
  public static final class ReadStream implements AutoCloseable {
    private final long chunkId;
    private final long end;
    private final Iterator<ReadReplicaResponse> responses;
    private final Context.CancellableContext context;
    private long next;

    private ReadStream(long chunkId, long offset, long length,
        Iterator<ReadReplicaResponse> responses, Context.CancellableContext context) {
      this.chunkId = chunkId;
      this.next = offset;
      this.end = offset + length;
      this.responses = responses;
      this.context = context;
    }

    /** The replica offset after the data returned so far. */
    public long position() {
      return next;
    }

    /**
     * The next message's data, a read-only view without a copy; {@code null} once every byte
     * asked for arrived.
     */
    public ByteBuffer next() {
      if (!responses.hasNext()) {
        if (next != end) {
          throw Status.DATA_LOSS.withDescription("chunk " + Long.toUnsignedString(chunkId)
              + ": the read ended at offset " + next + ", expected " + end)
              .asRuntimeException();
        }
        return null;
      }
      ReadReplicaResponse response = responses.next();
      if (response.getOffset() != next) {
        throw Status.DATA_LOSS.withDescription("chunk " + Long.toUnsignedString(chunkId)
            + ": expected data at offset " + next + ", got offset " + response.getOffset())
            .asRuntimeException();
      }
      ByteBuffer data = response.getData().asReadOnlyByteBuffer();
      CRC32C crc = new CRC32C();
      crc.update(data.duplicate());
      if ((int) crc.getValue() != response.getCrc32C()) {
        throw Status.DATA_LOSS.withDescription("chunk " + Long.toUnsignedString(chunkId)
            + ": data at offset " + next + " arrived with a wrong CRC32C").asRuntimeException();
      }
      next += data.remaining();
      return data;
    }

    /** Ends the call if data is still coming; a no-op after the last message. */
    @Override
    public void close() {
      context.cancel(null);
    }
  }

  /** Reads {@code target.remaining()} bytes at {@code offset} into {@code target}. */
  public void read(long chunkId, long generation, long offset, ByteBuffer target, String token) {
    read(chunkId, generation, offset, target.remaining(), token, (at, data) -> target.put(data));
  }

  /** Seals the replica at {@code length}; returns the sealed length. */
  public long seal(long chunkId, long generation, long length, String token) {
    return blocking().sealReplica(SealReplicaRequest.newBuilder().setChunkId(chunkId)
        .setGeneration(generation).setLength(length).setToken(token).build()).getLength();
  }

  /** The replica's generation, lengths and state; the token must grant read or admin. */
  public GetReplicaResponse getReplica(long chunkId, String token) {
    return blocking().getReplica(GetReplicaRequest.newBuilder().setChunkId(chunkId)
        .setToken(token).build());
  }

  /**
   * What the chunkserver offers besides its gRPC service: its id and bulk read port. A
   * chunkserver of a version without the call answers {@code UNIMPLEMENTED}.
   */
  public GetServerInfoResponse serverInfo() {
    return blocking().getServerInfo(GetServerInfoRequest.getDefaultInstance());
  }

  /** Deletes a batch of replicas; one result per entry, in order. */
  public List<ReplicaDeletionResult> deleteReplicas(List<ReplicaDeletion> replicas) {
    return blocking().deleteReplicas(DeleteReplicasRequest.newBuilder()
        .addAllReplicas(replicas).build()).getResultsList();
  }

  /** Raises a sealed replica's generation; returns the new generation. */
  public long bumpGeneration(long chunkId, long generation, long newGeneration, String token) {
    return blocking().bumpGeneration(BumpGenerationRequest.newBuilder().setChunkId(chunkId)
        .setGeneration(generation).setNewGeneration(newGeneration).setToken(token).build())
        .getGeneration();
  }

  /**
   * Asks this chunkserver to copy a sealed replica from {@code source}.
   *
   * @param token grants "admin" on the chunk here
   * @param sourceToken grants "read" on the chunk at the source
   */
  public ReplicateReplicaResponse replicate(long chunkId, long generation, HostPort source,
      String token, String sourceToken) {
    return blocking().replicateReplica(ReplicateReplicaRequest.newBuilder().setChunkId(chunkId)
        .setGeneration(generation).setSourceAddress(source.format()).setToken(token)
        .setSourceToken(sourceToken).build());
  }

  private ChunkServerGrpc.ChunkServerBlockingStub blocking() {
    return ChunkServerGrpc.newBlockingStub(channel)
        .withDeadlineAfter(unaryTimeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** A client sharing this one's channel whose unary calls wait at most {@code timeout}. */
  public ChunkServerClient withUnaryTimeout(Duration timeout) {
    return new ChunkServerClient(channel, timeout);
  }

  /** Closes the channel if {@link #connect} opened it; waits briefly for calls to end. */
  @Override
  public void close() {
    if (owned == null) {
      return;
    }
    owned.shutdown();
    try {
      if (!owned.awaitTermination(1, TimeUnit.SECONDS)) {
        owned.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      owned.shutdownNow();
    }
  }
}
