package org.apsara.common.net;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Random;
import java.util.Set;

/**
 * Free TCP ports on 127.0.0.1, for servers that a local cluster, a benchmark or a test starts on
 * the loopback address.
 *
 * <p>A port is free when a bind without {@code SO_REUSEADDR} succeeds; the socket is closed again,
 * so another program can still take the port before the server binds it. To keep that window
 * harmless the port comes from outside the kernel's ephemeral range when that range leaves room
 * below it: a port from the ephemeral range (what binding port 0 gives) can be taken at any moment
 * by any outgoing connection as its local port, and a busy cluster opens many; below the range only
 * an explicit bind can take it.
 *
 * <p>Thread-safe.
 */
public final class FreePorts {
  /** Random ports tried below the ephemeral range before falling back to port 0. */
  private static final int ATTEMPTS_MAX = 100;

  /** Most ports one {@link #freePorts} call hands out; a cluster of three needs at most nine. */
  public static final int PORTS_PER_CALL_MAX = 64;

  /** Ports tried per port asked for by {@link #freePorts} (a port may come up twice). */
  private static final int ATTEMPTS_PER_PORT = 10;

  /** The loopback address, 127.0.0.1 also when the JVM prefers IPv6. */
  public static final InetAddress LOOPBACK = ipv4Loopback();

  /** Lowest port handed out: above the well-known and most registered service ports. */
  static final int PORT_RANGE_LOW = 15_000;

  /** Read once: the range is a boot-time setting, and a test run asks for hundreds of ports. */
  private static final int EPHEMERAL_RANGE_START = readEphemeralRangeStart();

  /** Seeded by process, so that JVMs running side by side tend to pick different ports. */
  private static final Random RANDOM =
      new Random(ProcessHandle.current().pid() * 0x9E3779B97F4A7C15L ^ System.nanoTime());

  private FreePorts() {}

  /** A port free on 127.0.0.1 a moment ago, below the ephemeral range where there is room. */
  public static int freePort() {
    int low = PORT_RANGE_LOW;
    int high = EPHEMERAL_RANGE_START;
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

  /**
   * {@code count} distinct ports, each as {@link #freePort()}: for the members of one local
   * cluster, started together.
   */
  public static int[] freePorts(int count) {
    if (count < 1 || count > PORTS_PER_CALL_MAX) {
      throw new IllegalArgumentException(
          "port count " + count + " not in [1, " + PORTS_PER_CALL_MAX + "]");
    }
    Set<Integer> ports = new LinkedHashSet<>();
    for (int attempt = 0; attempt < count * ATTEMPTS_PER_PORT && ports.size() < count; attempt++) {
      ports.add(freePort());
    }
    if (ports.size() < count) {
      throw new IllegalStateException(
          "found only " + ports.size() + " distinct free loopback ports of " + count);
    }
    return ports.stream().mapToInt(Integer::intValue).toArray();
  }

  /** Whether {@code port} can be bound on 127.0.0.1 now (without {@code SO_REUSEADDR}). */
  public static boolean isFree(int port) {
    try {
      bind(port);
      return true;
    } catch (UncheckedIOException taken) {
      return false;
    }
  }

  /** The first port of Linux's ephemeral range, or the usual default where it cannot be read. */
  static int ephemeralRangeStart() {
    return EPHEMERAL_RANGE_START;
  }

  private static int readEphemeralRangeStart() {
    try {
      // Line by line: on some kernels a read sized by the file (readString, readAllBytes) gets
      // only the first byte of a /proc/sys file, and the port range then parsed as "3".
      String range;
      try (BufferedReader reader =
          Files.newBufferedReader(Path.of("/proc/sys/net/ipv4/ip_local_port_range"))) {
        range = reader.readLine().trim();
      }
      return Integer.parseInt(range.split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      return 32768;
    }
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

  private static InetAddress ipv4Loopback() {
    try {
      return InetAddress.getByAddress("127.0.0.1", new byte[] {127, 0, 0, 1});
    } catch (UnknownHostException e) {
      throw new AssertionError("a four-byte address is always valid", e);
    }
  }
}
