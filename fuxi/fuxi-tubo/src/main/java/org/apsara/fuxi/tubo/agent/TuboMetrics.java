package org.apsara.fuxi.tubo.agent;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The agent's own meters. Counters are thread-safe; gauges read the agent when scraped.
 * Prometheus names get {@code _total} appended to counters.
 */
final class TuboMetrics {
  private final MeterRegistry registry;
  private final Counter heartbeatsAnswered;
  private final Counter workersStarted;
  private final Counter appMastersLaunched;
  private final Counter workersRevoked;
  private final Map<String, Counter> heartbeatFailures = new ConcurrentHashMap<>();
  private final Map<String, Counter> startRefusals = new ConcurrentHashMap<>();
  private final Map<String, Counter> exits = new ConcurrentHashMap<>();

  TuboMetrics(MeterRegistry registry) {
    this.registry = registry;
    heartbeatsAnswered = Counter.builder("fuxi_tubo_heartbeats_answered")
        .description("Heartbeats the FuxiMaster primary answered").register(registry);
    workersStarted = Counter.builder("fuxi_tubo_workers_started")
        .description("Workers started by StartWorker").register(registry);
    appMastersLaunched = Counter.builder("fuxi_tubo_app_masters_launched")
        .description("Application masters launched at the master's request").register(registry);
    workersRevoked = Counter.builder("fuxi_tubo_workers_revoked")
        .description("Workers killed because the grant table no longer covered them")
        .register(registry);
  }

  /** Registers the gauges; call once. */
  void bind(Supplier<Number> runningWorkers, Supplier<Number> pendingExits,
      Supplier<Number> heartbeatAgeSeconds) {
    Gauge.builder("fuxi_tubo_running_workers", runningWorkers, s -> s.get().doubleValue())
        .description("Workers running on this machine").register(registry);
    Gauge.builder("fuxi_tubo_pending_exits", pendingExits, s -> s.get().doubleValue())
        .description("Worker exits not yet acknowledged by the master").register(registry);
    Gauge.builder("fuxi_tubo_heartbeat_last_success_age_seconds", heartbeatAgeSeconds,
            s -> s.get().doubleValue())
        .description("Seconds since the master last answered a heartbeat (since the start if it"
            + " never did)")
        .register(registry);
  }

  void heartbeatAnswered() {
    heartbeatsAnswered.increment();
  }

  void heartbeatFailed(String statusCode) {
    heartbeatFailures.computeIfAbsent(statusCode, code -> Counter.builder(
            "fuxi_tubo_heartbeats_failed")
        .description("Heartbeats that failed, by gRPC status (UNAVAILABLE includes redirects"
            + " from standbys to the primary)")
        .tag("status", code).register(registry)).increment();
  }

  void workerStarted() {
    workersStarted.increment();
  }

  void appMasterLaunched() {
    appMastersLaunched.increment();
  }

  void workerRevoked() {
    workersRevoked.increment();
  }

  void startRefused(String errorCode) {
    startRefusals.computeIfAbsent(errorCode, code -> Counter.builder(
            "fuxi_tubo_start_refusals")
        .description("StartWorker calls refused, by error code")
        .tag("code", code).register(registry)).increment();
  }

  void workerExited(String kind) {
    exits.computeIfAbsent(kind, k -> Counter.builder("fuxi_tubo_worker_exits")
        .description("Workers gone, by kind of exit").tag("kind", k).register(registry))
        .increment();
  }
}
