package org.apsara.pangu.master.chunks;

import org.apsara.common.net.HostPort;

/**
 * A chunkserver as the leader last heard of it: an immutable snapshot.
 *
 * @param id its stable id
 * @param address its ChunkServer service
 * @param rack its rack, empty when racks are not configured
 * @param alive it heartbeat within the dead interval
 * @param lastHeartbeatMs wall-clock time of its last heartbeat (epoch milliseconds)
 * @param capacityBytes sum over its volumes
 * @param usedBytes sum over its volumes
 * @param availableBytes sum over the volumes that take new replicas
 * @param full no volume takes new replicas
 * @param replicas replicas the leader knows there
 */
public record ChunkServerView(String id, HostPort address, String rack, boolean alive,
    long lastHeartbeatMs, long capacityBytes, long usedBytes, long availableBytes, boolean full,
    long replicas) {

  public String host() {
    return address.host();
  }
}
