package org.apsara.common.observe;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.common.json.JsonStrings;
import org.apsara.common.net.HostPort;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operations HTTP endpoint of a service process: {@code GET /metrics} (Prometheus text format),
 * {@code GET /health} and {@code GET /ready}.
 *
 * <p>{@code /health} answers 200 {@code {"health":"true"}} when every health check passes, else 503
 * {@code {"health":"false","reason":"..."}} naming each failing check, the same shape as etcd's
 * {@code /health}. {@code /ready} answers the same way and passes when every health check
 * <em>and</em> every readiness check passes: a process that is not healthy is never ready. Any other
 * path is 404, any method other than GET is 405.
 *
 * <p>Threading: checks may be added at any time from any thread, also while serving. {@link #start()}
 * and {@link #stop()} may be called from any thread; the endpoint can be started once. Requests are
 * served by at most {@value #HANDLER_THREADS} threads with at most {@value #REQUEST_QUEUE_MAX}
 * queued; beyond that the accepting thread serves the request itself, which slows accepting down
 * rather than dropping requests or growing without bound.
 *
 * <p>While started, JVM and process metrics are bound to the registry ({@link
 * Metrics#bindJvmAndProcessMetrics}); bind them yourself only if the registry is not served here.
 */
public final class ServiceHttpEndpoint implements AutoCloseable {
  /** The Prometheus text exposition format, version 0.0.4. */
  public static final String METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  /** Threads serving requests; scrapes and probes are rare and quick. */
  public static final int HANDLER_THREADS = 2;

  /** Requests waiting for a handler thread before the accepting thread serves them itself. */
  public static final int REQUEST_QUEUE_MAX = 64;

  /** How long {@link #stop()} lets requests in progress finish. */
  public static final int STOP_GRACE_SECONDS = 1;

  /** Backlog of not yet accepted connections; 0 lets the operating system choose. */
  private static final int ACCEPT_BACKLOG = 0;

  private static final String JSON_CONTENT_TYPE = "application/json";
  private static final Logger log = LoggerFactory.getLogger(ServiceHttpEndpoint.class);

  private enum State { NEW, STARTED, STOPPED }

  private final HostPort bindAddress;
  private final PrometheusMeterRegistry registry;
  // Guarded by "this"; iteration copies under the lock so that a check is never run while holding
  // it.
  private final Map<String, HealthCheck> healthChecks = new LinkedHashMap<>();
  private final Map<String, HealthCheck> readinessChecks = new LinkedHashMap<>();

  private State state = State.NEW;
  private HttpServer server;
  private ThreadPoolExecutor executor;
  private Metrics.Binding jvmMetrics;

  /**
   * Creates an endpoint that will listen on {@code bindAddress} (port 0 picks a free port) and
   * serve {@code registry}. Nothing is bound until {@link #start()}.
   */
  public ServiceHttpEndpoint(HostPort bindAddress, PrometheusMeterRegistry registry) {
    this.bindAddress = Objects.requireNonNull(bindAddress, "bindAddress");
    this.registry = Objects.requireNonNull(registry, "registry");
  }

  /**
   * Adds a check that {@code /health} (and therefore also {@code /ready}) requires to pass.
   *
   * @throws IllegalArgumentException if a health check with this name exists
   */
  public synchronized ServiceHttpEndpoint addHealthCheck(String name, HealthCheck check) {
    addCheck(healthChecks, name, check);
    return this;
  }

  /**
   * Adds a check that only {@code /ready} requires to pass: the process is alive but should not get
   * traffic yet (e.g. it has not caught up with its peers).
   *
   * @throws IllegalArgumentException if a readiness check with this name exists
   */
  public synchronized ServiceHttpEndpoint addReadinessCheck(String name, HealthCheck check) {
    addCheck(readinessChecks, name, check);
    return this;
  }

  /**
   * Binds the listening socket and starts serving.
   *
   * @throws UncheckedIOException if the address cannot be bound
   * @throws IllegalStateException if already started or stopped
   */
  public synchronized void start() {
    if (state != State.NEW) {
      throw new IllegalStateException("endpoint can be started once; it is " + state);
    }
    HttpServer created;
    try {
      created = HttpServer.create(bindAddress.toSocketAddress(), ACCEPT_BACKLOG);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen on " + bindAddress + ": " + e.getMessage(), e);
    }
    executor = new ThreadPoolExecutor(HANDLER_THREADS, HANDLER_THREADS, 0, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(REQUEST_QUEUE_MAX), handlerThreadFactory(created),
        new ThreadPoolExecutor.CallerRunsPolicy());
    created.setExecutor(executor);
    created.createContext("/", this::handle);
    jvmMetrics = Metrics.bindJvmAndProcessMetrics(registry);
    created.start();
    server = created;
    state = State.STARTED;
    log.info("serving /metrics, /health and /ready on {}", address());
  }

  /** The port listened on; with port 0 requested, the one the system chose. */
  public synchronized int port() {
    if (state != State.STARTED) {
      throw new IllegalStateException("endpoint is " + state + ", not started");
    }
    return server.getAddress().getPort();
  }

  /** The address listened on, with the actual port. */
  public synchronized HostPort address() {
    return HostPort.of(bindAddress.host(), port());
  }

  /**
   * Stops listening, waits up to {@value #STOP_GRACE_SECONDS} s for requests in progress and
   * releases the threads. Idempotent.
   */
  public synchronized void stop() {
    if (state == State.STARTED) {
      // HttpServer.stop(delay) can wait out the whole delay even when nothing is in progress, so
      // wait for the handler threads instead and then close the server without delay.
      executor.shutdown();
      try {
        if (!executor.awaitTermination(STOP_GRACE_SECONDS, TimeUnit.SECONDS)) {
          log.warn("requests still in progress after {} s; closing anyway", STOP_GRACE_SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      server.stop(0);
      executor.shutdownNow();
      jvmMetrics.close();
    }
    state = State.STOPPED;
  }

  /** Same as {@link #stop()}. */
  @Override
  public void close() {
    stop();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try {
      String path = exchange.getRequestURI().getPath();
      boolean known = path.equals("/metrics") || path.equals("/health") || path.equals("/ready");
      if (!known) {
        respond(exchange, 404, JSON_CONTENT_TYPE, "{\"message\":\"not found\"}");
        return;
      }
      if (!exchange.getRequestMethod().equals("GET")) {
        exchange.getResponseHeaders().set("Allow", "GET");
        respond(exchange, 405, JSON_CONTENT_TYPE, "{\"message\":\"method not allowed\"}");
        return;
      }
      switch (path) {
        case "/metrics" -> serveMetrics(exchange);
        case "/health" -> serveHealth(exchange, false);
        default -> serveHealth(exchange, true);
      }
    } catch (RuntimeException e) {
      // The JDK server would otherwise close the connection without any response.
      log.warn("request {} {} failed", exchange.getRequestMethod(), exchange.getRequestURI(), e);
      respond(exchange, 500, JSON_CONTENT_TYPE, "{\"message\":\"internal error\"}");
    } finally {
      exchange.close();
    }
  }

  private void serveMetrics(HttpExchange exchange) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    registry.scrape(body, METRICS_CONTENT_TYPE);
    respond(exchange, 200, METRICS_CONTENT_TYPE, body.toByteArray());
  }

  private void serveHealth(HttpExchange exchange, boolean readiness) throws IOException {
    List<Map.Entry<String, HealthCheck>> checks = new ArrayList<>();
    synchronized (this) {
      checks.addAll(healthChecks.entrySet());
      if (readiness) {
        checks.addAll(readinessChecks.entrySet());
      }
    }
    List<String> failures = new ArrayList<>();
    for (Map.Entry<String, HealthCheck> check : checks) {
      HealthStatus status = run(check.getValue());
      if (!status.healthy()) {
        failures.add(check.getKey() + ": " + status.reason());
      }
    }
    if (failures.isEmpty()) {
      respond(exchange, 200, JSON_CONTENT_TYPE, "{\"health\":\"true\"}");
    } else {
      StringBuilder body = new StringBuilder("{\"health\":\"false\",\"reason\":");
      JsonStrings.appendQuoted(body, String.join("; ", failures));
      body.append('}');
      respond(exchange, 503, JSON_CONTENT_TYPE, body.toString());
    }
  }

  private static HealthStatus run(HealthCheck check) {
    try {
      HealthStatus status = check.check();
      return status != null ? status : HealthStatus.unhealthy("check returned no status");
    } catch (RuntimeException e) {
      return HealthStatus.unhealthy("check threw " + e);
    }
  }

  private static void respond(HttpExchange exchange, int status, String contentType, String body)
      throws IOException {
    respond(exchange, status, contentType, body.getBytes(StandardCharsets.UTF_8));
  }

  private static void respond(HttpExchange exchange, int status, String contentType, byte[] body)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", contentType);
    exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  private static void addCheck(Map<String, HealthCheck> checks, String name, HealthCheck check) {
    Objects.requireNonNull(check, "check");
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("a check needs a name");
    }
    if (checks.putIfAbsent(name, check) != null) {
      throw new IllegalArgumentException("a check named '" + name + "' is already registered");
    }
  }

  private static ThreadFactory handlerThreadFactory(HttpServer server) {
    AtomicInteger count = new AtomicInteger();
    int port = server.getAddress().getPort();
    return runnable -> {
      Thread thread = new Thread(runnable, "http-endpoint-" + port + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }
}
