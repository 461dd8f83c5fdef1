package org.apsara.pangu.chunkserver.store;

import java.nio.file.Path;

/**
 * One replica as listed in the chunk report sent to the master: an immutable snapshot.
 *
 * @param chunkId the chunk
 * @param generation its generation, or {@link ChunkStore#UNKNOWN_GENERATION} if the metadata that
 *     records it is unreadable
 * @param length bytes readers can see: for an open replica the length after the last completed
 *     append, for a sealed one its final length
 * @param syncedLength bytes known to be on disk: what the last completed {@code sync()} covered
 *     (equal to {@code length} once sealed)
 * @param state open, sealed or unreadable
 * @param corrupt true if any check failed; the master should re-replicate the chunk elsewhere
 * @param volume the volume directory holding it
 */
public record ReplicaInfo(long chunkId, long generation, long length, long syncedLength,
    ReplicaState state, boolean corrupt, Path volume) {}
