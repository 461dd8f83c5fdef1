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
 *     live chunkserver
 * @param wanted the file's replication
 * @param corrupt corrupt replicas on live chunkservers
 * @param actions seals and deletions to make now
 * @param copiesWanted copies to make to new chunkservers (0 when none or none possible)
 * @param sources chunkservers holding healthy replicas: where copies come from
 */
public record ChunkPlan(long chunkId, long fileId, boolean inFile, int healthy, int wanted, int corrupt,
    List<RepairAction> actions, int copiesWanted, List<ChunkServerView> sources) {

  public ChunkPlan {
    actions = List.copyOf(actions);
    sources = List.copyOf(sources);
  }

  /** A committed chunk with fewer healthy replicas than wanted, or with corrupt ones. */
  public boolean unhealthy() {
    return inFile && (healthy < wanted || corrupt > 0);
  }
}
