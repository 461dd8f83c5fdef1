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
  /** Lowest port handed out: above the well-known and most registered service ports. */
  private static final int PORT_RANGE_LOW = 15_000;
  /** Seeded by process, so that test JVMs running side by side tend to pick different ports. */
  private static final java.util.Random RANDOM =
      new java.util.Random(ProcessHandle.current().pid() * 0x9E3779B97F4A7C15L ^ System.nanoTime());

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

  /**
   * A port that is free now and outside the kernel's ephemeral range, when that range leaves room
   * below it. A port from the ephemeral range (what binding port 0 gives) can be taken at any
   * moment by any outgoing connection as its local port, so a test that stops a server and
   * starts it again on the same port would fail now and then; below the range, only an explicit
   * bind can take it.
   */
  private static int probe() {
    int low = PORT_RANGE_LOW;
    int high = ephemeralRangeStart();
    if (high - low < 1000) {
      return bind(0);
    }
    for (int attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
      int candidate = low + RANDOM.nextInt(high - low);
      try {
        return bind(candidate);
      } catch (UncheckedIOException taken) {
        // Someone has it; try another.
      }
    }
    return bind(0);
  }

  private static int bind(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      // Without SO_REUSEADDR the port is not in use by anyone else when bind succeeds.
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(LOOPBACK, port));
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot bind port " + port + " on the loopback address", e);
    }
  }

  /** The first port of Linux's ephemeral range, or the usual default where it cannot be read. */
  private static int ephemeralRangeStart() {
    try {
      // Line by line: on some kernels a read sized by the file (readString, readAllBytes) gets
      // only the first byte of a /proc/sys file, and the port range then parsed as "3".
      String range;
      try (java.io.BufferedReader reader = java.nio.file.Files.newBufferedReader(
          java.nio.file.Path.of("/proc/sys/net/ipv4/ip_local_port_range"))) {
        range = reader.readLine().trim();
      }
      return Integer.parseInt(range.split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      return 32768;
    }
  }
}
