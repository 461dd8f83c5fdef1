package org.apsara.pangu.client;

import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import org.apsara.common.net.HostPort;
import org.apsara.security.sign.AccessKeyCredentials;
import org.apsara.security.sign.ServiceScope;

/**
 * How a {@link PanguClient} reaches the master group and how long it waits. Immutable; build one
 * with {@link #builder}, which holds the defaults.
 *
 * @param masters the master members' client addresses; the client also follows a leader named by
 *     a member that is not in this list
 * @param clientName names this client's writer leases; unique per client instance
 * @param tls a client TLS context ({@code TlsContexts.forClient}) for the master and the
 *     chunkservers, or {@code null} for plaintext
 * @param operationTimeout the most one master operation may take, its retries included
 * @param callTimeout the most one attempt of a master call may take
 * @param backoffMin the first pause before a retry; each further pause doubles, with jitter
 * @param backoffMax the longest pause between retries
 * @param leaseRenewInterval how often the lease of open files is renewed: a third of the master's
 *     lease duration (60 s by default), so two renewals may fail before a lease runs out
 * @param replicaAckTimeout how long a chunkserver may take to accept a packet or acknowledge a
 *     sync before the writer treats the replica as failed
 * @param readTimeout the most one read from a chunkserver may take before the reader tries the
 *     next replica
 * @param clientHost this machine's host name, so that the master places a first replica here and
 *     orders read locations by nearness; "" for no preference
 * @param credentials the AccessKey that signs every master call (scoped to the service {@value
 *     #SERVICE} and the key's region), or {@code null} for unsigned calls to a master that runs
 *     without authentication
 */
public record PanguClientConfig(
    List<HostPort> masters,
    String clientName,
    SslContext tls,
    Duration operationTimeout,
    Duration callTimeout,
    Duration backoffMin,
    Duration backoffMax,
    Duration leaseRenewInterval,
    Duration replicaAckTimeout,
    Duration readTimeout,
    String clientHost,
    SigningCredentials credentials) {

  /** The service name requests to the master are signed for. */
  public static final String SERVICE = "pangu";

  /** Most master addresses a client keeps, given and learned: a group has at most five. */
  public static final int MASTERS_MAX = 16;
  /** The master refuses longer lease names. */
  public static final int CLIENT_NAME_BYTES_MAX = 255;
  /** Of a generated client name's host part, to stay far below the name limit. */
  private static final int CLIENT_HOST_CHARS_MAX = 64;
  public static final Duration DEFAULT_OPERATION_TIMEOUT = Duration.ofSeconds(60);
  /** Above the master's own request timeout (10 s), so that the master answers first. */
  public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(15);
  public static final Duration DEFAULT_BACKOFF_MIN = Duration.ofMillis(20);
  /** An election takes about a second; polling faster than this only loads the members. */
  public static final Duration DEFAULT_BACKOFF_MAX = Duration.ofSeconds(1);
  public static final Duration DEFAULT_LEASE_RENEW_INTERVAL = Duration.ofSeconds(20);
  public static final Duration DEFAULT_REPLICA_ACK_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(60);

  public PanguClientConfig {
    masters = List.copyOf(masters);
    if (masters.isEmpty() || masters.size() > MASTERS_MAX) {
      throw new IllegalArgumentException("a client needs 1 to " + MASTERS_MAX
          + " master addresses, got " + masters.size());
    }
    Objects.requireNonNull(clientName, "clientName");
    int nameBytes = clientName.getBytes(StandardCharsets.UTF_8).length;
    if (clientName.isBlank() || nameBytes > CLIENT_NAME_BYTES_MAX) {
      throw new IllegalArgumentException("client name must be 1.." + CLIENT_NAME_BYTES_MAX
          + " bytes, not blank: '" + clientName + "'");
    }
    requirePositive(operationTimeout, "operation timeout");
    requirePositive(callTimeout, "call timeout");
    requirePositive(backoffMin, "minimum backoff");
    requirePositive(backoffMax, "maximum backoff");
    requirePositive(leaseRenewInterval, "lease renew interval");
    requirePositive(replicaAckTimeout, "replica ack timeout");
    requirePositive(readTimeout, "read timeout");
    if (backoffMax.compareTo(backoffMin) < 0) {
      throw new IllegalArgumentException("maximum backoff " + backoffMax
          + " is below the minimum " + backoffMin);
    }
    Objects.requireNonNull(clientHost, "clientHost");
  }

  /**
   * An AccessKey and the region of the cluster it signs for: signatures are scoped to a region
   * and a service, and the master refuses one made for another region.
   */
  public record SigningCredentials(AccessKeyCredentials accessKey, String region) {
    public SigningCredentials {
      Objects.requireNonNull(accessKey, "accessKey");
      // Checks the region's syntax now rather than at the first call.
      new ServiceScope(region, SERVICE);
    }

    /** The scope the master checks signatures against. */
    public ServiceScope scope() {
      return new ServiceScope(region, SERVICE);
    }
  }

  private static void requirePositive(Duration d, String what) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(what + " must be positive: " + d);
    }
  }

  public static Builder builder(List<HostPort> masters) {
    return new Builder(masters);
  }

  /**
   * A client name unique to this process and instance: {@code pangu-client-<host>-<pid>-<random>}.
   */
  public static String generateClientName() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      host = "unknown";
    }
    // A very long host name must not push the name over the master's limit.
    if (host.length() > CLIENT_HOST_CHARS_MAX) {
      host = host.substring(0, CLIENT_HOST_CHARS_MAX);
    }
    byte[] random = new byte[6];
    new SecureRandom().nextBytes(random);
    return "pangu-client-" + host + "-" + ProcessHandle.current().pid() + "-"
        + HexFormat.of().formatHex(random);
  }

  /** Collects a {@link PanguClientConfig}, starting from the defaults. Not thread-safe. */
  public static final class Builder {
    private final List<HostPort> masters;
    private String clientName;
    private SslContext tls;
    private Duration operationTimeout = DEFAULT_OPERATION_TIMEOUT;
    private Duration callTimeout = DEFAULT_CALL_TIMEOUT;
    private Duration backoffMin = DEFAULT_BACKOFF_MIN;
    private Duration backoffMax = DEFAULT_BACKOFF_MAX;
    private Duration leaseRenewInterval = DEFAULT_LEASE_RENEW_INTERVAL;
    private Duration replicaAckTimeout = DEFAULT_REPLICA_ACK_TIMEOUT;
    private Duration readTimeout = DEFAULT_READ_TIMEOUT;
    private String clientHost = "";
    private SigningCredentials credentials;

    private Builder(List<HostPort> masters) {
      this.masters = masters;
    }

    public Builder clientName(String value) {
      clientName = value;
      return this;
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

    public Builder leaseRenewInterval(Duration value) {
      leaseRenewInterval = value;
      return this;
    }

    public Builder replicaAckTimeout(Duration value) {
      replicaAckTimeout = value;
      return this;
    }

    public Builder readTimeout(Duration value) {
      readTimeout = value;
      return this;
    }

    public Builder clientHost(String value) {
      clientHost = value;
      return this;
    }

    /** Signs every master call with this AccessKey, for the cluster's {@code region}. */
    public Builder credentials(AccessKeyCredentials accessKey, String region) {
      credentials = new SigningCredentials(accessKey, region);
      return this;
    }

    public PanguClientConfig build() {
      return new PanguClientConfig(masters, clientName != null ? clientName : generateClientName(),
          tls, operationTimeout, callTimeout, backoffMin, backoffMax, leaseRenewInterval,
          replicaAckTimeout, readTimeout, clientHost, credentials);
    }
  }
}
