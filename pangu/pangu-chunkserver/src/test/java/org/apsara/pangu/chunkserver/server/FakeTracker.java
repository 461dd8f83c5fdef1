package org.apsara.pangu.chunkserver.server;

import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.api.MasterTrailers;
import org.apsara.pangu.api.v1.ChunkServerTrackerGrpc;
import org.apsara.pangu.api.v1.HeartbeatRequest;
import org.apsara.pangu.api.v1.HeartbeatResponse;

/**
 * A master member that records every heartbeat and answers as scripted: by default OK with its
 * interval; queued answers (a failure, a redirect to the leader, a request for a full report) are
 * used one per heartbeat first. Runs a real gRPC server on loopback.
 */
final class FakeTracker extends ChunkServerTrackerGrpc.ChunkServerTrackerImplBase
    implements AutoCloseable {
  /** One scripted answer. */
  record Answer(Status status, String leader, boolean fullReportRequested, Boolean decommission) {
    static Answer ok() {
      return new Answer(Status.OK, null, false, null);
    }

    static Answer askForFullReport() {
      return new Answer(Status.OK, null, true, null);
    }

    /** An operator started ({@code true}) or ended its decommissioning. */
    static Answer decommission(boolean value) {
      return new Answer(Status.OK, null, false, value);
    }

    static Answer fail(Status status) {
      return new Answer(status, null, false, null);
    }

    /** A follower's answer: UNAVAILABLE naming the leader. */
    static Answer notLeader(HostPort leader) {
      return new Answer(Status.UNAVAILABLE.withDescription("not the leader"), leader.format(),
          false, null);
    }
  }

  final List<HeartbeatRequest> requests = new CopyOnWriteArrayList<>();
  private final Queue<Answer> script = new ConcurrentLinkedQueue<>();
  private final int intervalMs;
  private final Server server;

  FakeTracker(int intervalMs) throws IOException {
    this.intervalMs = intervalMs;
    this.server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(this).build().start();
  }

  HostPort address() {
    return HostPort.of("127.0.0.1", server.getPort());
  }

  /** Queues answers for the next heartbeats, in order. */
  void answerNext(Answer... answers) {
    script.addAll(List.of(answers));
  }

  HeartbeatRequest last() {
    return requests.get(requests.size() - 1);
  }

  @Override
  public void heartbeat(HeartbeatRequest request, StreamObserver<HeartbeatResponse> responses) {
    requests.add(request);
    Answer answer = script.poll();
    if (answer == null) {
      answer = Answer.ok();
    }
    if (!answer.status().isOk()) {
      Metadata trailers = new Metadata();
      if (answer.leader() != null) {
        trailers.put(MasterTrailers.LEADER, answer.leader());
      }
      responses.onError(answer.status().asRuntimeException(trailers));
      return;
    }
    HeartbeatResponse.Builder response = HeartbeatResponse.newBuilder()
        .setHeartbeatIntervalMs(intervalMs)
        .setFullReportRequested(answer.fullReportRequested());
    if (answer.decommission() != null) {
      response.setDecommission(answer.decommission());
    }
    responses.onNext(response.build());
    responses.onCompleted();
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }
}
