package org.apsara.pangu.master.chunks;

import java.util.List;
import org.apsara.pangu.api.v1.GetReplicaResponse;
import org.apsara.pangu.api.v1.ReplicaDeletionResult;
import org.apsara.pangu.api.v1.ReplicateReplicaResponse;

/**
 * The master's calls on chunkservers, each with an admin token for the chunk. Every method
 * blocks until the chunkserver answers or the call times out, and throws {@link
 * io.grpc.StatusRuntimeException} with the chunkserver's status (see {@code chunkserver.proto})
 * on failure. Implementations are thread-safe.
 */
public interface ChunkServerCalls extends AutoCloseable {
  /** A replica's generation, lengths and state. */
  GetReplicaResponse getReplica(ChunkServerView server, long chunkId);

  /** Seals a replica at {@code lengthBytes}; returns the sealed length. */
  long seal(ChunkServerView server, long chunkId, long generation, long lengthBytes);

  /** Raises a sealed replica's generation; returns the new one. */
  long bumpGeneration(ChunkServerView server, long chunkId, long generation, long newGeneration);

  /** One deletion: the replica of {@code chunkId} with {@code generation}. */
  record Deletion(long chunkId, long generation) {}

  /** Deletes replicas (at most {@link org.apsara.pangu.api.ChunkServerLimits#DELETE_BATCH_MAX}). */
  List<ReplicaDeletionResult> deleteReplicas(ChunkServerView server, List<Deletion> deletions);

  /** Makes {@code target} copy the sealed replica from {@code source}. */
  ReplicateReplicaResponse replicate(ChunkServerView target, ChunkServerView source,
      long chunkId, long generation);

  @Override
  void close();
}
