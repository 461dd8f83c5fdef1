package org.apsara.pangu.client;

import io.grpc.Status;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32C;
import org.apsara.pangu.client.chunkserver.BulkReadProtocol;
import org.apsara.pangu.client.chunkserver.BulkWriteProtocol;

/**
 * The bulk read path of a {@link FakeChunkServer}: {@link BulkReadProtocol} over its in-memory
 * replicas (every byte readable, checksums computed as it sends), with faults a test can switch
 * on. A thread per connection; closes them all on {@link #close}.
 */
final class FakeBulkServer implements AutoCloseable {
  private final FakeChunkServer replicas;
  private final ServerSocket listener;
  private final Thread acceptor;
  private final CopyOnWriteArrayList<Socket> sockets = new CopyOnWriteArrayList<>();
  /** Requests answered (refusals included). */
  final AtomicInteger requests = new AtomicInteger();
  /** Connections accepted. */
  final AtomicInteger connections = new AtomicInteger();
  /** Flip one byte of this block on the way (its checksum is of the true bytes); -1: none. */
  volatile long corruptBlock = -1;
  /** Close the connection after sending this many data bytes of an answer. */
  volatile long closeAfterBytes = Long.MAX_VALUE;
  /** Answer every read with this error (null: serve them). */
  volatile Status.Code answerReadsWith;
  /** The status every bulk write header is refused with (this fake applies no bulk write). */
  volatile Status.Code refuseWritesWith = Status.Code.RESOURCE_EXHAUSTED;
  /** Bulk write headers refused. */
  final AtomicInteger writesRefused = new AtomicInteger();

  FakeBulkServer(FakeChunkServer replicas) throws IOException {
    this.replicas = replicas;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.acceptor = new Thread(this::acceptLoop, "fake-bulk-" + replicas.id);
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return listener.getLocalPort();
  }

  private void acceptLoop() {
    while (!listener.isClosed()) {
      try {
        Socket socket = listener.accept();
        sockets.add(socket);
        connections.incrementAndGet();
        Thread thread = new Thread(() -> serve(socket), "fake-bulk-connection");
        thread.setDaemon(true);
        thread.start();
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void serve(Socket socket) {
    try (socket) {
      DataInputStream in = new DataInputStream(socket.getInputStream());
      DataOutputStream out = new DataOutputStream(socket.getOutputStream());
      while (true) {
        int magic;
        try {
          magic = in.readInt();
        } catch (EOFException e) {
          return;
        }
        if (magic != BulkReadProtocol.REQUEST_MAGIC) {
          return;
        }
        in.readShort();
        short operation = in.readShort();
        long chunkId = in.readLong();
        in.readLong();
        long offset = in.readLong();
        long length = in.readLong();
        in.readFully(new byte[in.readUnsignedShort()]);
        if (operation == BulkWriteProtocol.OPERATION_WRITE) {
          writesRefused.incrementAndGet();
          byte[] message = ("fake write refusal on " + replicas.id)
              .getBytes(StandardCharsets.UTF_8);
          out.writeInt(BulkReadProtocol.RESPONSE_MAGIC);
          out.writeByte(refuseWritesWith.value());
          out.writeShort(message.length);
          out.write(message);
          out.flush();
          return;
        }
        requests.incrementAndGet();
        byte[] replica = replicas.replica(chunkId);
        out.writeInt(BulkReadProtocol.RESPONSE_MAGIC);
        if (replica == null || offset + length > replica.length || answerReadsWith != null) {
          Status.Code code = answerReadsWith != null ? answerReadsWith
              : replica == null ? Status.Code.NOT_FOUND : Status.Code.OUT_OF_RANGE;
          byte[] message = ("fake refusal on " + replicas.id).getBytes(StandardCharsets.UTF_8);
          out.writeByte(code.value());
          out.writeShort(message.length);
          out.write(message);
          out.flush();
          continue;
        }
        long start = BulkReadProtocol.blockStart(offset);
        long end = length == 0 ? start : Math.min(replica.length,
            BulkReadProtocol.blockStart(offset + length - 1) + BulkReadProtocol.BLOCK_BYTES);
        out.writeByte(0);
        out.writeLong(start);
        out.writeLong(end - start);
        if (!sendPackets(out, socket.getOutputStream(), replica, start, end)) {
          return;
        }
        out.flush();
      }
    } catch (IOException e) {
      // The client went away.
    }
  }

  /** False if the connection was closed on purpose in the middle. */
  private boolean sendPackets(DataOutputStream out, OutputStream raw, byte[] replica, long start,
      long end) throws IOException {
    long sent = 0;
    for (long at = start; at < end; ) {
      int packet = (int) Math.min(1 << 20, end - at); // smaller than the limit: many packets
      out.writeInt(packet);
      for (int block = 0; block < packet; block += BulkReadProtocol.BLOCK_BYTES) {
        CRC32C crc = new CRC32C();
        crc.update(replica, (int) at + block,
            Math.min(BulkReadProtocol.BLOCK_BYTES, packet - block));
        out.writeInt((int) crc.getValue());
      }
      byte[] data = java.util.Arrays.copyOfRange(replica, (int) at, (int) at + packet);
      long corrupt = corruptBlock * BulkReadProtocol.BLOCK_BYTES;
      if (corrupt >= at && corrupt < at + packet) {
        data[(int) (corrupt - at)] ^= 0x5a;
      }
      long allowed = closeAfterBytes - sent;
      if (allowed < packet) {
        out.write(data, 0, (int) Math.max(0, allowed));
        out.flush();
        return false;
      }
      out.write(data);
      sent += packet;
      at += packet;
    }
    return true;
  }

  @Override
  public void close() throws IOException {
    listener.close();
    for (Socket socket : sockets) {
      socket.close();
    }
  }
}
