package org.apsara.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apsara.cli.RunCommand.PropertiesOptions;
import org.apsara.fuxi.master.server.FuxiMasterConfig;
import org.apsara.fuxi.master.server.FuxiMasterServer;
import org.apsara.fuxi.tubo.agent.TuboServer;
import org.apsara.fuxi.tubo.agent.TuboServerConfig;
import org.apsara.tenant.api.CredentialsFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The Fuxi roles of {@code apsara run}: FuxiMaster members and Tubo agents. */
final class FuxiRoles {
  private FuxiRoles() {}

  @Command(
      name = "fuxi-master",
      mixinStandardHelpOptions = true,
      description = {
        "Run one FuxiMaster member, the cluster's resource manager.",
        "Members elect a primary through Nuwa and keep applications and quota groups there;",
        "the others stand by.",
        "  apsara run fuxi-master --id f1 --nuwa-endpoints 10.0.0.1:2379,10.0.0.2:2379"
            + " --masters 10.0.0.1:7300,10.0.0.2:7300 --host 10.0.0.1 --data /var/lib/apsara/fuxi"
            + " --token-key-file /etc/apsara/fuxi.keys",
        "The token key file (application token keys, mode 0600) is created if missing; every",
        "member and every Tubo needs a copy of the same file. TLS and timings: --set (see",
        "docs/fuxi.md).",
        "Client calls must be signed: --credentials FILE --profile NAME give the master's own",
        "AccessKey (allowed ram:GetServiceCredential on acs:ram:*:system:service/fuxi) and the",
        "identity service it asks about callers' keys; --no-auth runs without authentication."
      })
  static final class Master implements Callable<Integer> {
    @Option(names = "--id", description = "This member's name, unique among the members.")
    String id;

    @Option(names = "--nuwa-endpoints", split = ",", paramLabel = "HOST:PORT",
        description = "Nuwa members, comma-separated (default 127.0.0.1:2379).")
    List<String> nuwaEndpoints;

    @Option(names = "--nuwa-user", description = "Nuwa user, with --nuwa-password-file.")
    String nuwaUser;

    @Option(names = "--nuwa-password-file", paramLabel = "FILE",
        description = "File holding the Nuwa user's password, when Nuwa has authentication on.")
    Path nuwaPasswordFile;

    @Option(names = "--data", required = true, description = "Directory for this member's logs.")
    Path data;

    @Option(names = "--token-key-file", paramLabel = "FILE",
        description = "Application token keys shared with the Tubos (created if missing).")
    Path tokenKeyFile;

    @Option(names = "--host", description = "Address the service binds to (default 127.0.0.1).")
    String host;

    @Option(names = "--port",
        description = "Port of the service (default " + FuxiMasterConfig.DEFAULT_PORT + ").")
    Integer port;

    @Option(names = "--masters", split = ",", paramLabel = "HOST:PORT",
        description = "Every member's address, comma-separated, as application masters are told"
            + " (default: this member's).")
    List<String> masters;

    @Option(names = "--metrics-port",
        description = "HTTP port for /metrics and /health; -1 for none (the default).")
    Integer metricsPort;

    @Option(names = "--log-format", defaultValue = "text",
        description = "Console log format: text or json (default: ${DEFAULT-VALUE}).")
    String logFormat;

    @Option(names = "--credentials", paramLabel = "FILE",
        description = "Credentials file holding the master's own AccessKey and the identity"
            + " service's endpoint (identity.credentials).")
    Path credentials;

    @Option(names = "--profile", paramLabel = "NAME",
        description = "Profile of --credentials to use (identity.profile; default "
            + CredentialsFile.DEFAULT_PROFILE + ").")
    String profile;

    @Option(names = "--no-auth",
        description = "Accept unsigned calls from anyone who reaches the port, and take a"
            + " submit's tenant on trust.")
    boolean noAuth;

    @Mixin PropertiesOptions properties;

