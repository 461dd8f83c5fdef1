package org.apsara.pangu.master.server;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apsara.common.config.ByteSizes;
import org.apsara.common.config.ConfigValues;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.master.MasterConfig;
import org.apsara.pangu.master.chunks.ChunkManagerConfig;
import org.apsara.pangu.master.namespace.NamespaceLimits;
import org.apsara.pangu.master.namespace.ProposerConfig;
import org.apsara.security.tls.TlsMaterial;
import org.apsara.security.token.CapabilityToken;

/**
 * Everything one Pangu master member needs to serve: its Raft settings ({@link MasterConfig}),
 * the client address of every member, the token keys, TLS, file defaults and the chunk
 * manager's intervals. Immutable; build with {@link #builder} or read from Java properties with
 * {@link #fromProperties}. Every value is checked when built, and an {@link
 * IllegalArgumentException} names the setting.
 *
 * <p>Settings (property names in brackets):
 * <ul>
 *   <li>[{@code member.id}], required: this member's id, one of the peers.</li>
 *   <li>[{@code peer.<id>.raft}], required per member: its Raft address, host:port.</li>
 *   <li>[{@code peer.<id>.client}]: its client address (PanguMaster and ChunkServerTracker),
 *       host or host:port; default the Raft host at port {@value #DEFAULT_CLIENT_PORT}. Every
 *       member knows every member's client address, to name the leader to clients.</li>
 *   <li>[{@code bind.host}]: where this member's client service listens; default the host of its
 *       own client address.</li>
 *   <li>[{@code data.dir}], required: the Raft log, snapshots and the namespace.</li>
 *   <li>[{@code metrics.port}]: HTTP /metrics, /health and /ready; 0 picks a free port, -1 (the
 *       default) turns it off.</li>
 *   <li>[{@code token.key.file}], required: the capability token keys, shared with the
 *       chunkservers; the first key signs.</li>
 *   <li>[{@code tls.cert}, {@code tls.key}, {@code tls.ca}, {@code tls.client.auth}]: TLS on the
 *       client service and towards chunkservers; off by default.</li>
 *   <li>[{@code replication.default}]: replication of a file created with 0; default 3.</li>
 *   <li>[{@code replication.min}]: the fewest chunkservers a new chunk is placed on when fewer
 *       than its file's replication qualify (it is copied up later); default 2.</li>
 *   <li>[{@code chunk.size.default}]: chunk size of a file created with 0; default 64M.</li>
 *   <li>[{@code heartbeat.interval}, {@code dead.interval}]: PT3S and PT30S by default.</li>
 *   <li>[{@code repair.interval}]: how often the replication monitor runs; default PT1S.</li>
 *   <li>[{@code copies.per.chunkserver}]: concurrent copies (re-replication and balancing) per
 *       chunkserver; default 2.</li>
 *   <li>[{@code balance.threshold}]: the balancer moves replicas while the used fraction of the
 *       fullest live chunkserver exceeds that of the emptiest by more than this many percentage
 *       points (a decimal number, 0 to 100); 0 turns it off; default 10.</li>
 *   <li>[{@code balance.copies.max}]: balancing copies under way at a time in the whole cluster
 *       (at most {@value ChunkManagerConfig#BALANCE_COPIES_LIMIT}); default 4.</li>
 *   <li>[{@code token.lifetime}]: lifetime of read and write tokens; default and most PT1H.</li>
 *   <li>[{@code lease.duration}]: writer leases; default PT60S.</li>
 *   <li>[{@code election.timeout}, {@code request.timeout}]: Raft; default PT1S and PT10S.</li>
 *   <li>[{@code identity.credentials}, {@code identity.profile}]: the credentials file and
 *       profile (default {@code default}) of this service's AccessKey, one allowed {@code
 *       ram:GetServiceCredential} on {@code acs:ram:*:system:service/pangu}; with it every
 *       client call must be signed and is authorized by the caller's policies (see {@link
 *       MasterAccess}); without it nothing is checked.</li>
 *   <li>[{@code default.owner}, {@code default.group}]: owner and group of what clients create
 *       when requests are not signed; default {@code pangu} and {@code supergroup}.</li>
 * </ul>
 * Durations are ISO-8601 ({@code PT30S}); sizes are bytes or with K, M, G (powers of 1024).
 */
public final class MasterServerConfig {
  public static final int DEFAULT_CLIENT_PORT = 7000;
  public static final int DEFAULT_REPLICATION = 3;
  public static final long DEFAULT_CHUNK_SIZE_BYTES = 64L << 20;
  public static final Duration DEFAULT_TOKEN_LIFETIME = CapabilityToken.LIFETIME_MAX;
  public static final Duration DEFAULT_REPAIR_INTERVAL = Duration.ofSeconds(1);
  public static final String DEFAULT_OWNER = "pangu";
  public static final String DEFAULT_GROUP = "supergroup";

