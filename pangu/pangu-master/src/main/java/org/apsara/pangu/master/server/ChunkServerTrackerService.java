package org.apsara.pangu.master.server;

import io.grpc.stub.StreamObserver;
import org.apsara.pangu.api.v1.ChunkServerTrackerGrpc;
import org.apsara.pangu.api.v1.HeartbeatRequest;
import org.apsara.pangu.api.v1.HeartbeatResponse;
import org.apsara.pangu.master.chunks.ChunkManager;
import org.apsara.pangu.master.raft.MasterNode;

/**
 * The {@code apsara.pangu.v1.ChunkServerTracker} service: heartbeats go to the leader's {@link
 * ChunkManager}; a follower answers UNAVAILABLE with the leader's client address, so the
 * chunkserver moves on to it. Thread-safe.
 */
public final class ChunkServerTrackerService extends ChunkServerTrackerGrpc.ChunkServerTrackerImplBase {
  private final MasterNode node;
  private final ChunkManager chunks;
  private final MasterErrors errors;

  public ChunkServerTrackerService(MasterNode node, ChunkManager chunks, MasterErrors errors) {
    this.node = node;
    this.chunks = chunks;
    this.errors = errors;
  }

  @Override
  public void heartbeat(HeartbeatRequest request, StreamObserver<HeartbeatResponse> response) {
    HeartbeatResponse reply;
    try {
      if (!request.hasLocation() || request.getLocation().getId().isEmpty()) {
        throw MasterErrors.invalid("location.id is required");
      }
      if (request.getLocation().getAddress().isEmpty()) {
        throw MasterErrors.invalid("location.address is required");
      }
      node.requireReadyLeader();
      reply = chunks.heartbeat(request);
    } catch (RuntimeException e) {
      response.onError(errors.toStatus(e));
      return;
    }
    response.onNext(reply);
    response.onCompleted();
  }
}
