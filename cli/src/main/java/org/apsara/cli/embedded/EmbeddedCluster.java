package org.apsara.cli.embedded;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apsara.common.net.HostPort;
import org.apsara.fuxi.master.server.FuxiMasterConfig;
import org.apsara.fuxi.master.server.FuxiMasterServer;
import org.apsara.fuxi.tubo.MachineResources;
import org.apsara.fuxi.tubo.agent.TuboServer;
import org.apsara.fuxi.tubo.agent.TuboServerConfig;
import org.apsara.nuwa.server.NuwaConfig;
import org.apsara.nuwa.server.NuwaServer;
import org.apsara.pangu.chunkserver.server.ChunkServer;
import org.apsara.pangu.chunkserver.server.ChunkServerConfig;
import org.apsara.pangu.chunkserver.store.VolumeConfig;
import org.apsara.pangu.master.server.MasterServer;
import org.apsara.pangu.master.server.MasterServerConfig;
import org.apsara.security.tls.TlsMaterial;
import org.apsara.security.token.TokenKey;
import org.apsara.security.token.TokenKeyFile;
import org.apsara.tenant.api.CredentialsFile;
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
 * on I + 2. Pangu's master serves on its port G (Raft on G + 1, metrics on G + 2), and chunkserver
 * i on G + 100 + 10·i (metrics + 2), each with one volume under {@code pangu/} in the data
 * directory and the capability token key file {@value #PANGU_TOKEN_KEY_FILE} shared by all.
 * FuxiMaster serves on its port F (metrics on F + 2) and keeps its state in Nuwa; Tubo i serves
 * on F + 100 + 10·i (metrics + 2), offering its share of this machine's CPU and memory, with
 * sandboxes under {@code fuxi/} and the application token keys in {@value #FUXI_TOKEN_KEY_FILE}.
 *
 * <p>Secure by default: the first start turns on etcd authentication in Nuwa with a {@code root}
 * user (its random password in {@value #NUWA_ROOT_PASSWORD_FILE}, mode 0600), and the identity
 * service keeps the cluster master key in the data directory and creates the system tenant's root
 * AccessKey, which it writes to the credentials file, so that the CLI works at once. The Pangu
 * master and FuxiMaster confirm signatures with that key (the file's {@code default} profile):
 * every call to them must be signed, and is authorized by the caller's policies.
 *
 * <p>With {@link Options#tls()}, every port speaks TLS: the cluster CA ({@link ClusterTls}) gives
 * each Nuwa member a certificate for its client port and one for its peer port, the identity
 * service one, and the command line a client certificate. Nuwa's client port and its peer port
 * require a certificate of the CA (the identity service presents its own to Nuwa); the identity
 * service verifies a client certificate when one is presented, its callers being authenticated by
 * their signatures. The credentials file's {@code default} profile is kept in line: with TLS it
 * names the CA and the command line's certificate, without TLS it names neither.
 */
public final class EmbeddedCluster implements AutoCloseable {
  /** Ports between one member's and the next one's. */
  public static final int PORT_STRIDE = 10;

  /** Where the password of Nuwa's root user is kept, below the data directory. */
  public static final String NUWA_ROOT_PASSWORD_FILE = "nuwa/root.password";

  /** The capability token keys the Pangu master and chunkservers share, below the data directory. */
  public static final String PANGU_TOKEN_KEY_FILE = "pangu/token.keys";

  /** Chunkservers of the embedded Pangu: three, so that every chunk has its three replicas. */
  public static final int PANGU_CHUNKSERVERS = 3;

  /** From the Pangu master's port to the first chunkserver's. */
  public static final int PANGU_CHUNKSERVER_PORT_OFFSET = 100;

  /** The application token keys FuxiMaster and the Tubos share, below the data directory. */
  public static final String FUXI_TOKEN_KEY_FILE = "fuxi/token.keys";

  /** How often {@link #awaitServing} looks again. */
  private static final Duration SERVING_POLL = Duration.ofMillis(50);

  /** Tubos of the embedded Fuxi: two, each offering half of this machine. */
  public static final int FUXI_TUBOS = 2;

  /** From FuxiMaster's port to the first Tubo's. */
  public static final int FUXI_TUBO_PORT_OFFSET = 100;

  private final List<NuwaServer> nuwa;
  private final Optional<TenantServer> identity;
  private final Optional<MasterServer> panguMaster;
  private final List<ChunkServer> chunkServers;
  private final Optional<FuxiMasterServer> fuxiMaster;
  private final List<TuboServer> tubos;
  private final Optional<String> nuwaRootPassword;
  private final Optional<TlsMaterial> cliTls;

  private EmbeddedCluster(List<NuwaServer> nuwa, Optional<TenantServer> identity,
      Optional<MasterServer> panguMaster, List<ChunkServer> chunkServers,
      Optional<FuxiMasterServer> fuxiMaster, List<TuboServer> tubos,
      Optional<String> nuwaRootPassword, Optional<TlsMaterial> cliTls) {
    this.nuwa = nuwa;
    this.identity = identity;
    this.panguMaster = panguMaster;
    this.chunkServers = chunkServers;
    this.fuxiMaster = fuxiMaster;
    this.tubos = tubos;
    this.nuwaRootPassword = nuwaRootPassword;
    this.cliTls = cliTls;
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
   * @param tls whether every port speaks TLS with certificates of the cluster CA
   * @param panguPort the Pangu master's client port, or empty to run without Pangu
   * @param fuxiPort FuxiMaster's port, or empty to run without Fuxi
   */
  public record Options(
      Path dataDir,
      int nuwaBasePort,
      int nuwaMembers,
      Optional<Integer> identityPort,
      Path credentialsFile,
      boolean tls,
      Optional<Integer> panguPort,
      Optional<Integer> fuxiPort) {
    /** Options for a cluster in plaintext on loopback, without Pangu and Fuxi. */
    public Options(Path dataDir, int nuwaBasePort, int nuwaMembers, Optional<Integer> identityPort,
        Path credentialsFile) {
      this(dataDir, nuwaBasePort, nuwaMembers, identityPort, credentialsFile, false,
          Optional.empty(), Optional.empty());
    }

    /** Options for a cluster without Fuxi. */
    public Options(Path dataDir, int nuwaBasePort, int nuwaMembers, Optional<Integer> identityPort,
        Path credentialsFile, boolean tls, Optional<Integer> panguPort) {
      this(dataDir, nuwaBasePort, nuwaMembers, identityPort, credentialsFile, tls, panguPort,
          Optional.empty());
    }
  }

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
    Optional<ClusterTls> tls = options.tls()
        ? Optional.of(ClusterTls.open(dataDir)) : Optional.empty();
    Optional<TlsMaterial> cliTls = tls.isEmpty() ? Optional.empty()
        : Optional.of(tls.get().certificate(ClusterTls.CLI_CERTIFICATE));
    List<NuwaServer> started = new ArrayList<>();
    try {
      for (int i = 0; i < nuwaMembers; i++) {
        String name = names.get(i);
        if (tls.isPresent()) {
          template.clientTls(tls.get().certificate("nuwa-" + name))
              .clientCertAuth(true)
              .peerTls(tls.get().certificate("nuwa-" + name + "-peer"));
        }
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
        rootPassword = Optional.of(NuwaRootLogin.ensureEnabled(started.get(0).clientEndpoint(),
            passwordFile, cliTls.orElse(null)));
        TenantConfig.Builder identityConfig = TenantConfig.builder();
        if (tls.isPresent()) {
          TlsMaterial identityTls = tls.get().certificate("identity");
          identityConfig.tls(identityTls).nuwaTls(identityTls);
        }
        identity = Optional.of(TenantServer.start(identityConfig
            .nuwaLogin(NuwaRootLogin.ROOT, passwordFile)
            .nuwaEndpoints(started.stream().map(NuwaServer::clientEndpoint).toList())
            .host("127.0.0.1")
            .port(port)
            .metricsPort(port + 2)
            .masterKeyFile(dataDir.resolve("identity").resolve("master.key"))
            .bootstrapCredentialsFile(options.credentialsFile())
            .build()));
        // Before the services that sign in with the profile read it.
        alignProfile(options.credentialsFile(), identity.get(), cliTls);
      } catch (IOException | RuntimeException e) {
        identity.ifPresent(TenantServer::close);
        started.forEach(NuwaServer::close);
        throw e;
      }
    }
    if (rootPassword.isEmpty() && Files.exists(passwordFile)) {
      // Run without the identity service on a directory an earlier start secured: Nuwa still
      // asks for its root user.
      rootPassword = Optional.of(Files.readString(passwordFile).strip());
    }
    Optional<MasterServer> panguMaster = Optional.empty();
    List<ChunkServer> chunkServers = new ArrayList<>();
    if (options.panguPort().isPresent()) {
      try {
        panguMaster = Optional.of(startPanguMaster(dataDir, options.panguPort().get(), tls,
            identity.isPresent() ? Optional.of(options.credentialsFile()) : Optional.empty()));
        for (int i = 0; i < PANGU_CHUNKSERVERS; i++) {
          chunkServers.add(startChunkServer(dataDir, options.panguPort().get(), i, tls));
        }
      } catch (IOException | RuntimeException e) {
        chunkServers.forEach(ChunkServer::close);
        panguMaster.ifPresent(MasterServer::close);
        identity.ifPresent(TenantServer::close);
        started.forEach(NuwaServer::close);
        throw e;
      }
    }
    Optional<FuxiMasterServer> fuxiMaster = Optional.empty();
    List<TuboServer> tubos = new ArrayList<>();
    if (options.fuxiPort().isPresent()) {
      try {
        fuxiMaster = Optional.of(startFuxiMaster(dataDir, options.fuxiPort().get(),
            started.stream().map(NuwaServer::clientEndpoint).toList(),
            rootPassword.isPresent() ? Optional.of(passwordFile) : Optional.empty(), tls,
            identity.isPresent() ? Optional.of(options.credentialsFile()) : Optional.empty()));
        MachineResources machine = MachineResources.detect();
        for (int i = 0; i < FUXI_TUBOS; i++) {
          tubos.add(startTubo(dataDir, options.fuxiPort().get(), i, machine, tls));
        }
      } catch (IOException | RuntimeException e) {
        tubos.forEach(TuboServer::close);
        fuxiMaster.ifPresent(FuxiMasterServer::close);
        chunkServers.forEach(ChunkServer::close);
        panguMaster.ifPresent(MasterServer::close);
        identity.ifPresent(TenantServer::close);
        started.forEach(NuwaServer::close);
        throw e;
      }
    }
    return new EmbeddedCluster(List.copyOf(started), identity, panguMaster,
        List.copyOf(chunkServers), fuxiMaster, List.copyOf(tubos), rootPassword, cliTls);
  }

  /**
   * @param credentials the credentials file whose default profile (the system root's key) the
   *     master confirms signatures with, or empty to accept unsigned calls
   */
  private static MasterServer startPanguMaster(Path dataDir, int port, Optional<ClusterTls> tls,
      Optional<Path> credentials) throws IOException {
    Path keyFile = dataDir.resolve(PANGU_TOKEN_KEY_FILE);
    if (!Files.exists(keyFile)) {
      Files.createDirectories(keyFile.getParent());
      TokenKeyFile.write(keyFile, List.of(TokenKey.generate("k1", new SecureRandom())));
    }
    MasterServerConfig.Builder config = MasterServerConfig.builder()
        .memberId("m1")
        .peer("m1", HostPort.of("127.0.0.1", port + 1), HostPort.of("127.0.0.1", port))
        .dataDir(dataDir.resolve("pangu").resolve("master"))
        .metricsPort(port + 2)
        .tokenKeyFile(keyFile);
    if (tls.isPresent()) {
      config.tls(tls.get().certificate("pangu-master"));
    }
    credentials.ifPresent(file -> config.identity(file, CredentialsFile.DEFAULT_PROFILE));
    return MasterServer.start(config.build());
  }

  /** Chunkserver {@code index}'s port (its metrics on + 2), from the Pangu master's. */
  public static int chunkServerPort(int panguMasterPort, int index) {
    return panguMasterPort + PANGU_CHUNKSERVER_PORT_OFFSET + PORT_STRIDE * index;
  }

  /** Tubo {@code index}'s port (its metrics on + 2), from FuxiMaster's. */
  public static int tuboPort(int fuxiMasterPort, int index) {
    return fuxiMasterPort + FUXI_TUBO_PORT_OFFSET + PORT_STRIDE * index;
  }

  private static ChunkServer startChunkServer(Path dataDir, int masterPort, int index,
      Optional<ClusterTls> tls) throws IOException {
    int port = chunkServerPort(masterPort, index);
    ChunkServerConfig.Builder config = ChunkServerConfig.builder()
        .volume(new VolumeConfig(dataDir.resolve("pangu").resolve("cs" + (index + 1)),
            VolumeConfig.CAPACITY_WHOLE_FILE_SYSTEM, VolumeConfig.DEFAULT_RESERVED_BYTES))
        .host("127.0.0.1")
        .port(port)
        .metricsPort(port + 2)
        .tokenKeyFile(dataDir.resolve(PANGU_TOKEN_KEY_FILE))
        .masterAddresses(List.of(HostPort.of("127.0.0.1", masterPort)));
    if (tls.isPresent()) {
      config.tls(tls.get().certificate("pangu-cs" + (index + 1)));
    }
    return ChunkServer.start(config.build());
  }

  /**
   * @param credentials the credentials file whose default profile (the system root's key) the
   *     master confirms signatures with, or empty to accept unsigned calls
   */
  private static FuxiMasterServer startFuxiMaster(Path dataDir, int port, List<String> nuwa,
      Optional<Path> nuwaPasswordFile, Optional<ClusterTls> tls, Optional<Path> credentials)
      throws IOException {
    Path keyFile = dataDir.resolve(FUXI_TOKEN_KEY_FILE);
    if (!Files.exists(keyFile)) {
      Files.createDirectories(keyFile.getParent());
      TokenKeyFile.write(keyFile, List.of(TokenKey.generate("k1", new SecureRandom())));
    }
    FuxiMasterConfig.Builder config = FuxiMasterConfig.builder()
        .memberId("f1")
        .bindHost("127.0.0.1")
        .port(port)
        .metricsPort(port + 2)
        .nuwaEndpoints(nuwa)
        .tokenKeyFile(keyFile);
    nuwaPasswordFile.ifPresent(file -> config.nuwaLogin(NuwaRootLogin.ROOT, file));
    if (tls.isPresent()) {
      TlsMaterial material = tls.get().certificate("fuxi-master");
      config.tls(material).nuwaTls(material);
    }
    if (credentials.isPresent()) {
      config.identity(CredentialsFile.read(credentials.get(), CredentialsFile.DEFAULT_PROFILE)
          .orElseThrow(() -> new IOException("the credentials file " + credentials.get()
              + " has no [" + CredentialsFile.DEFAULT_PROFILE + "] profile to check callers'"
              + " signatures with")));
    }
    return FuxiMasterServer.start(config.build());
  }

  private static TuboServer startTubo(Path dataDir, int masterPort, int index,
      MachineResources machine, Optional<ClusterTls> tls) throws IOException {
    int port = tuboPort(masterPort, index);
    String name = "tubo-" + (index + 1);
    TuboServerConfig.Builder config = TuboServerConfig.builder()
        .machineId(name)
        .masterAddresses(List.of(HostPort.of("127.0.0.1", masterPort)))
        .bindHost("127.0.0.1")
        .port(port)
        .metricsPort(port + 2)
        .dataDir(dataDir.resolve("fuxi").resolve(name))
        // Two Tubos share this machine: each its own cgroups and its share of the resources.
        // The data directory is in the name too: a Tubo adopts, or empties, the worker groups it
        // finds under its parent, so two embedded clusters must never share one.
        .cgroupParent("apsara-" + name + "-" + Integer.toHexString(
            dataDir.toAbsolutePath().normalize().toString().hashCode()))
        .cpuMillicores(Math.max(1, machine.cpuMillicores() / FUXI_TUBOS))
        .memoryMib(Math.max(1, machine.memoryMib() / FUXI_TUBOS))
        .tokenKeyFile(dataDir.resolve(FUXI_TOKEN_KEY_FILE));
    if (tls.isPresent()) {
      config.tls(tls.get().certificate("fuxi-" + name));
    }
    return TuboServer.start(config.build());
  }

  /**
   * Makes the {@code default} profile that calls this cluster's identity service use TLS exactly
   * when the cluster does: a profile written by a start without TLS gains the CA and the command
   * line's certificate, and loses them again at a start without TLS. Profiles calling elsewhere
   * are left alone.
   */
  private static void alignProfile(Path credentialsFile, TenantServer identity,
      Optional<TlsMaterial> cliTls) throws IOException {
    if (!Files.exists(credentialsFile)) {
      return;
    }
    Optional<CredentialsFile.Profile> found =
        CredentialsFile.read(credentialsFile, CredentialsFile.DEFAULT_PROFILE);
    if (found.isEmpty() || !found.get().endpoint().equals(Optional.of(identity.address()))
        || found.get().tls().equals(cliTls)) {
      return;
    }
    CredentialsFile.Profile profile = found.get();
    CredentialsFile.write(credentialsFile, new CredentialsFile.Profile(profile.name(),
        profile.credentials(), profile.endpoint(), cliTls, profile.region()));
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

  /**
   * The command line's certificate, key and the cluster CA, when the cluster runs with TLS: what
   * etcdctl's {@code --cert}, {@code --key} and {@code --cacert} take.
   */
  public Optional<TlsMaterial> cliTls() {
    return cliTls;
  }

  /**
   * etcdctl's flags for the command line's certificate ({@code " --cacert CA --cert CRT --key
   * KEY"}, with a leading space), or {@code ""} without TLS; {@code apsara nuwa} takes the same.
   */
  public String etcdctlTlsFlags() {
    return cliTls.map(material -> " --cacert " + material.trustedCaFile().orElseThrow()
        + " --cert " + material.certChainFile().orElseThrow()
        + " --key " + material.keyFile().orElseThrow()).orElse("");
  }

  /** The identity service, unless the cluster runs without authentication. */
  public Optional<TenantServer> identity() {
    return identity;
  }

  /**
   * Waits, at most {@code timeout}, until the Pangu master has a leader and FuxiMaster serves
   * (where they run): until then a client's first call waits for an election, and the
   * chunkservers and Tubos retry their heartbeats.
   *
   * @return what was still starting when the time ran out; empty when everything serves
   */
  public List<String> awaitServing(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      List<String> starting = new ArrayList<>();
      if (panguMaster.isPresent() && !panguMaster.get().isLeader()) {
        starting.add("the Pangu master has no leader yet");
      }
      if (fuxiMaster.isPresent() && !fuxiMaster.get().isServing()) {
        starting.add("FuxiMaster is not serving yet");
      }
      if (starting.isEmpty() || System.nanoTime() - deadline >= 0) {
        return starting;
      }
      Thread.sleep(SERVING_POLL.toMillis());
    }
  }

  /**
   * Completes with what happened once a Nuwa member or the Pangu master stopped by itself (its
   * Raft server failed, such as on a full disk); the cluster is then no longer whole.
   */
  public CompletableFuture<String> stoppedByItself() {
    CompletableFuture<String> first = new CompletableFuture<>();
    for (NuwaServer member : nuwa) {
      member.stoppedByItself().thenAccept(reason -> first.complete(
          "Nuwa member " + member.clientEndpoint() + " stopped: " + reason));
    }
    panguMaster.ifPresent(master -> master.stoppedByItself().thenAccept(reason -> first.complete(
        "the Pangu master stopped: " + reason)));
    return first;
  }

  /** The Pangu master, unless the cluster runs without Pangu. */
  public Optional<MasterServer> panguMaster() {
    return panguMaster;
  }

  /** Pangu's chunkservers; empty without Pangu. */
  public List<ChunkServer> chunkServers() {
    return chunkServers;
  }

  /** FuxiMaster, unless the cluster runs without Fuxi. */
  public Optional<FuxiMasterServer> fuxiMaster() {
    return fuxiMaster;
  }

  /** Fuxi's Tubos; empty without Fuxi. */
  public List<TuboServer> tubos() {
    return tubos;
  }

  @Override
  public void close() {
    tubos.forEach(TuboServer::close);
    fuxiMaster.ifPresent(FuxiMasterServer::close);
    chunkServers.forEach(ChunkServer::close);
    panguMaster.ifPresent(MasterServer::close);
    identity.ifPresent(TenantServer::close);
    for (NuwaServer server : nuwa) {
      server.close();
    }
  }
}
