package org.apsara.common.observe;

import java.util.Objects;

/**
 * The outcome of one {@link HealthCheck}: healthy, or unhealthy with a reason a human can act on.
 *
 * @param healthy whether the checked component works
 * @param reason why it does not; empty when healthy
 */
public record HealthStatus(boolean healthy, String reason) {
  private static final HealthStatus HEALTHY = new HealthStatus(true, "");

  public HealthStatus {
    Objects.requireNonNull(reason, "reason");
    if (!healthy && reason.isBlank()) {
      throw new IllegalArgumentException("an unhealthy status must say why");
    }
  }

  public static HealthStatus ok() {
    return HEALTHY;
  }

  public static HealthStatus unhealthy(String reason) {
    return new HealthStatus(false, reason);
  }
}
