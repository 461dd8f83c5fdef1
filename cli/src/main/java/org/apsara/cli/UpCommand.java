package org.apsara.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.apsara.cli.embedded.EmbeddedCluster;
import org.apsara.fuxi.master.server.FuxiMasterConfig;
import org.apsara.fuxi.tubo.agent.TuboServer;
import org.apsara.nuwa.server.NuwaServer;
import org.apsara.pangu.chunkserver.server.ChunkServer;
import org.apsara.pangu.master.server.MasterServerConfig;
import org.apsara.tenant.api.CredentialsFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code apsara up}: the whole system in one process on this machine. */
@Command(
    name = "up",
    mixinStandardHelpOptions = true,
    description = {
      "Start the embedded cluster on loopback and run until Ctrl-C.",
      "Data is kept in --data, so the next 'apsara up' finds everything again."
    })
final class UpCommand implements Callable<Integer> {
  @Option(names = "--data", defaultValue = "data",
      description = "Directory for all data and logs (default: ./${DEFAULT-VALUE}).")
  Path data;

  /** Where the first Nuwa member serves etcd clients unless told otherwise: etcd's own port. */
  static final int DEFAULT_NUWA_PORT = 2379;
  /**
   * How long "up" waits for the Pangu master's and FuxiMaster's elections before it reports what
   * is still starting; they take a few seconds on a small machine.
   */
  private static final Duration SERVING_WAIT = Duration.ofSeconds(30);

  @Option(names = "--nuwa-port", defaultValue = "" + DEFAULT_NUWA_PORT,
      description = "Client port of the first Nuwa member; the others follow at +10, +20 "
          + "(default: ${DEFAULT-VALUE}).")
  int nuwaPort;

  @Option(names = "--nuwa-members", defaultValue = "3",
      description = "Members of the Nuwa group: 1, 3 or 5 (default: ${DEFAULT-VALUE}).")
  int nuwaMembers;

  @Option(names = "--identity-port", defaultValue = "7070",
      description = "Port of the identity service (tenants, users, AccessKeys, policies); its "
          + "metrics are on the port +2 (default: ${DEFAULT-VALUE}).")
  int identityPort;

  @Option(names = "--pangu-port", defaultValue = "" + MasterServerConfig.DEFAULT_CLIENT_PORT,
      description = "Port of the Pangu master (Raft on +1, metrics on +2); the three "
          + "chunkservers serve on +100, +110, +120 (default: ${DEFAULT-VALUE}).")
  int panguPort;

  @Option(names = "--no-pangu", description = "Run without Pangu, the file system.")
  boolean noPangu;

  @Option(names = "--fuxi-port", defaultValue = "" + FuxiMasterConfig.DEFAULT_PORT,
      description = "Port of FuxiMaster (metrics on +2); the two Tubos serve on +100 and +110 "
          + "(default: ${DEFAULT-VALUE}).")
  int fuxiPort;

  @Option(names = "--no-fuxi", description = "Run without Fuxi, the resource manager.")
  boolean noFuxi;

  @Option(names = "--credentials", paramLabel = "FILE",
      description = "Where the first start writes the system root's AccessKey, as profile "
          + "'default' (default: ~/.apsara/credentials).")
  Path credentials;

  @Option(names = "--no-auth",
      description = "Run without the identity service: no AccessKeys, no signed requests. "
          + "For local experiments only.")
  boolean noAuth;

  @Option(names = "--tls",
      description = "Every port speaks TLS with certificates of the cluster CA, created in "
          + "DATA/tls on the first start with --tls and reused afterwards; Nuwa's client and "
          + "peer ports require a client certificate.")
  boolean tls;

