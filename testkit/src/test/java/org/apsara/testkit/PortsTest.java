package org.apsara.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class PortsTest {
  @Test
  void freePortCanBeBoundOnLoopback() throws Exception {
    int port = Ports.freePort();

    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
      assertThat(socket.getLocalPort()).isEqualTo(port);
    }
  }

  @Test
  void portsAreNeverHandedOutTwice() {
    List<Integer> ports = Ports.freePorts(50);
    List<Integer> more = Ports.freePorts(50);

    HashSet<Integer> distinct = new HashSet<>(ports);
    distinct.addAll(more);
    assertThat(distinct).hasSize(100);
    assertThat(ports).allMatch(port -> port > 0 && port <= 65_535);
  }

  @Test
  void aPortWithOffsetsComesWithThemFree() throws Exception {
    int port = Ports.freePortWithOffsets(1, 2, 100);

    for (int offset : new int[] {0, 1, 2, 100}) {
      try (ServerSocket socket = new ServerSocket()) {
        socket.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port + offset));
      }
    }
  }

  @Test
  void countIsBounded() {
    assertThat(Ports.freePorts(0)).isEmpty();
    assertThatThrownBy(() -> Ports.freePorts(-1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Ports.freePorts(Ports.PORTS_PER_CALL_MAX + 1))
        .hasMessageContaining("port count must be 0..1000");
  }
}
