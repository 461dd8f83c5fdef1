package org.apsara.cli;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.UnaryOperator;
import org.apsara.common.net.HostPort;
import org.apsara.nuwa.server.NuwaConfig;
import org.apsara.nuwa.server.NuwaServer;
import org.apsara.testkit.Ports;

/** A one-member Nuwa on free loopback ports, for the command line to talk to. Tests only. */
public final class OneMemberNuwa {
  private OneMemberNuwa() {}

  /**
   * Starts member "n1" with its data in {@code dataDir}, as {@code customize} adjusts its
   * configuration, and returns once it is the ready leader.
   */
  public static NuwaServer start(Path dataDir, UnaryOperator<NuwaConfig.Builder> customize)
      throws IOException {
    NuwaServer nuwa = NuwaServer.start(customize.apply(NuwaConfig.builder()
        .memberId("n1")
        .peer("n1", HostPort.of("127.0.0.1", Ports.freePort()))
        .dataDir(dataDir)
        .clientPort(Ports.freePort())
        .electionTimeoutMin(Duration.ofMillis(300)))
        .build());
    await().atMost(Duration.ofSeconds(30))
        .until(() -> nuwa.stateMachine().isLeaderReady() && nuwa.raft().isLeader());
    return nuwa;
  }
}
