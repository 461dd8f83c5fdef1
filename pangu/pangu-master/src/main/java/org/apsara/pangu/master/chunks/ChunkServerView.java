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
 * @param pendingBytes what the master changed there since its last report, which that report
 *     cannot show yet: bytes of copies under way to it and of copies finished, minus bytes of
 *     replicas it deleted (negative when more left than arrived)
 * @param decommissioning its last heartbeat said an operator is decommissioning it: it takes no
 *     new replicas, and its replicas do not count toward replication
 */
public record ChunkServerView(String id, HostPort address, String rack, boolean alive,
    long lastHeartbeatMs, long capacityBytes, long usedBytes, long availableBytes, boolean full,
    long replicas, long pendingBytes, boolean decommissioning) {

  /** A chunkserver in service with nothing pending since its last report. */
  public ChunkServerView(String id, HostPort address, String rack, boolean alive,
      long lastHeartbeatMs, long capacityBytes, long usedBytes, long availableBytes, boolean full,
      long replicas) {
    this(id, address, rack, alive, lastHeartbeatMs, capacityBytes, usedBytes, availableBytes,
        full, replicas, 0, false);
  }

  public String host() {
    return address.host();
  }

  /** The used bytes once what is pending lands: the reported use plus {@link #pendingBytes}. */
  public long projectedUsedBytes() {
    return Math.max(0, usedBytes + pendingBytes);
  }

  /**
   * The fraction of its capacity in use once what is pending lands, between 0 and 1; 0 when it
   * reported no capacity. This is how the balancer and the trimming of excess replicas compare
   * chunkservers, so that disks of different sizes fill to the same level.
   */
  public double usedFraction() {
    if (capacityBytes <= 0) {
      return 0;
    }
    return Math.min(1.0, (double) projectedUsedBytes() / capacityBytes);
  }
}
