package org.apsara.pangu.chunkserver.server;

import static org.apsara.pangu.chunkserver.server.ChunkServerFixture.content;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;
import org.apsara.common.net.HostPort;
import org.apsara.common.time.MonotonicClock;
import org.apsara.pangu.api.v1.GetReplicaResponse;
import org.apsara.pangu.chunkserver.store.ChunkStore;
import org.apsara.pangu.client.chunkserver.BulkReadProtocol;
import org.apsara.pangu.client.chunkserver.BulkReplicaWriter;
import org.apsara.pangu.client.chunkserver.BulkWriteProtocol;
import org.apsara.pangu.client.chunkserver.BulkWriteProtocol.WriteHeader;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.apsara.security.token.CapabilityTokenVerifier;
import org.apsara.security.token.TokenKeyFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bulk write path: against a real chunkserver (round trip, refusals, a misbehaving client)
 * and, where the order of the disk's force and the ack must be observed, a session over a store
 * whose syncs the test holds.
 */
class BulkWriteTest {
  private static final long CHUNK = 0x5a;
  private static final long GENERATION = 3;
  private static final long SEED = 77;
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final int PACKET = BulkWriteProtocol.PACKET_DATA_BYTES_MAX;

  @TempDir Path directory;
  private ChunkServerFixture fixture;
  private ChunkServer server;
  private ChunkServerClient grpc;
  private HostPort bulk;
  /** The store of the session test, which runs a session without a chunkserver around it. */
  private ChunkStore heldStore;

  @BeforeEach
  void start() throws Exception {
    fixture = new ChunkServerFixture(directory);
    server = fixture.start("cs1", builder -> builder.chunkSizeBytes(8L << 20));
    grpc = fixture.client(server);
    var info = grpc.serverInfo();
    assertThat(info.getBulkWriteVersion()).isEqualTo(BulkWriteProtocol.VERSION);
    bulk = HostPort.of("127.0.0.1", info.getBulkReadPort());
  }

  @AfterEach
  void stop() throws Exception {
    if (heldStore != null) {
      heldStore.close();
    }
    fixture.close();
  }

  private BulkReplicaWriter open(long chunkId, long generation, String token, boolean create,
      long startOffset) {
    return BulkReplicaWriter.open(bulk, chunkId, generation, token, create, startOffset, TIMEOUT);
  }

  private static ByteBuffer direct(byte[] bytes) {
    return ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
  }

  @Test
  void writesPacketsThatReadBackAndFinishesAtTheirEnd() throws Exception {
    int length = 2 * PACKET + 12_345; // three packets, the last one not block-aligned
    byte[] bytes = content(SEED, 0, length);
    try (BulkReplicaWriter writer = open(CHUNK, GENERATION, fixture.write(CHUNK), true, 0)) {
      writer.write(direct(bytes), false);
      assertThat(writer.offset()).isEqualTo(length);
      assertThat(writer.finish(TIMEOUT)).isEqualTo(length);
    }
    GetReplicaResponse replica = grpc.getReplica(CHUNK, fixture.read(CHUNK));
    assertThat(replica.getLength()).isEqualTo(length);
    assertThat(replica.getSyncedLength()).isEqualTo(length);
    ByteBuffer read = ByteBuffer.allocate(length);
    grpc.read(CHUNK, GENERATION, 0, read, fixture.read(CHUNK));
    assertThat(read.array()).isEqualTo(bytes);
    assertThat(server.metrics().get("pangu_chunkserver_bulk_written_bytes").counter().count())
        .isEqualTo(length);
  }

