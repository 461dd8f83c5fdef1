package org.apsara.cli.embedded;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntBinaryOperator;
import org.apsara.testkit.Ports;

/**
 * Ports for embedded clusters in tests. A role's port P comes with P + 1 and P + 2, and the Pangu
 * master's and FuxiMaster's with their chunkservers' and Tubos' ports above them (see {@link
 * EmbeddedCluster}): every port of the layout is checked free and handed out, so that no other
 * role or test of this JVM is given one of them.
 */
final class EmbeddedPorts {
  private EmbeddedPorts() {}

  /** A free port P such that P + 1 and P + 2 are free too: a Nuwa member's or the identity's. */
  static int portWithTwoFreeNeighbours() {
    return Ports.freePortWithOffsets(1, 2);
  }

  /** The Pangu master's port, with its own neighbours and its chunkservers' ports free. */
  static int panguMasterPort() {
    return withAgents(EmbeddedCluster.PANGU_CHUNKSERVERS, EmbeddedCluster::chunkServerPort);
  }

  /** FuxiMaster's port, with its own neighbours and its Tubos' ports free. */
  static int fuxiMasterPort() {
    return withAgents(EmbeddedCluster.FUXI_TUBOS, EmbeddedCluster::tuboPort);
  }

  /** A master's port P, P + 1, P + 2, and each agent's port and its + 2 (metrics) free. */
  private static int withAgents(int agents, IntBinaryOperator agentPort) {
    List<Integer> offsets = new ArrayList<>(List.of(1, 2));
    for (int i = 0; i < agents; i++) {
      int agent = agentPort.applyAsInt(0, i); // its offset: its port under a master on port 0
      offsets.add(agent);
      offsets.add(agent + 2);
    }
    return Ports.freePortWithOffsets(offsets.stream().mapToInt(Integer::intValue).toArray());
  }
}
