package org.apsara.nuwa.server;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.apsara.common.net.HostPort;
import org.apsara.nuwa.api.NuwaLimits;
import org.apsara.nuwa.server.auth.PasswordHasher;
import org.apsara.security.tls.ClientAuth;
import org.apsara.security.tls.TlsMaterial;

/**
 * Everything one Nuwa member needs to start: who it is, who its peers are, where it keeps its
 * data and which ports it serves. Immutable; build with {@link #builder}.
 *
 * @param memberId this member's name, one of the keys of {@code peers}
 * @param peers every member of the group, by name, with its Raft (peer) address
 * @param dataDir this member's own directory: Raft log, snapshots, logs
 * @param clientHost the address the etcd-compatible gRPC API binds to
 * @param clientPort the port of the etcd-compatible gRPC API (0 picks a free one)
 * @param metricsPort the port of the HTTP endpoint with /metrics and /health (0 picks a free one,
 *     -1 turns it off)
 * @param electionTimeoutMin the lower bound of Raft's randomized election timeout
 * @param requestTimeout how long a client request may wait for the group before it fails with
 *     "etcdserver: request timed out"
 * @param snapshotEveryEntries a snapshot is taken after this many applied log entries, and the log
 *     before it purged
 * @param maxRequestBytes the largest request accepted
 * @param progressNotifyInterval how often a watcher that asked for progress notifications gets one
 * @param autoCompactionRetainRevisions the leader compacts history older than this many revisions
 *     behind the latest (etcd's revision mode of auto-compaction); 0 turns it off
 * @param autoCompactionInterval how often the leader checks the retention
 * @param authTokenTtl how long a token from etcd's Authenticate stays valid (etcd's
 *     {@code --auth-token-ttl}); clients authenticate again when theirs is refused
 * @param passwordHashIterations PBKDF2 iterations for passwords hashed from now on (hashes keep
 *     the count they were made with)
 * @param clientTls TLS on the client port (etcd's {@code --cert-file}, {@code --key-file},
 *     {@code --trusted-ca-file}), or {@code null} for plaintext; it needs a certificate and key
 * @param clientCertAuth whether every client must present a certificate of the trusted CA
 *     (etcd's {@code --client-cert-auth}); needs {@code clientTls} with a trusted CA file
 * @param peerTls mutual TLS between members on the Raft port (etcd's {@code --peer-cert-file},
 *     {@code --peer-key-file}, {@code --peer-trusted-ca-file}), or {@code null} for plaintext;
 *     it needs all three files, and every member must use it or none
 * @param appendBatchWait how long the leader lets new entries gather after it sent a follower
 *     something that is still unanswered, before it sends them (Ratis's {@code
 *     raft.server.log.appender.wait-time.min}, applied only while a message is outstanding):
 *     longer gathers more entries per message, which saves CPU under many concurrent writers; an
 *     entry that finds nothing outstanding, such as a lone writer's, leaves at once either way
 * @param join whether this member joins a running group rather than founding one: on its first
 *     start it asks the members among {@code peers} to add it, and they bring it up to date
 *     (etcd's {@code --initial-cluster-state existing}); {@code peers} then names this member
 *     and at least one member of that group. Once a member belongs to the group, the group's
 *     membership as its log records it counts, not {@code peers}
 * @param quotaBytes how large the store may grow, by its own estimate of its size (etcd's
 *     {@code --quota-backend-bytes}): a write that would take it further is refused with "database
 *     space exceeded" and raises the NOSPACE alarm, which refuses writes on every member until an
 *     operator clears it. 0 picks {@link #defaultQuotaBytes}; a negative value sets no quota
 */
