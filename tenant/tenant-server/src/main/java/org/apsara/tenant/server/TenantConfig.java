package org.apsara.tenant.server;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import org.apsara.common.net.HostPort;
import org.apsara.security.tls.ClientAuth;
import org.apsara.security.tls.TlsMaterial;

/**
 * Everything one identity server needs to start. Immutable; build with {@link #builder()}.
 *
 * @param nuwaEndpoints the Nuwa members to store identities in, as {@code host:port}
 * @param host the address the gRPC API binds to, and is registered under in the service registry
 * @param port the port of the gRPC API (0 picks a free one)
 * @param metricsPort the port of the HTTP endpoint with /metrics, /health and /ready (0 picks a
 *     free one, -1 turns it off)
 * @param masterKeyFile the cluster master key, created on the first start if absent; every server
 *     of a cluster needs a copy of the same file
 * @param region this cluster's region name, as resource names carry it ({@code acs:svc:<region>:...})
 * @param instanceId this server's name in the service registry; empty: {@code host:port}
 * @param bootstrapCredentialsFile where to write the system root's AccessKey if this start creates
 *     it (profile {@value org.apsara.tenant.api.CredentialsFile#DEFAULT_PROFILE}); empty: only
 *     {@link TenantServer#bootstrapCredentials()} returns it
 * @param registrationTtl how long the registration outlives the process if it dies
 * @param nuwaUser the Nuwa user to authenticate as, when Nuwa has authentication enabled
 * @param nuwaPasswordFile the file holding that user's password (read at start, never logged)
 * @param tls TLS on the API port (certificate, key and, for client certificates, a trusted CA
 *     file), or empty for plaintext
 * @param clientCertAuth whether every caller must present a certificate of {@code tls}'s trusted
 *     CA, besides signing its calls
 * @param nuwaTls TLS to Nuwa (its CA, and a client certificate where Nuwa asks for one), or empty
 *     for plaintext
 */
