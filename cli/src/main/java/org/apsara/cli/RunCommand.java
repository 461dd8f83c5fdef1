package org.apsara.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.apsara.common.config.ByteSizes;
import org.apsara.common.net.HostPort;
import org.apsara.nuwa.server.NuwaConfig;
import org.apsara.nuwa.server.NuwaServer;
import org.apsara.pangu.chunkserver.server.ChunkServer;
import org.apsara.pangu.chunkserver.server.ChunkServerConfig;
import org.apsara.pangu.master.server.MasterServer;
import org.apsara.pangu.master.server.MasterServerConfig;
import org.apsara.security.tls.TlsMaterial;
import org.apsara.security.token.TokenKey;
import org.apsara.security.token.TokenKeyFile;
import org.apsara.tenant.server.TenantConfig;
import org.apsara.tenant.server.TenantServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code apsara run <role>}: one service role as its own OS process. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = "Run one service role as its own process (distributed mode).",
    subcommands = {RunCommand.Nuwa.class, RunCommand.Tenant.class, RunCommand.PanguMaster.class,
        RunCommand.PanguChunkServer.class, FuxiRoles.Master.class, FuxiRoles.Tubo.class})
final class RunCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /**
   * Prints {@code banner} and waits until the process is told to stop (SIGTERM, Ctrl-C), then
   * closes {@code server} from the shutdown hook.
   */
  static int runUntilStopped(AutoCloseable server, String banner) throws InterruptedException {
    return runUntilStopped(server, banner, new CompletableFuture<>());
  }

  /**
   * As {@link #runUntilStopped(AutoCloseable, String)}, and also returns, with status 1, once
   * the server stopped by itself ({@code stoppedByItself} completes with why), so that a
   * supervisor sees the process exit and can restart it.
   */
  static int runUntilStopped(AutoCloseable server, String banner,
      CompletableFuture<String> stoppedByItself) throws InterruptedException {
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        server.close();
      } catch (Exception e) {
        System.err.println("apsara: stopping failed: " + e);
      } finally {
        stopped.countDown();
      }
    }, "apsara-shutdown"));
    stoppedByItself.thenRun(stopped::countDown);
    System.out.println(banner);
    System.out.flush();
    stopped.await();
    String reason = stoppedByItself.getNow(null);
    if (reason != null) {
      System.err.println("apsara: stopped by itself: " + reason);
      return 1;
    }
    return 0;
  }

  @Command(
      name = "nuwa",
      mixinStandardHelpOptions = true,
      description = {
        "Run one Nuwa member (etcd-compatible coordination service).",
        "Three members started with the same --peers form a cluster, e.g.:",
        "  apsara run nuwa --id n1 --peers n1=10.0.0.1:2380,n2=10.0.0.2:2380,n3=10.0.0.3:2380 "
            + "--data /var/lib/apsara/nuwa --client-port 2379",
        "A new member joins a running cluster with --join, naming itself and members to ask:",
        "  apsara run nuwa --join --id n4 --peers n1=10.0.0.1:2380,n4=10.0.0.4:2380 "
            + "--data /var/lib/apsara/nuwa --client-port 2379",
        "A member leaves with 'apsara nuwa members remove NAME' (or etcdctl member remove)."
      })
  static final class Nuwa implements Callable<Integer> {
    @Option(names = "--id", required = true, description = "This member's name; one of the --peers.")
    String id;

    @Option(names = "--peers", required = true, split = ",",
        description = "Every member as NAME=HOST:PORT (its Raft port), comma-separated: 1, 3 or "
            + "5. With --join: this member and at least one member of the running cluster.")
    Map<String, String> peers;

    @Option(names = "--join",
        description = "Join a running cluster instead of founding one: on its first start this "
            + "member asks the others in --peers to add it, and they do once they have brought "
            + "it up to date. From then on the cluster's membership is what its log records.")
    boolean join;

    @Option(names = "--data", required = true, description = "This member's data directory.")
    Path data;

    @Option(names = "--client-host", defaultValue = "127.0.0.1",
        description = "Address the etcd-compatible API binds to (default: ${DEFAULT-VALUE}).")
    String clientHost;

    @Option(names = "--client-port", defaultValue = "2379",
        description = "Port of the etcd-compatible API (default: ${DEFAULT-VALUE}).")
    int clientPort;

    @Option(names = "--metrics-port", defaultValue = "-1",
        description = "HTTP port for /metrics and /health; -1 for none (default: ${DEFAULT-VALUE}).")
    int metricsPort;

    @Option(names = "--election-timeout", defaultValue = "1s",
        converter = DurationConverter.class,
        description = "Lower bound of the randomized Raft election timeout (default: ${DEFAULT-VALUE}).")
    Duration electionTimeout;

    @Option(names = "--append-batch-wait", defaultValue = "1ms", paramLabel = "DURATION",
        converter = DurationConverter.class,
        description = "How long the leader lets new entries gather while a message to a "
            + "follower is unanswered; longer saves CPU under many concurrent writers (an entry "
            + "that finds nothing outstanding leaves at once; 0 to 100ms; default: "
            + "${DEFAULT-VALUE}).")
    Duration appendBatchWait;

    @Option(names = "--snapshot-every", defaultValue = "100000",
        description = "Take a snapshot (and purge the log) every N entries (default: ${DEFAULT-VALUE}).")
    long snapshotEvery;

    @Option(names = "--auto-compaction-retention", defaultValue = "100000",
        description = "Keep this many revisions of history; older ones are compacted. "
            + "0 turns auto-compaction off (default: ${DEFAULT-VALUE}).")
    long autoCompactionRetention;

    @Option(names = "--quota-backend-bytes", defaultValue = "0", paramLabel = "SIZE",
        description = "Largest size of the store, by its own estimate, e.g. 1G: a write past it is "
            + "refused ('database space exceeded') and raises the NOSPACE alarm, which refuses "
            + "writes on every member until it is cleared (etcdctl alarm disarm). 0: 2 GiB, or "
            + "40%% of the heap if that is less; -1: none (default: ${DEFAULT-VALUE}).")
    String quotaBackendBytes;

    @Option(names = "--auth-token-ttl", defaultValue = "5m", converter = DurationConverter.class,
        description = "How long a token from Authenticate is valid, once authentication is "
            + "enabled (etcdctl auth enable) (default: ${DEFAULT-VALUE}).")
    Duration authTokenTtl;

    @Option(names = "--log-format", defaultValue = "text",
        description = "Console log format: text or json (default: ${DEFAULT-VALUE}).")
    String logFormat;

    @Mixin ServerTlsOptions tls;

    @Option(names = "--peer-cert-file", paramLabel = "FILE",
        description = "PEM certificate for mutual TLS between members (the Raft port).")
    Path peerCertFile;

    @Option(names = "--peer-key-file", paramLabel = "FILE",
        description = "PEM private key of --peer-cert-file.")
    Path peerKeyFile;

    @Option(names = "--peer-trusted-ca-file", paramLabel = "FILE",
        description = "PEM CA certificates that other members' certificates are verified against.")
    Path peerTrustedCaFile;

    @Override
    public Integer call() throws Exception {
      NuwaConfig.Builder config = NuwaConfig.builder()
          .memberId(id)
          .dataDir(data)
          .clientHost(clientHost)
          .clientPort(clientPort)
          .metricsPort(metricsPort)
          .electionTimeoutMin(electionTimeout)
          .appendBatchWait(appendBatchWait)
          .snapshotEveryEntries(snapshotEvery)
          .autoCompactionRetainRevisions(autoCompactionRetention)
          .quotaBytes(quotaBackendBytes.startsWith("-") ? -1
              : ByteSizes.parse("--quota-backend-bytes", quotaBackendBytes))
          .authTokenTtl(authTokenTtl)
          .join(join);
      peers.forEach((name, address) -> config.peer(name, HostPort.parse(address)));
      tls.material().ifPresent(config::clientTls);
      config.clientCertAuth(tls.clientCertAuth);
      if (peerCertFile != null || peerKeyFile != null || peerTrustedCaFile != null) {
        config.peerTls(TlsMaterial.of(peerCertFile, peerKeyFile, peerTrustedCaFile));
      }
      DataDirectoryLock.acquire(data);
      LogSetup.forService(data.resolve("logs"), "json".equals(logFormat));
      NuwaServer server = NuwaServer.start(config.build());
      return runUntilStopped(server,
          "nuwa member " + id + " serving etcd clients on " + server.clientUrl(),
          server.stoppedByItself());
    }
  }

  @Command(
      name = "tenant",
      mixinStandardHelpOptions = true,
      description = {
        "Run the identity service: tenants, users, groups, AccessKeys and policies, kept in Nuwa.",
        "Every instance of a cluster needs a copy of the same master key file; the first start",
        "creates it (mode 0600) and the system tenant's root AccessKey, e.g.:",
        "  apsara run tenant --nuwa-endpoints 10.0.0.1:2379,10.0.0.2:2379 --data /var/lib/apsara/tenant"
            + " --credentials /root/.apsara/credentials"
      })
  static final class Tenant implements Callable<Integer> {
    @Option(names = "--nuwa-endpoints", split = ",", defaultValue = "127.0.0.1:2379",
        paramLabel = "HOST:PORT",
        description = "Nuwa members, comma-separated (default: ${DEFAULT-VALUE}).")
    List<String> nuwaEndpoints;

    @Option(names = "--data", required = true,
        description = "Directory for logs and, unless --master-key says otherwise, the master key.")
    Path data;

    @Option(names = "--master-key", paramLabel = "FILE",
        description = "The cluster master key (default: DATA/master.key).")
    Path masterKey;

    @Option(names = "--host", defaultValue = "127.0.0.1",
        description = "Address the API binds to and is registered under (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "" + TenantConfig.DEFAULT_PORT,
        description = "Port of the gRPC API (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--metrics-port", defaultValue = "-1",
        description = "HTTP port for /metrics and /health; -1 for none (default: ${DEFAULT-VALUE}).")
    int metricsPort;

    @Option(names = "--region", defaultValue = TenantConfig.DEFAULT_REGION,
        description = "This cluster's region, as resource names carry it (default: ${DEFAULT-VALUE}).")
    String region;

    @Option(names = "--credentials", paramLabel = "FILE",
        description = "Where to write the system root's AccessKey if this start creates it.")
    Path credentials;

    @Option(names = "--nuwa-user", defaultValue = "root",
        description = "Nuwa user to authenticate as, with --nuwa-password-file "
            + "(default: ${DEFAULT-VALUE}).")
    String nuwaUser;

    @Option(names = "--nuwa-password-file", paramLabel = "FILE",
        description = "File holding the Nuwa user's password, when Nuwa has authentication on.")
    Path nuwaPasswordFile;

    @Option(names = "--log-format", defaultValue = "text",
        description = "Console log format: text or json (default: ${DEFAULT-VALUE}).")
    String logFormat;

    @Mixin ServerTlsOptions tls;

    @Option(names = "--nuwa-cacert", paramLabel = "FILE",
        description = "Talk TLS to Nuwa, verifying its members against these PEM CA certificates.")
    Path nuwaCacert;

    @Option(names = "--nuwa-cert", paramLabel = "FILE",
        description = "PEM client certificate to present to Nuwa (with --nuwa-cacert).")
    Path nuwaCert;

    @Option(names = "--nuwa-key", paramLabel = "FILE",
        description = "PEM private key of --nuwa-cert.")
    Path nuwaKey;

    @Override
    public Integer call() throws Exception {
      TenantConfig.Builder config = TenantConfig.builder()
          .nuwaEndpoints(nuwaEndpoints)
          .host(host)
          .port(port)
          .metricsPort(metricsPort)
          .masterKeyFile(masterKey != null ? masterKey : data.resolve("master.key"))
          .region(region);
      if (credentials != null) {
        config.bootstrapCredentialsFile(credentials);
      }
      if (nuwaPasswordFile != null) {
        config.nuwaLogin(nuwaUser, nuwaPasswordFile);
      }
      tls.material().ifPresent(config::tls);
      config.clientCertAuth(tls.clientCertAuth);
      if (nuwaCacert != null) {
        config.nuwaTls(TlsMaterial.of(nuwaCert, nuwaKey, nuwaCacert));
      } else if (nuwaCert != null || nuwaKey != null) {
        throw new picocli.CommandLine.ParameterException(
            new picocli.CommandLine(this), "--nuwa-cert and --nuwa-key need --nuwa-cacert");
      }
      DataDirectoryLock.acquire(data);
      LogSetup.forService(data.resolve("logs"), "json".equals(logFormat));
      TenantServer server = TenantServer.start(config.build());
      return runUntilStopped(server, "identity service serving on " + server.address()
          + (server.bootstrapCredentials().isPresent() && credentials != null
              ? "; wrote the system root's new AccessKey to " + credentials : ""));
    }
  }

  /**
   * Settings of a service that reads Java properties: a file, then single settings and the
   * command's own options on top, so that a flag always wins over the file. A picocli mixin.
   */
  static final class PropertiesOptions {
    @Option(names = "--config", paramLabel = "FILE",
        description = "Java properties file with any of the role's settings (see docs/pangu.md).")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
        description = "One setting, over the file; may be repeated.")
    Map<String, String> settings = new LinkedHashMap<>();

    /** The file's settings, then --set's, then {@code options} (null values are left out). */
    Properties load(Map<String, String> options) throws IOException {
      Properties properties = new Properties();
      if (config != null) {
        try (var reader = Files.newBufferedReader(config)) {
          properties.load(reader);
        }
      }
      properties.putAll(settings);
      options.forEach((key, value) -> {
        if (value != null) {
          properties.setProperty(key, value);
        }
      });
      return properties;
    }
  }

  @Command(
      name = "pangu-master",
      mixinStandardHelpOptions = true,
      description = {
        "Run one member of the Pangu master group (the file system's namespace, on Raft).",
        "Three members started with the same --peers form a group, e.g.:",
        "  apsara run pangu-master --id m1 --peers m1=10.0.0.1:7001:7000,m2=10.0.0.2:7001:7000,"
            + "m3=10.0.0.3:7001:7000 --data /var/lib/apsara/pangu-master"
            + " --token-key-file /etc/apsara/pangu.keys",
        "The token key file (capability token keys, mode 0600) is created if missing; every",
        "master member and chunkserver needs a copy of the same file.",
        "Client calls must be signed: --credentials names the credentials file holding this",
        "service's AccessKey (a system user allowed ram:GetServiceCredential on",
        "acs:ram:*:system:service/pangu), --profile its profile. --no-auth runs without."
      })
  static final class PanguMaster implements Callable<Integer> {
    @Option(names = "--id", description = "This member's name; one of the --peers.")
    String id;

    @Option(names = "--peers", split = ",", paramLabel = "ID=HOST:RAFT_PORT[:CLIENT_PORT]",
        description = "Every member with its Raft port and client port (default "
            + MasterServerConfig.DEFAULT_CLIENT_PORT
            + "), comma-separated: 1, 3 or 5.")
    Map<String, String> peers;

    @Option(names = "--data", description = "This member's data directory.")
    Path data;

    @Option(names = "--token-key-file", paramLabel = "FILE",
        description = "Capability token keys shared with the chunkservers (created if missing).")
    Path tokenKeyFile;

    @Option(names = "--credentials", paramLabel = "FILE",
        description = "Credentials file with this service's AccessKey, which the identity "
            + "service (the profile's endpoint) confirms callers' signatures with.")
    Path credentials;

    @Option(names = "--profile", paramLabel = "NAME", defaultValue = "default",
        description = "Profile of --credentials (default: ${DEFAULT-VALUE}).")
    String profile;

    @Option(names = "--no-auth",
        description = "Accept unsigned calls and check no permissions (every caller acts as the "
            + "default owner): for trusted networks and tests only.")
    boolean noAuth;

    @Option(names = "--host", description = "Address the client service binds to "
        + "(default: the host of this member's client address).")
    String host;

    @Option(names = "--metrics-port",
        description = "HTTP port for /metrics and /health; -1 for none (the default).")
    Integer metricsPort;

    @Option(names = "--log-format", defaultValue = "text",
        description = "Console log format: text or json (default: ${DEFAULT-VALUE}).")
    String logFormat;

    @Mixin PropertiesOptions properties;

    @Override
    public Integer call() throws Exception {
      Map<String, String> options = new LinkedHashMap<>();
      options.put("member.id", id);
      options.put("data.dir", data == null ? null : data.toString());
      options.put("token.key.file", tokenKeyFile == null ? null : tokenKeyFile.toString());
      options.put("bind.host", host);
      options.put("metrics.port", metricsPort == null ? null : metricsPort.toString());
      if (credentials != null && noAuth) {
        throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
            "--credentials and --no-auth exclude each other");
      }
      if (credentials != null) {
        options.put("identity.credentials", credentials.toString());
        options.put("identity.profile", profile);
      }
      if (peers != null) {
        peers.forEach((name, address) -> {
          String[] parts = address.split(":");
          if (parts.length < 2 || parts.length > 3) {
            throw new picocli.CommandLine.ParameterException(
                new picocli.CommandLine(this), "--peers takes ID=HOST:RAFT_PORT[:CLIENT_PORT],"
                    + " not " + name + "=" + address);
          }
          options.put("peer." + name + ".raft", parts[0] + ":" + parts[1]);
          if (parts.length == 3) {
            options.put("peer." + name + ".client", parts[0] + ":" + parts[2]);
          }
        });
      }
      MasterServerConfig config =
          MasterServerConfig.fromProperties(
              properties.load(options));
      if (config.identity().isEmpty() && !noAuth) {
        throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
            "client calls are signed: pass --credentials FILE (and --profile NAME) with this"
                + " service's AccessKey, or --no-auth to accept unsigned calls");
      }
      ensureTokenKeyFile(config.tokenKeyFile());
      Path dataDir = config.master().dataDir();
      DataDirectoryLock.acquire(dataDir);
      LogSetup.forService(dataDir.resolve("logs"), "json".equals(logFormat));
      MasterServer server =
          MasterServer.start(config);
      return runUntilStopped(server, "pangu master member " + config.memberId()
          + " serving on " + server.clientAddress(), server.stoppedByItself());
    }

    /** Creates a token key file with one new key if there is none yet. */
    static void ensureTokenKeyFile(Path file) throws IOException {
      if (!Files.exists(file)) {
        TokenKeyFile.write(file, List.of(
            TokenKey.generate("k1", new SecureRandom())));
        System.out.println("created the capability token key file " + file
            + "; copy it to every master member and chunkserver");
      }
    }
  }

  @Command(
      name = "pangu-chunkserver",
      mixinStandardHelpOptions = true,
      description = {
        "Run one Pangu chunkserver: chunk replicas on this machine's disks.",
        "  apsara run pangu-chunkserver --data /data1/pangu --masters 10.0.0.1:7000,10.0.0.2:7000,"
            + "10.0.0.3:7000 --token-key-file /etc/apsara/pangu.keys --host 10.0.0.7",
        "More disks: --set volume.2.dir=/data2/pangu (and volume.N.capacity, volume.N.reserve)."
      })
  static final class PanguChunkServer implements Callable<Integer> {
    @Option(names = "--data", description = "The first volume's directory (volume.1.dir).")
    Path data;

    @Option(names = "--masters", split = ",", paramLabel = "HOST:PORT",
        description = "The Pangu master members' client addresses, comma-separated.")
    List<String> masters;

    @Option(names = "--token-key-file", paramLabel = "FILE",
        description = "The master's capability token key file (a copy).")
    Path tokenKeyFile;

    @Option(names = "--host", description = "Address the service binds to (default 127.0.0.1).")
    String host;

    @Option(names = "--port", description = "Port of the data service (default "
        + ChunkServerConfig.DEFAULT_PORT + ").")
    Integer port;

    @Option(names = "--data-port", description = "Port of the bulk read path (data.port): 0 picks"
        + " a free one (the default; clients ask the data service), -1 turns it off. Closed with"
        + " TLS.")
    Integer dataPort;

    @Option(names = "--rack", description = "This machine's rack, e.g. /dc1/rack7, for placement.")
    String rack;

    @Option(names = "--metrics-port",
        description = "HTTP port for /metrics and /health; -1 for none (the default).")
    Integer metricsPort;

    @Option(names = "--log-format", defaultValue = "text",
        description = "Console log format: text or json (default: ${DEFAULT-VALUE}).")
    String logFormat;

    @Mixin PropertiesOptions properties;

    @Override
    public Integer call() throws Exception {
      Map<String, String> options = new LinkedHashMap<>();
      options.put("volume.1.dir", data == null ? null : data.toString());
      options.put("master.addresses", masters == null ? null : String.join(",", masters));
      options.put("token.key.file", tokenKeyFile == null ? null : tokenKeyFile.toString());
      options.put("host", host);
      options.put("port", port == null ? null : port.toString());
      options.put("data.port", dataPort == null ? null : dataPort.toString());
      options.put("rack", rack);
      options.put("metrics.port", metricsPort == null ? null : metricsPort.toString());
      ChunkServerConfig config =
          ChunkServerConfig.fromProperties(
              properties.load(options));
      Path first = config.storeConfig().volumes().get(0).directory();
      Files.createDirectories(first);
      DataDirectoryLock.acquire(first);
      LogSetup.forService(first.resolve("logs"), "json".equals(logFormat));
      ChunkServer server =
          ChunkServer.start(config);
      return runUntilStopped(server, "pangu chunkserver serving on " + server.address()
          + (server.bulkReadPort() > 0 ? " (bulk reads on port " + server.bulkReadPort() + ")"
              : "")
          + (config.masterAddresses().isEmpty() ? " (no --masters: reporting to no master)"
              : ", reporting to " + config.masterAddresses()));
    }
  }

  /** TLS on a service's own API port, with etcd's option names. A picocli mixin. */
  static final class ServerTlsOptions {
    @Option(names = "--cert-file", paramLabel = "FILE",
        description = "PEM certificate of the API port: serve the API over TLS.")
    Path certFile;

    @Option(names = "--key-file", paramLabel = "FILE",
        description = "PEM private key of --cert-file.")
    Path keyFile;

    @Option(names = "--trusted-ca-file", paramLabel = "FILE",
        description = "PEM CA certificates that client certificates are verified against.")
    Path trustedCaFile;

    @Option(names = "--client-cert-auth",
        description = "Require every client to present a certificate of --trusted-ca-file.")
    boolean clientCertAuth;

    /** The files given, or empty when none is: the port stays plaintext. */
    Optional<TlsMaterial> material() {
      if (certFile == null && keyFile == null && trustedCaFile == null) {
        return Optional.empty();
      }
      return Optional.of(TlsMaterial.of(certFile, keyFile, trustedCaFile));
    }
  }
}
