package org.apsara.nuwa.client;

/**
 * Where and when a response was produced. Immutable.
 *
 * @param clusterId the cluster that answered
 * @param memberId the member that answered
 * @param revision the store's revision when the request was served; for a write, the revision the
 *     write created (or the current one, if it changed nothing)
 * @param raftTerm the Raft term of the member when it answered
 */
public record ResponseHeader(long clusterId, long memberId, long revision, long raftTerm) {
  static ResponseHeader fromProto(io.etcd.jetcd.api.ResponseHeader header) {
    return new ResponseHeader(
        header.getClusterId(), header.getMemberId(), header.getRevision(), header.getRaftTerm());
  }
}
