package org.apsara.pangu.chunkserver.server;

import static org.apsara.pangu.chunkserver.server.ChunkServerFixture.content;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.DataInputStream;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.apsara.common.net.HostPort;
import org.apsara.common.time.MonotonicClock;
import org.apsara.pangu.api.ChunkCapabilities;
import org.apsara.pangu.chunkserver.store.ChunkStore;
import org.apsara.pangu.client.chunkserver.BulkReadClient;
import org.apsara.pangu.client.chunkserver.BulkReadClient.BulkReadStream;
import org.apsara.pangu.client.chunkserver.BulkReadProtocol;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.apsara.pangu.client.chunkserver.ReplicaWriter;
import org.apsara.security.token.CapabilityTokenVerifier;
import org.apsara.security.token.TokenKeyFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bulk read path against a real chunkserver: ranges, errors, open replicas, connections. */
class BulkReadTest {
  private static final long CHUNK = 0x77;
  private static final long GENERATION = 3;
  private static final int BLOCK = ChunkStore.BLOCK_SIZE_BYTES;
  /** Several packets, ending in a partial block. */
  private static final int LENGTH = 2 * BulkReadProtocol.PACKET_DATA_BYTES_MAX / 3 * 2 + 1000;
  private static final long SEED = 21;
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @TempDir Path directory;
  private ChunkServerFixture fixture;
  private ChunkServer server;
  private ChunkServerClient grpc;
  private BulkReadClient bulk;

  @BeforeEach
  void start() throws Exception {
    fixture = new ChunkServerFixture(directory);
    server = fixture.start("cs1", builder -> builder.chunkSizeBytes(8L << 20));
    grpc = fixture.client(server);
    write(CHUNK, LENGTH, true);
    int port = grpc.serverInfo().getBulkReadPort();
    assertThat(port).isEqualTo(server.bulkReadPort()).isPositive();
    bulk = new BulkReadClient(HostPort.of("127.0.0.1", port), MonotonicClock.SYSTEM);
  }

  @AfterEach
  void stop() throws Exception {
    bulk.close();
    fixture.close();
  }

  private void write(long chunkId, int length, boolean seal) throws Exception {
    try (ReplicaWriter writer = grpc.openWriter(chunkId, GENERATION, fixture.write(chunkId), true,
        0)) {
      writer.write(ByteBuffer.wrap(content(SEED, 0, length)), false);
      writer.finish(TIMEOUT);
    }
    if (seal) {
      grpc.seal(chunkId, GENERATION, length, fixture.admin(chunkId));
    }
  }

  private byte[] read(long offset, int length, int callerBufferBytes) {
    return read(bulk, offset, length, callerBufferBytes);
  }

  private byte[] read(BulkReadClient client, long offset, int length, int callerBufferBytes) {
    byte[] result = new byte[length];
    try (BulkReadStream stream = client.openRead(CHUNK, GENERATION, offset, length,
        fixture.read(CHUNK), TIMEOUT)) {
      int done = 0;
      while (true) {
        int n = stream.read(result, done, Math.min(callerBufferBytes, length - done));
        if (n < 0) {
          break;
        }
        assertThat(n).isPositive();
        done += n;
        assertThat(stream.position()).isEqualTo(offset + done);
      }
      assertThat(done).isEqualTo(length);
    }
    return result;
  }

  @Test
  void readsAnyRangeWithAnyCallerBufferAndReusesOneConnection() {
    // A client on this machine: the data is copied through a buffer.
    readsEveryRange(bulk);
    // Every read took the one connection, which went back to the pool each time.
    assertThat(server.bulkReadServer().connectionCount()).isEqualTo(1);
    assertThat(server.metrics().get("pangu_chunkserver_bulk_read_bytes").counter().count())
        .isPositive();
  }

  @Test
  void readsAnyRangeSentWithSendfileAsForAClientOnAnotherMachine() throws Exception {
    try (BulkReadServer sendfile = startServer(BulkReadServer.IDLE_TIMEOUT,
            BulkReadServer.DataSend.SENDFILE);
        BulkReadClient client = new BulkReadClient(HostPort.of("127.0.0.1", sendfile.port()),
            MonotonicClock.SYSTEM)) {
      readsEveryRange(client);
    }
  }

