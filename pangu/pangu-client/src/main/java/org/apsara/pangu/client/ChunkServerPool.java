package org.apsara.pangu.client;

import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;

/**
 * One {@link ChunkServerClient} (one channel) per chunkserver address, shared by every stream of
 * a {@link PanguClient}. Thread-safe.
 */
final class ChunkServerPool implements AutoCloseable {
  private final SslContext tls;
  private final Map<HostPort, ChunkServerClient> clients = new ConcurrentHashMap<>();
  private volatile boolean closed;

  ChunkServerPool(SslContext tls) {
    this.tls = tls;
  }

  /** The client of the chunkserver at {@code address} ("host:port" as the master gives it). */
  ChunkServerClient get(String address) {
    if (closed) {
      throw new IllegalStateException("the Pangu client is closed");
    }
    return clients.computeIfAbsent(HostPort.parse(address), a -> ChunkServerClient.connect(a, tls));
  }

  @Override
  public void close() {
    closed = true;
    clients.values().forEach(ChunkServerClient::close);
    clients.clear();
  }
}
