package org.apsara.cli.embedded;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apsara.common.net.HostPort;
import org.apsara.nuwa.server.NuwaConfig;
import org.apsara.nuwa.server.NuwaServer;

/**
 * Every Apsara role in one JVM on loopback: the way a newcomer meets the system, and what tests
 * run against. The roles are the same classes that run as separate processes in distributed
 * mode; only their addresses are chosen for one machine.
 *
 * <p>Ports follow one pattern from a base port P: member i of Nuwa serves clients on P + 10·i,
 * Raft on P + 10·i + 1 and metrics on P + 10·i + 2 (so the first member is etcd's familiar
 * 2379/2380/2381 by default).
 */
public final class EmbeddedCluster implements AutoCloseable {
  /** Ports between one member's and the next one's. */
  public static final int PORT_STRIDE = 10;

  private final List<NuwaServer> nuwa;

  private EmbeddedCluster(List<NuwaServer> nuwa) {
    this.nuwa = nuwa;
  }

  /**
   * Starts (or restarts, finding its data again) the embedded cluster.
   *
   * @param dataDir where every role keeps its data; the same directory brings everything back
   * @param nuwaBasePort the first Nuwa member's client port
   * @param nuwaMembers 1, 3 or 5
   */
  public static EmbeddedCluster start(Path dataDir, int nuwaBasePort, int nuwaMembers)
      throws IOException {
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
    return new EmbeddedCluster(List.copyOf(started));
  }

  public List<NuwaServer> nuwaMembers() {
    return nuwa;
  }

  /** The Nuwa client endpoints, "host:port", comma-separated, as etcdctl's --endpoints takes them. */
  public String nuwaEndpoints() {
    return String.join(",", nuwa.stream().map(NuwaServer::clientEndpoint).toList());
  }

  @Override
  public void close() {
    for (NuwaServer server : nuwa) {
      server.close();
    }
  }
}
