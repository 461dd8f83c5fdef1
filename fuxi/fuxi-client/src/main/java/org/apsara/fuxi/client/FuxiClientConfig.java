package org.apsara.fuxi.client;

import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.apsara.common.net.HostPort;
import org.apsara.fuxi.api.FuxiPermissions;
import org.apsara.security.sign.AccessKeyCredentials;
import org.apsara.security.sign.ServiceScope;

/**
 * How a {@link FuxiClient} reaches the FuxiMaster group and how long it waits. Immutable; build one
 * with {@link #builder}, which holds the defaults.
 *
 * @param masters the FuxiMaster members' client addresses; the client also follows a primary named
 *     by a standby that is not in this list
 * @param tls a client TLS context (from {@code TlsContexts.forClient} of security-core), or {@code
 *     null} for plaintext
 * @param operationTimeout the most one operation may take, its retries included
 * @param callTimeout the most one attempt may take
 * @param backoffMin the first pause before a retry; each further pause doubles, with jitter
 * @param backoffMax the longest pause between retries
 * @param credentials the AccessKey that signs every FuxiMaster call (scoped to the service {@value
 *     FuxiPermissions#SERVICE} and the cluster's region), or {@code null} for unsigned calls to a
 *     master that runs without authentication. The application master library does not sign: it
 *     presents its application token instead.
 */
public record FuxiClientConfig(
    List<HostPort> masters,
    SslContext tls,
    Duration operationTimeout,
    Duration callTimeout,
    Duration backoffMin,
    Duration backoffMax,
    SigningCredentials credentials) {

  /** Most master addresses a client keeps, given and learned: a group has a handful. */
  public static final int MASTERS_MAX = 16;
  /** Covers a failover (an election through Nuwa plus the new primary's rebuild). */
  public static final Duration DEFAULT_OPERATION_TIMEOUT = Duration.ofSeconds(60);
  public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(15);
  public static final Duration DEFAULT_BACKOFF_MIN = Duration.ofMillis(20);
  /** A rebuild takes a few heartbeat intervals; polling faster only loads the new primary. */
  public static final Duration DEFAULT_BACKOFF_MAX = Duration.ofSeconds(1);

  public FuxiClientConfig {
    masters = List.copyOf(masters);
    if (masters.isEmpty() || masters.size() > MASTERS_MAX) {
      throw new IllegalArgumentException("a client needs 1 to " + MASTERS_MAX
          + " master addresses, got " + masters.size());
    }
    requirePositive(operationTimeout, "operation timeout");
    requirePositive(callTimeout, "call timeout");
    requirePositive(backoffMin, "minimum backoff");
    requirePositive(backoffMax, "maximum backoff");
    if (backoffMax.compareTo(backoffMin) < 0) {
      throw new IllegalArgumentException("maximum backoff " + backoffMax
          + " is below the minimum " + backoffMin);
    }
  }

  /**
   * An AccessKey and the region of the cluster it signs for: signatures are scoped to a region
   * and a service, and the master refuses one made for another region.
   */
  public record SigningCredentials(AccessKeyCredentials accessKey, String region) {
    public SigningCredentials {
      Objects.requireNonNull(accessKey, "accessKey");
      // Checks the region's syntax now rather than at the first call.
      new ServiceScope(region, FuxiPermissions.SERVICE);
    }

    /** The scope the master checks signatures against. */
    public ServiceScope scope() {
      return new ServiceScope(region, FuxiPermissions.SERVICE);
    }
  }

  static void requirePositive(Duration d, String what) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(what + " must be positive: " + d);
    }
  }

  public static Builder builder(List<HostPort> masters) {
    return new Builder(masters);
  }

  /** Collects a {@link FuxiClientConfig}, starting from the defaults. Not thread-safe. */
  public static final class Builder {
    private final List<HostPort> masters;
    private SslContext tls;
    private Duration operationTimeout = DEFAULT_OPERATION_TIMEOUT;
    private Duration callTimeout = DEFAULT_CALL_TIMEOUT;
    private Duration backoffMin = DEFAULT_BACKOFF_MIN;
    private Duration backoffMax = DEFAULT_BACKOFF_MAX;
    private SigningCredentials credentials;

    private Builder(List<HostPort> masters) {
      this.masters = masters;
    }

    public Builder tls(SslContext value) {
      tls = value;
      return this;
    }

    public Builder operationTimeout(Duration value) {
      operationTimeout = value;
      return this;
    }

    public Builder callTimeout(Duration value) {
      callTimeout = value;
      return this;
    }

    public Builder backoff(Duration min, Duration max) {
      backoffMin = min;
      backoffMax = max;
      return this;
    }

    /**
     * Signs every FuxiMaster call with this AccessKey, for the cluster's {@code region} (a
     * credentials profile's {@code region()}).
     */
    public Builder credentials(AccessKeyCredentials accessKey, String region) {
      credentials = new SigningCredentials(accessKey, region);
      return this;
    }

    public FuxiClientConfig build() {
      return new FuxiClientConfig(masters, tls, operationTimeout, callTimeout, backoffMin,
          backoffMax, credentials);
    }
  }
}
