package org.apsara.pangu.master.repair;

import java.util.List;

/**
 * The replication state of the cluster as the replication monitor last saw it, for operators
 * (fsck). Counts cover every chunk evaluated since this member became leader; a chunk is
 * evaluated at least once per walk over the namespace. Immutable.
 *
 * @param underReplicated committed chunks with fewer healthy replicas than wanted
 * @param missing committed chunks with no healthy replica
 * @param corruptReplicas corrupt replicas not yet deleted
 * @param unhealthy the unhealthy chunks, lowest chunk id first, at most the limit asked for
 */
public record ClusterHealth(long underReplicated, long missing, long corruptReplicas,
    List<ChunkPlan> unhealthy) {
  public ClusterHealth {
    unhealthy = List.copyOf(unhealthy);
  }
}
