package org.apsara.bench.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ZooKeeperEnsembleTest {
  @Test
  void configuresDurableLoopbackOnlyServers() {
    int[] ports = {2181, 2888, 3888, 2182, 2889, 3889, 2183, 2890, 3890};

    String cfg = ZooKeeperEnsemble.zooCfg(3, 1, "127.0.0.1", ports, Path.of("data"));

    assertThat(cfg)
        .contains("forceSync=yes\n")
        .contains("clientPort=2182\n")
        .contains("clientPortAddress=127.0.0.1\n")
        .contains("admin.enableServer=false\n")
        .contains("server.1=127.0.0.1:2888:3888\n")
        .contains("server.2=127.0.0.1:2889:3889\n")
        .contains("server.3=127.0.0.1:2890:3890\n");
  }

  @Test
  void aSingleServerRunsStandalone() {
    String cfg = ZooKeeperEnsemble.zooCfg(1, 0, "127.0.0.1", new int[] {2181, 2888, 3888}, Path.of("d"));
    assertThat(cfg).doesNotContain("server.");
  }
}
