package org.apsara.pangu.client;

import io.grpc.BindableService;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.api.MasterTrailers;

/** A gRPC server on a free loopback port serving one fake service, for tests. */
final class GrpcTestServer implements AutoCloseable {
  private final Server server;

  GrpcTestServer(BindableService service, ServerInterceptor... interceptors) throws IOException {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(ServerInterceptors.intercept(service, interceptors)).build().start();
  }

  HostPort address() {
    return HostPort.of("127.0.0.1", server.getPort());
  }

  /** Stops at once: later calls are refused (connection refused once the port is closed). */
  @Override
  public void close() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }

  /** A master refusal: {@code status} with the Pangu code (and leader) in the trailers. */
  static StatusRuntimeException masterError(Status.Code status, PanguErrorCode code,
      HostPort leader) {
    Metadata trailers = new Metadata();
    trailers.put(MasterTrailers.ERROR_CODE, code.name());
    if (leader != null) {
      trailers.put(MasterTrailers.LEADER, leader.format());
    }
    return Status.fromCode(status).withDescription("fake " + code).asRuntimeException(trailers);
  }

  static StatusRuntimeException masterError(PanguErrorCode code) {
    return masterError(code.grpcCode(), code, null);
  }
}
