package org.apsara.pangu.client;

import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apsara.common.net.HostPort;
import org.apsara.common.time.MonotonicClock;
import org.apsara.pangu.api.v1.GetServerInfoResponse;
import org.apsara.pangu.client.chunkserver.BulkReadClient;
import org.apsara.pangu.client.chunkserver.BulkReadProtocol;
import org.apsara.pangu.client.chunkserver.BulkReplicaWriter;
import org.apsara.pangu.client.chunkserver.BulkWriteProtocol;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.apsara.pangu.client.chunkserver.ReplicaWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@link ChunkServerClient} (one channel) per chunkserver address, shared by every stream of
 * a {@link PanguClient}, the chunkserver's {@link BulkReadClient} when it offers the bulk read
 * path, and the choice of transport for each new replica write ({@link #openWriters}).
 *
 * <p>Whether a chunkserver offers the bulk paths is asked once ({@code GetServerInfo}) and
 * cached. A chunkserver that offers none (TLS, turned off, an older version), could not be asked,
 * or whose bulk path failed a read or could not start a write is asked again only after {@link
 * #BULK_RECHECK_PAUSE}: its bulk port may have changed with a restart, and meanwhile reads and
 * writes go through gRPC. With TLS the bulk paths are never used: they are plaintext.
 *
 * <p>Thread-safe.
 */
final class ChunkServerPool implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ChunkServerPool.class);
  /** How long reads of a chunkserver stay on gRPC after its bulk path was missing or failed. */
  static final Duration BULK_RECHECK_PAUSE = Duration.ofSeconds(10);
  /** Longest wait for GetServerInfo: reads fall back to gRPC rather than wait on it. */
  static final Duration SERVER_INFO_TIMEOUT = Duration.ofSeconds(5);

  private final SslContext tls;
  private final MonotonicClock clock;
  private final Map<HostPort, ChunkServerClient> clients = new ConcurrentHashMap<>();
  private final Map<HostPort, BulkEndpoint> bulk = new ConcurrentHashMap<>();
  private final PacketBuffers packetBuffers =
      new PacketBuffers(PanguOutputStream.PACKET_BYTES_MAX);
  private volatile boolean closed;

  /**
   * What is known of a chunkserver's bulk path: a read client and, if it takes bulk writes, the
   * address to open them at; or neither until a time.
   */
  private record BulkEndpoint(BulkReadClient client, HostPort writeAddress,
      long recheckAtNanos) {}

  ChunkServerPool(SslContext tls) {
    this(tls, MonotonicClock.SYSTEM);
  }

  ChunkServerPool(SslContext tls, MonotonicClock clock) {
    this.tls = tls;
    this.clock = clock;
  }

  /** The direct packet buffers the client's output streams share. */
  PacketBuffers packetBuffers() {
    return packetBuffers;
  }

  /** The client of the chunkserver at {@code address} ("host:port" as the master gives it). */
  ChunkServerClient get(String address) {
    return get(HostPort.parse(address));
  }

  private ChunkServerClient get(HostPort address) {
    if (closed) {
      throw new IllegalStateException("the Pangu client is closed");
    }
    return clients.computeIfAbsent(address, a -> ChunkServerClient.connect(a, tls));
  }

  /**
   * The bulk read client of the chunkserver at {@code address}, or null if reads of it go
   * through gRPC for now. May ask the chunkserver (a unary call of at most {@link
   * #SERVER_INFO_TIMEOUT}) the first time and after a recheck pause.
   *
   * @throws IllegalArgumentException if the address is malformed
   */
  BulkReadClient bulk(String address) {
    BulkEndpoint endpoint = endpoint(HostPort.parse(address));
    return endpoint == null ? null : endpoint.client();
  }

  /**
   * Starts writing a replica of one chunk on each chunkserver of {@code addresses}, in order:
   * over a chunkserver's bulk write path when it offers one, else (and when that path cannot
   * start the write) through WriteReplica. The bulk writes start together, so that the round
   * trip and the replica creation behind each answer overlap. Either way a refusal of a write
   * itself (token, generation, ...) is thrown by that writer's first call, not here.
   *
   * @param openTimeout the longest wait for a bulk connection and its answer
   */
  List<ReplicaWriter> openWriters(List<String> addresses, long chunkId, long generation,
      String token, boolean create, long startOffset, Duration openTimeout) {
    List<BulkReplicaWriter> started = new ArrayList<>();
    for (String address : addresses) {
      BulkEndpoint endpoint = endpoint(HostPort.parse(address));
      BulkReplicaWriter writer = null;
      if (endpoint != null && endpoint.writeAddress() != null) {
        try {
          writer = BulkReplicaWriter.start(endpoint.writeAddress(), chunkId, generation, token,
              create, startOffset, openTimeout);
        } catch (StatusRuntimeException e) {
          bulkWriteFailed(address, endpoint, chunkId, e);
        }
      }
      started.add(writer);
    }
    List<ReplicaWriter> writers = new ArrayList<>();
    for (int i = 0; i < addresses.size(); i++) {
      String address = addresses.get(i);
      BulkReplicaWriter writer = started.get(i);
      if (writer != null) {
        try {
          writer.awaitAnswer();
          writers.add(writer);
          continue;
        } catch (StatusRuntimeException e) {
          bulkWriteFailed(address, bulk.get(HostPort.parse(address)), chunkId, e);
        }
      }
      writers.add(get(address).openWriter(chunkId, generation, token, create, startOffset));
    }
    return writers;
  }

  /** Leaves the chunkserver's bulk paths alone for {@link #BULK_RECHECK_PAUSE}. */
  private void bulkWriteFailed(String address, BulkEndpoint endpoint, long chunkId,
      StatusRuntimeException e) {
    LOG.debug("bulk write of chunk {} to {} could not start, writing through WriteReplica: {}",
        Long.toUnsignedString(chunkId), address, e.getStatus());
    if (endpoint == null) {
      return;
    }
    BulkEndpoint none = new BulkEndpoint(null, null,
        clock.nanos() + BULK_RECHECK_PAUSE.toNanos());
    if (bulk.computeIfPresent(HostPort.parse(address),
        (a, known) -> known == endpoint ? none : known) == none && endpoint.client() != null) {
      endpoint.client().close();
    }
  }

  /** What is known of the chunkserver's bulk paths, asking it if due; null with TLS. */
  private BulkEndpoint endpoint(HostPort chunkServer) {
    if (tls != null) {
      return null;
    }
    BulkEndpoint known = bulk.get(chunkServer);
    if (known != null && (known.client() != null || clock.nanos() - known.recheckAtNanos() < 0)) {
      return known;
    }
    BulkEndpoint found = discover(chunkServer);
    bulk.merge(chunkServer, found, (old, fresh) -> {
      if (old.client() != null && fresh.client() != null) {
        fresh.client().close(); // another stream asked at the same time: keep the first
        return old;
      }
      return fresh;
    });
    BulkEndpoint now = bulk.get(chunkServer);
    if (closed && now != null && now.client() != null) {
      now.client().close();
      return null;
    }
    return now;
  }

  private BulkEndpoint discover(HostPort chunkServer) {
    long recheckAt = clock.nanos() + BULK_RECHECK_PAUSE.toNanos();
    try {
      GetServerInfoResponse info = get(chunkServer).withUnaryTimeout(SERVER_INFO_TIMEOUT)
          .serverInfo();
      if (info.getBulkReadPort() == 0 || info.getBulkReadVersion() != BulkReadProtocol.VERSION) {
        return new BulkEndpoint(null, null, recheckAt);
      }
      HostPort port = HostPort.of(chunkServer.host(), info.getBulkReadPort());
      HostPort writes = info.getBulkWriteVersion() == BulkWriteProtocol.VERSION ? port : null;
      return new BulkEndpoint(new BulkReadClient(port, clock), writes, recheckAt);
    } catch (StatusRuntimeException e) {
      LOG.debug("asking {} for its bulk read port failed: {}", chunkServer, e.getStatus());
      return new BulkEndpoint(null, null, recheckAt);
    }
  }

  /**
   * Sends reads of the chunkserver at {@code address} through gRPC for {@link
   * #BULK_RECHECK_PAUSE}, after {@code failed}, its bulk client, failed a read.
   */
  void bulkFailed(String address, BulkReadClient failed) {
    HostPort chunkServer = HostPort.parse(address);
    BulkEndpoint none = new BulkEndpoint(null, null,
        clock.nanos() + BULK_RECHECK_PAUSE.toNanos());
    if (bulk.computeIfPresent(chunkServer, (a, known) -> known.client() == failed ? none : known)
        == none) {
      failed.close();
    }
  }

  @Override
  public void close() {
    closed = true;
    clients.values().forEach(ChunkServerClient::close);
    clients.clear();
    bulk.values().forEach(endpoint -> {
      if (endpoint.client() != null) {
        endpoint.client().close();
      }
    });
    bulk.clear();
  }
}
