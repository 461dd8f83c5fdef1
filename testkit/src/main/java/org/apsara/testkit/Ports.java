package org.apsara.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Free TCP ports on 127.0.0.1 for tests that start servers.
 *
 * <p>A port is found by binding port 0 and closing the socket again, so another process can still
 * take it before the test binds it; the window is short and rarely hit. Within one JVM, a port is
 * never handed out twice, so parallel tests and the members of one cluster do not collide.
 *
 * <p>Thread-safe.
 */
public final class Ports {
  /** Attempts to find one port not handed out before, before giving up. */
  public static final int ATTEMPTS_MAX = 100;

  /** The most ports one call may ask for. */
  public static final int PORTS_PER_CALL_MAX = 1000;

  // Shared with TcpProxy: 127.0.0.1 also when the JVM prefers IPv6.
  static final InetAddress LOOPBACK = loopback();

  private static final Set<Integer> handedOut = ConcurrentHashMap.newKeySet();

  private Ports() {}

  /** A free port on 127.0.0.1 that this JVM has not handed out before. */
  public static int freePort() {
    for (int attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
      int port = probe();
      if (handedOut.add(port)) {
        return port;
      }
    }
    throw new IllegalStateException(
        "no new free port after " + ATTEMPTS_MAX + " attempts; " + handedOut.size()
            + " ports handed out already");
  }

  /** {@code count} distinct free ports, as {@link #freePort()}. */
  public static List<Integer> freePorts(int count) {
    if (count < 0 || count > PORTS_PER_CALL_MAX) {
      throw new IllegalArgumentException(
          "port count must be 0.." + PORTS_PER_CALL_MAX + ", got " + count);
    }
    List<Integer> ports = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      ports.add(freePort());
    }
    return List.copyOf(ports);
  }

  private static InetAddress loopback() {
    try {
      return InetAddress.getByAddress("127.0.0.1", new byte[] {127, 0, 0, 1});
    } catch (java.net.UnknownHostException e) {
      throw new AssertionError("a four-byte address is always valid", e);
    }
  }

  private static int probe() {
    try (ServerSocket socket = new ServerSocket()) {
      // Without SO_REUSEADDR the port is not in use by anyone else when bind succeeds.
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(LOOPBACK, 0));
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot bind a port on the loopback address", e);
    }
  }
}
