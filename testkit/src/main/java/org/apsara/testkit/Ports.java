package org.apsara.testkit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apsara.common.net.FreePorts;

/**
 * Free TCP ports on 127.0.0.1 for tests that start servers, as {@link FreePorts} finds them
 * (below the kernel's ephemeral range, so that an outgoing connection cannot take one). Within one
 * JVM, a port is never handed out twice, so parallel tests and the members of one cluster do not
 * collide.
 *
 * <p>Thread-safe.
 */
public final class Ports {
  /** Attempts to find one port not handed out before, before giving up. */
  public static final int ATTEMPTS_MAX = 100;

  /** The most ports one call may ask for. */
  public static final int PORTS_PER_CALL_MAX = 1000;

  private static final Set<Integer> handedOut = ConcurrentHashMap.newKeySet();

  private Ports() {}

  /** A free port on 127.0.0.1 that this JVM has not handed out before. */
  public static int freePort() {
    for (int attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
      int port = FreePorts.freePort();
      if (handedOut.add(port)) {
        return port;
      }
    }
    throw new IllegalStateException(
        "no new free port after " + ATTEMPTS_MAX + " attempts; " + handedOut.size()
            + " ports handed out already");
  }

  /**
   * A free port P such that P + each of {@code offsets} is free too, none of them handed out
   * before in this JVM; all of them are handed out now. For a server that takes ports next to
   * its own, or above it for the agents it starts.
   */
  public static int freePortWithOffsets(int... offsets) {
    for (int attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
      int port = freePort();
      List<Integer> taken = new ArrayList<>(offsets.length);
      for (int offset : offsets) {
        int other = port + offset;
        if (other > 65535 || !FreePorts.isFree(other) || !handedOut.add(other)) {
          break;
        }
        taken.add(other);
      }
      if (taken.size() == offsets.length) {
        return port;
      }
      handedOut.removeAll(taken);
    }
    throw new IllegalStateException("no free port with offsets " + Arrays.toString(offsets)
        + " free after " + ATTEMPTS_MAX + " attempts");
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
}
