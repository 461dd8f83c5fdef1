package org.apsara.common.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FreePortsTest {
  @Test
  void aFreePortCanBeBoundOnLoopback() throws Exception {
    int port = FreePorts.freePort();

    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new InetSocketAddress(FreePorts.LOOPBACK, port));
      assertThat(socket.getLocalPort()).isEqualTo(port);
    }
  }

  @Test
  void portsComeFromBelowTheKernelsEphemeralRange() {
    int ephemeralLow = FreePorts.ephemeralRangeStart();
    assumeTrue(ephemeralLow - FreePorts.PORT_RANGE_LOW >= 1000,
        "the ephemeral range leaves no room below it");

    Set<Integer> ports = new HashSet<>();
    for (int i = 0; i < 20; i++) {
      ports.add(FreePorts.freePort());
    }
    assertThat(ports).allMatch(port -> port >= FreePorts.PORT_RANGE_LOW && port < ephemeralLow);
  }

  @Test
  void picksDistinctBindablePorts() throws Exception {
    int[] ports = FreePorts.freePorts(9);

    assertThat(Arrays.stream(ports).distinct().count()).isEqualTo(9);
    for (int port : ports) {
      try (ServerSocket socket = new ServerSocket()) {
        socket.bind(new InetSocketAddress(FreePorts.LOOPBACK, port));
      }
    }
  }

  @Test
  void aBoundPortIsNotFree() throws Exception {
    int port = FreePorts.freePort();
    assertThat(FreePorts.isFree(port)).isTrue();

    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(FreePorts.LOOPBACK, port));
      assertThat(FreePorts.isFree(port)).isFalse();
    }
  }

  @Test
  void countIsBounded() {
    assertThatThrownBy(() -> FreePorts.freePorts(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> FreePorts.freePorts(FreePorts.PORTS_PER_CALL_MAX + 1))
        .hasMessageContaining("not in [1, 64]");
  }
}
