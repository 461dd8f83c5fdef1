package org.apsara.common.observe;

/**
 * Reports whether one component of a service works, for {@code /health} and {@code /ready}.
 *
 * <p>Called on an HTTP handler thread each time the endpoint is queried, possibly concurrently with
 * itself: implementations must be thread-safe, quick and must not block on I/O or locks that can be
 * held for long (read a flag or a timestamp that the component keeps up to date instead). A check
 * that throws is reported as unhealthy with the exception as the reason.
 */
@FunctionalInterface
public interface HealthCheck {
  HealthStatus check();
}
