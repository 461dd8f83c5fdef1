package org.apsara.bench.cluster;

import java.net.InetAddress;
import java.util.LinkedHashSet;
import java.util.Set;
import org.apsara.common.net.FreePorts;

/**
 * Picks free TCP ports on 127.0.0.1 for the members of a local cluster, as {@link FreePorts}
 * finds them: below the kernel's ephemeral range, so that none of the many connections the
 * members and clients open can take a port between this call and the member binding it. Another
 * program that binds the port meanwhile still can; the member then fails to start and its
 * start-up error names its log file. Thread-safe (stateless).
 */
public final class LoopbackPorts {
  /** Most ports one call hands out; a cluster of three needs at most nine. */
  public static final int PORTS_PER_CALL_MAX = 64;

  /** Ports tried per port asked for before giving up (a port may come up twice). */
  private static final int ATTEMPTS_PER_PORT = 10;

  private LoopbackPorts() {}

  /**
   * The loopback address every benchmark member binds to, the one {@link FreePorts} checks its
   * ports on; nothing listens beyond it.
   */
  public static InetAddress loopback() {
    return FreePorts.LOOPBACK;
  }

  /** Returns {@code count} distinct ports that were free on 127.0.0.1 a moment ago. */
  public static int[] pick(int count) {
    if (count < 1 || count > PORTS_PER_CALL_MAX) {
      throw new IllegalArgumentException(
          "port count " + count + " not in [1, " + PORTS_PER_CALL_MAX + "]");
    }
    Set<Integer> ports = new LinkedHashSet<>();
    for (int attempt = 0; attempt < count * ATTEMPTS_PER_PORT && ports.size() < count; attempt++) {
      ports.add(FreePorts.freePort());
    }
    if (ports.size() < count) {
      throw new IllegalStateException(
          "found only " + ports.size() + " distinct free loopback ports of " + count);
    }
    return ports.stream().mapToInt(Integer::intValue).toArray();
  }
}
