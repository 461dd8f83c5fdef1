package org.apsara.pangu.chunkserver.store;

import java.nio.file.Path;

/**
 * Space accounting of one volume, as reported in heartbeats: an immutable snapshot.
 *
 * @param directory the volume's directory
 * @param capacityBytes the most this volume may hold (configured, or the file system's size)
 * @param usedBytes bytes held by replica files (data and metadata)
 * @param freeBytes the smaller of capacity minus used and the file system's usable space
 * @param reservedBytes free space the store never uses
 * @param replicaCount replicas on this volume
 * @param acceptsNewReplicas false once a new replica would leave less than the reserve free, or
 *     the volume failed
 * @param failure why the volume was taken out of service after a disk error, or null while it
 *     works (a failed volume reports no space and no replicas)
 */
public record VolumeUsage(Path directory, long capacityBytes, long usedBytes, long freeBytes,
    long reservedBytes, int replicaCount, boolean acceptsNewReplicas, String failure) {

  public boolean failed() {
    return failure != null;
  }
}
