package org.apsara.fuxi.master.server;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import org.apsara.common.config.ConfigValues;
import org.apsara.common.net.HostPort;
import org.apsara.fuxi.master.scheduler.SchedulerConfig;
import org.apsara.security.tls.TlsMaterial;
import org.apsara.security.token.CapabilityToken;
import org.apsara.tenant.api.CredentialsFile;

/**
 * Everything one FuxiMaster member needs: where it listens and how others reach it, the Nuwa
 * cluster holding the election and the hard state, the application token keys, TLS, the Tubo
 * liveness intervals, the failover rebuild window, the scheduler's waits and the key the master
 * checks signed calls with. Immutable; build with
 * {@link #builder} or read Java properties with {@link #fromProperties}. Every value is checked
 * when built; an {@link IllegalArgumentException} names the setting.
 *
 * <p>Settings (property names in brackets):
 *
 * <ul>
 *   <li>[{@code member.id}], required: this member's name, in logs and metrics.
 *   <li>[{@code bind.host}]: where the gRPC services listen; default {@value #DEFAULT_BIND_HOST}.
 *   <li>[{@code port}]: the gRPC port (FuxiMaster and TuboTracker); default {@value
 *       #DEFAULT_PORT}; 0 picks a free port.
 *   <li>[{@code advertise.host}]: the host others use to reach this member (what a standby names
 *       in {@code x-fuxi-primary}); default the bind host.
 *   <li>[{@code masters}]: every member's address, host:port separated by commas, given to AMs as
 *       {@code FUXI_MASTERS}; default this member's advertised address.
 *   <li>[{@code metrics.port}]: HTTP /metrics, /health and /ready; 0 picks a free port, -1 (the
 *       default) turns it off.
 *   <li>[{@code nuwa.endpoints}], required: Nuwa members, host:port separated by commas.
 *   <li>[{@code nuwa.user}, {@code nuwa.password.file}]: Nuwa login, both or neither.
 *   <li>[{@code nuwa.tls.ca}, {@code nuwa.tls.cert}, {@code nuwa.tls.key}]: TLS towards Nuwa.
 *   <li>[{@code token.key.file}], required: the application token keys, shared with every Tubo;
 *       the first key signs.
 *   <li>[{@code tls.cert}, {@code tls.key}, {@code tls.ca}, {@code tls.client.auth}]: TLS on the
 *       gRPC port; off by default.
 *   <li>[{@code heartbeat.interval}]: what Tubos are told; default PT1S.
 *   <li>[{@code dead.interval}]: a Tubo silent this long is dead; default PT10S.
 *   <li>[{@code rebuild.window}]: how long a new primary collects Tubo heartbeats and AM syncs
 *       before it rebuilds the scheduler; default PT5S.
 *   <li>[{@code election.ttl}]: the Nuwa session (lease) of the candidacy; a crashed primary is
 *       replaced after at most this long; default PT10S, whole seconds.
 *   <li>[{@code token.lifetime}]: application token lifetime; default and most PT1H.
 *   <li>[{@code token.renew.interval}]: how often a connected AM gets a fresh token; default
 *       PT20M, less than the lifetime.
 *   <li>[{@code scheduler.machine.wait}, {@code scheduler.rack.wait}, {@code
 *       scheduler.preemption.wait}]: see {@link SchedulerConfig}; defaults {@link
 *       SchedulerConfig#DEFAULTS}.
 *   <li>[{@code scheduler.tick.interval}]: how often Scheduler.tick runs; default PT0.05S.
 *   <li>[{@code applications.finished.max}]: the most finished (succeeded, failed or killed)
 *       applications the primary keeps, in memory and in Nuwa; beyond it the oldest finished are
 *       purged. Default {@value #DEFAULT_FINISHED_APPLICATIONS_MAX}, 1..{@value
 *       #FINISHED_APPLICATIONS_MAX_LIMIT}.
 *   <li>[{@code applications.finished.retention}]: how long a finished application is kept after
 *       it finished; older ones are purged, whichever of the two limits removes more. Default
 *       PT24H, from PT1S to 3650 days.
 *   <li>[{@code identity.credentials}, {@code identity.profile}]: the credentials file and
 *       profile (default {@value CredentialsFile#DEFAULT_PROFILE}) of the master's own AccessKey,
 *       allowed {@code ram:GetServiceCredential} on {@code acs:ram:*:system:service/fuxi}, and the
 *       identity service it names. With them every FuxiMaster call but {@code Allocate} must be
 *       signed and is authorized (see {@link FuxiMasterServer}); without them the master accepts
 *       anyone who reaches its port and says so in its log. The file is read when the settings
 *       are.
 * </ul>
 *
 * Durations are ISO-8601 ({@code PT10S}).
 */