  @Test
  void continuesAnOpenReplicaAtItsLength() throws Exception {
    try (BulkReplicaWriter writer = open(CHUNK, GENERATION, fixture.write(CHUNK), true, 0)) {
      writer.write(ByteBuffer.wrap(content(SEED, 0, 5000)), true);
      assertThat(writer.awaitSynced(5000, TIMEOUT)).isEqualTo(5000);
      writer.close(); // abandoned without finishing: what was synced stays
    }
    await().atMost(TIMEOUT).until(() -> server.bulkReadServer().connectionCount() == 0);
    try (BulkReplicaWriter writer = open(CHUNK, GENERATION, fixture.write(CHUNK), false, 5000)) {
      writer.write(ByteBuffer.wrap(content(SEED, 5000, 3000)), false);
      assertThat(writer.finish(TIMEOUT)).isEqualTo(8000);
    }
    ByteBuffer read = ByteBuffer.allocate(8000);
    grpc.read(CHUNK, GENERATION, 0, read, fixture.read(CHUNK));
    assertThat(read.array()).isEqualTo(content(SEED, 0, 8000));
  }

  @Test
  void refusalsCarryWriteReplicasStatusesFromTheWritersFirstCall() throws Exception {
    try (BulkReplicaWriter writer = open(CHUNK, GENERATION, fixture.write(CHUNK), true, 0)) {
      writer.write(ByteBuffer.wrap(content(SEED, 0, 100)), false);
      writer.finish(TIMEOUT);
    }
    assertRefused(open(CHUNK, GENERATION, "", true, 0), Status.Code.UNAUTHENTICATED, "token");
    assertRefused(open(CHUNK, GENERATION, fixture.read(CHUNK), false, 100),
        Status.Code.PERMISSION_DENIED, "write");
    assertRefused(open(CHUNK, GENERATION, fixture.write(CHUNK + 1), false, 100),
        Status.Code.PERMISSION_DENIED, "chunk/");
    assertRefused(open(CHUNK, GENERATION - 1, fixture.write(CHUNK), false, 100),
        Status.Code.FAILED_PRECONDITION, "generation");
    assertRefused(open(CHUNK, GENERATION, fixture.write(CHUNK), false, 99),
        Status.Code.FAILED_PRECONDITION, "offset 99");
    assertRefused(open(CHUNK, GENERATION, fixture.write(CHUNK), true, 0),
        Status.Code.ALREADY_EXISTS, "");
    assertRefused(open(CHUNK + 1, GENERATION, fixture.write(CHUNK + 1), false, 0),
        Status.Code.NOT_FOUND, "");
    // Nothing of the refused writes was applied, and every refused connection was closed.
    assertThat(grpc.getReplica(CHUNK, fixture.read(CHUNK)).getLength()).isEqualTo(100);
    await().atMost(TIMEOUT).until(() -> server.bulkReadServer().connectionCount() == 0);
  }

