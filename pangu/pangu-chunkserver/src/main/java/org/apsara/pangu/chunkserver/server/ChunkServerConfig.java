package org.apsara.pangu.chunkserver.server;

import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
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
 *   <li>server id [{@code server.id}]: the name in metrics; default {@code host-port}.
 * </ul>
 */
public final class ChunkServerConfig {
  /** The gRPC port unless told otherwise. */
  public static final int DEFAULT_PORT = 7100;
  /** Threads running calls unless told otherwise: enough to keep several disks busy. */
  public static final int DEFAULT_HANDLER_THREADS = 16;
  /** Most threads running calls. */
  public static final int HANDLER_THREADS_MAX = 256;
  /** How long a ReplicateReplica may take unless told otherwise: a 64 MiB chunk at ~1 MB/s. */
  public static final Duration DEFAULT_REPLICATION_TIMEOUT = Duration.ofMinutes(2);

  private static final Pattern VOLUME_KEY = Pattern.compile("volume\\.(\\d+)\\.(dir|capacity|reserve)");
  private static final Pattern SIZE = Pattern.compile("(\\d+)([KMGT]?)(i?B)?");
  private static final Set<String> KNOWN_KEYS = Set.of("chunk.size", "host", "port",
      "metrics.port", "token.key.file", "tls.cert", "tls.key", "tls.ca", "tls.client.auth",
      "scrub.bytes.per.second", "scrub.interval", "handler.threads", "server.id",
      "replication.timeout");

  private final ChunkStoreConfig storeConfig;
  private final String host;
  private final int port;
  private final int metricsPort;
  private final Path tokenKeyFile;
  private final Optional<TlsMaterial> tls;
  private final boolean clientCertAuth;
  private final long scrubBytesPerSecond;
  private final Duration scrubInterval;
  private final int handlerThreads;
  private final Optional<String> serverId;
  private final Duration replicationTimeout;

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
    this.host = b.host;
    this.port = b.port;
    this.metricsPort = b.metricsPort;
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
        case "chunk.size" -> builder.chunkSizeBytes(parseSize(key, value));
        case "host" -> builder.host(value);
        case "port" -> builder.port(parseInt(key, value));
        case "metrics.port" -> builder.metricsPort(parseInt(key, value));
        case "token.key.file" -> builder.tokenKeyFile(Path.of(value));
        case "scrub.bytes.per.second" -> builder.scrubBytesPerSecond(parseSize(key, value));
        case "scrub.interval" -> builder.scrubInterval(parseDuration(key, value));
        case "replication.timeout" -> builder.replicationTimeout(parseDuration(key, value));
        case "handler.threads" -> builder.handlerThreads(parseInt(key, value));
        case "server.id" -> builder.serverId(value);
        case "tls.client.auth" -> builder.clientCertAuth(parseBoolean(key, value));
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
          : parseSize(prefix + "capacity", fields[1]);
      long reserve = fields[2] == null ? VolumeConfig.DEFAULT_RESERVED_BYTES
          : parseSize(prefix + "reserve", fields[2]);
      try {
        builder.volume(new VolumeConfig(Path.of(fields[0]), capacity, reserve));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(prefix + "*: " + e.getMessage(), e);
      }
    }
    return builder.build();
  }

  /** Parses {@code 1024}, {@code 64M}, {@code 64MiB}, {@code 2G}: powers of 1024. */
  static long parseSize(String key, String value) {
    Matcher match = SIZE.matcher(value.toUpperCase(Locale.ROOT).replace("IB", "iB"));
    if (!match.matches()) {
      throw new IllegalArgumentException(key + " = '" + value
          + "' is not a size: expected bytes, or a number with K, M, G or T (powers of 1024)");
    }
    int shift = switch (match.group(2)) {
      case "K" -> 10;
      case "M" -> 20;
      case "G" -> 30;
      case "T" -> 40;
      default -> 0;
    };
    try {
      long number = Long.parseLong(match.group(1));
      if (number > (Long.MAX_VALUE >> shift)) {
        throw new NumberFormatException();
      }
      return number << shift;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " = '" + value + "' is too large");
    }
  }

  private static int parseInt(String key, String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " = '" + value + "' is not an integer");
    }
  }

  private static boolean parseBoolean(String key, String value) {
    return switch (value) {
      case "true" -> true;
      case "false" -> false;
      default -> throw new IllegalArgumentException(
          key + " = '" + value + "' must be true or false");
    };
  }

  private static Duration parseDuration(String key, String value) {
    try {
      return Duration.parse(value);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(key + " = '" + value
          + "' is not an ISO-8601 duration such as PT1H or PT30S");
    }
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

  /** Not thread-safe. Everything but the volumes and the token key file has a default. */
  public static final class Builder {
    private final List<VolumeConfig> volumes = new ArrayList<>();
    private long chunkSizeBytes = ChunkStoreConfig.DEFAULT_CHUNK_SIZE_BYTES;
    private String host = "127.0.0.1";
    private int port = DEFAULT_PORT;
    private int metricsPort = -1;
    private Path tokenKeyFile;
    private Optional<TlsMaterial> tls = Optional.empty();
    private boolean clientCertAuth;
    private long scrubBytesPerSecond = Scrubber.DEFAULT_BYTES_PER_SECOND;
    private Duration scrubInterval = Scrubber.DEFAULT_PASS_INTERVAL;
    private int handlerThreads = DEFAULT_HANDLER_THREADS;
    private Optional<String> serverId = Optional.empty();
    private Duration replicationTimeout = DEFAULT_REPLICATION_TIMEOUT;

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

    /** @throws IllegalArgumentException naming the first setting that is not valid */
    public ChunkServerConfig build() {
      return new ChunkServerConfig(this);
    }
  }
}
