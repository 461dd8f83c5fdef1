package org.apsara.fuxi.tubo.agent;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.apsara.common.config.ConfigValues;
import org.apsara.common.net.HostPort;
import org.apsara.fuxi.tubo.TuboLimits;
import org.apsara.fuxi.tubo.cgroup.CgroupDrivers;
import org.apsara.fuxi.tubo.cgroup.CgroupMode;
import org.apsara.security.tls.ClientAuth;
import org.apsara.security.tls.TlsMaterial;

/**
 * Everything one Tubo needs to start. Immutable; build with {@link #builder()} or read from
 * properties with {@link #fromProperties}. Every value is checked when built, and an {@link
 * IllegalArgumentException} names the setting and what is allowed.
 *
 * <p>Settings (property names in brackets):
 *
 * <ul>
 *   <li>machine id [{@code machine.id}]: this machine's name towards FuxiMaster; default the host
 *       name. Letters, digits and {@code _ . -}, at most 128 characters.
 *   <li>rack [{@code rack}]: this machine's rack, such as {@code /dc1/rack7}: at most {@value
 *       #RACK_LENGTH_MAX} characters of letters, digits and {@code . _ - /}; default none.
 *   <li>master addresses [{@code master.addresses}], required: the client addresses of the
 *       FuxiMaster members, {@code host:port,host:port}, at most {@value #MASTER_ADDRESSES_MAX}.
 *       Heartbeats go to the primary among them.
 *   <li>bind host, port [{@code bind.host}, {@code port}]: where the Tubo gRPC service listens;
 *       port 0 picks a free one. Default {@code 127.0.0.1}:{@value #DEFAULT_PORT}.
 *   <li>advertised host [{@code advertise.host}]: the host AMs are told to reach this Tubo at;
 *       default the bind host, required when that is a wildcard address.
 *   <li>data directory [{@code data.dir}], required: Tubo's own directory. Worker sandboxes live
 *       in {@code sandboxes/} under it (the supervisor's sandbox root, where a restarted Tubo
 *       finds the workers to adopt), and the exit sequence in {@code exit-sequence}.
 *   <li>cgroups [{@code cgroup.mode}, {@code cgroup.parent}]: {@code auto} (default), {@code v1},
 *       {@code v2} or {@code none}; and Tubo's group in each hierarchy, default {@value
 *       CgroupDrivers#DEFAULT_PARENT_NAME}.
 *   <li>capacity [{@code cpu.millicores}, {@code memory.mib}]: what the machine offers to workers;
 *       each one not set is detected (the machine's or Tubo's own cgroup's, less a reserve for
 *       the system; see {@link org.apsara.fuxi.tubo.MachineResources#detect()}).
 *   <li>token key file [{@code token.key.file}], required: the keys application tokens are signed
 *       with; FuxiMaster uses the same file.
 *   <li>TLS [{@code tls.cert}, {@code tls.key}, {@code tls.ca}, {@code tls.client.auth}]:
 *       optional. With a certificate and key the Tubo service speaks TLS only, and heartbeats go
 *       to the masters over TLS trusting the CA; {@code tls.client.auth=true} requires client
 *       certificates.
 *   <li>metrics port [{@code metrics.port}]: HTTP /metrics, /health and /ready on the bind host;
 *       0 picks a free one, -1 (the default) turns it off.
 *   <li>memory pressure [{@code memory.pressure.mib}]: when the machine's available memory
 *       ({@code MemAvailable}) falls below this many MiB, batch workers are evicted, youngest
 *       first, until it is back above; services are never evicted. Default {@value
 *       #DEFAULT_MEMORY_PRESSURE_MIB}; 0 turns eviction off.
 * </ul>
 *
 * @param machineId this machine's id towards FuxiMaster
 * @param rack this machine's rack; "" when racks are not configured
 * @param masterAddresses the FuxiMaster members heartbeats may go to, at least one
 * @param bindHost where the gRPC service listens
 * @param port the gRPC port; 0 picks a free one
 * @param advertiseHost the host in the address reported to the master; empty: the bind host
 * @param dataDir Tubo's directory (sandboxes and the exit sequence)
 * @param cgroupMode which cgroup driver to use
 * @param cgroupParent Tubo's group in each cgroup hierarchy
 * @param cpuMillicores CPU offered to workers; empty: detected
 * @param memoryMib memory offered to workers; empty: detected
 * @param tokenKeyFile the application tokens' keys
 * @param tls TLS material of the service and of the calls to the masters; empty: plaintext
 * @param clientCertAuth whether callers must present a certificate the CA signed
 * @param metricsPort the HTTP port of /metrics and /health; -1: off
 * @param memoryPressureMib when the machine's available memory falls below this, batch workers
 *     are evicted (youngest first) until it is back; 0: never
 */
