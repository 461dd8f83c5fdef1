package org.apsara.pangu.chunkserver.store;

import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * A replica found corrupt, for the master: it should re-replicate the chunk from a good replica
 * and have this one deleted.
 *
 * @param chunkId the chunk
 * @param generation the replica's generation, or {@link ChunkStore#UNKNOWN_GENERATION}
 * @param volume the volume directory holding it
 * @param blockIndex the block that failed its checksum, if the corruption is in one block
 * @param reason what was found, for operators
 */
public record CorruptReplicaReport(
    long chunkId, long generation, Path volume, OptionalLong blockIndex, String reason) {}
