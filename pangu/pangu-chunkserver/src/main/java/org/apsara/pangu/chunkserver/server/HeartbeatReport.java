package org.apsara.pangu.chunkserver.server;

import java.util.List;
import org.apsara.pangu.api.v1.VolumeReport;
import org.apsara.pangu.chunkserver.store.CorruptReplicaReport;
import org.apsara.pangu.chunkserver.store.ReplicaInfo;
import org.apsara.pangu.chunkserver.store.VolumeUsage;

/**
 * What a heartbeat to the master carries: an immutable snapshot.
 *
 * @param volumes space accounting of every volume, in configuration order
 * @param replicas every replica here, in chunk id order (the chunk report; corrupt ones flagged)
 * @param corruptReplicas replicas found corrupt since they were last acknowledged with {@link
 *     ChunkServer#acknowledgeCorruptReports}, oldest first
 * @param decommissioning an operator is decommissioning this chunkserver
 */
public record HeartbeatReport(List<VolumeUsage> volumes, List<ReplicaInfo> replicas,
    List<CorruptReplicaReport> corruptReplicas, boolean decommissioning) {
  public HeartbeatReport {
    volumes = List.copyOf(volumes);
    replicas = List.copyOf(replicas);
    corruptReplicas = List.copyOf(corruptReplicas);
  }

  /** The volumes as a heartbeat reports them. */
  public List<VolumeReport> volumeReports() {
    return volumes.stream().map(volume -> VolumeReport.newBuilder()
        .setDirectory(volume.directory().toString())
        .setCapacityBytes(volume.capacityBytes())
        .setUsedBytes(volume.usedBytes())
        .setAvailableBytes(Math.max(0, volume.freeBytes() - volume.reservedBytes()))
        .setFull(!volume.acceptsNewReplicas())
        .setFailure(volume.failed() ? volume.failure() : "")
        .build()).toList();
  }
}
