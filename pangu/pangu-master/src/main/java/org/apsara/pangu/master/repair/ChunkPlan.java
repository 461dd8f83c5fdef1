package org.apsara.pangu.master.repair;

import java.util.List;
import org.apsara.pangu.master.chunks.ChunkServerView;

/**
 * What the replication monitor found about one chunk and what to do about it. Immutable.
 *
 * @param chunkId the chunk
 * @param fileId the file it belongs to, 0 when none
 * @param inFile the chunk belongs to a file with a committed length (health is meaningful)
 * @param healthy replicas with the committed generation and length, sealed, not corrupt, on a
 *     live chunkserver in service: those that count toward replication
 * @param leaving healthy replicas on decommissioning chunkservers: readable and copied from, but
 *     not counted toward replication
 * @param wanted the file's replication
 * @param corrupt corrupt replicas on live chunkservers
 * @param actions seals and deletions to make now
 * @param copiesWanted copies to make to new chunkservers (0 when none or none possible)
 * @param sources chunkservers holding healthy replicas: where copies come from
 */
public record ChunkPlan(long chunkId, long fileId, boolean inFile, int healthy, int leaving,
    int wanted, int corrupt, List<RepairAction> actions, int copiesWanted,
    List<ChunkServerView> sources) {

  public ChunkPlan {
    actions = List.copyOf(actions);
    sources = List.copyOf(sources);
  }

  /** A committed chunk with fewer healthy replicas than wanted, or with corrupt ones. */
  public boolean unhealthy() {
    return inFile && (healthy < wanted || corrupt > 0);
  }

  /** A committed chunk no chunkserver holds a healthy replica of, in service or leaving. */
  public boolean missing() {
    return inFile && healthy + leaving == 0;
  }

  /**
   * The chunk still needs a replica on a decommissioning chunkserver: committed with fewer
   * healthy replicas in service than wanted, or still being written (its replicas are sealed
   * and copied once the writer commits).
   */
  public boolean reliesOnLeaving() {
    return inFile ? healthy < wanted : fileId != 0;
  }

  /**
   * True if a healthy replica on this chunkserver counted toward replication: the plan was made
   * while the chunkserver was in service.
   */
  public boolean countedInService(String serverId) {
    return sources.stream().anyMatch(s -> s.id().equals(serverId) && !s.decommissioning());
  }
}