public record NuwaConfig(
    String memberId,
    Map<String, HostPort> peers,
    Path dataDir,
    String clientHost,
    int clientPort,
    int metricsPort,
    Duration electionTimeoutMin,
    Duration requestTimeout,
    long snapshotEveryEntries,
    int maxRequestBytes,
    Duration progressNotifyInterval,
    long autoCompactionRetainRevisions,
    Duration autoCompactionInterval,
    Duration authTokenTtl,
    int passwordHashIterations,
    TlsMaterial clientTls,
    boolean clientCertAuth,
    TlsMaterial peerTls,
    Duration appendBatchWait,
    boolean join,
    long quotaBytes) {

  /** The leader's default {@link #appendBatchWait}. */
  public static final Duration DEFAULT_APPEND_BATCH_WAIT = Duration.ofMillis(1);
  /** The longest {@link #appendBatchWait}: beyond it every write waits longer than it gains. */
  public static final Duration APPEND_BATCH_WAIT_MAX = Duration.ofMillis(100);
  /** etcd's default quota, which Nuwa keeps where the heap allows it. */
  public static final long ETCD_DEFAULT_QUOTA_BYTES = 2L << 30;
  /**
   * The share of the heap the store may take by default. The store lives in the heap and its
   * estimate of its size counts somewhat less than the heap it takes (measured: 1.25 GB estimated
   * for 1.5 GiB live); G1 works well with the live data under half the heap.
   */
  static final double DEFAULT_QUOTA_HEAP_SHARE = 0.4;
  /** The smallest quota accepted: a store must at least hold a request of the largest size. */
  public static final long MIN_QUOTA_BYTES = 4L << 20;

  public NuwaConfig {
    Objects.requireNonNull(memberId, "memberId");
    Objects.requireNonNull(dataDir, "dataDir");
    peers = Map.copyOf(new LinkedHashMap<>(peers));
    if (!peers.containsKey(memberId)) {
      throw new IllegalArgumentException(
          "member '" + memberId + "' is not among the peers " + peers.keySet());
    }
    if (join && (peers.size() < 2 || peers.size() > 5)) {
      throw new IllegalArgumentException("a joining member's peers name it and at least one"
          + " member of the running group, at most 5 in all, not " + peers.size());
    }
    if (!join && peers.size() != 1 && peers.size() != 3 && peers.size() != 5) {
      throw new IllegalArgumentException(
          "a Nuwa group has 1, 3 or 5 members, not " + peers.size()
              + ": an even number adds no fault tolerance, more than 5 slows every write");
    }
    if (clientPort < 0 || clientPort > 65535) {
      throw new IllegalArgumentException("client port out of range: " + clientPort);
    }
    if (metricsPort < -1 || metricsPort > 65535) {
      throw new IllegalArgumentException("metrics port out of range: " + metricsPort);
    }
    if (autoCompactionRetainRevisions < 0) {
      throw new IllegalArgumentException(
          "auto-compaction retention must be 0 (off) or a number of revisions, not "
              + autoCompactionRetainRevisions);
    }
    if (maxRequestBytes < 1024) {
      throw new IllegalArgumentException("max request bytes too small: " + maxRequestBytes);
    }
    Objects.requireNonNull(authTokenTtl, "authTokenTtl");
    if (authTokenTtl.toMillis() < 1) {
      throw new IllegalArgumentException("auth token TTL must be positive: " + authTokenTtl);
    }
    if (passwordHashIterations < PasswordHasher.MIN_ITERATIONS) {
      throw new IllegalArgumentException("password hash iterations must be at least "
          + PasswordHasher.MIN_ITERATIONS + ", not " + passwordHashIterations);
    }
    if (clientTls != null && !clientTls.hasIdentity()) {
      throw new IllegalArgumentException(
          "TLS on the client port needs a certificate file and a key file");
    }
    if (clientCertAuth && (clientTls == null || clientTls.trustedCaFile().isEmpty())) {
      throw new IllegalArgumentException("client certificate authentication needs TLS on the"
          + " client port with a trusted CA file (--cert-file, --key-file, --trusted-ca-file)");
    }
    if (peerTls != null && (!peerTls.hasIdentity() || peerTls.trustedCaFile().isEmpty())) {
      throw new IllegalArgumentException("TLS between members is mutual: it needs a peer"
          + " certificate file, key file and trusted CA file");
    }
    Objects.requireNonNull(appendBatchWait, "appendBatchWait");
    if (appendBatchWait.isNegative() || appendBatchWait.compareTo(APPEND_BATCH_WAIT_MAX) > 0) {
      throw new IllegalArgumentException("the append batch wait must be between 0 and "
          + APPEND_BATCH_WAIT_MAX.toMillis() + "ms, not " + appendBatchWait.toNanos() / 1000 + "us");
    }
    if (quotaBytes > 0 && quotaBytes < MIN_QUOTA_BYTES) {
      throw new IllegalArgumentException("the quota must be at least " + (MIN_QUOTA_BYTES >> 20)
          + " MiB (0 for the default, negative for none), not " + quotaBytes + " bytes");
    }
  }

  /**
   * The default quota for a JVM whose heap may grow to {@code maxHeapBytes}: etcd's 2 GiB, or
   * {@value #DEFAULT_QUOTA_HEAP_SHARE} of the heap if that is less.
   */
  public static long defaultQuotaBytes(long maxHeapBytes) {
    return Math.max(MIN_QUOTA_BYTES,
        Math.min(ETCD_DEFAULT_QUOTA_BYTES, (long) (maxHeapBytes * DEFAULT_QUOTA_HEAP_SHARE)));
  }

  /** The quota in force: {@link #quotaBytes}, resolved; {@link Long#MAX_VALUE} for none. */
  public long effectiveQuotaBytes() {
    if (quotaBytes < 0) {
      return Long.MAX_VALUE;
    }
    return quotaBytes > 0 ? quotaBytes : defaultQuotaBytes(Runtime.getRuntime().maxMemory());
  }

  /**
   * What the client port asks of clients: a certificate with {@code clientCertAuth}; with only a
   * trusted CA, a certificate is verified if one is presented; otherwise none.
   */
  public ClientAuth clientAuth() {
    if (clientCertAuth) {
      return ClientAuth.REQUIRE;
    }
    return clientTls != null && clientTls.trustedCaFile().isPresent()
        ? ClientAuth.OPTIONAL : ClientAuth.NONE;
  }

  /** {@code https} when the client port has TLS, else {@code http}, as etcd's URLs say. */
  public String clientScheme() {
    return clientTls != null ? "https" : "http";
  }

  /** {@code https} when members talk over TLS, else {@code http}. */
  public String peerScheme() {
    return peerTls != null ? "https" : "http";
  }

  /** etcd's default {@code --auth-token-ttl}: 300 s. */
  public static final Duration DEFAULT_AUTH_TOKEN_TTL = Duration.ofMinutes(5);

  /** Members' names in a stable order. */
  public Map<String, HostPort> peersInOrder() {
    return new java.util.TreeMap<>(peers);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder that starts from this configuration. */
  public Builder toBuilder() {
    return new Builder().memberId(memberId).peers(peers).dataDir(dataDir).clientHost(clientHost)
        .clientPort(clientPort).metricsPort(metricsPort).electionTimeoutMin(electionTimeoutMin)
        .requestTimeout(requestTimeout).snapshotEveryEntries(snapshotEveryEntries)
        .maxRequestBytes(maxRequestBytes).progressNotifyInterval(progressNotifyInterval)
        .autoCompactionRetainRevisions(autoCompactionRetainRevisions)
        .autoCompactionInterval(autoCompactionInterval).authTokenTtl(authTokenTtl)
        .passwordHashIterations(passwordHashIterations).clientTls(clientTls)
        .clientCertAuth(clientCertAuth).peerTls(peerTls).appendBatchWait(appendBatchWait)
        .join(join).quotaBytes(quotaBytes);
  }

  /** Builder with the defaults a production member uses. */
  public static final class Builder {
    private String memberId;
    private final Map<String, HostPort> peers = new LinkedHashMap<>();
    private Path dataDir;
    private String clientHost = "127.0.0.1";
    private int clientPort = 2379;
    private int metricsPort = -1;
    private Duration electionTimeoutMin = Duration.ofMillis(1000);
    private Duration requestTimeout = Duration.ofSeconds(7);
    private long snapshotEveryEntries = 100_000;
    private int maxRequestBytes = NuwaLimits.MAX_REQUEST_BYTES;
    private Duration progressNotifyInterval = Duration.ofMinutes(10);
    private long autoCompactionRetainRevisions = 100_000;
    private Duration autoCompactionInterval = Duration.ofMinutes(1);
    private Duration authTokenTtl = DEFAULT_AUTH_TOKEN_TTL;
    private int passwordHashIterations = PasswordHasher.DEFAULT_ITERATIONS;
    private TlsMaterial clientTls;
    private boolean clientCertAuth;
    private TlsMaterial peerTls;
    private Duration appendBatchWait = DEFAULT_APPEND_BATCH_WAIT;
    private boolean join;
    private long quotaBytes;

    public Builder memberId(String memberId) {
      this.memberId = memberId;
      return this;
    }

    public Builder peer(String id, HostPort address) {
      peers.put(id, address);
      return this;
    }

    public Builder peers(Map<String, HostPort> all) {
      peers.putAll(all);
      return this;
    }

    public Builder dataDir(Path dataDir) {
      this.dataDir = dataDir;
      return this;
    }

    public Builder clientHost(String clientHost) {
      this.clientHost = clientHost;
      return this;
    }

    public Builder clientPort(int clientPort) {
      this.clientPort = clientPort;
      return this;
    }

    public Builder metricsPort(int metricsPort) {
      this.metricsPort = metricsPort;
      return this;
    }

    public Builder electionTimeoutMin(Duration electionTimeoutMin) {
      this.electionTimeoutMin = electionTimeoutMin;
      return this;
    }

    public Builder requestTimeout(Duration requestTimeout) {
      this.requestTimeout = requestTimeout;
      return this;
    }

    public Builder snapshotEveryEntries(long snapshotEveryEntries) {
      this.snapshotEveryEntries = snapshotEveryEntries;
      return this;
    }

    public Builder maxRequestBytes(int maxRequestBytes) {
      this.maxRequestBytes = maxRequestBytes;
      return this;
    }

    public Builder progressNotifyInterval(Duration progressNotifyInterval) {
      this.progressNotifyInterval = progressNotifyInterval;
      return this;
    }

    public Builder autoCompactionRetainRevisions(long revisions) {
      this.autoCompactionRetainRevisions = revisions;
      return this;
    }

    public Builder autoCompactionInterval(Duration interval) {
      this.autoCompactionInterval = interval;
      return this;
    }

    public Builder authTokenTtl(Duration ttl) {
      this.authTokenTtl = ttl;
      return this;
    }

    public Builder passwordHashIterations(int iterations) {
      this.passwordHashIterations = iterations;
      return this;
    }

    /** TLS on the client port; {@code null} (the default) for plaintext. */
    public Builder clientTls(TlsMaterial clientTls) {
      this.clientTls = clientTls;
      return this;
    }

    /** Whether clients must present a certificate of the client port's trusted CA. */
    public Builder clientCertAuth(boolean clientCertAuth) {
      this.clientCertAuth = clientCertAuth;
      return this;
    }

    /** Mutual TLS between members; {@code null} (the default) for plaintext. */
    public Builder peerTls(TlsMaterial peerTls) {
      this.peerTls = peerTls;
      return this;
    }

    /** See {@link NuwaConfig#appendBatchWait}; {@link #DEFAULT_APPEND_BATCH_WAIT} by default. */
    public Builder appendBatchWait(Duration appendBatchWait) {
      this.appendBatchWait = appendBatchWait;
      return this;
    }

    /** Whether this member joins a running group; see {@link NuwaConfig#join}. */
    public Builder join(boolean join) {
      this.join = join;
      return this;
    }

    /** See {@link NuwaConfig#quotaBytes}; 0 (the default size) by default. */
    public Builder quotaBytes(long quotaBytes) {
      this.quotaBytes = quotaBytes;
      return this;
    }

    public NuwaConfig build() {
      return new NuwaConfig(memberId, peers, dataDir, clientHost, clientPort, metricsPort,
          electionTimeoutMin, requestTimeout, snapshotEveryEntries, maxRequestBytes,
          progressNotifyInterval, autoCompactionRetainRevisions, autoCompactionInterval,
          authTokenTtl, passwordHashIterations, clientTls, clientCertAuth, peerTls,
          appendBatchWait, join, quotaBytes);
    }
  }
}
