package org.apsara.common.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apsara.common.json.JsonReader;
import org.apsara.common.net.HostPort;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ServiceHttpEndpointTest {
  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private PrometheusMeterRegistry registry;
  private ServiceHttpEndpoint endpoint;

  @BeforeEach
  void start() {
    registry = Metrics.newRegistry("nuwa", "n1");
    endpoint = new ServiceHttpEndpoint(HostPort.of("127.0.0.1", 0), registry);
    endpoint.start();
  }

  @AfterEach
  void stop() {
    endpoint.stop();
    registry.close();
  }

  @Test
  void servesPrometheusTextWithCommonTagsAndJvmMetrics() throws Exception {
    registry.counter("nuwa_requests", "method", "put").increment(3);

    HttpResponse<String> response = get("/metrics");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValue("text/plain; version=0.0.4; charset=utf-8");
    assertThat(response.body())
        .contains("# TYPE nuwa_requests_total counter")
        .containsPattern(
            "nuwa_requests_total\\{member=\"n1\",method=\"put\",service=\"nuwa\"} 3(\\.0)?\n")
        .contains("jvm_memory_used_bytes{")
        .contains("jvm_threads_live_threads{")
        .contains("process_uptime_seconds{")
        .contains("system_cpu_count{");
  }

  @Test
  void healthAndReadyPassWhenAllChecksPass() throws Exception {
    endpoint.addHealthCheck("storage", HealthStatus::ok);
    endpoint.addReadinessCheck("caught-up", HealthStatus::ok);

    for (String path : new String[] {"/health", "/ready"}) {
      HttpResponse<String> response = get(path);
      assertThat(response.statusCode()).as(path).isEqualTo(200);
      assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
      assertThat(response.body()).as(path).isEqualTo("{\"health\":\"true\"}");
    }
  }

  @Test
  void failingHealthCheckMakesBothHealthAndReadyFailWithItsReason() throws Exception {
    AtomicReference<HealthStatus> storage = new AtomicReference<>(HealthStatus.ok());
    endpoint.addHealthCheck("storage", storage::get);
    endpoint.addHealthCheck("raft", () -> HealthStatus.unhealthy("no leader for 5 s \"term\" 7"));

    HttpResponse<String> health = get("/health");
    assertThat(health.statusCode()).isEqualTo(503);
    Map<String, Object> body = JsonReader.parseObject(health.body());
    assertThat(body).containsOnly(
        Map.entry("health", "false"), Map.entry("reason", "raft: no leader for 5 s \"term\" 7"));
    assertThat(get("/ready").statusCode()).isEqualTo(503);

    storage.set(HealthStatus.unhealthy("disk full"));
    assertThat(JsonReader.parseObject(get("/health").body()))
        .containsEntry("reason", "storage: disk full; raft: no leader for 5 s \"term\" 7");
  }

  @Test
  void readinessCheckAffectsOnlyReady() throws Exception {
    AtomicBoolean caughtUp = new AtomicBoolean(false);
    endpoint.addReadinessCheck("caught-up", () -> caughtUp.get()
        ? HealthStatus.ok() : HealthStatus.unhealthy("applied index 3 of 10"));

    assertThat(get("/health").statusCode()).isEqualTo(200);
    HttpResponse<String> ready = get("/ready");
    assertThat(ready.statusCode()).isEqualTo(503);
    assertThat(JsonReader.parseObject(ready.body()))
        .containsEntry("health", "false")
        .containsEntry("reason", "caught-up: applied index 3 of 10");

    caughtUp.set(true);
    assertThat(get("/ready").statusCode()).isEqualTo(200);
  }

  @Test
  void checkThatThrowsIsReportedAsUnhealthy() throws Exception {
    endpoint.addHealthCheck("broken", () -> {
      throw new IllegalStateException("boom");
    });
    HttpResponse<String> health = get("/health");
    assertThat(health.statusCode()).isEqualTo(503);
    assertThat(JsonReader.parseObject(health.body()).get("reason").toString())
        .startsWith("broken: check threw java.lang.IllegalStateException: boom");
  }

  @Test
  void unknownPathsAre404AndOtherMethods405() throws Exception {
    assertThat(get("/").statusCode()).isEqualTo(404);
    assertThat(get("/metrics/extra").statusCode()).isEqualTo(404);
    assertThat(get("/healthz").statusCode()).isEqualTo(404);
    assertThat(get("/health?serializable=true").statusCode()).isEqualTo(200);

    HttpResponse<String> post = client.send(
        request("/health").POST(HttpRequest.BodyPublishers.ofString("x")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.headers().firstValue("Allow")).hasValue("GET");
    HttpResponse<String> delete = client.send(request("/metrics").DELETE().build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(delete.statusCode()).isEqualTo(405);
  }

  @Test
  void duplicateCheckNamesAreRejected() {
    endpoint.addHealthCheck("storage", HealthStatus::ok);
    assertThatThrownBy(() -> endpoint.addHealthCheck("storage", HealthStatus::ok))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'storage' is already registered");
  }

  @Test
  void stopClosesTheListenerAndIsIdempotent() throws Exception {
    int port = endpoint.port();
    assertThat(get("/health").statusCode()).isEqualTo(200);

    endpoint.stop();
    endpoint.stop();

    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
        .timeout(Duration.ofSeconds(5)).build();
    assertThatThrownBy(() -> client.send(request, HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(ConnectException.class);
    assertThatThrownBy(endpoint::start).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(endpoint::port).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void startFailsClearlyWhenThePortIsTaken() {
    ServiceHttpEndpoint second = new ServiceHttpEndpoint(endpoint.address(), registry);
    assertThatThrownBy(second::start)
        .hasMessageContaining("cannot listen on 127.0.0.1:" + endpoint.port())
        .hasCauseInstanceOf(IOException.class);
  }

  private HttpResponse<String> get(String path) throws Exception {
    return client.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create("http://" + endpoint.address().format() + path))
        .timeout(Duration.ofSeconds(5));
  }
}
