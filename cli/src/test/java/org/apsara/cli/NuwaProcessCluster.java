package org.apsara.cli;

import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.StatusRequest;
import io.etcd.jetcd.api.StatusResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apsara.common.net.HostPort;
import org.apsara.nuwa.server.grpc.ServerContext;
import org.apsara.testkit.ChildProcess;
import org.apsara.testkit.Ports;
import org.apsara.testkit.TcpProxy;
import org.awaitility.core.ConditionTimeoutException;

/**
 * A Nuwa group of separate OS processes, each started with {@code apsara run nuwa} exactly as a
 * user starts one, with a fault-injecting TCP proxy on every link between two members.
 *
 * <p>The members name each other by host name ({@code nuwa-n1} ...), and each process resolves
 * those names through a hosts file of its own ({@code -Djdk.net.hosts.file}): member i reaches
 * member j at 127.0.(10+i).j, where the proxy of the link i→j listens, while member j itself
 * listens on 127.0.0.(100+j). So every directed link has its own proxy, and a test can cut one
 * member off completely — both what it sends and what it receives — without root and without
 * leaving loopback.
 */
final class NuwaProcessCluster implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
  /** How long the members may take to agree on a leader, after a restart or a healed partition. */
  private static final Duration LEADER_AGREEMENT_TIMEOUT = Duration.ofSeconds(60);
  /** How many of each member's last warnings and errors a failed wait for a leader shows. */
  private static final int LOG_PROBLEM_LINES = 8;

  private final Path dir;
  private final int size;
  private final String[] jvmArgs;
  private final List<Integer> raftPorts;
  private final List<Integer> clientPorts;
  private final TcpProxy[][] links;
  private final ChildProcess[] members;

  NuwaProcessCluster(Path dir, int size, String... jvmArgs) {
    this.dir = dir;
    this.size = size;
    this.jvmArgs = jvmArgs;
    this.raftPorts = Ports.freePorts(size);
    this.clientPorts = Ports.freePorts(size);
    this.links = new TcpProxy[size][size];
    this.members = new ChildProcess[size];
    for (int from = 0; from < size; from++) {
      for (int to = 0; to < size; to++) {
        if (from != to) {
          links[from][to] = TcpProxy.start(
              HostPort.of(linkAddress(from, to), raftPorts.get(to)),
              HostPort.of(bindAddress(to), raftPorts.get(to)));
        }
      }
      writeHostsFile(from);
    }
  }

  static NuwaProcessCluster start(Path dir, int size, String... jvmArgs) {
    NuwaProcessCluster cluster = new NuwaProcessCluster(dir, size, jvmArgs);
    for (int i = 0; i < size; i++) {
      cluster.launch(i);
    }
    for (int i = 0; i < size; i++) {
      cluster.awaitServing(i);
    }
    cluster.awaitLeader();
    return cluster;
  }

  private static String name(int i) {
    return "n" + (i + 1);
  }

  private static String bindAddress(int i) {
    return "127.0.0." + (101 + i);
  }

  private static String linkAddress(int from, int to) {
    return "127.0." + (11 + from) + "." + (1 + to);
  }

  private Path hostsFile(int i) {
    return dir.resolve("hosts-" + name(i));
  }

  private void writeHostsFile(int i) {
    StringBuilder hosts = new StringBuilder("127.0.0.1 localhost\n");
    for (int j = 0; j < size; j++) {
      hosts.append(i == j ? bindAddress(j) : linkAddress(i, j)).append(" nuwa-").append(name(j))
          .append('\n');
    }
    try {
      Files.createDirectories(dir);
      Files.writeString(hostsFile(i), hosts);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private String peers() {
    List<String> peers = new ArrayList<>();
    for (int j = 0; j < size; j++) {
      peers.add(name(j) + "=nuwa-" + name(j) + ":" + raftPorts.get(j));
    }
    return String.join(",", peers);
  }

  /** Starts member i (again, on the same data directory) without waiting for it. */
  void launch(int i) {
    List<String> jvm = new ArrayList<>(List.of("-Xmx384m", "-XX:+UseSerialGC",
        "-Djava.net.preferIPv4Stack=true", "-Djdk.net.hosts.file=" + hostsFile(i)));
    jvm.addAll(List.of(jvmArgs));
    members[i] = ChildProcess.builder(Apsara.class)
        .name("nuwa-" + name(i))
        .jvmArgs(jvm.toArray(String[]::new))
        .args("run", "nuwa", "--id", name(i), "--peers", peers(),
            "--data", dir.resolve(name(i)).toString(),
            "--client-port", Integer.toString(clientPorts.get(i)),
            "--election-timeout", "300ms",
            "--snapshot-every", "500")
        .logFile(dir.resolve(name(i) + ".out"))
        .start();
  }

  void awaitServing(int i) {
    members[i].awaitLogLine(Pattern.compile("serving etcd clients on"), START_TIMEOUT);
  }

  void start(int i) {
    launch(i);
    awaitServing(i);
  }

  /** SIGKILL: the member gets no chance to flush or say goodbye. */
  void kill(int i) {
    members[i].kill();
  }

  boolean isAlive(int i) {
    return members[i] != null && members[i].isAlive();
  }

  /** Cuts member i off from every other member, both ways; clients can still reach it. */
  void isolate(int i) {
    for (int j = 0; j < size; j++) {
      if (j != i) {
        links[i][j].blackhole();
        links[j][i].blackhole();
      }
    }
  }

  void heal() {
    for (TcpProxy[] row : links) {
      for (TcpProxy link : row) {
        if (link != null) {
          link.pass();
        }
      }
    }
  }

  int size() {
    return size;
  }

  String endpoint(int i) {
    return "127.0.0.1:" + clientPorts.get(i);
  }

  List<String> endpoints() {
    List<String> endpoints = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      endpoints.add(endpoint(i));
    }
    return endpoints;
  }

  /**
   * The index of the member every live member that answers names as leader, once there is one.
   * A member that was killed or cut off rejoins once the leader reaches it again; on a loaded
   * machine that can take a while, hence the margin. On a timeout the error shows what each member
   * reports and the last warnings in its log.
   */
  int awaitLeader() {
    try {
      return await().atMost(LEADER_AGREEMENT_TIMEOUT).pollInterval(Duration.ofMillis(100))
          .until(this::agreedLeader, Optional::isPresent).orElseThrow();
    } catch (ConditionTimeoutException e) {
      StringBuilder state = new StringBuilder("the members did not agree on a leader within "
          + LEADER_AGREEMENT_TIMEOUT.toSeconds() + " s:");
      for (int i = 0; i < size; i++) {
        state.append("\n  member ").append(name(i)).append(": ").append(!isAlive(i) ? "dead"
            : reportedLeader(i).map(j -> "names " + name(j) + " as leader")
                .orElse("names no leader, or does not answer"))
            .append("; last warnings and errors in its log:\n").append(lastProblems(i));
      }
      throw new AssertionError(state.toString(), e);
    }
  }

  private String lastProblems(int i) {
    try {
      List<String> problems = Files.readAllLines(logFile(i)).stream()
          .filter(line -> line.contains(" WARN ") || line.contains(" ERROR ")).toList();
      return String.join("\n",
          problems.subList(Math.max(0, problems.size() - LOG_PROBLEM_LINES), problems.size()));
    } catch (IOException | RuntimeException e) {
      return "(no log: " + e + ")";
    }
  }

  /** The leader as the first answering live member reports it, if it knows one. */
  Optional<Integer> agreedLeader() {
    Integer agreed = null;
    for (int i = 0; i < size; i++) {
      if (!isAlive(i)) {
        continue;
      }
      Optional<Integer> reported = reportedLeader(i);
      if (reported.isEmpty() || (agreed != null && !agreed.equals(reported.get()))) {
        return Optional.empty();
      }
      agreed = reported.get();
    }
    return Optional.ofNullable(agreed);
  }

  Optional<Integer> reportedLeader(int i) {
    ManagedChannel channel = NettyChannelBuilder.forTarget(endpoint(i)).usePlaintext().build();
    try {
      StatusResponse status = MaintenanceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(2, TimeUnit.SECONDS).status(StatusRequest.getDefaultInstance());
      for (int j = 0; j < size; j++) {
        if (ServerContext.memberId(name(j)) == status.getLeader()) {
          return Optional.of(j);
        }
      }
      return Optional.empty();
    } catch (RuntimeException e) {
      return Optional.empty();
    } finally {
      channel.shutdownNow();
    }
  }

  Path logFile(int i) {
    return members[i].logFile();
  }

  @Override
  public void close() {
    for (ChildProcess member : members) {
      if (member != null) {
        member.close();
      }
    }
    for (TcpProxy[] row : links) {
      for (TcpProxy link : row) {
        if (link != null) {
          link.close();
        }
      }
    }
  }
}
