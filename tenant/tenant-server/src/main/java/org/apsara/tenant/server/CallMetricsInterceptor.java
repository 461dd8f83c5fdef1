package org.apsara.tenant.server;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Times every call by method and status code ({@value #METER}), so that rejected signatures
 * ({@code UNAUTHENTICATED}) and denials ({@code PERMISSION_DENIED}) show up per method beside the
 * latency. Installed outside authentication, so that it sees the rejected calls too. Thread-safe.
 */
final class CallMetricsInterceptor implements ServerInterceptor {
  static final String METER = "grpc_server_handled";

  private final MeterRegistry registry;
  /** Registering a meter is slow, so each method and code is looked up once. */
  private final Map<String, Timer> timers = new ConcurrentHashMap<>();

  CallMetricsInterceptor(MeterRegistry registry) {
    this.registry = registry;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    long startNanos = System.nanoTime();
    String method = call.getMethodDescriptor().getFullMethodName();
    return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
      @Override
      public void close(Status status, Metadata trailers) {
        timer(method, status.getCode()).record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
        super.close(status, trailers);
      }
    }, headers);
  }

  private Timer timer(String method, Status.Code code) {
    return timers.computeIfAbsent(method + ' ' + code, unused -> Timer.builder(METER)
        .description("gRPC calls handled, by method and status code")
        .tag("method", method)
        .tag("code", code.name())
        .publishPercentiles(0.5, 0.99)
        .register(registry));
  }
}
