package org.apsara.common.observe;

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
 * Times every gRPC call a server handles, by method and status code ({@value #METER}): the series
 * operators alert on, error rates per method and latency percentiles. Install it outermost, before
 * authentication, so that rejected calls ({@code UNAUTHENTICATED}, {@code PERMISSION_DENIED}) are
 * counted too. Thread-safe.
 */
public final class GrpcServerMetrics implements ServerInterceptor {
  public static final String METER = "grpc_server_handled";

  private final MeterRegistry registry;
  /** One timer per method and status code, found once: registering is too slow for every call. */
  private final Map<String, Timer> timers = new ConcurrentHashMap<>();

  public GrpcServerMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    long startNanos = System.nanoTime();
    String method = call.getMethodDescriptor().getFullMethodName();
    ServerCall<Q, R> timed = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
      @Override
      public void close(Status status, Metadata trailers) {
        timer(method, status.getCode())
            .record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
        super.close(status, trailers);
      }
    };
    return next.startCall(timed, headers);
  }

  private Timer timer(String method, Status.Code code) {
    return timers.computeIfAbsent(method + ' ' + code, key -> Timer.builder(METER)
        .description("gRPC calls handled, by method and status code")
        .tag("method", method)
        .tag("code", code.name())
        .publishPercentiles(0.5, 0.99)
        .register(registry));
  }
}