public record FuxiMasterConfig(
    String memberId,
    String bindHost,
    int port,
    String advertiseHost,
    List<HostPort> masters,
    int metricsPort,
    List<String> nuwaEndpoints,
    Optional<String> nuwaUser,
    Optional<Path> nuwaPasswordFile,
    Optional<TlsMaterial> nuwaTls,
    Path tokenKeyFile,
    Optional<TlsMaterial> tls,
    boolean clientCertAuth,
    Duration heartbeatInterval,
    Duration deadInterval,
    Duration rebuildWindow,
    Duration electionTtl,
    Duration tokenLifetime,
    Duration tokenRenewInterval,
    SchedulerConfig scheduler,
    Duration tickInterval,
    int finishedApplicationsMax,
    Duration finishedApplicationsRetention,
    Optional<CredentialsFile.Profile> identity) {
  public static final String DEFAULT_BIND_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 7300;
  public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(1);
  public static final Duration DEFAULT_DEAD_INTERVAL = Duration.ofSeconds(10);
  public static final Duration DEFAULT_REBUILD_WINDOW = Duration.ofSeconds(5);
  public static final Duration DEFAULT_ELECTION_TTL = Duration.ofSeconds(10);
  public static final Duration DEFAULT_TOKEN_LIFETIME = CapabilityToken.LIFETIME_MAX;
  public static final Duration DEFAULT_TOKEN_RENEW_INTERVAL = Duration.ofMinutes(20);
  public static final Duration DEFAULT_TICK_INTERVAL = Duration.ofMillis(50);
  /** Shortest heartbeat interval and tick: below this the master would spin. */
  public static final Duration INTERVAL_MIN = Duration.ofMillis(10);
  public static final int DEFAULT_FINISHED_APPLICATIONS_MAX = 1_000;
  /**
   * The most {@code applications.finished.max} may be: every kept application is in the
   * primary's memory and is read from Nuwa by each new primary before it serves.
   */
  public static final int FINISHED_APPLICATIONS_MAX_LIMIT = 100_000;
  public static final Duration DEFAULT_FINISHED_APPLICATIONS_RETENTION = Duration.ofHours(24);
  public static final Duration FINISHED_APPLICATIONS_RETENTION_MIN = Duration.ofSeconds(1);
  /** Bounds the retention so that "now minus retention" stays far inside a long of millis. */
  public static final Duration FINISHED_APPLICATIONS_RETENTION_MAX = Duration.ofDays(3650);

  private static final Set<String> KNOWN_KEYS =
      Set.of(
          "member.id", "bind.host", "port", "advertise.host", "masters", "metrics.port",
          "nuwa.endpoints", "nuwa.user", "nuwa.password.file", "nuwa.tls.ca", "nuwa.tls.cert",
          "nuwa.tls.key", "token.key.file", "tls.cert", "tls.key", "tls.ca", "tls.client.auth",
          "heartbeat.interval", "dead.interval", "rebuild.window", "election.ttl",
          "token.lifetime", "token.renew.interval", "scheduler.machine.wait",
          "scheduler.rack.wait", "scheduler.preemption.wait", "scheduler.tick.interval",
          "applications.finished.max", "applications.finished.retention",
          "identity.credentials", "identity.profile");

  public FuxiMasterConfig {
    if (memberId == null || memberId.isBlank()) {
      throw new IllegalArgumentException("member.id is required");
    }
    Objects.requireNonNull(bindHost, "bind.host");
    HostPort.of(bindHost, 0); // validates the host, naming it
    if (port < 0 || port > HostPort.PORT_MAX) {
      throw new IllegalArgumentException("port " + port + " is outside 0.." + HostPort.PORT_MAX);
    }
    Objects.requireNonNull(advertiseHost, "advertise.host");
    HostPort.of(advertiseHost, 0);
    masters = List.copyOf(masters);
    if (metricsPort < -1 || metricsPort > HostPort.PORT_MAX) {
      throw new IllegalArgumentException(
          "metrics.port " + metricsPort + " is outside -1.." + HostPort.PORT_MAX);
    }
    nuwaEndpoints = List.copyOf(nuwaEndpoints);
    if (nuwaEndpoints.isEmpty()) {
      throw new IllegalArgumentException("nuwa.endpoints is required: host:port,...");
    }
    for (String endpoint : nuwaEndpoints) {
      try {
        HostPort.parse(endpoint);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("nuwa.endpoints: " + e.getMessage(), e);
      }
    }
    Objects.requireNonNull(nuwaUser, "nuwaUser");
    Objects.requireNonNull(nuwaPasswordFile, "nuwaPasswordFile");
    if (nuwaUser.isPresent() != nuwaPasswordFile.isPresent()) {
      throw new IllegalArgumentException(
          "nuwa.user and nuwa.password.file go together: give both or neither");
    }
    Objects.requireNonNull(nuwaTls, "nuwaTls");
    if (tokenKeyFile == null) {
      throw new IllegalArgumentException(
          "token.key.file is required: the master signs application tokens with it");
    }
    Objects.requireNonNull(tls, "tls");
    if (tls.isPresent() && !tls.get().hasIdentity()) {
      throw new IllegalArgumentException("TLS needs tls.cert and tls.key");
    }
    if (clientCertAuth && (tls.isEmpty() || tls.get().trustedCaFile().isEmpty())) {
      throw new IllegalArgumentException("tls.client.auth=true needs tls.ca");
    }
    requireAtLeast("heartbeat.interval", heartbeatInterval, INTERVAL_MIN);
    requireAtLeast("dead.interval", deadInterval, INTERVAL_MIN);
    if (deadInterval.compareTo(heartbeatInterval.multipliedBy(2)) < 0) {
      throw new IllegalArgumentException(
          "dead.interval " + deadInterval + " must be at least twice heartbeat.interval "
              + heartbeatInterval + ", or one late heartbeat kills a machine");
    }
    requireAtLeast("rebuild.window", rebuildWindow, Duration.ZERO);
    requireAtLeast("election.ttl", electionTtl, Duration.ofSeconds(1));
    if (electionTtl.toMillis() % 1000 != 0) {
      throw new IllegalArgumentException("election.ttl " + electionTtl + " must be whole seconds");
    }
    requireAtLeast("token.lifetime", tokenLifetime, Duration.ofSeconds(1));
    if (tokenLifetime.compareTo(CapabilityToken.LIFETIME_MAX) > 0) {
      throw new IllegalArgumentException(
          "token.lifetime " + tokenLifetime + " exceeds " + CapabilityToken.LIFETIME_MAX);
    }
    requireAtLeast("token.renew.interval", tokenRenewInterval, INTERVAL_MIN);
    if (tokenRenewInterval.compareTo(tokenLifetime) >= 0) {
      throw new IllegalArgumentException(
          "token.renew.interval " + tokenRenewInterval + " must be shorter than token.lifetime "
              + tokenLifetime);
    }
    Objects.requireNonNull(scheduler, "scheduler");
    requireAtLeast("scheduler.tick.interval", tickInterval, INTERVAL_MIN);
    if (finishedApplicationsMax < 1 || finishedApplicationsMax > FINISHED_APPLICATIONS_MAX_LIMIT) {
      throw new IllegalArgumentException("applications.finished.max " + finishedApplicationsMax
          + " is outside 1.." + FINISHED_APPLICATIONS_MAX_LIMIT);
    }
    requireAtLeast("applications.finished.retention", finishedApplicationsRetention,
        FINISHED_APPLICATIONS_RETENTION_MIN);
    if (finishedApplicationsRetention.compareTo(FINISHED_APPLICATIONS_RETENTION_MAX) > 0) {
      throw new IllegalArgumentException("applications.finished.retention "
          + finishedApplicationsRetention + " exceeds " + FINISHED_APPLICATIONS_RETENTION_MAX);
    }
    Objects.requireNonNull(identity, "identity");
    if (identity.isPresent() && identity.get().endpoint().isEmpty()) {
      throw new IllegalArgumentException("identity: profile [" + identity.get().name()
          + "] names no " + CredentialsFile.KEY_ENDPOINT + ": the master asks the identity"
          + " service there about the keys its callers sign with");
    }
  }

  /** Whether calls must be signed and are authorized: whether {@link #identity} is given. */
  public boolean authenticates() {
    return identity.isPresent();
  }

  private static void requireAtLeast(String key, Duration value, Duration min) {
    if (value == null || value.compareTo(min) < 0) {
      throw new IllegalArgumentException(key + " " + value + " must be at least " + min);
    }
  }

  /** Where this member is reached, as a standby names it and AMs find it. */
  public HostPort advertiseAddress(int boundPort) {
    return HostPort.of(advertiseHost, boundPort);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Reads the settings listed in the class comment.
   *
   * @throws IllegalArgumentException naming the property if one is unknown, malformed or out of
   *     range, or a required one is missing
   */
  public static FuxiMasterConfig fromProperties(Properties properties) {
    Builder b = builder();
    Path tlsCert = null;
    Path tlsKey = null;
    Path tlsCa = null;
    Path nuwaCa = null;
    Path nuwaCert = null;
    Path nuwaKey = null;
    String user = null;
    Path passwordFile = null;
    SchedulerConfig s = SchedulerConfig.DEFAULTS;
    Duration machineWait = s.machineLocalityWait();
    Duration rackWait = s.rackLocalityWait();
    Duration preemptionWait = s.preemptionWait();
    Path credentialsFile = null;
    String profile = null;
    for (String key : new TreeSet<>(properties.stringPropertyNames())) {
      String value = properties.getProperty(key).strip();
      if (!KNOWN_KEYS.contains(key)) {
        throw new IllegalArgumentException(
            "unknown setting " + key + "; known settings: " + new TreeSet<>(KNOWN_KEYS));
      }
      try {
        switch (key) {
          case "member.id" -> b.memberId(value);
          case "bind.host" -> b.bindHost(value);
          case "port" -> b.port(ConfigValues.parseInt(key, value));
          case "advertise.host" -> b.advertiseHost(value);
          case "masters" -> b.masters(HostPort.parseList(value));
          case "metrics.port" -> b.metricsPort(ConfigValues.parseInt(key, value));
          case "nuwa.endpoints" -> b.nuwaEndpoints(splitList(value));
          case "nuwa.user" -> user = value;
          case "nuwa.password.file" -> passwordFile = Path.of(value);
          case "nuwa.tls.ca" -> nuwaCa = Path.of(value);
          case "nuwa.tls.cert" -> nuwaCert = Path.of(value);
          case "nuwa.tls.key" -> nuwaKey = Path.of(value);
          case "token.key.file" -> b.tokenKeyFile(Path.of(value));
          case "tls.cert" -> tlsCert = Path.of(value);
          case "tls.key" -> tlsKey = Path.of(value);
          case "tls.ca" -> tlsCa = Path.of(value);
          case "tls.client.auth" -> b.clientCertAuth(ConfigValues.parseBoolean(key, value));
          case "heartbeat.interval" -> b.heartbeatInterval(ConfigValues.parseDuration(key, value));
          case "dead.interval" -> b.deadInterval(ConfigValues.parseDuration(key, value));
          case "rebuild.window" -> b.rebuildWindow(ConfigValues.parseDuration(key, value));
          case "election.ttl" -> b.electionTtl(ConfigValues.parseDuration(key, value));
          case "token.lifetime" -> b.tokenLifetime(ConfigValues.parseDuration(key, value));
          case "token.renew.interval" ->
              b.tokenRenewInterval(ConfigValues.parseDuration(key, value));
          case "scheduler.machine.wait" -> machineWait = ConfigValues.parseDuration(key, value);
          case "scheduler.rack.wait" -> rackWait = ConfigValues.parseDuration(key, value);
          case "scheduler.preemption.wait" ->
              preemptionWait = ConfigValues.parseDuration(key, value);
          case "scheduler.tick.interval" ->
              b.tickInterval(ConfigValues.parseDuration(key, value));
          case "applications.finished.max" ->
              b.finishedApplicationsMax(ConfigValues.parseInt(key, value));
          case "applications.finished.retention" ->
              b.finishedApplicationsRetention(ConfigValues.parseDuration(key, value));
          case "identity.credentials" -> credentialsFile = Path.of(value);
          case "identity.profile" -> profile = value;
          default -> throw new IllegalStateException("unhandled setting " + key);
        }
      } catch (IllegalArgumentException e) {
        throw e.getMessage() != null && e.getMessage().contains(key)
            ? e
            : new IllegalArgumentException(key + ": " + e.getMessage(), e);
      }
    }
    if (user != null || passwordFile != null) {
      if (user == null || passwordFile == null) {
        throw new IllegalArgumentException(
            "nuwa.user and nuwa.password.file go together: give both or neither");
      }
      b.nuwaLogin(user, passwordFile);
    }
    if (credentialsFile != null) {
      b.identity(readProfile(credentialsFile,
          profile != null ? profile : CredentialsFile.DEFAULT_PROFILE));
    } else if (profile != null) {
      throw new IllegalArgumentException(
          "identity.profile needs identity.credentials, the file it is in");
    }
    if (tlsCert != null || tlsKey != null || tlsCa != null) {
      b.tls(TlsMaterial.of(tlsCert, tlsKey, tlsCa));
    }
    if (nuwaCa != null || nuwaCert != null || nuwaKey != null) {
      b.nuwaTls(TlsMaterial.of(nuwaCert, nuwaKey, nuwaCa));
    }
    try {
      b.scheduler(new SchedulerConfig(machineWait, rackWait, preemptionWait));
      return b.build();
    } catch (IllegalArgumentException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  private static CredentialsFile.Profile readProfile(Path file, String profile) {
    try {
      return CredentialsFile.read(file, profile).orElseThrow(() -> new IllegalArgumentException(
          "identity.profile: credentials file " + file + " has no profile [" + profile + "]"));
    } catch (IOException e) {
      throw new IllegalArgumentException("identity.credentials: cannot read " + file + ": "
          + e.getMessage(), e);
    }
  }

  private static List<String> splitList(String value) {
    List<String> out = new ArrayList<>();
    for (String part : value.split(",")) {
      if (!part.isBlank()) {
        out.add(part.strip());
      }
    }
    return out;
  }

  /** Builds a {@link FuxiMasterConfig}; member id, Nuwa endpoints and key file are required. */
  public static final class Builder {
    private String memberId;
    private String bindHost = DEFAULT_BIND_HOST;
    private int port = DEFAULT_PORT;
    private String advertiseHost;
    private List<HostPort> masters = List.of();
    private int metricsPort = -1;
    private List<String> nuwaEndpoints = List.of();
    private Optional<String> nuwaUser = Optional.empty();
    private Optional<Path> nuwaPasswordFile = Optional.empty();
    private Optional<TlsMaterial> nuwaTls = Optional.empty();
    private Path tokenKeyFile;
    private Optional<TlsMaterial> tls = Optional.empty();
    private boolean clientCertAuth;
    private Duration heartbeatInterval = DEFAULT_HEARTBEAT_INTERVAL;
    private Duration deadInterval = DEFAULT_DEAD_INTERVAL;
    private Duration rebuildWindow = DEFAULT_REBUILD_WINDOW;
    private Duration electionTtl = DEFAULT_ELECTION_TTL;
    private Duration tokenLifetime = DEFAULT_TOKEN_LIFETIME;
    private Duration tokenRenewInterval = DEFAULT_TOKEN_RENEW_INTERVAL;
    private SchedulerConfig scheduler = SchedulerConfig.DEFAULTS;
    private Duration tickInterval = DEFAULT_TICK_INTERVAL;
    private int finishedApplicationsMax = DEFAULT_FINISHED_APPLICATIONS_MAX;
    private Duration finishedApplicationsRetention = DEFAULT_FINISHED_APPLICATIONS_RETENTION;
    private Optional<CredentialsFile.Profile> identity = Optional.empty();

    private Builder() {}

    public Builder memberId(String memberId) {
      this.memberId = memberId;
      return this;
    }

    public Builder bindHost(String bindHost) {
      this.bindHost = bindHost;
      return this;
    }

    public Builder port(int port) {
      this.port = port;
      return this;
    }

    public Builder advertiseHost(String advertiseHost) {
      this.advertiseHost = advertiseHost;
      return this;
    }

    /** Every member's address, for the AMs' {@code FUXI_MASTERS}. */
    public Builder masters(List<HostPort> masters) {
      this.masters = masters;
      return this;
    }

    public Builder metricsPort(int metricsPort) {
      this.metricsPort = metricsPort;
      return this;
    }

    public Builder nuwaEndpoints(List<String> nuwaEndpoints) {
      this.nuwaEndpoints = nuwaEndpoints;
      return this;
    }

    /** Authenticates to Nuwa as {@code user} with the password in {@code passwordFile}. */
    public Builder nuwaLogin(String user, Path passwordFile) {
      this.nuwaUser = Optional.of(user);
      this.nuwaPasswordFile = Optional.of(passwordFile);
      return this;
    }

    public Builder nuwaTls(TlsMaterial nuwaTls) {
      this.nuwaTls = Optional.of(nuwaTls);
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

    public Builder heartbeatInterval(Duration heartbeatInterval) {
      this.heartbeatInterval = heartbeatInterval;
      return this;
    }

    public Builder deadInterval(Duration deadInterval) {
      this.deadInterval = deadInterval;
      return this;
    }

    public Builder rebuildWindow(Duration rebuildWindow) {
      this.rebuildWindow = rebuildWindow;
      return this;
    }

    public Builder electionTtl(Duration electionTtl) {
      this.electionTtl = electionTtl;
      return this;
    }

    public Builder tokenLifetime(Duration tokenLifetime) {
      this.tokenLifetime = tokenLifetime;
      return this;
    }

    public Builder tokenRenewInterval(Duration tokenRenewInterval) {
      this.tokenRenewInterval = tokenRenewInterval;
      return this;
    }

    public Builder scheduler(SchedulerConfig scheduler) {
      this.scheduler = scheduler;
      return this;
    }

    public Builder tickInterval(Duration tickInterval) {
      this.tickInterval = tickInterval;
      return this;
    }

    /** The most finished applications kept ({@code applications.finished.max}). */
    public Builder finishedApplicationsMax(int finishedApplicationsMax) {
      this.finishedApplicationsMax = finishedApplicationsMax;
      return this;
    }

    /** How long a finished application is kept ({@code applications.finished.retention}). */
    public Builder finishedApplicationsRetention(Duration finishedApplicationsRetention) {
      this.finishedApplicationsRetention = finishedApplicationsRetention;
      return this;
    }

    /**
     * Requires signed calls, checked with what the identity service named by {@code profile}
     * tells about each caller's AccessKey; {@code profile}'s own AccessKey must be allowed {@code
     * ram:GetServiceCredential} on {@code acs:ram:*:system:service/fuxi} (the system tenant's
     * root is). Its region is the one callers sign for and resource names carry.
     */
    public Builder identity(CredentialsFile.Profile profile) {
      this.identity = Optional.of(profile);
      return this;
    }

    public FuxiMasterConfig build() {
      String advertise = advertiseHost != null ? advertiseHost : bindHost;
      return new FuxiMasterConfig(memberId, bindHost, port, advertise, masters, metricsPort,
          nuwaEndpoints, nuwaUser, nuwaPasswordFile, nuwaTls, tokenKeyFile, tls, clientCertAuth,
          heartbeatInterval, deadInterval, rebuildWindow, electionTtl, tokenLifetime,
          tokenRenewInterval, scheduler, tickInterval, finishedApplicationsMax,
          finishedApplicationsRetention, identity);
    }
  }
}