  private static void assertRefused(BulkReplicaWriter writer, Status.Code code, String inMessage) {
    try (writer) {
      assertThatThrownBy(() -> writer.write(ByteBuffer.wrap(new byte[10]), true))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(code);
            assertThat(e.getStatus().getDescription()).contains(inMessage);
          });
      // A failed writer stays failed.
      assertThatThrownBy(() -> writer.finish(TIMEOUT))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(code));
    }
  }

  @Test
  void aPacketOutOfOrderFailsTheWriteAndNothingAfterItIsApplied() throws Exception {
    try (RawWriter raw = new RawWriter(server.bulkReadPort())) {
      raw.header(CHUNK, GENERATION, 0, true, fixture.write(CHUNK));
      assertThat(raw.answer()).isEqualTo(Status.Code.OK.value());
      raw.packet(0, content(SEED, 0, 1000), BulkWriteProtocol.PACKET_SYNC);
      assertThat(raw.ack()).isEqualTo(1000);
      raw.packet(5000, content(SEED, 5000, 1000), BulkWriteProtocol.PACKET_SYNC); // a gap
      raw.packet(1000, content(SEED, 1000, 1000), BulkWriteProtocol.PACKET_SYNC); // dropped
      Status error = raw.error();
      assertThat(error.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(error.getDescription()).contains("5000");
      assertThat(raw.endOfStream()).isTrue();
    }
    assertThat(grpc.getReplica(CHUNK, fixture.read(CHUNK)).getLength()).isEqualTo(1000);
  }

  @Test
  void aPacketDamagedInTransitIsRefusedWithDataLoss() throws Exception {
    try (RawWriter raw = new RawWriter(server.bulkReadPort())) {
      raw.header(CHUNK, GENERATION, 0, true, fixture.write(CHUNK));
      assertThat(raw.answer()).isEqualTo(Status.Code.OK.value());
      byte[] data = content(SEED, 0, 1000);
      raw.packetWithCrc(0, data, BulkWriteProtocol.PACKET_SYNC, crc(data) ^ 1);
      assertThat(raw.error().getCode()).isEqualTo(Status.Code.DATA_LOSS);
    }
    assertThat(grpc.getReplica(CHUNK, fixture.read(CHUNK)).getLength()).isZero();
  }

  @Test
  void aConnectionCutMidPacketKeepsOnlyTheWholePacketsBeforeIt() throws Exception {
    try (RawWriter raw = new RawWriter(server.bulkReadPort())) {
      raw.header(CHUNK, GENERATION, 0, true, fixture.write(CHUNK));
      assertThat(raw.answer()).isEqualTo(Status.Code.OK.value());
      raw.packet(0, content(SEED, 0, 10_000), BulkWriteProtocol.PACKET_SYNC);
      assertThat(raw.ack()).isEqualTo(10_000);
      raw.packet(10_000, content(SEED, 10_000, 3000), (byte) 0); // whole, never synced
      // Half a packet, then the connection ends.
      byte[] next = content(SEED, 13_000, 8000);
      raw.out.writeInt(next.length);
      raw.out.writeByte(BulkWriteProtocol.PACKET_SYNC);
      raw.out.writeLong(13_000);
      raw.out.writeInt(crc(next));
      raw.out.write(next, 0, 4000);
      raw.out.flush();
    }
    await().atMost(TIMEOUT).until(() -> server.bulkReadServer().connectionCount() == 0);
    GetReplicaResponse replica = grpc.getReplica(CHUNK, fixture.read(CHUNK));
    assertThat(replica.getLength()).as("whole packets only").isEqualTo(13_000);
    assertThat(replica.getSyncedLength()).isEqualTo(10_000);
    ByteBuffer read = ByteBuffer.allocate(13_000);
    grpc.read(CHUNK, GENERATION, 0, read, fixture.read(CHUNK));
    assertThat(read.array()).isEqualTo(content(SEED, 0, 13_000));
  }

  @Test
  void theClientTreatsAConnectionCutMidPacketAsAFailedReplica() throws Exception {
    // A server that answers the header, takes part of the first packet and resets the
    // connection, as the kernel of a chunkserver killed with SIGKILL does.
    ExecutorService executor = Executors.newSingleThreadExecutor();
    try (ServerSocketChannel listener = ServerSocketChannel.open()) {
      listener.bind(new InetSocketAddress("127.0.0.1", 0));
      Future<?> fake = executor.submit(() -> {
        try (SocketChannel channel = listener.accept()) {
          ByteBuffer header = ByteBuffer.allocate(BulkReadProtocol.REQUEST_FIXED_BYTES + 1);
          while (header.hasRemaining()) {
            channel.read(header);
          }
          channel.write(ByteBuffer.allocate(5).putInt(BulkReadProtocol.RESPONSE_MAGIC)
              .put((byte) Status.Code.OK.value()).flip());
          ByteBuffer part = ByteBuffer.allocate(PACKET / 2);
          while (part.hasRemaining()) {
            channel.read(part);
          }
          channel.socket().setSoLinger(true, 0);
        }
        return null;
      });
      try (BulkReplicaWriter writer = BulkReplicaWriter.open(
          HostPort.of("127.0.0.1", listener.socket().getLocalPort()), CHUNK, GENERATION, "t",
          true, 0, TIMEOUT)) {
        ByteBuffer packet = ByteBuffer.allocateDirect(PACKET);
        assertThatThrownBy(() -> {
          // Far more than the socket buffers hold: the writes meet the reset.
          for (int i = 0; i < 256; i++) {
            writer.write(packet.clear(), i % 4 == 3, TIMEOUT);
          }
          writer.awaitSynced(PACKET, TIMEOUT);
        }).isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
        assertThat(writer.syncedLength()).isZero();
        // Failed for good, as a failed gRPC stream is.
        assertThatThrownBy(() -> writer.finish(TIMEOUT))
            .isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
      }
      fake.get(30, TimeUnit.SECONDS);
    } finally {
      executor.shutdownNow();
    }
  }

  /**
   * A session over a store whose syncs wait for the test: packets go out without waiting for
   * acks (pipelined), the session keeps reading and appending them while a sync is held, and no
   * ack reaches the client before its sync returned (forced).
   */
  @Test
  void acksArePipelinedAndSentOnlyAfterTheForce() throws Exception {
    HeldSink held = new HeldSink(heldStore());
    try (HeldSession session = new HeldSession(held)) {
      try (BulkReplicaWriter writer = session.writer()) {
        // Three packets, each asking for a sync, sent while the first sync is held.
        for (int i = 0; i < 3; i++) {
          writer.write(direct(content(SEED, i * 4096L, 4096)), true);
        }
        assertThat(held.syncEntered.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(writer.offset()).isEqualTo(3 * 4096);
        // The session goes on appending while the first sync is inside its force.
        await().atMost(TIMEOUT).until(() -> held.appends.get() == 3);
        // No ack may have been sent yet. (A server that acked before forcing would have written
        // the ack before entering the sync, and on loopback it would be here already.)
        assertThatThrownBy(() -> writer.awaitSynced(1, Duration.ofMillis(200)))
            .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(
                e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
        assertThat(writer.syncedLength()).isZero();
        held.releaseSyncs.countDown();
        assertThat(writer.awaitSynced(3 * 4096, TIMEOUT)).isEqualTo(3 * 4096);
        assertThat(writer.syncedLength()).isLessThanOrEqualTo(held.forced.get());
        assertThat(writer.finish(TIMEOUT)).isEqualTo(3 * 4096);
      }
      session.end();
    }
    // The requests that arrived during the held sync were served together by fewer syncs, the
    // finish's included.
    assertThat(held.syncs.get()).isBetween(2, 4);
    assertThat(heldStore.replica(CHUNK).orElseThrow().syncedLength()).isEqualTo(3 * 4096);
  }

  /**
   * Every ack names at most what a completed sync forced, read off the wire by hand while
   * packets keep arriving during held syncs.
   */
  @Test
  void everyAckNamesOnlyForcedBytes() throws Exception {
    HeldSink held = new HeldSink(heldStore());
    try (HeldSession session = new HeldSession(held);
        RawWriter raw = new RawWriter(session.port())) {
      raw.header(CHUNK, GENERATION, 0, true, fixture.write(CHUNK));
      assertThat(raw.answer()).isEqualTo(Status.Code.OK.value());
      raw.packet(0, content(SEED, 0, 5000), BulkWriteProtocol.PACKET_SYNC);
      assertThat(held.syncEntered.await(30, TimeUnit.SECONDS)).isTrue();
      raw.packet(5000, content(SEED, 5000, 7000), (byte) 0);
      raw.packet(12_000, content(SEED, 12_000, 3000), BulkWriteProtocol.PACKET_SYNC);
      await().atMost(TIMEOUT).until(() -> held.appends.get() == 3);
      assertThat(held.forced.get()).isZero();
      held.releaseSyncs.countDown();
      long acked = 0;
      while (acked < 15_000) {
        long ack = raw.ack();
        assertThat(ack).as("an ack names only forced bytes").isLessThanOrEqualTo(
            held.forced.get()).isGreaterThan(acked);
        acked = ack;
      }
      raw.packet(15_000, new byte[0], BulkWriteProtocol.PACKET_FINISH);
      assertThat(raw.in.readByte()).isEqualTo(BulkWriteProtocol.MESSAGE_FINISHED);
      assertThat(raw.in.readLong()).isEqualTo(15_000);
      session.end();
    }
  }

  /**
   * A connection cut while a sync runs: the session ends only after that sync returned (no force
   * outlives it), and what the replica holds as synced is exactly what the sync forced.
   */
  @Test
  void aConnectionCutDuringASyncEndsTheSessionAfterIt() throws Exception {
    HeldSink held = new HeldSink(heldStore());
    try (HeldSession session = new HeldSession(held)) {
      try (BulkReplicaWriter writer = session.writer()) {
        writer.write(direct(content(SEED, 0, 4096)), true);
        assertThat(held.syncEntered.await(30, TimeUnit.SECONDS)).isTrue();
        writer.write(direct(content(SEED, 4096, 4096)), true);
        await().atMost(TIMEOUT).until(() -> held.appends.get() == 2);
      } // closed without finishing, the sync still held
      await().during(Duration.ofMillis(200)).atMost(TIMEOUT)
          .until(() -> !session.future.isDone());
      held.releaseSyncs.countDown();
      session.end();
      assertThat(held.forced.get()).isEqualTo(2 * 4096);
    }
    assertThat(heldStore.replica(CHUNK).orElseThrow().syncedLength()).isEqualTo(2 * 4096);
  }

  /** A sync that fails is the write's error, sent by the sync task while packets still arrive. */
  @Test
  void aFailedSyncFailsTheWrite() throws Exception {
    HeldSink held = new HeldSink(heldStore());
    held.syncFailure = new IOException("the disk is gone");
    held.releaseSyncs.countDown();
    try (HeldSession session = new HeldSession(held);
        BulkReplicaWriter writer = session.writer()) {
      writer.write(direct(content(SEED, 0, 4096)), true);
      assertThatThrownBy(() -> writer.awaitSynced(4096, TIMEOUT))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
            assertThat(e.getStatus().getDescription()).contains("the disk is gone");
          });
      writer.close();
      session.end();
    }
    assertThat(held.forced.get()).isZero();
  }

  private ChunkStore heldStore() throws Exception {
    heldStore = ChunkStore.open(fixture.config("held").build().storeConfig(), report -> { });
    return heldStore;
  }

  /** The store's sink, with syncs that wait for the test and a record of what they forced. */
  private static final class HeldSink implements BulkWriteSession.ReplicaSink {
    final BulkWriteSession.ReplicaSink real;
    final CountDownLatch syncEntered = new CountDownLatch(1);
    final CountDownLatch releaseSyncs = new CountDownLatch(1);
    final AtomicInteger syncs = new AtomicInteger();
    final AtomicInteger appends = new AtomicInteger();
    /** The largest length a completed sync returned. */
    final AtomicLong forced = new AtomicLong();
    volatile IOException syncFailure;

    HeldSink(ChunkStore store) {
      this.real = BulkWriteSession.storeSink(store);
    }

    @Override
    public void prepare(long chunkId, long generation, long startOffset, boolean create)
        throws StatusException, IOException {
      real.prepare(chunkId, generation, startOffset, create);
    }

    @Override
    public void append(long chunkId, long generation, long offset, ByteBuffer data)
        throws IOException {
      real.append(chunkId, generation, offset, data);
      appends.incrementAndGet();
    }

    @Override
    public long sync(long chunkId, long generation) throws IOException {
      syncs.incrementAndGet();
      syncEntered.countDown();
      try {
        releaseSyncs.await();
      } catch (InterruptedException e) {
        throw new IOException(e);
      }
      if (syncFailure != null) {
        throw syncFailure;
      }
      long synced = real.sync(chunkId, generation);
      forced.accumulateAndGet(synced, Math::max);
      return synced;
    }
  }

  /** One session on a listener of the test's own, served by a {@link HeldSink}. */
  private final class HeldSession implements AutoCloseable {
    final ServerSocketChannel listener = ServerSocketChannel.open();
    final ExecutorService executor = Executors.newCachedThreadPool();
    final Future<?> future;

    HeldSession(HeldSink sink) throws IOException {
      listener.bind(new InetSocketAddress("127.0.0.1", 0));
      TokenGate tokens = new TokenGate(new CapabilityTokenVerifier(
          TokenKeyFile.load(fixture.keyFile), Clock.systemUTC()),
          new ChunkServerMetrics(new SimpleMeterRegistry()));
      future = executor.submit(() -> {
        try (SocketChannel channel = listener.accept()) {
          ByteBuffer request = ByteBuffer.allocate(BulkReadProtocol.REQUEST_FIXED_BYTES
              + BulkReadProtocol.TOKEN_BYTES_MAX);
          request.limit(BulkReadProtocol.REQUEST_FIXED_BYTES);
          while (request.hasRemaining()) {
            channel.read(request);
          }
          int tokenBytes = request.getShort(BulkReadProtocol.REQUEST_FIXED_BYTES - 2);
          request.limit(BulkReadProtocol.REQUEST_FIXED_BYTES + tokenBytes);
          while (request.hasRemaining()) {
            channel.read(request);
          }
          request.flip().position(8);
          BulkWriteSession.Header header = new BulkWriteSession.Header(request.getLong(),
              request.getLong(), request.getLong(), request.getLong(),
              new String(request.array(), BulkReadProtocol.REQUEST_FIXED_BYTES, tokenBytes,
                  java.nio.charset.StandardCharsets.UTF_8));
          new BulkWriteSession(channel, "test", sink, tokens,
              new ChunkServerMetrics(new SimpleMeterRegistry()), MonotonicClock.SYSTEM,
              Duration.ofMinutes(1), Duration.ofMinutes(1), deadline -> { }, executor,
              ByteBuffer.allocateDirect(PACKET)).run(header);
        }
        return null;
      });
    }

    int port() {
      return listener.socket().getLocalPort();
    }

    BulkReplicaWriter writer() {
      return BulkReplicaWriter.open(HostPort.of("127.0.0.1", port()), CHUNK, GENERATION,
          fixture.write(CHUNK), true, 0, TIMEOUT);
    }

    /** Waits for the session to end without an exception. */
    void end() throws Exception {
      future.get(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws IOException {
      executor.shutdownNow();
      listener.close();
    }
  }

  private static int crc(byte[] data) {
    CRC32C crc = new CRC32C();
    crc.update(data);
    return (int) crc.getValue();
  }

  /** The client side of the protocol by hand, for what the real client never sends. */
  private static final class RawWriter implements AutoCloseable {
    final Socket socket;
    final DataOutputStream out;
    final DataInputStream in;

    RawWriter(int port) throws IOException {
      socket = new Socket("127.0.0.1", port);
      socket.setSoTimeout(30_000);
      out = new DataOutputStream(socket.getOutputStream());
      in = new DataInputStream(socket.getInputStream());
    }

    void header(long chunkId, long generation, long startOffset, boolean create, String token)
        throws IOException {
      ByteBuffer header = BulkWriteProtocol.encodeHeader(
          new WriteHeader(chunkId, generation, startOffset, create, token));
      out.write(header.array(), 0, header.limit());
      out.flush();
    }

    int answer() throws IOException {
      assertThat(in.readInt()).isEqualTo(BulkReadProtocol.RESPONSE_MAGIC);
      return in.readUnsignedByte();
    }

    void packet(long offset, byte[] data, byte flags) throws IOException {
      packetWithCrc(offset, data, flags, crc(data));
    }

    void packetWithCrc(long offset, byte[] data, byte flags, int crc32c) throws IOException {
      out.writeInt(data.length);
      out.writeByte(flags);
      out.writeLong(offset);
      out.writeInt(crc32c);
      out.write(data);
      out.flush();
    }

    long ack() throws IOException {
      assertThat(in.readByte()).isEqualTo(BulkWriteProtocol.MESSAGE_ACK);
      return in.readLong();
    }

    Status error() throws IOException {
      assertThat(in.readByte()).isEqualTo(BulkWriteProtocol.MESSAGE_ERROR);
      int code = in.readUnsignedByte();
      byte[] message = new byte[in.readUnsignedShort()];
      in.readFully(message);
      return Status.fromCodeValue(code).withDescription(
          new String(message, java.nio.charset.StandardCharsets.UTF_8));
    }

    boolean endOfStream() throws IOException {
      return in.read() < 0;
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
