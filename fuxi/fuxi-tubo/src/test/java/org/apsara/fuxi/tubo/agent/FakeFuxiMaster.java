package org.apsara.fuxi.tubo.agent;

import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;
import org.apsara.common.net.GrpcServers;
import org.apsara.common.net.HostPort;
import org.apsara.fuxi.api.FuxiTrailers;
import org.apsara.fuxi.api.v1.SequencedExit;
import org.apsara.fuxi.api.v1.TuboHeartbeatRequest;
import org.apsara.fuxi.api.v1.TuboHeartbeatResponse;
import org.apsara.fuxi.api.v1.TuboTrackerGrpc;

/**
 * A FuxiMaster as far as Tubo sees it: a TuboTracker gRPC server on loopback that records every
 * heartbeat and answers with whatever the test scripted, or as a standby (UNAVAILABLE NOT_PRIMARY,
 * naming a primary or not). Thread-safe.
 */
final class FakeFuxiMaster implements AutoCloseable {
  /** The interval tests answer with unless they set another: fast, but not a busy loop. */
  static final long TEST_INTERVAL_MILLIS = 50;

  private final List<TuboHeartbeatRequest> heartbeats = new CopyOnWriteArrayList<>();
  private final Server server;
  private volatile TuboHeartbeatResponse answer = TuboHeartbeatResponse.newBuilder()
      .setHeartbeatIntervalMillis(TEST_INTERVAL_MILLIS).build();
  /** Non-null: answer as a standby; "" names no primary. */
  private volatile String standbyNaming;
  private volatile boolean acknowledgeAll;

  FakeFuxiMaster() throws IOException {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(new TuboTrackerGrpc.TuboTrackerImplBase() {
          @Override
          public void heartbeat(TuboHeartbeatRequest request,
              StreamObserver<TuboHeartbeatResponse> response) {
            String primary = standbyNaming;
            if (primary != null) {
              Metadata trailers = new Metadata();
              trailers.put(FuxiTrailers.ERROR_CODE, "NOT_PRIMARY");
              if (!primary.isEmpty()) {
                trailers.put(FuxiTrailers.PRIMARY, primary);
              }
              heartbeats.add(request);
              response.onError(Status.UNAVAILABLE.withDescription("not the primary")
                  .asRuntimeException(trailers));
              return;
            }
            TuboHeartbeatResponse reply = answer;
            if (acknowledgeAll && request.getExitsCount() > 0) {
              long last = request.getExits(request.getExitsCount() - 1).getSequence();
              reply = reply.toBuilder().setAcknowledgedExitSequence(
                  Math.max(last, reply.getAcknowledgedExitSequence())).build();
            }
            heartbeats.add(request);
            response.onNext(reply);
            response.onCompleted();
          }
        })
        .build()
        .start();
  }

  HostPort address() {
    return HostPort.of("127.0.0.1", server.getPort());
  }

  /** Changes the answer to every heartbeat from now on. */
  void answer(UnaryOperator<TuboHeartbeatResponse.Builder> change) {
    synchronized (this) {
      answer = change.apply(answer.toBuilder()).build();
    }
  }

  /** Acknowledges every exit a heartbeat carries, in its answer. */
  void acknowledgeAll(boolean all) {
    acknowledgeAll = all;
  }

  /** Answers as a standby naming {@code primary} ("" for none); null: as the primary again. */
  void standby(String primary) {
    standbyNaming = primary;
  }

  int count() {
    return heartbeats.size();
  }

  List<TuboHeartbeatRequest> heartbeats() {
    return List.copyOf(heartbeats);
  }

  TuboHeartbeatRequest last() {
    return heartbeats.get(heartbeats.size() - 1);
  }

  /** The heartbeats from the {@code from}-th on. */
  List<TuboHeartbeatRequest> since(int from) {
    List<TuboHeartbeatRequest> all = heartbeats();
    return all.subList(Math.min(from, all.size()), all.size());
  }

  /** Every exit any heartbeat carried, as often as it was carried. */
  List<SequencedExit> exitsSeen() {
    return heartbeats().stream().flatMap(h -> h.getExitsList().stream()).toList();
  }

  @Override
  public void close() {
    GrpcServers.stop(server, Duration.ofSeconds(1));
  }
}
