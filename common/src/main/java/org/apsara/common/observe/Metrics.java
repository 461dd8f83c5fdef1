package org.apsara.common.observe;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Objects;

/**
 * Creates the metric registry of a service process and binds the JVM and process metrics to it.
 *
 * <p>Every meter of a registry made here carries the tags {@value #SERVICE_TAG} and {@value
 * #MEMBER_TAG}, so that one Prometheus server can scrape every member of every service and still
 * tell the series apart.
 */
public final class Metrics {
  /** Tag naming the service, e.g. {@code nuwa}. */
  public static final String SERVICE_TAG = "service";

  /** Tag naming the member (process) of the service, e.g. {@code n1}. */
  public static final String MEMBER_TAG = "member";

  private Metrics() {}

  /**
   * Returns a new Prometheus registry whose meters all carry {@code service} and {@code member}
   * tags. The registry is thread-safe (as all Micrometer registries are); the caller owns it and
   * should {@link PrometheusMeterRegistry#close() close} it when the service stops.
   */
  public static PrometheusMeterRegistry newRegistry(String service, String member) {
    requireTagValue(service, SERVICE_TAG);
    requireTagValue(member, MEMBER_TAG);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.config().commonTags(SERVICE_TAG, service, MEMBER_TAG, member);
    return registry;
  }

  /**
   * Binds JVM (memory, garbage collection, threads, class loading) and process (CPU, uptime, open
   * file descriptors) metrics to {@code registry}.
   *
   * <p>The garbage collection metrics listen to JVM notifications until closed; close the returned
   * handle when the registry is no longer scraped. Binding twice to the same registry reuses the
   * existing meters but would count garbage collections twice, so bind once per registry.
   */
  public static Binding bindJvmAndProcessMetrics(MeterRegistry registry) {
    Objects.requireNonNull(registry, "registry");
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    JvmGcMetrics gcMetrics = new JvmGcMetrics();
    gcMetrics.bindTo(registry);
    return gcMetrics::close;
  }

  /** Metrics bound to a registry; {@link #close()} stops what keeps listening (never throws). */
  public interface Binding extends AutoCloseable {
    @Override
    void close();
  }

  private static void requireTagValue(String value, String tag) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("the " + tag + " tag must not be empty");
    }
  }
}
