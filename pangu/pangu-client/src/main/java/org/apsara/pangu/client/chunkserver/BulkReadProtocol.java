package org.apsara.pangu.client.chunkserver;

import io.grpc.Status;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The wire format of the chunkserver's bulk read path: the same reads as gRPC's {@code
 * ReadReplica}, over a plain TCP connection, with the data sent from the replica file by {@code
 * sendfile} and checked by the client against the stored CRC32C of every block. Shared by the
 * server and {@link BulkReadClient}. Stateless; thread-safe.
 *
 * <p>All integers are big-endian. A connection carries any number of requests, one at a time: the
 * client sends a request, reads the whole response, and may then send the next.
 *
 * <pre>
 * request
 *   int     magic 0x50474252 ("PGBR")
 *   short   version (1)
 *   short   operation (1 = read)
 *   long    chunk id
 *   long    generation
 *   long    offset in the replica
 *   long    length
 *   short   token length n, at most {@value #TOKEN_BYTES_MAX}
 *   byte[n] the capability token (UTF-8), granting "read" on "chunk/&lt;id&gt;"
 *
 * response
 *   int     magic 0x50474253 ("PGBS")
 *   byte    status: a gRPC status code, 0 = OK (the same codes and meanings as ReadReplica)
 *   if not OK:
 *     short   message length m, at most {@value #MESSAGE_BYTES_MAX}
 *     byte[m] the message (UTF-8); the connection takes the next request
 *   if OK:
 *     long    data start: the request's offset rounded down to a block boundary
 *     long    data length: up to the end of the block holding the request's end, but never past
 *             the replica's readable length (sealed length, or synced length of an open replica)
 *     then packets until the data length is covered, each
 *       int     data bytes d, 1 to {@value #PACKET_DATA_BYTES_MAX}, or -1 for an abort
 *       int[k]  CRC32C of each of the packet's k = ceil(d / 4096) blocks
 *       byte[d] the data; every packet but the last is whole blocks
 *     an abort is followed by a status byte and a message as above, after which the server closes
 *     the connection; a failure in the middle of a packet closes it without a word
 * </pre>
 *
 * <p>The response covers whole blocks so that every block can be checked against the checksum
 * the chunkserver stored when it was written: the server does not read the data itself (it goes
 * from the page cache to the socket), and the client verifies every block it receives, end to
 * end, as HDFS's clients do.
 */
public final class BulkReadProtocol {
  public static final int REQUEST_MAGIC = 0x50474252; // "PGBR"
  public static final int RESPONSE_MAGIC = 0x50474253; // "PGBS"
  public static final short VERSION = 1;
  public static final short OPERATION_READ = 1;
  /** The unit of checksums: a replica keeps one CRC32C per block of this many bytes. */
  public static final int BLOCK_BYTES = 4096;
  /**
   * Most data bytes in one packet: big enough that the per-packet work (a read of the stored
   * checksums, a header write) is small against the data, small enough that a packet's checksums
   * (4 KiB) are a small buffer on both sides.
   */
  public static final int PACKET_DATA_BYTES_MAX = 4 << 20;
  /** Most bytes of a token: the gRPC path allows about 1,200 characters, with room to grow. */
  public static final int TOKEN_BYTES_MAX = 4096;
  /** Most bytes of an error message; longer ones are cut. */
  public static final int MESSAGE_BYTES_MAX = 2048;
  /** Bytes of a request before the token. */
  public static final int REQUEST_FIXED_BYTES = 4 + 2 + 2 + 8 * 4 + 2;
  /** The data-bytes field of a packet that aborts the response. */
  public static final int PACKET_ABORT = -1;

  private BulkReadProtocol() {}

  /** A read request as it travels. */
  public record ReadRequest(long chunkId, long generation, long offset, long length,
      String token) {}

  /** Encodes a read request; position 0, limit its end. */
  public static ByteBuffer encodeRequest(ReadRequest request) {
    byte[] token = request.token().getBytes(StandardCharsets.UTF_8);
    if (token.length > TOKEN_BYTES_MAX) {
      throw new IllegalArgumentException("a token has at most " + TOKEN_BYTES_MAX
          + " bytes, this one " + token.length);
    }
    ByteBuffer buffer = ByteBuffer.allocate(REQUEST_FIXED_BYTES + token.length);
    buffer.putInt(REQUEST_MAGIC).putShort(VERSION).putShort(OPERATION_READ)
        .putLong(request.chunkId()).putLong(request.generation())
        .putLong(request.offset()).putLong(request.length())
        .putShort((short) token.length).put(token);
    return buffer.flip();
  }

  /** The first block boundary at or below {@code offset}. */
  public static long blockStart(long offset) {
    return offset - offset % BLOCK_BYTES;
  }

  /** Blocks, whole or partial, in {@code bytes} starting at a block boundary. */
  public static int blocks(int bytes) {
    return (bytes + BLOCK_BYTES - 1) / BLOCK_BYTES;
  }

  /** The UTF-8 bytes of a message, cut to {@link #MESSAGE_BYTES_MAX}. */
  public static byte[] messageBytes(String message) {
    byte[] bytes = String.valueOf(message).getBytes(StandardCharsets.UTF_8);
    if (bytes.length <= MESSAGE_BYTES_MAX) {
      return bytes;
    }
    byte[] cut = new byte[MESSAGE_BYTES_MAX];
    System.arraycopy(bytes, 0, cut, 0, MESSAGE_BYTES_MAX);
    return cut;
  }

  /**
   * Reads an error's message, which follows its status byte {@code code}; returns the error they
   * describe.
   */
  static Status readStatus(int code, DataInputStream in) throws IOException {
    int length = in.readUnsignedShort();
    if (length > MESSAGE_BYTES_MAX) {
      throw new IOException("an error message of " + length + " bytes, more than the "
          + MESSAGE_BYTES_MAX + " allowed");
    }
    byte[] message = new byte[length];
    in.readFully(message);
    Status status = Status.fromCodeValue(code);
    if (status.isOk() || status.getCode() == Status.Code.UNKNOWN && code != 2) {
      throw new IOException("the server answered the unknown error status " + code);
    }
    return status.withDescription(new String(message, StandardCharsets.UTF_8));
  }

  /** Reads exactly the response magic, or fails. */
  static void readResponseMagic(DataInputStream in) throws IOException {
    int magic;
    try {
      magic = in.readInt();
    } catch (EOFException e) {
      throw new EOFException("the chunkserver closed the connection before answering");
    }
    if (magic != RESPONSE_MAGIC) {
      throw new IOException(String.format("not a bulk read response: magic 0x%08x", magic));
    }
  }
}