public record TuboServerConfig(
    String machineId,
    String rack,
    List<HostPort> masterAddresses,
    String bindHost,
    int port,
    Optional<String> advertiseHost,
    Path dataDir,
    CgroupMode cgroupMode,
    String cgroupParent,
    OptionalInt cpuMillicores,
    OptionalLong memoryMib,
    Path tokenKeyFile,
    Optional<TlsMaterial> tls,
    boolean clientCertAuth,
    int metricsPort,
    long memoryPressureMib) {

  /**
   * Available memory below which batch workers are evicted, unless told otherwise: half of the
   * memory {@link org.apsara.fuxi.tubo.MachineResources} keeps back for the system by default.
   */
  public static final long DEFAULT_MEMORY_PRESSURE_MIB = 512;
  /** The gRPC port unless told otherwise. */
  public static final int DEFAULT_PORT = 7400;
  /** Most master members listed: a primary and a few hot standbys. */
  public static final int MASTER_ADDRESSES_MAX = 9;
  /** Longest rack name, in characters. */
  public static final int RACK_LENGTH_MAX = 256;
  /** The sandbox root under the data directory. */
  public static final String SANDBOXES_DIR = "sandboxes";
  /** The file under the data directory keeping the last exit sequence number handed out. */
  public static final String EXIT_SEQUENCE_FILE = "exit-sequence";

  private static final Pattern RACK = Pattern.compile("[A-Za-z0-9._/-]+");
  private static final Set<String> WILDCARD_HOSTS = Set.of("0.0.0.0", "::", "0:0:0:0:0:0:0:0");
  private static final Set<String> KNOWN_KEYS = Set.of("machine.id", "rack", "master.addresses",
      "bind.host", "port", "advertise.host", "data.dir", "cgroup.mode", "cgroup.parent",
      "cpu.millicores", "memory.mib", "token.key.file", "tls.cert", "tls.key", "tls.ca",
      "tls.client.auth", "metrics.port", "memory.pressure.mib");

  public TuboServerConfig {
    Objects.requireNonNull(machineId, "machineId");
    Objects.requireNonNull(rack, "rack");
    Objects.requireNonNull(masterAddresses, "masterAddresses");
    Objects.requireNonNull(bindHost, "bindHost");
    Objects.requireNonNull(advertiseHost, "advertiseHost");
    Objects.requireNonNull(cgroupMode, "cgroupMode");
    Objects.requireNonNull(cgroupParent, "cgroupParent");
    Objects.requireNonNull(cpuMillicores, "cpuMillicores");
    Objects.requireNonNull(memoryMib, "memoryMib");
    Objects.requireNonNull(tls, "tls");
    if (!TuboLimits.ID_PATTERN.matcher(machineId).matches()) {
      throw new IllegalArgumentException("machine.id = '" + machineId + "' must match "
          + TuboLimits.ID_PATTERN.pattern());
    }
    if (!rack.isEmpty() && (rack.length() > RACK_LENGTH_MAX || !RACK.matcher(rack).matches())) {
      throw new IllegalArgumentException("rack = '" + rack + "' must be at most "
          + RACK_LENGTH_MAX + " characters of letters, digits and . _ - /");
    }
    if (memoryPressureMib < 0) {
      throw new IllegalArgumentException("memory.pressure.mib = " + memoryPressureMib
          + " must not be negative (0 turns eviction off)");
    }
    masterAddresses = List.copyOf(masterAddresses);
    if (masterAddresses.isEmpty()) {
      throw new IllegalArgumentException("master.addresses is required: Tubo runs only the"
          + " workers FuxiMaster grants, and learns of grants from its heartbeats");
    }
    if (masterAddresses.size() > MASTER_ADDRESSES_MAX) {
      throw new IllegalArgumentException("master.addresses lists " + masterAddresses.size()
          + " members, at most " + MASTER_ADDRESSES_MAX + " are allowed");
    }
    if (masterAddresses.size() != Set.copyOf(masterAddresses).size()) {
      throw new IllegalArgumentException("master.addresses lists a member twice: "
          + masterAddresses);
    }
    try {
      HostPort.of(bindHost, port);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("bind.host/port: " + e.getMessage(), e);
    }
    if (advertiseHost.isPresent()) {
      try {
        HostPort.of(advertiseHost.get(), 0);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("advertise.host: " + e.getMessage(), e);
      }
      if (WILDCARD_HOSTS.contains(advertiseHost.get())) {
        throw new IllegalArgumentException("advertise.host = " + advertiseHost.get()
            + " is a wildcard address; application masters need one they can connect to");
      }
    } else if (WILDCARD_HOSTS.contains(bindHost)) {
      throw new IllegalArgumentException("advertise.host is required: the service listens on the"
          + " wildcard address " + bindHost + ", which application masters cannot connect to");
    }
    if (dataDir == null) {
      throw new IllegalArgumentException("data.dir is required: worker sandboxes live there");
    }
    dataDir = dataDir.toAbsolutePath().normalize();
    if (!CgroupDrivers.PARENT_NAME_PATTERN.matcher(cgroupParent).matches()) {
      throw new IllegalArgumentException("cgroup.parent = '" + cgroupParent + "' must match "
          + CgroupDrivers.PARENT_NAME_PATTERN);
    }
    if (cpuMillicores.isPresent() && cpuMillicores.getAsInt() <= 0) {
      throw new IllegalArgumentException(
          "cpu.millicores = " + cpuMillicores.getAsInt() + " must be positive");
    }
    if (memoryMib.isPresent() && memoryMib.getAsLong() <= 0) {
      throw new IllegalArgumentException(
          "memory.mib = " + memoryMib.getAsLong() + " must be positive");
    }
    if (tokenKeyFile == null) {
      throw new IllegalArgumentException("token.key.file is required: application tokens cannot"
          + " be checked without FuxiMaster's keys");
    }
    if (tls.isPresent() && !tls.get().hasIdentity()) {
      throw new IllegalArgumentException("TLS on the service needs tls.cert and tls.key");
    }
    if (clientCertAuth && (tls.isEmpty() || tls.get().trustedCaFile().isEmpty())) {
      throw new IllegalArgumentException(
          "tls.client.auth=true needs TLS with a trusted CA file (tls.ca)");
    }
    if (metricsPort < -1 || metricsPort > HostPort.PORT_MAX) {
      throw new IllegalArgumentException(
          "metrics.port = " + metricsPort + " is out of range -1.." + HostPort.PORT_MAX);
    }
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
  public static TuboServerConfig fromProperties(Properties properties) {
    Builder builder = builder();
    for (String key : new TreeSet<>(properties.stringPropertyNames())) {
      String value = properties.getProperty(key).strip();
      if (!KNOWN_KEYS.contains(key)) {
        throw new IllegalArgumentException("unknown setting " + key + "; Tubo knows "
            + new TreeSet<>(KNOWN_KEYS));
      }
      switch (key) {
        case "machine.id" -> builder.machineId(value);
        case "rack" -> builder.rack(value);
        case "master.addresses" -> {
          try {
            builder.masterAddresses(HostPort.parseList(value));
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
          }
        }
        case "bind.host" -> builder.bindHost(value);
        case "port" -> builder.port(ConfigValues.parseInt(key, value));
        case "advertise.host" -> builder.advertiseHost(value);
        case "data.dir" -> builder.dataDir(Path.of(value));
        case "cgroup.mode" -> builder.cgroupMode(parseCgroupMode(key, value));
        case "cgroup.parent" -> builder.cgroupParent(value);
        case "cpu.millicores" -> builder.cpuMillicores(ConfigValues.parseInt(key, value));
        case "memory.mib" -> builder.memoryMib(parseLong(key, value));
        case "token.key.file" -> builder.tokenKeyFile(Path.of(value));
        case "tls.client.auth" -> builder.clientCertAuth(ConfigValues.parseBoolean(key, value));
        case "metrics.port" -> builder.metricsPort(ConfigValues.parseInt(key, value));
        case "memory.pressure.mib" -> builder.memoryPressureMib(parseLong(key, value));
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
    return builder.build();
  }

  private static CgroupMode parseCgroupMode(String key, String value) {
    try {
      return CgroupMode.valueOf(value.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(key + " = '" + value
          + "' must be auto, v1, v2 or none");
    }
  }

  private static long parseLong(String key, String value) {
    try {
      return Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " = '" + value + "' is not an integer");
    }
  }

  /** The directory worker sandboxes live in. */
  public Path sandboxRoot() {
    return dataDir.resolve(SANDBOXES_DIR);
  }

  /** The host the master and AMs are given for this Tubo: advertise.host, else bind.host. */
  public String advertisedHost() {
    return advertiseHost.orElse(bindHost);
  }

  /** What the service asks of callers' certificates. */
  public ClientAuth clientAuth() {
    if (clientCertAuth) {
      return ClientAuth.REQUIRE;
    }
    return tls.isPresent() && tls.get().trustedCaFile().isPresent()
        ? ClientAuth.OPTIONAL : ClientAuth.NONE;
  }

  /** This configuration with another port; for tests that restart a Tubo on the port it bound. */
  public TuboServerConfig withPort(int newPort) {
    return new TuboServerConfig(machineId, rack, masterAddresses, bindHost, newPort,
        advertiseHost, dataDir, cgroupMode, cgroupParent, cpuMillicores, memoryMib, tokenKeyFile,
        tls, clientCertAuth, metricsPort, memoryPressureMib);
  }

  /** The host name, the default machine id; {@code localhost} if it cannot be found. */
  static String hostName() {
    try {
      String name = InetAddress.getLocalHost().getHostName();
      int dot = name.indexOf('.');
      // The first label: a fully qualified name may be longer than a machine id may be.
      String first = dot > 0 ? name.substring(0, dot) : name;
      return TuboLimits.ID_PATTERN.matcher(first).matches() ? first : "localhost";
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }

  /**
   * Not thread-safe. Master addresses, the data directory and the token key file are required;
   * everything else has a default.
   */
  public static final class Builder {
    private String machineId;
    private String rack = "";
    private List<HostPort> masterAddresses = List.of();
    private String bindHost = "127.0.0.1";
    private int port = DEFAULT_PORT;
    private Optional<String> advertiseHost = Optional.empty();
    private Path dataDir;
    private CgroupMode cgroupMode = CgroupMode.AUTO;
    private String cgroupParent = CgroupDrivers.DEFAULT_PARENT_NAME;
    private OptionalInt cpuMillicores = OptionalInt.empty();
    private OptionalLong memoryMib = OptionalLong.empty();
    private Path tokenKeyFile;
    private Optional<TlsMaterial> tls = Optional.empty();
    private boolean clientCertAuth;
    private int metricsPort = -1;
    private long memoryPressureMib = DEFAULT_MEMORY_PRESSURE_MIB;

    private Builder() {}

    public Builder machineId(String machineId) {
      this.machineId = Objects.requireNonNull(machineId, "machineId");
      return this;
    }

    /** This machine's rack; "" for none. */
    public Builder rack(String rack) {
      this.rack = Objects.requireNonNull(rack, "rack");
      return this;
    }

    public Builder masterAddresses(List<HostPort> addresses) {
      this.masterAddresses = List.copyOf(addresses);
      return this;
    }

    public Builder bindHost(String host) {
      this.bindHost = Objects.requireNonNull(host, "host");
      return this;
    }

    public Builder port(int port) {
      this.port = port;
      return this;
    }

    public Builder advertiseHost(String host) {
      this.advertiseHost = Optional.of(host);
      return this;
    }

    public Builder dataDir(Path dir) {
      this.dataDir = Objects.requireNonNull(dir, "dir");
      return this;
    }

    public Builder cgroupMode(CgroupMode mode) {
      this.cgroupMode = Objects.requireNonNull(mode, "mode");
      return this;
    }

    public Builder cgroupParent(String parent) {
      this.cgroupParent = Objects.requireNonNull(parent, "parent");
      return this;
    }

    public Builder cpuMillicores(int millicores) {
      this.cpuMillicores = OptionalInt.of(millicores);
      return this;
    }

    public Builder memoryMib(long mib) {
      this.memoryMib = OptionalLong.of(mib);
      return this;
    }

    public Builder tokenKeyFile(Path file) {
      this.tokenKeyFile = Objects.requireNonNull(file, "file");
      return this;
    }

    public Builder tls(TlsMaterial material) {
      this.tls = Optional.of(material);
      return this;
    }

    public Builder clientCertAuth(boolean required) {
      this.clientCertAuth = required;
      return this;
    }

    public Builder metricsPort(int port) {
      this.metricsPort = port;
      return this;
    }

    public Builder memoryPressureMib(long mib) {
      this.memoryPressureMib = mib;
      return this;
    }

    /** @throws IllegalArgumentException naming the first setting that is not valid */
    public TuboServerConfig build() {
      return new TuboServerConfig(machineId == null ? hostName() : machineId, rack,
          masterAddresses, bindHost, port, advertiseHost, dataDir, cgroupMode, cgroupParent,
          cpuMillicores, memoryMib, tokenKeyFile, tls, clientCertAuth, metricsPort,
          memoryPressureMib);
    }
  }
}
