package org.apsara.cli.embedded;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apsara.common.net.HostPort;
import org.apsara.nuwa.server.NuwaConfig;
import org.apsara.nuwa.server.NuwaServer;
import org.apsara.tenant.server.TenantConfig;
import org.apsara.tenant.server.TenantServer;

/**
 * Every Apsara role in one JVM on loopback: the way a newcomer meets the system, and what tests
 * run against. The roles are the same classes that run as separate processes in distributed
 * mode; only their addresses are chosen for one machine.
 *
 * <p>Ports follow one pattern from a base port P: member i of Nuwa serves clients on P + 10·i,
 * Raft on P + 10·i + 1 and metrics on P + 10·i + 2 (so the first member is etcd's familiar
 * 2379/2380/2381 by default). The identity service serves its API on its own port I and metrics
 * on I + 2.
 *
 * <p>Secure by default: the first start turns on etcd authentication in Nuwa with a {@code root}
 * user (its random password in {@value #NUWA_ROOT_PASSWORD_FILE}, mode 0600), and the identity
 * service keeps the cluster master key in the data directory and creates the system tenant's root
 * AccessKey, which it writes to the credentials file, so that the CLI works at once.
 */
public final class EmbeddedCluster implements AutoCloseable {
  /** Ports between one member's and the next one's. */
  public static final int PORT_STRIDE = 10;

  /** Where the password of Nuwa's root user is kept, below the data directory. */
  public static final String NUWA_ROOT_PASSWORD_FILE = "nuwa/root.password";

  private final List<NuwaServer> nuwa;
  private final Optional<TenantServer> identity;
  private final Optional<String> nuwaRootPassword;

  private EmbeddedCluster(
      List<NuwaServer> nuwa, Optional<TenantServer> identity, Optional<String> nuwaRootPassword) {
    this.nuwa = nuwa;
    this.identity = identity;
    this.nuwaRootPassword = nuwaRootPassword;
  }

  /**
   * What to start.
   *
   * @param dataDir where every role keeps its data; the same directory brings everything back
   * @param nuwaBasePort the first Nuwa member's client port
   * @param nuwaMembers 1, 3 or 5
   * @param identityPort the identity service's API port, or empty to run without it and, on a data
   *     directory no earlier start secured, without Nuwa authentication
   * @param credentialsFile where the first start writes the system root's AccessKey
   */
  public record Options(
      Path dataDir,
      int nuwaBasePort,
      int nuwaMembers,
      Optional<Integer> identityPort,
      Path credentialsFile) {}

  /** Starts (or restarts, finding its data again) the embedded cluster. */
  public static EmbeddedCluster start(Options options) throws IOException {
    Path dataDir = options.dataDir();
    int nuwaBasePort = options.nuwaBasePort();
    int nuwaMembers = options.nuwaMembers();
    if (nuwaBasePort < 1 || nuwaBasePort + PORT_STRIDE * nuwaMembers > 65535) {
      throw new IllegalArgumentException("Nuwa base port " + nuwaBasePort
          + " leaves no room for " + nuwaMembers + " members");
    }
    List<String> names = new ArrayList<>();
    NuwaConfig.Builder template = NuwaConfig.builder();
    for (int i = 0; i < nuwaMembers; i++) {
      String name = "n" + (i + 1);
      names.add(name);
      template.peer(name, HostPort.of("127.0.0.1", nuwaBasePort + PORT_STRIDE * i + 1));
    }
    List<NuwaServer> started = new ArrayList<>();
    try {
      for (int i = 0; i < nuwaMembers; i++) {
        String name = names.get(i);
        NuwaConfig config = template
            .memberId(name)
            .dataDir(dataDir.resolve("nuwa").resolve(name))
            .clientPort(nuwaBasePort + PORT_STRIDE * i)
            .metricsPort(nuwaBasePort + PORT_STRIDE * i + 2)
            .electionTimeoutMin(Duration.ofMillis(500))
            .build();
        started.add(NuwaServer.start(config));
      }
    } catch (IOException | RuntimeException e) {
      started.forEach(NuwaServer::close);
      throw e;
    }
    Optional<TenantServer> identity = Optional.empty();
    Optional<String> rootPassword = Optional.empty();
    Path passwordFile = dataDir.resolve(NUWA_ROOT_PASSWORD_FILE);
    if (options.identityPort().isPresent()) {
      int port = options.identityPort().get();
      try {
        rootPassword = Optional.of(
            NuwaRootLogin.ensureEnabled(started.get(0).clientEndpoint(), passwordFile));
        identity = Optional.of(TenantServer.start(TenantConfig.builder()
            .nuwaLogin(NuwaRootLogin.ROOT, passwordFile)
            .nuwaEndpoints(started.stream().map(NuwaServer::clientEndpoint).toList())
            .host("127.0.0.1")
            .port(port)
            .metricsPort(port + 2)
            .masterKeyFile(dataDir.resolve("identity").resolve("master.key"))
            .bootstrapCredentialsFile(options.credentialsFile())
            .build()));
      } catch (IOException | RuntimeException e) {
        started.forEach(NuwaServer::close);
        throw e;
      }
    }
    if (rootPassword.isEmpty() && Files.exists(passwordFile)) {
      // Run without the identity service on a directory an earlier start secured: Nuwa still
      // asks for its root user.
      rootPassword = Optional.of(Files.readString(passwordFile).strip());
    }
    return new EmbeddedCluster(List.copyOf(started), identity, rootPassword);
  }

  public List<NuwaServer> nuwaMembers() {
    return nuwa;
  }

  /** The Nuwa client endpoints, "host:port", comma-separated, as etcdctl's --endpoints takes them. */
  public String nuwaEndpoints() {
    return String.join(",", nuwa.stream().map(NuwaServer::clientEndpoint).toList());
  }

  /**
   * The password of Nuwa's {@code root} user, unless the cluster runs without authentication
   * (then Nuwa, too, is open to anyone who can reach it).
   */
  public Optional<String> nuwaRootPassword() {
    return nuwaRootPassword;
  }

  /** The identity service, unless the cluster runs without authentication. */
  public Optional<TenantServer> identity() {
    return identity;
  }

  @Override
  public void close() {
    identity.ifPresent(TenantServer::close);
    for (NuwaServer server : nuwa) {
      server.close();
    }
  }
}
