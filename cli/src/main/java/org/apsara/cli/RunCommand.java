package org.apsara.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;
import org.apsara.common.net.HostPort;
import org.apsara.nuwa.server.NuwaConfig;
import org.apsara.nuwa.server.NuwaServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code apsara run <role>}: one service role as its own OS process. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = "Run one service role as its own process (distributed mode).",
    subcommands = {RunCommand.Nuwa.class})
final class RunCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  @Command(
      name = "nuwa",
      mixinStandardHelpOptions = true,
      description = {
        "Run one Nuwa member (etcd-compatible coordination service).",
        "Three members started with the same --peers form a cluster, e.g.:",
        "  apsara run nuwa --id n1 --peers n1=10.0.0.1:2380,n2=10.0.0.2:2380,n3=10.0.0.3:2380 "
            + "--data /var/lib/apsara/nuwa --client-port 2379"
      })
  static final class Nuwa implements Callable<Integer> {
    @Option(names = "--id", required = true, description = "This member's name; one of the --peers.")
    String id;

    @Option(names = "--peers", required = true, split = ",",
        description = "Every member as NAME=HOST:PORT (its Raft port), comma-separated: 1, 3 or 5.")
    java.util.Map<String, String> peers;

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

    @Option(names = "--snapshot-every", defaultValue = "100000",
        description = "Take a snapshot (and purge the log) every N entries (default: ${DEFAULT-VALUE}).")
    long snapshotEvery;

    @Option(names = "--auto-compaction-retention", defaultValue = "100000",
        description = "Keep this many revisions of history; older ones are compacted. "
            + "0 turns auto-compaction off (default: ${DEFAULT-VALUE}).")
    long autoCompactionRetention;

    @Option(names = "--log-format", defaultValue = "text",
        description = "Console log format: text or json (default: ${DEFAULT-VALUE}).")
    String logFormat;

    @Override
    public Integer call() throws Exception {
      NuwaConfig.Builder config = NuwaConfig.builder()
          .memberId(id)
          .dataDir(data)
          .clientHost(clientHost)
          .clientPort(clientPort)
          .metricsPort(metricsPort)
          .electionTimeoutMin(electionTimeout)
          .snapshotEveryEntries(snapshotEvery)
          .autoCompactionRetainRevisions(autoCompactionRetention);
      peers.forEach((name, address) -> config.peer(name, HostPort.parse(address)));
      DataDirectoryLock.acquire(data);
      LogSetup.forService(data.resolve("logs"), "json".equals(logFormat));
      NuwaServer server = NuwaServer.start(config.build());
      CountDownLatch stopped = new CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        server.close();
        stopped.countDown();
      }, "nuwa-shutdown"));
      System.out.println("nuwa member " + id + " serving etcd clients on " + server.clientEndpoint());
      System.out.flush();
      stopped.await();
      return 0;
    }
  }
}
