package org.apsara.cli.embedded;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import org.apsara.testkit.Ports;

/** Ports for embedded clusters in tests. */
final class EmbeddedPorts {
  private EmbeddedPorts() {}

  /** A free port P such that P + 1 and P + 2 are free too: the embedded cluster's layout. */
  static int portWithTwoFreeNeighbours() {
    for (int attempt = 0; attempt < Ports.ATTEMPTS_MAX; attempt++) {
      int port = Ports.freePort();
      if (port + 2 <= 65535 && bindable(port + 1) && bindable(port + 2)) {
        return port;
      }
    }
    throw new IllegalStateException("no port with two free neighbours");
  }

  private static boolean bindable(int port) {
    try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
