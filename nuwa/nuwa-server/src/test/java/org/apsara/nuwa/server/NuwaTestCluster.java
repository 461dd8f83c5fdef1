package org.apsara.nuwa.server;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.apsara.common.net.HostPort;
import org.apsara.testkit.Ports;

/**
 * A Nuwa group in this JVM on free loopback ports, for tests: members can be stopped and started
 * again on the same data directory.
 */
public final class NuwaTestCluster implements AutoCloseable {
  private final Path dir;
  private final List<String> names = new ArrayList<>();
  private final List<Integer> clientPorts = new ArrayList<>();
  private final NuwaConfig.Builder template = NuwaConfig.builder();
  private final List<NuwaServer> members = new ArrayList<>();
  /** The configurations of members that joined after the start, by index. */
  private final java.util.Map<Integer, NuwaConfig> joined = new java.util.HashMap<>();

  public NuwaTestCluster(Path dir, int size) {
    this(dir, size, config -> { });
  }

  /** A group whose members' configuration {@code customize} adjusts after the test defaults. */
  public NuwaTestCluster(Path dir, int size, Consumer<NuwaConfig.Builder> customize) {
    this.dir = dir;
    for (int i = 0; i < size; i++) {
      members.add(null);
      String name = "n" + (i + 1);
      names.add(name);
      clientPorts.add(Ports.freePort());
      template.peer(name, HostPort.of("127.0.0.1", Ports.freePort()));
    }
    // Frequent snapshots, so that restarts combine a snapshot with the log after it.
    template.electionTimeoutMin(Duration.ofMillis(300)).requestTimeout(Duration.ofSeconds(5))
        .snapshotEveryEntries(100)
        .metricsPort(0);
    customize.accept(template);
  }

  public static NuwaTestCluster start(Path dir, int size) {
    return start(dir, size, config -> { });
  }

  public static NuwaTestCluster start(Path dir, int size, Consumer<NuwaConfig.Builder> customize) {
    NuwaTestCluster cluster = new NuwaTestCluster(dir, size, customize);
    for (int i = 0; i < size; i++) {
      cluster.startMember(i);
    }
    cluster.awaitLeader();
    return cluster;
  }

  public void startMember(int i) {
    NuwaConfig config = joined.containsKey(i) ? joined.get(i)
        : template.memberId(names.get(i)).dataDir(dir.resolve(names.get(i)))
            .clientPort(clientPorts.get(i)).build();
    try {
      members.set(i, NuwaServer.start(config));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Starts a new member that joins the running group (named "n" and its number, configured like
   * the others, and told of every founding member); returns its index once it has started.
   */
  public int startJoiningMember() {
    int i = members.size();
    String name = "n" + (i + 1);
    NuwaConfig founder = template.memberId(names.get(0)).dataDir(dir.resolve(names.get(0)))
        .clientPort(clientPorts.get(0)).build();
    NuwaConfig config = founder.toBuilder().memberId(name)
        .peer(name, HostPort.of("127.0.0.1", Ports.freePort()))
        .dataDir(dir.resolve(name)).clientPort(Ports.freePort()).join(true).build();
    names.add(name);
    clientPorts.add(config.clientPort());
    members.add(null);
    joined.put(i, config);
    startMember(i);
    return i;
  }

  public void stopMember(int i) {
    if (members.get(i) != null) {
      members.get(i).close();
      members.set(i, null);
    }
  }

  public NuwaServer member(int i) {
    return members.get(i);
  }

  public String name(int i) {
    return names.get(i);
  }

  public int size() {
    return members.size();
  }

  public String endpoint(int i) {
    return "127.0.0.1:" + clientPorts.get(i);
  }

  public List<String> endpoints() {
    List<String> endpoints = new ArrayList<>();
    for (int i = 0; i < members.size(); i++) {
      endpoints.add(endpoint(i));
    }
    return endpoints;
  }

  /** Index of the member that is leader, once one is elected and ready. */
  public int awaitLeader() {
    return await().atMost(Duration.ofSeconds(30)).until(this::leaderIndex, Optional::isPresent)
        .orElseThrow();
  }

  public Optional<Integer> leaderIndex() {
    for (int i = 0; i < members.size(); i++) {
      NuwaServer member = members.get(i);
      if (member != null && member.stateMachine().isLeaderReady() && member.raft().isLeader()) {
        return Optional.of(i);
      }
    }
    return Optional.empty();
  }

  @Override
  public void close() {
    for (int i = 0; i < members.size(); i++) {
      stopMember(i);
    }
  }
}