public record TenantConfig(
    List<String> nuwaEndpoints,
    String host,
    int port,
    int metricsPort,
    Path masterKeyFile,
    String region,
    Optional<String> instanceId,
    Optional<Path> bootstrapCredentialsFile,
    Duration registrationTtl,
    Optional<String> nuwaUser,
    Optional<Path> nuwaPasswordFile,
    Optional<TlsMaterial> tls,
    boolean clientCertAuth,
    Optional<TlsMaterial> nuwaTls) {
  /** The port of the gRPC API unless told otherwise. */
  public static final int DEFAULT_PORT = 7070;
  /** The region of a cluster that names none. */
  public static final String DEFAULT_REGION = "local";
  /** How long a dead server stays registered, unless told otherwise. */
  public static final Duration DEFAULT_REGISTRATION_TTL = Duration.ofSeconds(10);

  /** What a region may be called, as the policy language accepts it in resource names. */
  private static final Pattern REGION = Pattern.compile("[a-z0-9-]{1,64}");

  public TenantConfig {
    nuwaEndpoints = List.copyOf(nuwaEndpoints);
    if (nuwaEndpoints.isEmpty()) {
      throw new IllegalArgumentException("at least one Nuwa endpoint is required");
    }
    nuwaEndpoints.forEach(HostPort::parse);
    HostPort.of(host, port);
    if (metricsPort < -1 || metricsPort > HostPort.PORT_MAX) {
      throw new IllegalArgumentException("metrics port out of range: " + metricsPort);
    }
    Objects.requireNonNull(masterKeyFile, "masterKeyFile");
    if (!REGION.matcher(region).matches()) {
      throw new IllegalArgumentException("region \"" + region
          + "\" must be 1 to 64 lower-case letters, digits or '-'");
    }
    Objects.requireNonNull(instanceId, "instanceId");
    Objects.requireNonNull(bootstrapCredentialsFile, "bootstrapCredentialsFile");
    if (registrationTtl.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("the registration TTL must be at least 1 s");
    }
    if (nuwaUser.isPresent() != nuwaPasswordFile.isPresent()) {
      throw new IllegalArgumentException(
          "a Nuwa user needs a password file and a password file a user: give both or neither");
    }
    Objects.requireNonNull(tls, "tls");
    Objects.requireNonNull(nuwaTls, "nuwaTls");
    if (tls.isPresent() && !tls.get().hasIdentity()) {
      throw new IllegalArgumentException("TLS on the API port needs a certificate and key file");
    }
    if (clientCertAuth && (tls.isEmpty() || tls.get().trustedCaFile().isEmpty())) {
      throw new IllegalArgumentException(
          "client certificate authentication needs TLS with a trusted CA file");
    }
  }

  /** What the API port asks of callers, as Nuwa's client port does. */
  public ClientAuth clientAuth() {
    if (clientCertAuth) {
      return ClientAuth.REQUIRE;
    }
    return tls.isPresent() && tls.get().trustedCaFile().isPresent()
        ? ClientAuth.OPTIONAL : ClientAuth.NONE;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builds a {@link TenantConfig}; everything but the Nuwa endpoints and key file has a default. */
  public static final class Builder {
    private List<String> nuwaEndpoints = List.of();
    private String host = "127.0.0.1";
    private int port = DEFAULT_PORT;
    private int metricsPort = -1;
    private Path masterKeyFile;
    private String region = DEFAULT_REGION;
    private Optional<String> instanceId = Optional.empty();
    private Optional<Path> bootstrapCredentialsFile = Optional.empty();
    private Duration registrationTtl = DEFAULT_REGISTRATION_TTL;
    private Optional<String> nuwaUser = Optional.empty();
    private Optional<Path> nuwaPasswordFile = Optional.empty();
    private Optional<TlsMaterial> tls = Optional.empty();
    private boolean clientCertAuth;
    private Optional<TlsMaterial> nuwaTls = Optional.empty();

    private Builder() {}

    public Builder nuwaEndpoints(List<String> endpoints) {
      this.nuwaEndpoints = endpoints;
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

    public Builder masterKeyFile(Path file) {
      this.masterKeyFile = file;
      return this;
    }

    public Builder region(String region) {
      this.region = region;
      return this;
    }

    public Builder instanceId(String instanceId) {
      this.instanceId = Optional.of(instanceId);
      return this;
    }

    public Builder bootstrapCredentialsFile(Path file) {
      this.bootstrapCredentialsFile = Optional.of(file);
      return this;
    }

    public Builder registrationTtl(Duration ttl) {
      this.registrationTtl = ttl;
      return this;
    }

    /** Authenticates to Nuwa as {@code user}, with the password in {@code passwordFile}. */
    public Builder nuwaLogin(String user, Path passwordFile) {
      this.nuwaUser = Optional.of(user);
      this.nuwaPasswordFile = Optional.of(passwordFile);
      return this;
    }

    /** Serves the API over TLS with {@code tls}'s certificate and key. */
    public Builder tls(TlsMaterial tls) {
      this.tls = Optional.of(tls);
      return this;
    }

    /** Requires a client certificate of the API's trusted CA from every caller. */
    public Builder clientCertAuth(boolean clientCertAuth) {
      this.clientCertAuth = clientCertAuth;
      return this;
    }

    /** Talks TLS to Nuwa with {@code tls}'s trusted CA and, if it has them, certificate and key. */
    public Builder nuwaTls(TlsMaterial tls) {
      this.nuwaTls = Optional.of(tls);
      return this;
    }

    public TenantConfig build() {
      return new TenantConfig(nuwaEndpoints, host, port, metricsPort, masterKeyFile, region,
          instanceId, bootstrapCredentialsFile, registrationTtl, nuwaUser, nuwaPasswordFile, tls,
          clientCertAuth, nuwaTls);
    }
  }
}
