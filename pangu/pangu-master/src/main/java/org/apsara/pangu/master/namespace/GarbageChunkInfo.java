package org.apsara.pangu.master.namespace;

/**
 * A chunk no file refers to any more; its replicas may be deleted, after which the chunk
 * manager proposes forgetting it. Immutable.
 */
public record GarbageChunkInfo(long chunkId, long fileId, long generation, long lengthBytes) {}
