package org.apsara.pangu.master.namespace;

/**
 * One chunk of a file as the namespace records it (where its replicas are is soft state kept
 * elsewhere). Immutable.
 *
 * @param fileId the file's inode id
 * @param index position in the file, from 0
 * @param chunkId cluster-wide chunk id, never reused
 * @param generation bumped when a write pipeline is recovered; stale replicas have a lower one
 * @param lengthBytes final length once sealed; 0 before
 * @param sealed committed by the writer with its final length
 */
public record ChunkInfo(
    long fileId, int index, long chunkId, long generation, long lengthBytes, boolean sealed) {}