  @Override
  public Integer call() throws Exception {
    Path dataDir = data.toAbsolutePath().normalize();
    DataDirectoryLock.acquire(dataDir);
    LogSetup.forEmbedded(dataDir.resolve("logs"));
    System.out.println("Starting Apsara (embedded) with data in " + dataDir + " ...");
    Path credentialsFile = credentials != null ? credentials : CredentialsFile.defaultPath();
    EmbeddedCluster cluster = EmbeddedCluster.start(new EmbeddedCluster.Options(dataDir, nuwaPort,
        nuwaMembers, noAuth ? Optional.empty() : Optional.of(identityPort), credentialsFile, tls,
        noPangu ? Optional.empty() : Optional.of(panguPort),
        noFuxi ? Optional.empty() : Optional.of(fuxiPort)));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.out.println("\nStopping Apsara ...");
      LogSetup.embeddedStopping();
      cluster.close();
      stopped.countDown();
    }, "apsara-shutdown"));
    List<String> starting = cluster.awaitServing(SERVING_WAIT);
    NuwaServer first = cluster.nuwaMembers().get(0);
    System.out.println();
    System.out.println("Apsara is up.");
    if (!starting.isEmpty()) {
      System.out.println("  still starting      " + String.join("; ", starting)
          + " (clients wait for them)");
    }
    System.out.println("  Nuwa (etcd v3 API)  " + cluster.nuwaEndpoints());
    for (NuwaServer member : cluster.nuwaMembers()) {
      if (member.metricsPort() > 0) {
        System.out.println("  " + member.config().memberId() + " metrics/health  http://127.0.0.1:"
            + member.metricsPort() + "/metrics  /health");
      }
    }
    cluster.identity().ifPresent(identity -> {
      System.out.println("  identity service    " + identity.address()
          + "  metrics/health  http://127.0.0.1:" + identity.metricsPort() + "/metrics  /health");
      System.out.println("  Nuwa root user      root, password in "
          + dataDir.resolve(EmbeddedCluster.NUWA_ROOT_PASSWORD_FILE));
      System.out.println(identity.bootstrapCredentials().isPresent()
          ? "  credentials         wrote the system root's new AccessKey to " + credentialsFile
              + " (profile default)"
          : "  credentials         the system root's AccessKey is in " + credentialsFile
              + " (profile default), written by the first start");
    });
    cluster.panguMaster().ifPresent(master -> {
      System.out.println("  Pangu master        " + master.clientAddress()
          + "  metrics/health  http://127.0.0.1:" + master.metricsPort() + "/metrics  /health");
      for (ChunkServer chunkServer : cluster.chunkServers()) {
        System.out.println("  Pangu chunkserver   " + chunkServer.address()
            + "  metrics/health  http://127.0.0.1:" + chunkServer.metricsPort()
            + "/metrics  /health");
      }
    });
    cluster.fuxiMaster().ifPresent(master -> {
      System.out.println("  FuxiMaster          " + master.address()
          + "  metrics/health  http://127.0.0.1:" + master.metricsPort() + "/metrics  /health");
      for (TuboServer tubo : cluster.tubos()) {
        System.out.println("  Tubo " + tubo.machineId() + "         " + tubo.address()
            + "  metrics/health  http://127.0.0.1:" + tubo.metricsPort() + "/metrics  /health"
            + "  (" + tubo.capacity().cpuMillicores() + " millicores, "
            + tubo.capacity().memoryMib() + " MiB, limits: " + tubo.enforcementName() + ")");
      }
    });
    cluster.cliTls().ifPresent(material -> System.out.println("  TLS                 cluster CA "
        + material.trustedCaFile().orElseThrow() + ", client certificate "
        + material.certChainFile().orElseThrow()));
    System.out.println("  logs                " + dataDir.resolve("logs"));
    if (noAuth) {
      System.out.println();
      System.out.println("WARNING: --no-auth: the identity service is not running and Nuwa asks"
          + " for no credentials (unless an earlier start turned them on); use this for local"
          + " experiments only.");
    }
    System.out.println();
    System.out.println("Try this next:");
    String user = cluster.nuwaRootPassword().map(p -> " --user root:" + p).orElse("");
    String tlsFlags = cluster.etcdctlTlsFlags();
    String etcdctl = "  etcdctl --endpoints=" + first.clientUrl().replace("http://", "")
        + tlsFlags + user;
    System.out.println(etcdctl + " put foo bar");
    System.out.println(etcdctl + " get foo");
    // The commands' own defaults reach the default ports; other ports must be named.
    String nuwaFlags = (nuwaPort == DEFAULT_NUWA_PORT ? ""
        : " --endpoints " + cluster.nuwaEndpoints()) + tlsFlags;
    System.out.println("  ./apsara nuwa put greeting hello" + nuwaFlags + user
        + " && ./apsara nuwa get greeting" + nuwaFlags + user);
    System.out.println("  ./apsara nuwa members" + nuwaFlags);
    // Pangu and Fuxi take signed calls: a credentials file other than the default must be named.
    String signFlags = noAuth || credentials == null ? "" : " --credentials " + credentials;
    if (cluster.panguMaster().isPresent()) {
      String fsFlags = (panguPort == MasterServerConfig.DEFAULT_CLIENT_PORT ? ""
          : " --masters 127.0.0.1:" + panguPort) + tlsFlags + signFlags;
      System.out.println("  ./apsara fs put README.md /docs/README.md" + fsFlags
          + " && ./apsara fs ls /docs" + fsFlags + " && ./apsara fs fsck" + fsFlags);
    }
    if (cluster.fuxiMaster().isPresent()) {
      String fuxiFlags = (fuxiPort == FuxiMasterConfig.DEFAULT_PORT ? ""
          : " --masters 127.0.0.1:" + fuxiPort) + tlsFlags + signFlags;
      System.out.println("  ./apsara fuxi nodes" + fuxiFlags + " && ./apsara fuxi submit"
          + fuxiFlags + " --instances 2 --cpu 250 --memory 128 --wait -- sh -c 'echo hello from"
          + " $TUBO_WORKER_ID'");
    }
    if (!noAuth) {
      System.out.println("  ./apsara whoami" + signFlags + " && ./apsara tenant create acme"
          + signFlags + " && ./apsara user list --tenant acme" + signFlags);
    }
    System.out.println();
    System.out.println("Press Ctrl-C to stop; your data stays in " + dataDir + ".");
    System.out.flush();
    LogSetup.embeddedUp();
    CompletableFuture<String> failed = cluster.stoppedByItself();
    failed.thenRun(stopped::countDown);
    stopped.await();
    String reason = failed.getNow(null);
    if (reason != null) {
      System.err.println("apsara: " + reason + "; stopping the rest");
      return 1;
    }
    return 0;
  }
}
