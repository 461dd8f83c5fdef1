package org.apsara.pangu.chunkserver.server;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Detachable;
import io.grpc.HasByteBuffer;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apsara.pangu.api.v1.WriteReplicaRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parses WriteReplica messages without copying their data: a packet's {@code data} is a view of
 * the network buffers the message arrived in (direct Netty buffers, usually one per HTTP/2 frame),
 * which then go to the checksum and to the file as they are.
 *
 * <p>gRPC's default marshaller copies a message twice on the way in (network buffers into a
 * scratch array, then the data field into an array of its own), and a 1 MiB array per packet is
 * a humongous allocation for G1. Here the message's stream is detached from gRPC (so gRPC does
 * not free its buffers when the parse returns), marked (so that reading through it keeps every
 * buffer instead of releasing each as it is passed), and parsed with aliasing over the buffers.
 *
 * <p>Ownership: a message parsed this way holds network buffers until {@link #release} is called
 * with it, which the receiver must do exactly once, when it is done with the data, on every path.
 * gRPC hands a parsed request to the call's listener at once on the same thread, so every parsed
 * message reaches {@link WriteReplicaCall}. Messages without data hold nothing.
 *
 * <p>When the stream does not offer its buffers (another transport, heap buffers mixed in), the
 * message is parsed with the default, copying marshaller: slower, never wrong.
 *
 * <p>Thread-safe.
 */
final class WriteRequestMarshaller implements MethodDescriptor.Marshaller<WriteReplicaRequest> {
  private static final Logger LOG = LoggerFactory.getLogger(WriteRequestMarshaller.class);

  private final MethodDescriptor.Marshaller<WriteReplicaRequest> copying =
      ProtoUtils.marshaller(WriteReplicaRequest.getDefaultInstance());
  /** Parsed messages and the detached streams whose buffers their data views. */
  private final Map<WriteReplicaRequest, InputStream> retained = new IdentityHashMap<>();
  private final AtomicLong aliased = new AtomicLong();
  private final AtomicLong copied = new AtomicLong();

  @Override
  public InputStream stream(WriteReplicaRequest value) {
    return copying.stream(value);
  }

  @Override
  public WriteReplicaRequest parse(InputStream stream) {
    if (!(stream instanceof Detachable) || !(stream instanceof HasByteBuffer)
        || !(stream instanceof KnownLength) || !((HasByteBuffer) stream).byteBufferSupported()
        || !stream.markSupported()) {
      copied.incrementAndGet();
      return copying.parse(stream);
    }
    InputStream detached = ((Detachable) stream).detach();
    boolean keep = false;
    try {
      int size = detached.available();
      detached.mark(size);
      List<ByteString> pieces = new ArrayList<>();
      // Each step either takes a non-empty buffer or moves past an exhausted one; bound the loop
      // anyway, so that a stream behaving otherwise fails instead of spinning.
      for (int steps = 0; detached.available() > 0; steps++) {
        ByteBuffer piece = ((HasByteBuffer) detached).getByteBuffer();
        if (piece == null || steps > 2 * size + 2) {
          throw new IOException("the message's stream stopped offering its buffers");
        }
        int length = piece.remaining();
        if (length > 0) {
          pieces.add(UnsafeByteOperations.unsafeWrap(piece));
        }
        if (detached.skip(length) != length) {
          throw new IOException("the message's stream skipped less than it offered");
        }
      }
      detached.reset();
      CodedInputStream input = ByteString.copyFrom(pieces).newCodedInput();
      input.enableAliasing(true);
      WriteReplicaRequest request = WriteReplicaRequest.parseFrom(input);
      ByteString data = request.getPacket().getData();
      if (data.isEmpty()) {
        return request; // nothing refers to the buffers: free them now
      }
      boolean direct = true;
      for (ByteBuffer buffer : data.asReadOnlyByteBufferList()) {
        direct &= buffer.isDirect();
      }
      (direct ? aliased : copied).incrementAndGet();
      synchronized (retained) {
        retained.put(request, detached);
      }
      keep = true;
      return request;
    } catch (InvalidProtocolBufferException e) {
      throw Status.INVALID_ARGUMENT.withDescription("a WriteReplica message does not parse: "
          + e.getMessage()).withCause(e).asRuntimeException();
    } catch (IOException e) {
      throw Status.INTERNAL.withDescription("reading a WriteReplica message failed: " + e)
          .withCause(e).asRuntimeException();
    } finally {
      if (!keep) {
        close(detached);
      }
    }
  }

  /**
   * Frees the network buffers {@code request}'s data views; the data must not be read after.
   * A no-op for messages that hold none.
   */
  void release(WriteReplicaRequest request) {
    InputStream stream;
    synchronized (retained) {
      stream = retained.remove(request);
    }
    if (stream != null) {
      close(stream);
    }
  }

  /** Messages parsed and not yet released; 0 between packets. */
  int retainedCount() {
    synchronized (retained) {
      return retained.size();
    }
  }

  /** Packets whose data arrived as views of direct network buffers. */
  long aliasedPackets() {
    return aliased.get();
  }

  /**
   * Messages parsed by copying: the stream did not offer its buffers (any message, headers too),
   * or a packet's data came out as a copy because some of its buffers were on the heap.
   */
  long copiedPackets() {
    return copied.get();
  }

  private static void close(InputStream stream) {
    try {
      stream.close();
    } catch (IOException e) {
      LOG.debug("closing a detached message stream failed", e);
    }
  }
}
