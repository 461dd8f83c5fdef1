package org.apsara.pangu.chunkserver.server;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apsara.common.config.ByteSizes;
import org.apsara.common.config.ConfigValues;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.chunkserver.store.ChunkStoreConfig;
import org.apsara.pangu.chunkserver.store.Scrubber;
import org.apsara.pangu.chunkserver.store.VolumeConfig;
import org.apsara.security.tls.ClientAuth;
import org.apsara.security.tls.TlsMaterial;
import org.apsara.security.token.TokenKeyFile;

/**
 * Everything one chunkserver needs to start. Immutable; build with {@link #builder()} or read
 * from properties with {@link #fromProperties}. Every value is checked when built, and an
 * {@link IllegalArgumentException} names the setting and what is allowed.
 *
 * <p>Settings (property names in brackets):
 *
 * <ul>
 *   <li>volumes [{@code volume.<n>.dir}, {@code volume.<n>.capacity}, {@code volume.<n>.reserve},
 *       n = 1, 2, ...]: the directories replicas live in, each with an optional capacity (default:
 *       the whole file system) and reserve of free space never used (default {@link
 *       VolumeConfig#DEFAULT_RESERVED_BYTES}); sizes in bytes or with a suffix K, M, G, T (powers
 *       of 1024), e.g. {@code 500G}. At least one.
 *   <li>chunk size [{@code chunk.size}]: default {@link ChunkStoreConfig#DEFAULT_CHUNK_SIZE_BYTES}.
 *   <li>host, port [{@code host}, {@code port}]: where the gRPC service listens; port 0 picks a
 *       free one. Default {@code 127.0.0.1}:{@value #DEFAULT_PORT}.
 *   <li>bulk read port [{@code data.port}]: the plain TCP port of the bulk read and write paths
 *       (see {@code BulkReadServer}, {@code BulkWriteSession}), on the same host: 0 (the default)
 *       picks a free one, which clients learn from {@code GetServerInfo}; -1 turns the paths off.
 *       Never opened with TLS: the paths are plaintext, so with TLS every read goes through
 *       ReadReplica and every write through WriteReplica.
 *   <li>metrics port [{@code metrics.port}]: HTTP /metrics, /health and /ready on the same host;
 *       0 picks a free one, -1 (the default) turns it off.
 *   <li>token key file [{@code token.key.file}], required: the keys capability tokens are signed
 *       with, in the format of {@link TokenKeyFile}; the master issuing tokens uses the same file.
 *   <li>TLS [{@code tls.cert}, {@code tls.key}, {@code tls.ca}, {@code tls.client.auth}]:
 *       optional. With a certificate and key the service speaks TLS only; the trusted CA verifies
 *       client certificates (required with {@code tls.client.auth=true}) and the chunkservers
 *       this one copies replicas from. Without TLS, copies are pulled in plaintext.
 *   <li>scrubbing [{@code scrub.bytes.per.second}, {@code scrub.interval}]: the scrubber's rate
 *       and the pause between passes (ISO-8601, e.g. {@code PT1H}); defaults from {@link
 *       Scrubber}.
 *   <li>handler threads [{@code handler.threads}]: threads running calls (they block on disk);
 *       default {@value #DEFAULT_HANDLER_THREADS}, at most {@value #HANDLER_THREADS_MAX}.
 *   <li>server id [{@code server.id}]: the name in metrics; default {@code host-port}. Not the
 *       chunkserver's identity towards the master: that is generated once and kept on the volumes
 *       (see {@link org.apsara.pangu.chunkserver.store.ChunkServerIdentity}).
 *   <li>master addresses [{@code master.addresses}]: the client addresses of the master's members,
 *       {@code host:port,host:port}, at most {@value #MASTER_ADDRESSES_MAX}. Heartbeats go to the
 *       leader among them; without this setting none are sent (a chunkserver on its own, for
 *       tests and tools).
 *   <li>advertised host [{@code advertise.host}]: the host the master hands to clients and other
 *       chunkservers for this one's service; default the bind host. Required with master
 *       addresses when the bind host is a wildcard address ({@code 0.0.0.0} or {@code ::}).
 *   <li>rack [{@code rack}]: this machine's rack for placement, such as {@code /dc1/rack7}: at most
 *       {@value #RACK_LENGTH_MAX} characters of letters, digits and {@code . _ - /}; default none.
 * </ul>
 */
