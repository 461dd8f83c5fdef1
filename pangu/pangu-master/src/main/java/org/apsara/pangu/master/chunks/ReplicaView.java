package org.apsara.pangu.master.chunks;

import org.apsara.pangu.api.v1.ReplicaState;

/**
 * One replica of a chunk as the leader knows it from heartbeats and its own calls. Immutable.
 *
 * @param server where it is
 * @param serverAlive the chunkserver heartbeats within the dead interval
 * @param generation its generation ({@code -1}, all ones, when unreadable)
 * @param lengthBytes its length as last reported
 * @param state open, sealed or unreadable
 * @param corrupt a check failed on it (its chunkserver, a reader, or the master found so)
 * @param shortConfirmed its chunkserver refused to seal it at the committed length of its chunk:
 *     it holds fewer bytes than that length, which a report alone cannot show (a report may
 *     predate the writer's last bytes)
 */
public record ReplicaView(ChunkServerView server, boolean serverAlive, long generation,
    long lengthBytes, ReplicaState state, boolean corrupt, boolean shortConfirmed) {

  /** A replica whose length no refused seal has confirmed. */
  public ReplicaView(ChunkServerView server, boolean serverAlive, long generation,
      long lengthBytes, ReplicaState state, boolean corrupt) {
    this(server, serverAlive, generation, lengthBytes, state, corrupt, false);
  }

  public String serverId() {
    return server.id();
  }
}