    @Override
    public Integer call() throws Exception {
      Map<String, String> options = new LinkedHashMap<>();
      options.put("identity.credentials", credentials == null ? null : credentials.toString());
      options.put("identity.profile", profile);
      options.put("member.id", id);
      options.put("nuwa.endpoints", nuwaEndpoints == null ? null : String.join(",", nuwaEndpoints));
      options.put("nuwa.user", nuwaUser == null && nuwaPasswordFile != null ? "root" : nuwaUser);
      options.put("nuwa.password.file",
          nuwaPasswordFile == null ? null : nuwaPasswordFile.toString());
      options.put("token.key.file", tokenKeyFile == null ? null : tokenKeyFile.toString());
      options.put("bind.host", host);
      options.put("port", port == null ? null : port.toString());
      options.put("masters", masters == null ? null : String.join(",", masters));
      options.put("metrics.port", metricsPort == null ? null : metricsPort.toString());
      var settings = properties.load(options);
      settings.putIfAbsent("nuwa.endpoints", "127.0.0.1:2379");
      boolean identityGiven = settings.containsKey("identity.credentials");
      if (noAuth && (identityGiven || settings.containsKey("identity.profile"))) {
        throw new IllegalArgumentException("--no-auth and --credentials/--profile (or the"
            + " identity.* settings) contradict each other: give one or the other");
      }
      if (!noAuth && !identityGiven) {
        throw new IllegalArgumentException("fuxi-master needs --credentials FILE [--profile"
            + " NAME], the master's own AccessKey and the identity service that authenticates"
            + " its callers, or --no-auth to run without authentication");
      }
      FuxiMasterConfig config = FuxiMasterConfig.fromProperties(settings);
      RunCommand.PanguMaster.ensureTokenKeyFile(config.tokenKeyFile());
      Files.createDirectories(data);
      DataDirectoryLock.acquire(data);
      LogSetup.forService(data.resolve("logs"), "json".equals(logFormat));
      FuxiMasterServer server = FuxiMasterServer.start(config);
      return RunCommand.runUntilStopped(server, "fuxi master member " + config.memberId()
          + " serving on " + server.address() + " (primary or standby, as elected in Nuwa; "
          + (server.authenticates() ? "calls signed for region "
              + config.identity().get().region() : "without authentication") + ")");
    }
  }

  @Command(
      name = "tubo",
      mixinStandardHelpOptions = true,
      description = {
        "Run Tubo, Fuxi's agent on this machine.",
        "It reports the machine's CPU and memory to FuxiMaster and runs application workers in",
        "sandboxes, limited by cgroups.",
        "  apsara run tubo --data /var/lib/apsara/tubo --masters 10.0.0.1:7300,10.0.0.2:7300"
            + " --token-key-file /etc/apsara/fuxi.keys --host 10.0.0.7 --rack /dc1/rack7",
        "Workers outlive a Tubo restart: the next start adopts them. Cgroups need root (or a",
        "delegated cgroup); without them limits are reported, not enforced."
      })
  static final class Tubo implements Callable<Integer> {
    @Option(names = "--data", description = "Directory for sandboxes, state and logs.")
    Path data;

    @Option(names = "--masters", split = ",", paramLabel = "HOST:PORT",
        description = "The FuxiMaster members' addresses, comma-separated.")
    List<String> masters;

    @Option(names = "--token-key-file", paramLabel = "FILE",
        description = "FuxiMaster's application token key file (a copy).")
    Path tokenKeyFile;

    @Option(names = "--machine-id", description = "This machine's id (default: its host name).")
    String machineId;

    @Option(names = "--rack", description = "This machine's rack, e.g. /dc1/rack7, for locality.")
    String rack;

    @Option(names = "--host", description = "Address the service binds to (default 127.0.0.1).")
    String host;

    @Option(names = "--port", description = "Port of the service (default "
        + TuboServerConfig.DEFAULT_PORT + ").")
    Integer port;

    @Option(names = "--cpu", paramLabel = "MILLICORES",
        description = "CPU offered to workers (default: detected, minus a reserve).")
    Integer cpu;

    @Option(names = "--memory", paramLabel = "MIB",
        description = "Memory offered to workers (default: detected, minus a reserve).")
    Long memory;

    @Option(names = "--cgroup-mode", description = "auto, v1, v2 or none (default auto).")
    String cgroupMode;

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
      options.put("data.dir", data == null ? null : data.toString());
      options.put("master.addresses", masters == null ? null : String.join(",", masters));
      options.put("token.key.file", tokenKeyFile == null ? null : tokenKeyFile.toString());
      options.put("machine.id", machineId);
      options.put("rack", rack);
      options.put("bind.host", host);
      options.put("port", port == null ? null : port.toString());
      options.put("cpu.millicores", cpu == null ? null : cpu.toString());
      options.put("memory.mib", memory == null ? null : memory.toString());
      options.put("cgroup.mode", cgroupMode);
      options.put("metrics.port", metricsPort == null ? null : metricsPort.toString());
      TuboServerConfig config = TuboServerConfig.fromProperties(properties.load(options));
      Files.createDirectories(config.dataDir());
      DataDirectoryLock.acquire(config.dataDir());
      LogSetup.forService(config.dataDir().resolve("logs"), "json".equals(logFormat));
      TuboServer server = TuboServer.start(config);
      return RunCommand.runUntilStopped(server, "tubo " + server.machineId() + " serving on "
          + server.address() + " offering " + server.capacity().cpuMillicores()
          + " millicores and " + server.capacity().memoryMib() + " MiB (limits: "
          + server.enforcementName() + "), reporting to " + config.masterAddresses());
    }
  }
}
