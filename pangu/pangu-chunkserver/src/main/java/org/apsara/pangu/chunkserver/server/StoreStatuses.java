package org.apsara.pangu.chunkserver.server;

import io.grpc.Status;
import io.grpc.StatusException;
import java.io.IOException;
import org.apsara.pangu.chunkserver.store.AppendOffsetMismatchException;
import org.apsara.pangu.chunkserver.store.ChecksumMismatchException;
import org.apsara.pangu.chunkserver.store.ChunkSizeExceededException;
import org.apsara.pangu.chunkserver.store.ChunkStoreException;
import org.apsara.pangu.chunkserver.store.CorruptReplicaException;
import org.apsara.pangu.chunkserver.store.NoVolumeAvailableException;
import org.apsara.pangu.chunkserver.store.ReadBeyondEndException;
import org.apsara.pangu.chunkserver.store.ReplicaExistsException;
import org.apsara.pangu.chunkserver.store.ReplicaNotFoundException;
import org.apsara.pangu.chunkserver.store.ReplicaStateException;
import org.apsara.pangu.chunkserver.store.StaleGenerationException;
import org.apsara.pangu.chunkserver.store.VolumeFullException;

/**
 * Maps the chunk store's exceptions to the statuses of the contract in {@code chunkserver.proto}.
 * The store's messages already name the chunk and the numbers involved, so they become the
 * description unchanged. Stateless.
 */
final class StoreStatuses {
  private StoreStatuses() {}

  static StatusException toStatus(IOException e) {
    Status status;
    if (e instanceof ReplicaNotFoundException) {
      status = Status.NOT_FOUND;
    } else if (e instanceof ReplicaExistsException) {
      status = Status.ALREADY_EXISTS;
    } else if (e instanceof StaleGenerationException
        || e instanceof AppendOffsetMismatchException
        || e instanceof ReplicaStateException) {
      status = Status.FAILED_PRECONDITION;
    } else if (e instanceof ReadBeyondEndException || e instanceof ChunkSizeExceededException) {
      status = Status.OUT_OF_RANGE;
    } else if (e instanceof VolumeFullException || e instanceof NoVolumeAvailableException) {
      status = Status.RESOURCE_EXHAUSTED;
    } else if (e instanceof ChecksumMismatchException || e instanceof CorruptReplicaException) {
      status = Status.DATA_LOSS;
    } else if (e instanceof ChunkStoreException) {
      // The store is closed (shutting down), or a replica kept changing under a read: both pass.
      status = Status.UNAVAILABLE;
    } else {
      return Status.INTERNAL.withDescription("disk error: " + e).withCause(e).asException();
    }
    return status.withDescription(e.getMessage()).withCause(e).asException();
  }
}
