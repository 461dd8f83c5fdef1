package org.apsara.pangu.client;

import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apsara.common.net.HostPort;
import org.apsara.common.time.MonotonicClock;
import org.apsara.pangu.api.v1.GetServerInfoResponse;
import org.apsara.pangu.client.chunkserver.BulkReadClient;
import org.apsara.pangu.client.chunkserver.BulkReadProtocol;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@link ChunkServerClient} (one channel) per chunkserver address, shared by every stream of
 * a {@link PanguClient}, and the chunkserver's {@link BulkReadClient} when it offers the bulk read
 * path.
 *
 * <p>Whether a chunkserver offers the bulk path is asked once ({@code GetServerInfo}) and cached.
 * A chunkserver that offers none (TLS, turned off, an older version), could not be asked, or
 * whose bulk path failed a read is asked again only after {@link #BULK_RECHECK_PAUSE}: its bulk
 * port may have changed with a restart, and meanwhile reads go through gRPC. With TLS the bulk
 * path is never used: it is plaintext.
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
  private volatile boolean closed;

  /** What is known of a chunkserver's bulk path: a client, or none until a time. */
  private record BulkEndpoint(BulkReadClient client, long recheckAtNanos) {}

  ChunkServerPool(SslContext tls) {
    this(tls, MonotonicClock.SYSTEM);
  }

  ChunkServerPool(SslContext tls, MonotonicClock clock) {
    this.tls = tls;
    this.clock = clock;
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
    if (tls != null) {
      return null;
    }
    HostPort chunkServer = HostPort.parse(address);
    BulkEndpoint known = bulk.get(chunkServer);
    if (known != null && (known.client() != null || clock.nanos() - known.recheckAtNanos() < 0)) {
      return known.client();
    }
    BulkEndpoint found = discover(chunkServer);
    bulk.merge(chunkServer, found, (old, fresh) -> {
      if (old.client() != null && fresh.client() != null) {
        fresh.client().close(); // another reader asked at the same time: keep the first
        return old;
      }
      return fresh;
    });
    BulkEndpoint now = bulk.get(chunkServer);
    if (closed && now != null && now.client() != null) {
      now.client().close();
      return null;
    }
    return now == null ? null : now.client();
  }

  private BulkEndpoint discover(HostPort chunkServer) {
    long recheckAt = clock.nanos() + BULK_RECHECK_PAUSE.toNanos();
    try {
      GetServerInfoResponse info = get(chunkServer).withUnaryTimeout(SERVER_INFO_TIMEOUT)
          .serverInfo();
      if (info.getBulkReadPort() == 0 || info.getBulkReadVersion() != BulkReadProtocol.VERSION) {
        return new BulkEndpoint(null, recheckAt);
      }
      return new BulkEndpoint(new BulkReadClient(
          HostPort.of(chunkServer.host(), info.getBulkReadPort()), clock), recheckAt);
    } catch (StatusRuntimeException e) {
      LOG.debug("asking {} for its bulk read port failed: {}", chunkServer, e.getStatus());
      return new BulkEndpoint(null, recheckAt);
    }
  }

  /**
   * Sends reads of the chunkserver at {@code address} through gRPC for {@link
   * #BULK_RECHECK_PAUSE}, after {@code failed}, its bulk client, failed a read.
   */
  void bulkFailed(String address, BulkReadClient failed) {
    HostPort chunkServer = HostPort.parse(address);
    BulkEndpoint none = new BulkEndpoint(null, clock.nanos() + BULK_RECHECK_PAUSE.toNanos());
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
