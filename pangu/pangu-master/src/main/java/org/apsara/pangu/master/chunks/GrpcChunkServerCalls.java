package org.apsara.pangu.master.chunks;

import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.api.v1.GetReplicaResponse;
import org.apsara.pangu.api.v1.ReplicaDeletion;
import org.apsara.pangu.api.v1.ReplicaDeletionResult;
import org.apsara.pangu.api.v1.ReplicateReplicaResponse;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;

/**
 * {@link ChunkServerCalls} over gRPC: one {@link ChunkServerClient} (one channel) per chunkserver
 * address, kept until {@link #close}. Thread-safe.
 */
public final class GrpcChunkServerCalls implements ChunkServerCalls {
  /** How long a call other than a copy may take. */
  public static final Duration CALL_TIMEOUT = Duration.ofSeconds(10);
  /** How long a copy may take: a 64 MiB chunk at about 1 MB/s, as the chunkserver allows. */
  public static final Duration COPY_TIMEOUT = Duration.ofMinutes(2);

  private final ChunkTokens tokens;
  private final SslContext tls;
  private final Map<HostPort, ChunkServerClient> clients = new ConcurrentHashMap<>();

  /** @param tls a client context trusting the chunkservers' CA, or null for plaintext */
  public GrpcChunkServerCalls(ChunkTokens tokens, SslContext tls) {
    this.tokens = tokens;
    this.tls = tls;
  }

  private ChunkServerClient client(ChunkServerView server) {
    return clients.computeIfAbsent(server.address(),
        address -> ChunkServerClient.connect(address, tls)).withUnaryTimeout(CALL_TIMEOUT);
  }

  @Override
  public GetReplicaResponse getReplica(ChunkServerView server, long chunkId) {
    return client(server).getReplica(chunkId, tokens.admin(chunkId));
  }

  @Override
  public long seal(ChunkServerView server, long chunkId, long generation, long lengthBytes) {
    return client(server).seal(chunkId, generation, lengthBytes, tokens.admin(chunkId));
  }

  @Override
  public long bumpGeneration(ChunkServerView server, long chunkId, long generation,
      long newGeneration) {
    return client(server).bumpGeneration(chunkId, generation, newGeneration,
        tokens.admin(chunkId));
  }

  @Override
  public List<ReplicaDeletionResult> deleteReplicas(ChunkServerView server,
      List<Deletion> deletions) {
    List<ReplicaDeletion> batch = new ArrayList<>(deletions.size());
    for (Deletion d : deletions) {
      batch.add(ReplicaDeletion.newBuilder().setChunkId(d.chunkId())
          .setGeneration(d.generation()).setToken(tokens.admin(d.chunkId())).build());
    }
    return client(server).deleteReplicas(batch);
  }

  @Override
  public ReplicateReplicaResponse replicate(ChunkServerView target, ChunkServerView source,
      long chunkId, long generation) {
    return client(target).withUnaryTimeout(COPY_TIMEOUT).replicate(chunkId, generation,
        source.address(), tokens.admin(chunkId), tokens.masterRead(chunkId));
  }

  @Override
  public void close() {
    clients.values().forEach(ChunkServerClient::close);
    clients.clear();
  }
}
