package org.apsara.cli.embedded;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apsara.testkit.Ports;

/**
 * Ports for embedded clusters in tests. A role's port P comes with P + 1 and P + 2, and the Pangu
 * master's and FuxiMaster's with their chunkservers' and Tubos' ports above them (see {@link
 * EmbeddedCluster}): every port of the layout is checked free, and none is handed out again in
 * this JVM. Checking P alone let a chunkserver's port be taken by another role of the same
 * cluster, or be in use already, and the cluster failed to start.
 */
final class EmbeddedPorts {
  /** Every port of every layout handed out in this JVM. */
  private static final Set<Integer> claimed = ConcurrentHashMap.newKeySet();

  private EmbeddedPorts() {}

  /** A free port P such that P + 1 and P + 2 are free too: a Nuwa member's or the identity's. */
  static int portWithTwoFreeNeighbours() {
    return freeLayout(0, 0);
  }

  /** The Pangu master's port, with its own neighbours and its chunkservers' ports free. */
  static int panguMasterPort() {
    return freeLayout(EmbeddedCluster.PANGU_CHUNKSERVERS,
        EmbeddedCluster.PANGU_CHUNKSERVER_PORT_OFFSET);
  }

  /** FuxiMaster's port, with its own neighbours and its Tubos' ports free. */
  static int fuxiMasterPort() {
    return freeLayout(EmbeddedCluster.FUXI_TUBOS, EmbeddedCluster.FUXI_TUBO_PORT_OFFSET);
  }

  /**
   * A free port P with P + 1 and P + 2 free, and for each of {@code agents} agents the port
   * P + {@code agentOffset} + 10·i and its + 2 free.
   */
  private static int freeLayout(int agents, int agentOffset) {
    for (int attempt = 0; attempt < Ports.ATTEMPTS_MAX; attempt++) {
      int port = Ports.freePort();
      List<Integer> layout = layout(port, agents, agentOffset);
      if (layout.get(layout.size() - 1) <= 65535 && layout.stream().allMatch(p ->
          !claimed.contains(p) && (p == port || bindable(p)))) {
        claimed.addAll(layout);
        return port;
      }
    }
    throw new IllegalStateException("no port whose layout of " + agents + " agents is free");
  }

  private static List<Integer> layout(int port, int agents, int agentOffset) {
    List<Integer> ports = new ArrayList<>(List.of(port, port + 1, port + 2));
    for (int i = 0; i < agents; i++) {
      int agent = port + agentOffset + EmbeddedCluster.PORT_STRIDE * i;
      ports.add(agent);
      ports.add(agent + 2);
    }
    return ports;
  }

  private static boolean bindable(int port) {
    try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
