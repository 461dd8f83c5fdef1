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
 */
public record ReplicaView(ChunkServerView server, boolean serverAlive, long generation,
    long lengthBytes, ReplicaState state, boolean corrupt) {

  public String serverId() {
    return server.id();
  }
}
