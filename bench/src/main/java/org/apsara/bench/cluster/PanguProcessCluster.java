package org.apsara.bench.cluster;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apsara.common.net.FreePorts;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.api.v1.ChunkServerReport;
import org.apsara.pangu.client.PanguClient;
import org.apsara.pangu.client.PanguClientConfig;
import org.apsara.security.token.TokenKey;
import org.apsara.security.token.TokenKeyFile;

/**
 * A Pangu cluster of one master and {@code chunkservers} chunkservers, each a JVM running the
 * {@code apsara} command line's {@code run pangu-master} or {@code run pangu-chunkserver} on this
 * JVM's class path, on free 127.0.0.1 ports, sharing one capability token key file.
 *
 * <p>{@link #start} returns once the master answers and reports every chunkserver alive. Not
 * thread-safe; {@link #close()} kills every process and deletes the directory.
 */
public final class PanguProcessCluster extends LocalCluster {
  public static final String SYSTEM = "Pangu";

  private final HostPort master;

  private PanguProcessCluster(Path directory, List<MemberProcess> members,
      List<InetSocketAddress> clientAddresses, HostPort master) {
    super(SYSTEM, directory, members, clientAddresses);
    this.master = master;
  }

  /** The master's client address. */
  public HostPort master() {
    return master;
  }

  /**
   * Starts the master and the chunkservers, each with its own directory under a new temporary
   * directory in {@code parentDirectory}.
   *
   * @throws ClusterStartException naming the process and its log if one does not come up
   */
  public static PanguProcessCluster start(int chunkservers, Path parentDirectory,
      Duration startupTimeout) {
    if (!NuwaProcessCluster.launcherAvailable()) {
      throw new ClusterStartException(SYSTEM, "the launcher " + NuwaProcessCluster.MAIN_CLASS
          + " is not on the class path; run the benchmark through the apsara command line"
          + " (apsara bench pangu)", null, null);
    }
    Path directory = TempDirectories.create(parentDirectory, "apsara-bench-pangu-");
    int[] ports = FreePorts.freePorts(2 + chunkservers);
    String host = FreePorts.LOOPBACK.getHostAddress();
    HostPort master = HostPort.of(host, ports[0]);
    List<MemberProcess> members = new ArrayList<>();
    try {
      Path keyFile = directory.resolve("token.keys");
      TokenKeyFile.write(keyFile, List.of(TokenKey.generate("k1", new SecureRandom())));
      Path masterDirectory = Files.createDirectories(directory.resolve("master"));
      members.add(MemberProcess.start("Pangu master", JavaCommand.of(List.of(),
          NuwaProcessCluster.MAIN_CLASS, List.of("run", "pangu-master",
              // HDFS runs without authentication next to it.
              "--id", "m1", "--no-auth",
              "--peers", "m1=" + host + ":" + ports[1] + ":" + ports[0],
              "--data", masterDirectory.resolve("data").toString(),
              "--token-key-file", keyFile.toString())),
          masterDirectory, masterDirectory.resolve("master.log")));
      for (int i = 0; i < chunkservers; i++) {
        Path csDirectory = Files.createDirectories(directory.resolve("cs" + (i + 1)));
        members.add(MemberProcess.start("Pangu chunkserver cs" + (i + 1), JavaCommand.of(
            List.of(), NuwaProcessCluster.MAIN_CLASS, List.of("run", "pangu-chunkserver",
                "--data", csDirectory.resolve("data").toString(),
                "--port", Integer.toString(ports[2 + i]),
                "--masters", master.toString(),
                "--token-key-file", keyFile.toString())),
            csDirectory, csDirectory.resolve("chunkserver.log")));
      }
      try (PanguClient client = PanguClient.connect(
          PanguClientConfig.builder(List.of(master)).build())) {
        StartupWait.untilAllAnswer(SYSTEM, members, startupTimeout,
            "the master's cluster report", index -> {
              List<ChunkServerReport> live = client.clusterReport(1).getChunkserversList()
                  .stream().filter(ChunkServerReport::getAlive).toList();
              if (index == 0) {
                return true; // the master answered
              }
              String address = host + ":" + ports[1 + index];
              return live.stream()
                  .anyMatch(cs -> cs.getLocation().getAddress().equals(address));
            });
      }
      return new PanguProcessCluster(directory, members,
          List.of(new InetSocketAddress(host, ports[0])), master);
    } catch (IOException | RuntimeException e) {
      throw StartupWait.abandon(SYSTEM, members, directory, e);
    }
  }
}