  private static final Pattern PEER_KEY = Pattern.compile("peer\\.([A-Za-z0-9_.-]+)\\.(raft|client)");
  private static final Set<String> KNOWN_KEYS = Set.of("member.id", "bind.host", "data.dir",
      "metrics.port", "token.key.file", "tls.cert", "tls.key", "tls.ca", "tls.client.auth",
      "replication.default", "replication.min", "chunk.size.default", "heartbeat.interval", "dead.interval",
      "repair.interval", "copies.per.chunkserver", "balance.threshold", "balance.copies.max",
      "token.lifetime", "lease.duration",
      "election.timeout", "request.timeout", "default.owner", "default.group",
      "identity.credentials", "identity.profile");

  private final MasterConfig master;
  private final Map<String, HostPort> clientAddresses;
  private final String bindHost;
  private final int metricsPort;
  private final Path tokenKeyFile;
  private final Optional<TlsMaterial> tls;
  private final boolean clientCertAuth;
  private final int defaultReplication;
  private final long defaultChunkSizeBytes;
  private final ChunkManagerConfig chunks;
  private final Duration repairInterval;
  private final Duration tokenLifetime;
  private final String defaultOwner;
  private final String defaultGroup;
  private final Optional<Identity> identity;

  /** Where this service's own AccessKey is: a profile of a credentials file. */
  public record Identity(Path credentialsFile, String profile) {
    public Identity {
      Objects.requireNonNull(credentialsFile, "credentialsFile");
      if (profile == null || profile.isBlank()) {
        throw new IllegalArgumentException("identity.profile must not be empty");
      }
    }
  }