  @Test
  void aLoopbackClientIsOnThisMachine() throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Socket client = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
        Socket accepted = listener.accept()) {
      assertThat(BulkReadServer.isSameHost(accepted)).isTrue();
      assertThat(BulkReadServer.isSameHost(client)).isTrue();
    }
  }

  private void readsEveryRange(BulkReadClient client) {
    long[][] ranges = {
        {0, LENGTH}, {0, BLOCK}, {1, BLOCK}, {BLOCK - 1, 2}, {100, 3 * BLOCK + 7},
        {LENGTH - 1000, 1000}, {LENGTH - 1, 1}, {LENGTH - 5000, 4000}, {LENGTH, 0},
        {BulkReadProtocol.PACKET_DATA_BYTES_MAX - 10, 20}};
    int[] callerBuffers = {1, 1000, BLOCK, 3 * BLOCK + 1, 1 << 20, Integer.MAX_VALUE};
    for (long[] range : ranges) {
      for (int buffer : callerBuffers) {
        byte[] expected = content(SEED, range[0], (int) range[1]);
        assertThat(read(client, range[0], (int) range[1], buffer))
            .as("%d bytes at %d, caller buffer %d", range[1], range[0], buffer)
            .isEqualTo(expected);
      }
    }
  }

  @Test
  void refusalsCarryReadReplicasStatusesAndKeepTheConnection() throws Exception {
    String read = fixture.read(CHUNK);
    assertStatus(() -> bulk.openRead(CHUNK + 1, GENERATION, 0, 1, fixture.read(CHUNK + 1),
        TIMEOUT), Status.Code.NOT_FOUND, "chunk " + (CHUNK + 1));
    assertStatus(() -> bulk.openRead(CHUNK, GENERATION + 1, 0, 1, read, TIMEOUT),
        Status.Code.FAILED_PRECONDITION, "generation");
    assertStatus(() -> bulk.openRead(CHUNK, GENERATION, LENGTH - 10, 11, read, TIMEOUT),
        Status.Code.OUT_OF_RANGE, "the replica has " + LENGTH + " readable");
    assertStatus(() -> bulk.openRead(CHUNK, GENERATION, 0, 1, "", TIMEOUT),
        Status.Code.UNAUTHENTICATED, "no capability token");
    assertStatus(() -> bulk.openRead(CHUNK, GENERATION, 0, 1, read + "x", TIMEOUT),
        Status.Code.UNAUTHENTICATED, "capability token rejected");
    assertStatus(() -> bulk.openRead(CHUNK, GENERATION, 0, 1, fixture.read(CHUNK + 1), TIMEOUT),
        Status.Code.PERMISSION_DENIED, "RESOURCE_MISMATCH");
    assertStatus(() -> bulk.openRead(CHUNK, GENERATION, 0, 1,
        fixture.token(CHUNK, ChunkCapabilities.WRITE), TIMEOUT),
        Status.Code.PERMISSION_DENIED, "OPERATION_NOT_GRANTED");
    assertStatus(() -> bulk.openRead(-1, GENERATION, 0, 1, read, TIMEOUT),
        Status.Code.INVALID_ARGUMENT, "below 2^63");
    // Each refusal answered the request in full: the connection served them all, and serves on.
    assertThat(read(0, 10, 10)).isEqualTo(content(SEED, 0, 10));
    assertThat(server.bulkReadServer().connectionCount()).isEqualTo(1);
  }

  private static void assertStatus(Runnable call, Status.Code code, String inMessage) {
    assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(code);
      assertThat(e.getStatus().getDescription()).contains(inMessage);
      assertThat(BulkReadClient.isTransportFailure(e)).isFalse();
    });
  }

  @Test
  void aCorruptBlockIsFoundByTheClientNamingTheBlock() throws Exception {
    long position = 5L * BLOCK + 17;
    try (RandomAccessFile file =
        new RandomAccessFile(ChunkServerFixture.dataFile(server, CHUNK).toFile(), "rw")) {
      file.seek(position);
      int value = file.read();
      file.seek(position);
      file.write(~value & 0xff);
    }
    assertThatThrownBy(() -> read(0, LENGTH, 1 << 20))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DATA_LOSS);
          assertThat(e.getStatus().getDescription()).contains("chunk " + CHUNK)
              .contains("checksum mismatch in block 5");
        });
    // Blocks around it still verify.
    assertThat(read(0, 5 * BLOCK, BLOCK)).isEqualTo(content(SEED, 0, 5 * BLOCK));
    assertThat(read(6L * BLOCK, BLOCK, 100)).isEqualTo(content(SEED, 6L * BLOCK, BLOCK));
  }

  @Test
  void anOpenReplicaIsReadUpToItsSyncedLengthNeverBeyond() throws Exception {
    long chunk = CHUNK + 10;
    int synced = 3 * BLOCK + 123; // its last block partial: the server checksums it itself
    int unsynced = 2 * BLOCK;
    try (ReplicaWriter writer = grpc.openWriter(chunk, GENERATION, fixture.write(chunk), true,
        0)) {
      writer.write(ByteBuffer.wrap(content(SEED, 0, synced)), true);
      writer.awaitSynced(synced, TIMEOUT);
      writer.write(ByteBuffer.wrap(content(SEED, synced, unsynced)), false);
      await().atMost(TIMEOUT).until(() -> server.store().replica(chunk).orElseThrow().length()
          == synced + unsynced);
      assertThat(server.store().replica(chunk).orElseThrow().syncedLength()).isEqualTo(synced);

      String token = fixture.read(chunk);
      byte[] whole = new byte[synced];
      try (BulkReadStream stream = bulk.openRead(chunk, GENERATION, 0, synced, token, TIMEOUT)) {
        stream.readFully(whole, 0, synced);
        assertThat(stream.read(new byte[1], 0, 1)).isEqualTo(-1);
      }
      assertThat(whole).isEqualTo(content(SEED, 0, synced));
      byte[] tail = new byte[100];
      try (BulkReadStream stream = bulk.openRead(chunk, GENERATION, synced - 100, 100, token,
          TIMEOUT)) {
        stream.readFully(tail, 0, 100);
      }
      assertThat(tail).isEqualTo(content(SEED, synced - 100, 100));
      // The appended but unsynced bytes are there, and ReadReplica would send them; this path
      // does not.
      assertStatus(() -> bulk.openRead(chunk, GENERATION, synced, 1, token, TIMEOUT),
          Status.Code.OUT_OF_RANGE, "the replica has " + synced + " readable");
      writer.finish(TIMEOUT);
    }
  }

  @Test
  void malformedRequestsAreRefusedAndTheConnectionClosed() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", server.bulkReadPort())) {
      ByteBuffer request = BulkReadProtocol.encodeRequest(
          new BulkReadProtocol.ReadRequest(CHUNK, GENERATION, 0, 1, fixture.read(CHUNK)));
      request.putShort(4, (short) 99); // a version this server does not speak
      socket.getOutputStream().write(request.array(), 0, request.limit());
      DataInputStream in = new DataInputStream(socket.getInputStream());
      assertThat(in.readInt()).isEqualTo(BulkReadProtocol.RESPONSE_MAGIC);
      assertThat(in.readUnsignedByte()).isEqualTo(Status.Code.INVALID_ARGUMENT.value());
      byte[] message = new byte[in.readUnsignedShort()];
      in.readFully(message);
      assertThat(new String(message)).contains("version 99");
      assertThat(in.read()).isEqualTo(-1);
    }
  }

  @Test
  void idleConnectionsAreClosedAndTheClientRetriesOnANewOne() throws Exception {
    try (BulkReadServer quick = startServer(Duration.ofMillis(200),
            BulkReadServer.DataSend.BY_CLIENT_HOST);
        BulkReadClient client = new BulkReadClient(HostPort.of("127.0.0.1", quick.port()),
            MonotonicClock.SYSTEM)) {
      byte[] first = new byte[BLOCK];
      try (BulkReadStream stream = client.openRead(CHUNK, GENERATION, 0, BLOCK,
          fixture.read(CHUNK), TIMEOUT)) {
        stream.readFully(first, 0, BLOCK);
      }
      assertThat(quick.connectionCount()).isEqualTo(1);
      // The server drops the idle connection the client still keeps.
      await().atMost(TIMEOUT).until(() -> quick.connectionCount() == 0);
      byte[] second = new byte[BLOCK];
      try (BulkReadStream stream = client.openRead(CHUNK, GENERATION, BLOCK, BLOCK,
          fixture.read(CHUNK), TIMEOUT)) {
        stream.readFully(second, 0, BLOCK);
      }
      assertThat(second).isEqualTo(content(SEED, BLOCK, BLOCK));
    }
  }

  /** A second bulk read server on the same store, with its own idle timeout and data send. */
  private BulkReadServer startServer(Duration idleTimeout, BulkReadServer.DataSend dataSend)
      throws Exception {
    TokenGate tokens = new TokenGate(new CapabilityTokenVerifier(
        TokenKeyFile.load(fixture.keyFile), Clock.systemUTC()),
        new ChunkServerMetrics(new SimpleMeterRegistry()));
    return BulkReadServer.start("127.0.0.1", 0, server.store(), tokens,
        new ChunkServerMetrics(new SimpleMeterRegistry()), MonotonicClock.SYSTEM, idleTimeout,
        BulkReadServer.STALL_TIMEOUT, dataSend);
  }
}
