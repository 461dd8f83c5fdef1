package org.apsara.pangu.client.chunkserver;

import io.grpc.Status;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The wire format of the chunkserver's bulk write path: the appends of gRPC's {@code
 * WriteReplica}, over a plain TCP connection to the bulk data port (the port of {@link
 * BulkReadProtocol}, told by {@code GetServerInfo}). Shared by the server and {@link
 * BulkReplicaWriter}. Stateless; thread-safe.
 *
 * <p>All integers are big-endian. A connection carries one write: a header, then packets, each
 * appended in order; acknowledgements flow back on the same connection while packets keep
 * coming (the client does not wait for one before sending the next).
 *
 * <pre>
 * header (client), the layout of a bulk read request with operation 2
 *   int     magic 0x50474252 ("PGBR")
 *   short   version (1)
 *   short   operation (2 = write)
 *   long    chunk id
 *   long    generation
 *   long    start offset: the replica's length, where the first packet goes (0 when creating)
 *   long    flags: bit 0 = create the replica; every other bit must be 0
 *   short   token length n, at most {@value BulkReadProtocol#TOKEN_BYTES_MAX}
 *   byte[n] the capability token (UTF-8), granting "write" on "chunk/&lt;id&gt;"
 *
 * answer (server), sent once the header is checked (and the replica created), before any packet
 * is applied
 *   int     magic 0x50474253 ("PGBS")
 *   byte    status: a gRPC status code, 0 = OK (the codes and meanings of WriteReplica)
 *   if not OK: short message length m, byte[m] message (UTF-8); the server closes
 *
 * packet (client), any number after the header
 *   int     data bytes d, 0 to {@value #PACKET_DATA_BYTES_MAX}
 *   byte    flags: bit 0 = sync (force and acknowledge after appending), bit 1 = finish (the
 *           last packet: d is 0; the server syncs, acknowledges with FINISHED and closes)
 *   long    offset in the replica: the end of everything sent before
 *   int     CRC32C of the data
 *   byte[d] the data
 *
 * message (server), after an OK answer
 *   byte    kind: 1 = ack, 2 = finished, 3 = error
 *   ack, finished:
 *     long    the replica's synced length, forced to disk before the message is sent
 *   error:
 *     byte    status (as in the answer), short m, byte[m] message; nothing after the failing
 *             packet is applied, and the server closes
 * </pre>
 *
 * <p>An ack is cumulative and sent only after the bytes it names are forced: nothing is
 * acknowledged that is not durable. A connection that ends without FINISHED (the client vanished,
 * or closed mid-packet) keeps every whole packet appended before, durable up to the last ack;
 * a packet cut short is never appended.
 */
public final class BulkWriteProtocol {
  /** The protocol version, in the header and in {@code GetServerInfo}'s bulk_write_version. */
  public static final short VERSION = 1;
  public static final short OPERATION_WRITE = 2;
  /** Header flag: create the replica (its start offset is then 0). */
  public static final long FLAG_CREATE = 1;
  /** Packet flag: force everything appended so far and acknowledge it. */
  public static final byte PACKET_SYNC = 1;
  /** Packet flag: the last packet; the server syncs, answers FINISHED and closes. */
  public static final byte PACKET_FINISH = 2;
  /**
   * Most data bytes in one packet: the size of a gRPC data message, so that both paths cut a
   * write the same way, and the server's per-connection receive buffer stays at 1 MiB.
   */
  public static final int PACKET_DATA_BYTES_MAX = 1 << 20;
  /** Bytes of a packet before its data. */
  public static final int PACKET_HEADER_BYTES = 4 + 1 + 8 + 4;
  public static final byte MESSAGE_ACK = 1;
  public static final byte MESSAGE_FINISHED = 2;
  public static final byte MESSAGE_ERROR = 3;
  /** Bytes of an ack or finished message. */
  public static final int ACK_BYTES = 1 + 8;

  private BulkWriteProtocol() {}

  /** A write header as it travels. */
  public record WriteHeader(long chunkId, long generation, long startOffset, boolean create,
      String token) {}

  /** Encodes a write header; position 0, limit its end. */
  public static ByteBuffer encodeHeader(WriteHeader header) {
    byte[] token = header.token().getBytes(StandardCharsets.UTF_8);
    if (token.length > BulkReadProtocol.TOKEN_BYTES_MAX) {
      throw new IllegalArgumentException("a token has at most "
          + BulkReadProtocol.TOKEN_BYTES_MAX + " bytes, this one " + token.length);
    }
    ByteBuffer buffer = ByteBuffer.allocate(BulkReadProtocol.REQUEST_FIXED_BYTES + token.length);
    buffer.putInt(BulkReadProtocol.REQUEST_MAGIC).putShort(VERSION).putShort(OPERATION_WRITE)
        .putLong(header.chunkId()).putLong(header.generation()).putLong(header.startOffset())
        .putLong(header.create() ? FLAG_CREATE : 0)
        .putShort((short) token.length).put(token);
    return buffer.flip();
  }

  /** Writes a packet's header into {@code target} (cleared first); flipped for sending. */
  public static ByteBuffer encodePacketHeader(ByteBuffer target, int dataBytes, byte flags,
      long offset, int crc32c) {
    target.clear();
    target.putInt(dataBytes).put(flags).putLong(offset).putInt(crc32c);
    return target.flip();
  }

  /** Encodes an ack ({@link #MESSAGE_ACK}) or {@link #MESSAGE_FINISHED} message into target. */
  public static ByteBuffer encodeAck(ByteBuffer target, byte kind, long syncedLength) {
    target.clear();
    target.put(kind).putLong(syncedLength);
    return target.flip();
  }

  /** Encodes an error message: kind, status byte, message. */
  public static ByteBuffer encodeError(Status status) {
    byte[] message = BulkReadProtocol.messageBytes(status.getDescription());
    ByteBuffer bytes = ByteBuffer.allocate(1 + 1 + 2 + message.length);
    bytes.put(MESSAGE_ERROR).put((byte) status.getCode().value())
        .putShort((short) message.length).put(message);
    return bytes.flip();
  }

  /**
   * The status of an error whose code was read; {@code message} holds the message's bytes.
   *
   * @throws IOException if the code is not one a server sends
   */
  static Status errorStatus(int code, byte[] message) throws IOException {
    Status status = Status.fromCodeValue(code);
    if (status.isOk() || status.getCode() == Status.Code.UNKNOWN && code != 2) {
      throw new IOException("the chunkserver answered the unknown error status " + code);
    }
    return status.withDescription(new String(message, StandardCharsets.UTF_8));
  }
}
