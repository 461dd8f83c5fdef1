package org.apsara.fuxi.client.testing;

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
import org.apsara.fuxi.api.FuxiTrailers;

/** A gRPC server on a free loopback port serving one fake service, for tests. */
public final class GrpcTestServer implements AutoCloseable {
  private final Server server;

  public GrpcTestServer(BindableService service) throws IOException {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(service).build().start();
  }

  /** Serves {@code service} behind {@code interceptors} (the last given runs first). */
  public GrpcTestServer(BindableService service, ServerInterceptor... interceptors)
      throws IOException {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(ServerInterceptors.intercept(service, interceptors)).build().start();
  }

  public HostPort address() {
    return HostPort.of("127.0.0.1", server.getPort());
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }

  /** A Fuxi refusal: {@code status} with {@code code} (and the primary) in the trailers. */
  public static StatusRuntimeException fuxiError(Status.Code status, String code,
      HostPort primary) {
    Metadata trailers = new Metadata();
    trailers.put(FuxiTrailers.ERROR_CODE, code);
    if (primary != null) {
      trailers.put(FuxiTrailers.PRIMARY, primary.format());
    }
    return Status.fromCode(status).withDescription("fake " + code + " refusal")
        .asRuntimeException(trailers);
  }
}
