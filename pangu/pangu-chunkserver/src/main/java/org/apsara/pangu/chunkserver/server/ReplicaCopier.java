package org.apsara.pangu.chunkserver.server;

import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.function.Function;
import java.util.zip.CRC32C;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.api.ChunkServerLimits;
import org.apsara.pangu.api.v1.GetReplicaResponse;
import org.apsara.pangu.api.v1.ReplicaState;
import org.apsara.pangu.api.v1.ReplicateReplicaResponse;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.apsara.pangu.chunkserver.store.ChunkStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies a sealed replica from another chunkserver into the local store, for re-replication.
 *
 * <p>The copy is verified three times: the source checks every block against its checksums as
 * it reads, each message's CRC32C is checked on arrival, and once sealed here the whole replica is
 * read back through the store (which checks the checksums it computed while appending) and its
 * CRC32C compared with that of the bytes received. A copy that fails any step is deleted, so a
 * failed ReplicateReplica leaves no replica behind.
 *
 * <p>Threading: {@link #copy} blocks the calling thread for the whole copy; calls for different
 * chunks may run concurrently (the store refuses a second create of the same chunk).
 */
final class ReplicaCopier {
  private static final Logger LOG = LoggerFactory.getLogger(ReplicaCopier.class);

  private final ChunkStore store;
  private final ChunkServerMetrics metrics;
  private final Function<HostPort, ChunkServerClient> connector;

  /** @param connector opens a client to a source chunkserver; the copier closes it */
  ReplicaCopier(ChunkStore store, ChunkServerMetrics metrics,
      Function<HostPort, ChunkServerClient> connector) {
    this.store = store;
    this.metrics = metrics;
    this.connector = connector;
  }

  ReplicateReplicaResponse copy(long chunkId, long generation, HostPort source,
      String sourceToken) throws StatusException, IOException {
    if (store.replica(chunkId).isPresent()) {
      throw Status.ALREADY_EXISTS.withDescription("a replica of chunk " + chunkId
          + " is already here (generation " + store.replica(chunkId).get().generation() + ")")
          .asException();
    }
    try (ChunkServerClient client = connector.apply(source)) {
      GetReplicaResponse remote = fromSource(source, () -> client.getReplica(chunkId, sourceToken));
      if (remote.getState() != ReplicaState.REPLICA_STATE_SEALED || remote.getCorrupt()
          || remote.getGeneration() != generation) {
        throw Status.FAILED_PRECONDITION.withDescription("chunk " + chunkId + " at " + source
            + " is " + remote.getState() + (remote.getCorrupt() ? " and corrupt" : "")
            + " with generation " + remote.getGeneration() + "; only a sound sealed replica of"
            + " generation " + generation + " is copied").asException();
      }
      long length = remote.getLength();
      store.create(chunkId, generation);
      boolean kept = false;
      try {
        CRC32C received = new CRC32C();
        fromSource(source, () -> {
          client.read(chunkId, generation, 0, length, sourceToken, (offset, data) -> {
            int bytes = data.remaining();
            received.update(data.duplicate());
            try {
              store.append(chunkId, generation, offset, data);
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
            metrics.replicated(bytes);
          });
          return null;
        });
        store.seal(chunkId, generation, length); // forces data and metadata
        int stored = checksumStored(chunkId, generation, length);
        if (stored != (int) received.getValue()) {
          throw Status.DATA_LOSS.withDescription(String.format("chunk %d: the copy reads back"
                  + " with CRC32C 0x%08x but 0x%08x was received", chunkId, stored,
              (int) received.getValue())).asException();
        }
        kept = true;
        LOG.info("copied chunk {} generation {} ({} bytes) from {}", chunkId, generation, length,
            source);
        return ReplicateReplicaResponse.newBuilder().setLength(length).setGeneration(generation)
            .setCrc32C(stored).build();
      } catch (UncheckedIOException e) {
        throw e.getCause();
      } finally {
        if (!kept) {
          deleteQuietly(chunkId, generation);
        }
      }
    }
  }

  private int checksumStored(long chunkId, long generation, long length) throws IOException {
    CRC32C crc = new CRC32C();
    ByteBuffer buffer = ByteBuffer.allocate(
        (int) Math.min(ChunkServerLimits.DATA_MESSAGE_BYTES_MAX, Math.max(1, length)));
    for (long offset = 0; offset < length; ) {
      buffer.clear().limit((int) Math.min(buffer.capacity(), length - offset));
      store.read(chunkId, generation, offset, buffer);
      buffer.flip();
      offset += buffer.remaining();
      crc.update(buffer);
    }
    return (int) crc.getValue();
  }

  private void deleteQuietly(long chunkId, long generation) {
    try {
      store.delete(chunkId, generation);
    } catch (IOException e) {
      LOG.warn("could not delete the failed copy of chunk {}; the master will find it in the"
          + " chunk report", chunkId, e);
    }
  }

  /** Runs a call to the source, naming the source in its failure. */
  private static <T> T fromSource(HostPort source, SourceCall<T> call) throws StatusException {
    try {
      return call.run();
    } catch (StatusRuntimeException e) {
      Status status = e.getStatus();
      // Errors of the source are passed on with their code (NOT_FOUND, DATA_LOSS, ...), except
      // token refusals: this call's own token was fine, the one for the source was not.
      if (status.getCode() == Status.Code.UNAUTHENTICATED) {
        status = Status.PERMISSION_DENIED;
      }
      throw status.withDescription("source " + source + ": "
          + e.getStatus().getDescription()).withCause(e).asException();
    }
  }

  @FunctionalInterface
  private interface SourceCall<T> {
    T run();
  }
}
