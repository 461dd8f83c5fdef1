package org.apsara.bench.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class LoopbackPortsTest {
  @Test
  void picksDistinctBindablePorts() throws Exception {
    int[] ports = LoopbackPorts.pick(9);

    assertThat(Arrays.stream(ports).distinct().count()).isEqualTo(9);
    for (int port : ports) {
      try (ServerSocket socket = new ServerSocket()) {
        socket.bind(new InetSocketAddress(LoopbackPorts.loopback(), port));
      }
    }
  }

  @Test
  void countIsBounded() {
    assertThatThrownBy(() -> LoopbackPorts.pick(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LoopbackPorts.pick(LoopbackPorts.PORTS_PER_CALL_MAX + 1))
        .hasMessageContaining("not in [1, 64]");
  }
}
