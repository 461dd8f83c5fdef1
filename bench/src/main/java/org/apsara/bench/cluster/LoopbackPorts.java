package org.apsara.bench.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/**
 * Picks free TCP ports on 127.0.0.1 for the members of a local cluster.
 *
 * <p>All ports of one call are held open together before being released, so one call never
 * returns the same port twice. Another program may still take a port between this call and the
 * member binding it; the member then fails to start and its start-up error names its log file.
 * Thread-safe (stateless).
 */
public final class LoopbackPorts {
  /** Most ports one call hands out; a cluster of three needs at most nine. */
  public static final int PORTS_PER_CALL_MAX = 64;

  private LoopbackPorts() {}

  /** The loopback address every benchmark member binds to; nothing listens beyond it. */
  public static InetAddress loopback() {
    return InetAddress.getLoopbackAddress();
  }

  /** Returns {@code count} distinct ports that were free on 127.0.0.1 a moment ago. */
  public static int[] pick(int count) {
    if (count < 1 || count > PORTS_PER_CALL_MAX) {
      throw new IllegalArgumentException(
          "port count " + count + " not in [1, " + PORTS_PER_CALL_MAX + "]");
    }
    List<ServerSocket> held = new ArrayList<>(count);
    try {
      int[] ports = new int[count];
      for (int i = 0; i < count; i++) {
        ServerSocket socket = new ServerSocket(0, 1, loopback());
        held.add(socket);
        ports[i] = socket.getLocalPort();
      }
      return ports;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find free loopback ports", e);
    } finally {
      for (ServerSocket socket : held) {
        try {
          socket.close();
        } catch (IOException ignored) {
          // Closing a listening socket that accepted nothing cannot lose data.
        }
      }
    }
  }
}