  private MasterServerConfig(Builder b) {
    if (b.memberId == null || b.memberId.isEmpty()) {
      throw new IllegalArgumentException("member.id is required");
    }
    if (b.raftAddresses.isEmpty()) {
      throw new IllegalArgumentException("peers are required: peer.<id>.raft=host:port for"
          + " every member");
    }
    if (b.dataDir == null) {
      throw new IllegalArgumentException("data.dir is required");
    }
    Map<String, HostPort> clients = new LinkedHashMap<>();
    for (Map.Entry<String, HostPort> peer : b.raftAddresses.entrySet()) {
      HostPort client = b.clientAddresses.get(peer.getKey());
      clients.put(peer.getKey(), client != null ? client
          : HostPort.of(peer.getValue().host(), DEFAULT_CLIENT_PORT));
    }
    for (String id : b.clientAddresses.keySet()) {
      if (!b.raftAddresses.containsKey(id)) {
        throw new IllegalArgumentException("peer." + id + ".client names a member without"
            + " peer." + id + ".raft");
      }
    }
    MasterConfig.Builder master = MasterConfig.builder(b.memberId, b.raftAddresses, b.dataDir)
        .electionTimeoutMin(b.electionTimeout)
        .requestTimeout(b.requestTimeout)
        .proposer(new ProposerConfig(b.leaseDuration,
            ProposerConfig.DEFAULT_RECLAIM_UNITS_PER_RECORD));
    this.master = b.masterTuning.apply(master).build();
    this.clientAddresses = java.util.Collections.unmodifiableMap(clients);
    this.bindHost = b.bindHost != null ? b.bindHost : clients.get(b.memberId).host();
    HostPort.of(bindHost, 0); // validates the host, naming it
    if (b.metricsPort < -1 || b.metricsPort > HostPort.PORT_MAX) {
      throw new IllegalArgumentException("metrics.port " + b.metricsPort + " is outside -1.."
          + HostPort.PORT_MAX);
    }
    if (b.tokenKeyFile == null) {
      throw new IllegalArgumentException("token.key.file is required: the master signs the"
          + " chunkservers' capability tokens with it");
    }
    if (b.tls.isPresent() && !b.tls.get().hasIdentity()) {
      throw new IllegalArgumentException("TLS needs tls.cert and tls.key");
    }
    if (b.clientCertAuth && (b.tls.isEmpty() || b.tls.get().trustedCaFile().isEmpty())) {
      throw new IllegalArgumentException("tls.client.auth=true needs tls.ca");
    }
    if (b.defaultReplication < 1 || b.defaultReplication > NamespaceLimits.MAX_REPLICATION) {
      throw new IllegalArgumentException("replication.default " + b.defaultReplication
          + " is outside 1.." + NamespaceLimits.MAX_REPLICATION);
    }
    if (b.replicationMin < 1 || b.replicationMin > NamespaceLimits.MAX_REPLICATION) {
      throw new IllegalArgumentException("replication.min " + b.replicationMin
          + " is outside 1.." + NamespaceLimits.MAX_REPLICATION);
    }
    if (b.defaultChunkSizeBytes < NamespaceLimits.MIN_CHUNK_SIZE_BYTES
        || b.defaultChunkSizeBytes > NamespaceLimits.MAX_CHUNK_SIZE_BYTES) {
      throw new IllegalArgumentException("chunk.size.default " + b.defaultChunkSizeBytes
          + " is outside " + NamespaceLimits.MIN_CHUNK_SIZE_BYTES + ".."
          + NamespaceLimits.MAX_CHUNK_SIZE_BYTES + " bytes");
    }
    if (!(b.balanceThresholdPercent >= 0 && b.balanceThresholdPercent <= 100)) {
      throw new IllegalArgumentException("balance.threshold " + b.balanceThresholdPercent
          + " is outside 0..100 percentage points");
    }
    if (b.balanceCopiesMax < 1 || b.balanceCopiesMax > ChunkManagerConfig.BALANCE_COPIES_LIMIT) {
      throw new IllegalArgumentException("balance.copies.max " + b.balanceCopiesMax
          + " is outside 1.." + ChunkManagerConfig.BALANCE_COPIES_LIMIT);
    }
    try {
      this.chunks = new ChunkManagerConfig(b.heartbeatInterval, b.deadInterval,
          b.copiesPerServer, b.balanceThresholdPercent, b.balanceCopiesMax, b.replicationMin);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("heartbeat.interval, dead.interval or"
          + " copies.per.chunkserver: " + e.getMessage(), e);
    }
    if (b.repairInterval == null || b.repairInterval.toMillis() < 1) {
      throw new IllegalArgumentException("repair.interval must be at least 1 ms: "
          + b.repairInterval);
    }
    if (b.tokenLifetime == null || b.tokenLifetime.isNegative() || b.tokenLifetime.isZero()
        || b.tokenLifetime.compareTo(CapabilityToken.LIFETIME_MAX) > 0) {
      throw new IllegalArgumentException("token.lifetime " + b.tokenLifetime
          + " must be positive and at most " + CapabilityToken.LIFETIME_MAX);
    }
    if (b.defaultOwner.isEmpty() || b.defaultGroup.isEmpty()) {
      throw new IllegalArgumentException("default.owner and default.group must not be empty");
    }
    this.metricsPort = b.metricsPort;
    this.tokenKeyFile = b.tokenKeyFile;
    this.tls = b.tls;
    this.clientCertAuth = b.clientCertAuth;
    this.defaultReplication = b.defaultReplication;
    this.defaultChunkSizeBytes = b.defaultChunkSizeBytes;
    this.repairInterval = b.repairInterval;
    this.tokenLifetime = b.tokenLifetime;
    this.defaultOwner = b.defaultOwner;
    this.defaultGroup = b.defaultGroup;
    this.identity = b.identityFile == null ? Optional.empty()
        : Optional.of(new Identity(b.identityFile, b.identityProfile));
  }