public final class ChunkServerConfig {
  /** The gRPC port unless told otherwise. */
  public static final int DEFAULT_PORT = 7100;
  /** The bulk read port unless told otherwise: a free one, found by clients through the service. */
  public static final int DEFAULT_DATA_PORT = 0;
  /** The bulk read port's value that turns the bulk read path off. */
  public static final int DATA_PORT_OFF = -1;
  /** Threads running calls unless told otherwise: enough to keep several disks busy. */
  public static final int DEFAULT_HANDLER_THREADS = 16;
  /** Most threads running calls. */
  public static final int HANDLER_THREADS_MAX = 256;
  /** How long a ReplicateReplica may take unless told otherwise: a 64 MiB chunk at ~1 MB/s. */
  public static final Duration DEFAULT_REPLICATION_TIMEOUT = Duration.ofMinutes(2);
  /** Most master members listed: a Raft group has 1, 3 or 5, and a few more allow a move. */
  public static final int MASTER_ADDRESSES_MAX = 9;
  /** Longest rack name, in characters. */
  public static final int RACK_LENGTH_MAX = 256;

  private static final Pattern VOLUME_KEY = Pattern.compile("volume\\.(\\d+)\\.(dir|capacity|reserve)");
  private static final Pattern RACK = Pattern.compile("[A-Za-z0-9._/-]+");
  private static final Set<String> WILDCARD_HOSTS = Set.of("0.0.0.0", "::", "0:0:0:0:0:0:0:0");
  private static final Set<String> KNOWN_KEYS = Set.of("chunk.size", "host", "port",
      "metrics.port", "data.port", "token.key.file", "tls.cert", "tls.key", "tls.ca", "tls.client.auth",
      "scrub.bytes.per.second", "scrub.interval", "handler.threads", "server.id",
      "replication.timeout", "master.addresses", "advertise.host", "rack");

  private final ChunkStoreConfig storeConfig;
  private final String host;
  private final int port;
  private final int metricsPort;
  private final int dataPort;
  private final Path tokenKeyFile;
  private final Optional<TlsMaterial> tls;
  private final boolean clientCertAuth;
  private final long scrubBytesPerSecond;
  private final Duration scrubInterval;
  private final int handlerThreads;
  private final Optional<String> serverId;
  private final Duration replicationTimeout;
  private final List<HostPort> masterAddresses;
  private final Optional<String> advertiseHost;
  private final String rack;