  /**
   * Reads the settings listed in the class comment.
   *
   * @throws IllegalArgumentException naming the property if one is unknown, malformed or out of
   *     range, or a required one is missing
   */
  public static MasterServerConfig fromProperties(Properties properties) {
    Builder b = builder();
    Map<String, HostPort> raft = new TreeMap<>();
    for (String key : new TreeSet<>(properties.stringPropertyNames())) {
      String value = properties.getProperty(key).strip();
      Matcher peer = PEER_KEY.matcher(key);
      if (peer.matches()) {
        try {
          if (peer.group(2).equals("raft")) {
            raft.put(peer.group(1), HostPort.parse(value));
          } else {
            b.clientAddresses.put(peer.group(1), HostPort.parse(value, DEFAULT_CLIENT_PORT));
          }
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
        }
        continue;
      }
      if (!KNOWN_KEYS.contains(key)) {
        throw new IllegalArgumentException("unknown setting " + key);
      }
      switch (key) {
        case "member.id" -> b.memberId = value;
        case "bind.host" -> b.bindHost = value;
        case "data.dir" -> b.dataDir = Path.of(value);
        case "metrics.port" -> b.metricsPort = ConfigValues.parseInt(key, value);
        case "token.key.file" -> b.tokenKeyFile = Path.of(value);
        case "tls.client.auth" -> b.clientCertAuth = ConfigValues.parseBoolean(key, value);
        case "replication.default" -> b.defaultReplication = ConfigValues.parseInt(key, value);
        case "replication.min" -> b.replicationMin = ConfigValues.parseInt(key, value);
        case "chunk.size.default" -> b.defaultChunkSizeBytes = ByteSizes.parse(key, value);
        case "heartbeat.interval" -> b.heartbeatInterval = ConfigValues.parseDuration(key, value);
        case "dead.interval" -> b.deadInterval = ConfigValues.parseDuration(key, value);
        case "repair.interval" -> b.repairInterval = ConfigValues.parseDuration(key, value);
        case "copies.per.chunkserver" -> b.copiesPerServer = ConfigValues.parseInt(key, value);
        case "balance.threshold" -> b.balanceThresholdPercent = parsePercent(key, value);
        case "balance.copies.max" -> b.balanceCopiesMax = ConfigValues.parseInt(key, value);
        case "token.lifetime" -> b.tokenLifetime = ConfigValues.parseDuration(key, value);
        case "lease.duration" -> b.leaseDuration = ConfigValues.parseDuration(key, value);
        case "election.timeout" -> b.electionTimeout = ConfigValues.parseDuration(key, value);
        case "request.timeout" -> b.requestTimeout = ConfigValues.parseDuration(key, value);
        case "default.owner" -> b.defaultOwner = value;
        case "default.group" -> b.defaultGroup = value;
        case "identity.credentials" -> b.identityFile = Path.of(value);
        case "identity.profile" -> b.identityProfile = value;
        default -> { } // TLS files, below
      }
    }
    // Members in id order: the same on every member, as Raft needs.
    b.raftAddresses.putAll(raft);
    String cert = properties.getProperty("tls.cert");
    String key = properties.getProperty("tls.key");
    String ca = properties.getProperty("tls.ca");
    if (cert != null || key != null || ca != null) {
      b.tls = Optional.of(TlsMaterial.of(cert == null ? null : Path.of(cert.strip()),
          key == null ? null : Path.of(key.strip()), ca == null ? null : Path.of(ca.strip())));
    }
    try {
      return b.build();
    } catch (IllegalArgumentException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /** A decimal number of percentage points, such as {@code 10} or {@code 2.5}. */
  private static double parsePercent(String key, String value) {
    String number = value.endsWith("%") ? value.substring(0, value.length() - 1).strip() : value;
    try {
      double parsed = Double.parseDouble(number);
      if (!Double.isFinite(parsed)) {
        throw new NumberFormatException();
      }
      return parsed;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " = '" + value
          + "' is not a number of percentage points", e);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The Raft member settings. */
  public MasterConfig master() {
    return master;
  }

  public String memberId() {
    return master.memberId();
  }

  /** Every member's client address, by member id. */
  public Map<String, HostPort> clientAddresses() {
    return clientAddresses;
  }

  /** This member's client address as the others name it. */
  public HostPort clientAddress() {
    return clientAddresses.get(master.memberId());
  }

  public String bindHost() {
    return bindHost;
  }

  /** -1 when the HTTP endpoint is off. */
  public int metricsPort() {
    return metricsPort;
  }

  public Path tokenKeyFile() {
    return tokenKeyFile;
  }

  public Optional<TlsMaterial> tls() {
    return tls;
  }

  public boolean clientCertAuth() {
    return clientCertAuth;
  }

  public int defaultReplication() {
    return defaultReplication;
  }

  public long defaultChunkSizeBytes() {
    return defaultChunkSizeBytes;
  }

  public ChunkManagerConfig chunks() {
    return chunks;
  }

  public Duration repairInterval() {
    return repairInterval;
  }

  public Duration tokenLifetime() {
    return tokenLifetime;
  }

  public String defaultOwner() {
    return defaultOwner;
  }

  public String defaultGroup() {
    return defaultGroup;
  }

  /** This service's AccessKey, if client calls are authenticated. */
  public Optional<Identity> identity() {
    return identity;
  }

  /** Collects a {@link MasterServerConfig}, starting from the defaults. Not thread-safe. */
  public static final class Builder {
    private String memberId;
    private final Map<String, HostPort> raftAddresses = new LinkedHashMap<>();
    private final Map<String, HostPort> clientAddresses = new LinkedHashMap<>();
    private String bindHost;
    private Path dataDir;
    private int metricsPort = -1;
    private Path tokenKeyFile;
    private Optional<TlsMaterial> tls = Optional.empty();
    private boolean clientCertAuth;
    private int defaultReplication = DEFAULT_REPLICATION;
    private long defaultChunkSizeBytes = DEFAULT_CHUNK_SIZE_BYTES;
    private Duration heartbeatInterval = ChunkManagerConfig.DEFAULT_HEARTBEAT_INTERVAL;
    private Duration deadInterval = ChunkManagerConfig.DEFAULT_DEAD_INTERVAL;
    private int copiesPerServer = ChunkManagerConfig.DEFAULT_COPIES_PER_SERVER_MAX;
    private double balanceThresholdPercent = ChunkManagerConfig.DEFAULT_BALANCE_THRESHOLD_PERCENT;
    private int balanceCopiesMax = ChunkManagerConfig.DEFAULT_BALANCE_COPIES_MAX;
    private int replicationMin = ChunkManagerConfig.DEFAULT_REPLICATION_MIN;
    private Duration repairInterval = DEFAULT_REPAIR_INTERVAL;
    private Duration tokenLifetime = DEFAULT_TOKEN_LIFETIME;
    private Duration leaseDuration = ProposerConfig.DEFAULT_LEASE_DURATION;
    private Duration electionTimeout = MasterConfig.DEFAULT_ELECTION_TIMEOUT_MIN;
    private Duration requestTimeout = MasterConfig.DEFAULT_REQUEST_TIMEOUT;
    private String defaultOwner = DEFAULT_OWNER;
    private String defaultGroup = DEFAULT_GROUP;
    private Path identityFile;
    private String identityProfile = "default";
    private UnaryOperator<MasterConfig.Builder> masterTuning = UnaryOperator.identity();

    private Builder() {}

    public Builder memberId(String value) {
      memberId = value;
      return this;
    }

    /** Adds a member with its Raft and client addresses (in the order added). */
    public Builder peer(String id, HostPort raft, HostPort client) {
      raftAddresses.put(Objects.requireNonNull(id), Objects.requireNonNull(raft));
      clientAddresses.put(id, Objects.requireNonNull(client));
      return this;
    }

    public Builder bindHost(String value) {
      bindHost = value;
      return this;
    }

    public Builder dataDir(Path value) {
      dataDir = value;
      return this;
    }

    public Builder metricsPort(int value) {
      metricsPort = value;
      return this;
    }

    public Builder tokenKeyFile(Path value) {
      tokenKeyFile = value;
      return this;
    }

    public Builder tls(TlsMaterial value) {
      tls = Optional.of(value);
      return this;
    }

    public Builder clientCertAuth(boolean value) {
      clientCertAuth = value;
      return this;
    }

    public Builder defaultReplication(int value) {
      defaultReplication = value;
      return this;
    }

    public Builder defaultChunkSizeBytes(long value) {
      defaultChunkSizeBytes = value;
      return this;
    }

    public Builder heartbeatInterval(Duration value) {
      heartbeatInterval = value;
      return this;
    }

    public Builder deadInterval(Duration value) {
      deadInterval = value;
      return this;
    }

    public Builder copiesPerChunkServer(int value) {
      copiesPerServer = value;
      return this;
    }

    /** The balancer's threshold in percentage points; 0 turns the balancer off. */
    public Builder balanceThresholdPercent(double value) {
      balanceThresholdPercent = value;
      return this;
    }

    /** Balancing copies under way at a time in the whole cluster. */
    public Builder balanceCopiesMax(int value) {
      balanceCopiesMax = value;
      return this;
    }

    /** The fewest chunkservers a new chunk is placed on when fewer than its replication qualify. */
    public Builder replicationMin(int value) {
      replicationMin = value;
      return this;
    }

    public Builder repairInterval(Duration value) {
      repairInterval = value;
      return this;
    }

    public Builder tokenLifetime(Duration value) {
      tokenLifetime = value;
      return this;
    }

    public Builder leaseDuration(Duration value) {
      leaseDuration = value;
      return this;
    }

    public Builder electionTimeout(Duration value) {
      electionTimeout = value;
      return this;
    }

    public Builder requestTimeout(Duration value) {
      requestTimeout = value;
      return this;
    }

    /** Authenticates client calls with the AccessKey of {@code profile} in {@code file}. */
    public Builder identity(Path file, String profile) {
      identityFile = file;
      identityProfile = profile;
      return this;
    }

    public Builder defaultOwner(String value) {
      defaultOwner = value;
      return this;
    }

    public Builder defaultGroup(String value) {
      defaultGroup = value;
      return this;
    }

    /** Adjusts the Raft settings further (intervals, snapshots), for tests and tools. */
    public Builder masterTuning(UnaryOperator<MasterConfig.Builder> value) {
      masterTuning = value;
      return this;
    }

    public MasterServerConfig build() {
      return new MasterServerConfig(this);
    }
  }
}