  private ChunkServerConfig(Builder b) {
    if (b.volumes.isEmpty()) {
      throw new IllegalArgumentException("at least one volume is required");
    }
    ChunkStoreConfig.Builder store = ChunkStoreConfig.builder().chunkSizeBytes(b.chunkSizeBytes);
    b.volumes.forEach(store::volume);
    this.storeConfig = store.build();
    HostPort.of(b.host, b.port); // validates both, naming the bad one
    if (b.metricsPort < -1 || b.metricsPort > HostPort.PORT_MAX) {
      throw new IllegalArgumentException(
          "metrics port " + b.metricsPort + " is out of range -1.." + HostPort.PORT_MAX);
    }
    if (b.dataPort < DATA_PORT_OFF || b.dataPort > HostPort.PORT_MAX) {
      throw new IllegalArgumentException("data.port " + b.dataPort + " is out of range -1.."
          + HostPort.PORT_MAX + " (-1 turns the bulk read path off, 0 picks a free port)");
    }
    if (b.tokenKeyFile == null) {
      throw new IllegalArgumentException("a token key file is required: capability tokens"
          + " cannot be checked without the master's keys");
    }
    if (b.tls.isPresent() && !b.tls.get().hasIdentity()) {
      throw new IllegalArgumentException("TLS on the service needs a certificate and key file");
    }
    if (b.clientCertAuth && (b.tls.isEmpty() || b.tls.get().trustedCaFile().isEmpty())) {
      throw new IllegalArgumentException(
          "client certificate authentication needs TLS with a trusted CA file");
    }
    if (b.scrubBytesPerSecond <= 0) {
      throw new IllegalArgumentException(
          "the scrub rate must be positive: " + b.scrubBytesPerSecond + " bytes/s");
    }
    if (b.scrubInterval.isNegative()) {
      throw new IllegalArgumentException("the scrub interval must not be negative");
    }
    if (b.handlerThreads < 1 || b.handlerThreads > HANDLER_THREADS_MAX) {
      throw new IllegalArgumentException("handler threads must be in 1.." + HANDLER_THREADS_MAX
          + ": " + b.handlerThreads);
    }
    if (b.replicationTimeout.isNegative() || b.replicationTimeout.isZero()) {
      throw new IllegalArgumentException("the replication timeout must be positive");
    }
    if (b.masterAddresses.size() > MASTER_ADDRESSES_MAX) {
      throw new IllegalArgumentException("master.addresses lists " + b.masterAddresses.size()
          + " members, at most " + MASTER_ADDRESSES_MAX + " are allowed");
    }
    if (b.masterAddresses.size() != Set.copyOf(b.masterAddresses).size()) {
      throw new IllegalArgumentException("master.addresses lists a member twice: "
          + b.masterAddresses);
    }
    if (b.advertiseHost.isPresent()) {
      try {
        HostPort.of(b.advertiseHost.get(), 0);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("advertise.host: " + e.getMessage(), e);
      }
      if (WILDCARD_HOSTS.contains(b.advertiseHost.get())) {
        throw new IllegalArgumentException("advertise.host = " + b.advertiseHost.get()
            + " is a wildcard address; clients need one they can connect to");
      }
    } else if (!b.masterAddresses.isEmpty() && WILDCARD_HOSTS.contains(b.host)) {
      throw new IllegalArgumentException("advertise.host is required: the service listens on the"
          + " wildcard address " + b.host + ", which the master cannot hand to clients");
    }
    if (!b.rack.isEmpty()
        && (b.rack.length() > RACK_LENGTH_MAX || !RACK.matcher(b.rack).matches())) {
      throw new IllegalArgumentException("rack = '" + b.rack + "' must be at most "
          + RACK_LENGTH_MAX + " characters of letters, digits and . _ - /");
    }
    this.masterAddresses = List.copyOf(b.masterAddresses);
    this.advertiseHost = b.advertiseHost;
    this.rack = b.rack;
    this.host = b.host;
    this.port = b.port;
    this.metricsPort = b.metricsPort;
    this.dataPort = b.dataPort;
    this.tokenKeyFile = b.tokenKeyFile;
    this.tls = b.tls;
    this.clientCertAuth = b.clientCertAuth;
    this.scrubBytesPerSecond = b.scrubBytesPerSecond;
    this.scrubInterval = b.scrubInterval;
    this.handlerThreads = b.handlerThreads;
    this.serverId = b.serverId;
    this.replicationTimeout = b.replicationTimeout;
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Reads the settings listed in the class comment.
   *
   * @throws IllegalArgumentException naming the property if one is unknown, malformed or out of
   *     range, or volume numbers have gaps
   */
  public static ChunkServerConfig fromProperties(Properties properties) {
    Builder builder = builder();
    List<String[]> volumes = new ArrayList<>();
    for (String key : new TreeSet<>(properties.stringPropertyNames())) {
      String value = properties.getProperty(key).strip();
      Matcher volume = VOLUME_KEY.matcher(key);
      if (volume.matches()) {
        int index = Integer.parseInt(volume.group(1));
        if (index < 1 || index > 1024) {
          throw new IllegalArgumentException(key + ": volumes are numbered from 1 to 1024");
        }
        while (volumes.size() < index) {
          volumes.add(new String[3]);
        }
        int field = switch (volume.group(2)) {
          case "dir" -> 0;
          case "capacity" -> 1;
          default -> 2;
        };
        volumes.get(index - 1)[field] = value;
        continue;
      }
      if (!KNOWN_KEYS.contains(key)) {
        throw new IllegalArgumentException("unknown setting " + key);
      }
      switch (key) {
        case "chunk.size" -> builder.chunkSizeBytes(ByteSizes.parse(key, value));
        case "host" -> builder.host(value);
        case "port" -> builder.port(ConfigValues.parseInt(key, value));
        case "metrics.port" -> builder.metricsPort(ConfigValues.parseInt(key, value));
        case "data.port" -> builder.dataPort(ConfigValues.parseInt(key, value));
        case "token.key.file" -> builder.tokenKeyFile(Path.of(value));
        case "scrub.bytes.per.second" -> builder.scrubBytesPerSecond(ByteSizes.parse(key, value));
        case "scrub.interval" -> builder.scrubInterval(ConfigValues.parseDuration(key, value));
        case "replication.timeout" -> builder.replicationTimeout(ConfigValues.parseDuration(key, value));
        case "handler.threads" -> builder.handlerThreads(ConfigValues.parseInt(key, value));
        case "server.id" -> builder.serverId(value);
        case "master.addresses" -> {
          try {
            builder.masterAddresses(HostPort.parseList(value));
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
          }
        }
        case "advertise.host" -> builder.advertiseHost(value);
        case "rack" -> builder.rack(value);
        case "tls.client.auth" -> builder.clientCertAuth(ConfigValues.parseBoolean(key, value));
        default -> { } // TLS files, below
      }
    }
    String cert = properties.getProperty("tls.cert");
    String key = properties.getProperty("tls.key");
    String ca = properties.getProperty("tls.ca");
    if (cert != null || key != null || ca != null) {
      builder.tls(TlsMaterial.of(cert == null ? null : Path.of(cert.strip()),
          key == null ? null : Path.of(key.strip()), ca == null ? null : Path.of(ca.strip())));
    }
    for (int i = 0; i < volumes.size(); i++) {
      String[] fields = volumes.get(i);
      String prefix = "volume." + (i + 1) + ".";
      if (fields[0] == null) {
        throw new IllegalArgumentException(prefix + "dir is missing (volumes are numbered 1, 2,"
            + " ... without gaps, each with a dir)");
      }
      long capacity = fields[1] == null ? VolumeConfig.CAPACITY_WHOLE_FILE_SYSTEM
          : ByteSizes.parse(prefix + "capacity", fields[1]);
      long reserve = fields[2] == null ? VolumeConfig.DEFAULT_RESERVED_BYTES
          : ByteSizes.parse(prefix + "reserve", fields[2]);
      try {
        builder.volume(new VolumeConfig(Path.of(fields[0]), capacity, reserve));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(prefix + "*: " + e.getMessage(), e);
      }
    }
    return builder.build();
  }

  public ChunkStoreConfig storeConfig() {
    return storeConfig;
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  /** -1 when the HTTP endpoint is off. */
  public int metricsPort() {
    return metricsPort;
  }

  /**
   * The configured bulk read port: 0 for a free one, {@link #DATA_PORT_OFF} for none. With TLS
   * the path stays off whatever this says ({@link #bulkReadEnabled}).
   */
  public int dataPort() {
    return dataPort;
  }

  /** Whether the bulk read path is served: configured on, and no TLS (it is plaintext). */
  public boolean bulkReadEnabled() {
    return dataPort != DATA_PORT_OFF && tls.isEmpty();
  }

  public Path tokenKeyFile() {
    return tokenKeyFile;
  }

  public Optional<TlsMaterial> tls() {
    return tls;
  }

  /** What the service asks of callers' certificates. */
  public ClientAuth clientAuth() {
    if (clientCertAuth) {
      return ClientAuth.REQUIRE;
    }
    return tls.isPresent() && tls.get().trustedCaFile().isPresent()
        ? ClientAuth.OPTIONAL : ClientAuth.NONE;
  }

  public long scrubBytesPerSecond() {
    return scrubBytesPerSecond;
  }

  public Duration scrubInterval() {
    return scrubInterval;
  }

  public int handlerThreads() {
    return handlerThreads;
  }

  /** The name in metrics: the configured id, else {@code host-port}. */
  public String serverId() {
    return serverId.orElse(host + "-" + port);
  }

  public Duration replicationTimeout() {
    return replicationTimeout;
  }

  /** The master members heartbeats go to; empty when this chunkserver reports to no master. */
  public List<HostPort> masterAddresses() {
    return masterAddresses;
  }

  /** The host the master hands out for this chunkserver's service: advertise.host, else host. */
  public String advertiseHost() {
    return advertiseHost.orElse(host);
  }

  /** This machine's rack, "" when racks are not configured. */
  public String rack() {
    return rack;
  }

  /** Not thread-safe. Everything but the volumes and the token key file has a default. */
  public static final class Builder {
    private final List<VolumeConfig> volumes = new ArrayList<>();
    private long chunkSizeBytes = ChunkStoreConfig.DEFAULT_CHUNK_SIZE_BYTES;
    private String host = "127.0.0.1";
    private int port = DEFAULT_PORT;
    private int metricsPort = -1;
    private int dataPort = DEFAULT_DATA_PORT;
    private Path tokenKeyFile;
    private Optional<TlsMaterial> tls = Optional.empty();
    private boolean clientCertAuth;
    private long scrubBytesPerSecond = Scrubber.DEFAULT_BYTES_PER_SECOND;
    private Duration scrubInterval = Scrubber.DEFAULT_PASS_INTERVAL;
    private int handlerThreads = DEFAULT_HANDLER_THREADS;
    private Optional<String> serverId = Optional.empty();
    private Duration replicationTimeout = DEFAULT_REPLICATION_TIMEOUT;
    private List<HostPort> masterAddresses = List.of();
    private Optional<String> advertiseHost = Optional.empty();
    private String rack = "";

    private Builder() {}

    public Builder volume(VolumeConfig volume) {
      volumes.add(Objects.requireNonNull(volume, "volume"));
      return this;
    }

    public Builder chunkSizeBytes(long chunkSizeBytes) {
      this.chunkSizeBytes = chunkSizeBytes;
      return this;
    }

    public Builder host(String host) {
      this.host = host;
      return this;
    }

    public Builder port(int port) {
      this.port = port;
      return this;
    }

    public Builder metricsPort(int metricsPort) {
      this.metricsPort = metricsPort;
      return this;
    }

    /** The bulk read port: 0 picks a free one, {@link #DATA_PORT_OFF} turns it off. */
    public Builder dataPort(int dataPort) {
      this.dataPort = dataPort;
      return this;
    }

    public Builder tokenKeyFile(Path tokenKeyFile) {
      this.tokenKeyFile = tokenKeyFile;
      return this;
    }

    public Builder tls(TlsMaterial tls) {
      this.tls = Optional.of(tls);
      return this;
    }

    public Builder clientCertAuth(boolean clientCertAuth) {
      this.clientCertAuth = clientCertAuth;
      return this;
    }

    public Builder scrubBytesPerSecond(long bytesPerSecond) {
      this.scrubBytesPerSecond = bytesPerSecond;
      return this;
    }

    public Builder scrubInterval(Duration interval) {
      this.scrubInterval = Objects.requireNonNull(interval, "interval");
      return this;
    }

    public Builder handlerThreads(int handlerThreads) {
      this.handlerThreads = handlerThreads;
      return this;
    }

    public Builder serverId(String serverId) {
      this.serverId = Optional.of(serverId);
      return this;
    }

    public Builder replicationTimeout(Duration timeout) {
      this.replicationTimeout = Objects.requireNonNull(timeout, "timeout");
      return this;
    }

    /** The master's members; an empty list sends no heartbeats. */
    public Builder masterAddresses(List<HostPort> addresses) {
      this.masterAddresses = List.copyOf(addresses);
      return this;
    }

    public Builder advertiseHost(String host) {
      this.advertiseHost = Optional.of(host);
      return this;
    }

    /** This machine's rack; "" for none. */
    public Builder rack(String rack) {
      this.rack = Objects.requireNonNull(rack, "rack");
      return this;
    }

    /** @throws IllegalArgumentException naming the first setting that is not valid */
    public ChunkServerConfig build() {
      return new ChunkServerConfig(this);
    }
  }
}
