package org.apsara.pangu.master.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.UnaryOperator;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.master.MasterConfig;
import org.apsara.pangu.master.namespace.NamespaceException;
import org.apsara.pangu.master.namespace.NamespaceReply;
import org.apsara.testkit.Ports;
import org.apsara.testkit.TestClock;

/**
 * A master group of 1 or 3 members in this JVM, on loopback ports, each with its own data
 * directory, for tests. Members can be stopped and started again on the same directory and port.
 * A client helper submits commands to whichever member is the ready leader, retrying while none
 * is.
 */
final class MasterCluster implements AutoCloseable {
  /**
   * Long enough that a leader on a loaded two-core machine does not lose its followers' answers
   * for that long (it would step down), short enough to fail over in a second or two.
   */
  static final Duration ELECTION_TIMEOUT_MIN = Duration.ofMillis(800);
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
  /** Longest a test waits for a leader, convergence or a retried command. */
  static final Duration AWAIT = Duration.ofSeconds(30);

  /** Where the members' wall clock starts: far from 0, so no expiry arithmetic meets 0. */
  static final long WALL_CLOCK_START_MS = 1_700_000_000_000L;

  /** The wall clock every member shares; it moves only when a test says so. */
  final TestClock clock = new TestClock(Instant.ofEpochMilli(WALL_CLOCK_START_MS));
  private final Path root;
  private final Map<String, HostPort> peers = new LinkedHashMap<>();
  private final UnaryOperator<MasterConfig.Builder> tuning;
  private final Map<String, MasterNode> running = new ConcurrentHashMap<>();
  private final Map<String, MeterRegistry> registries = new ConcurrentHashMap<>();

  MasterCluster(Path root, int members, UnaryOperator<MasterConfig.Builder> tuning) {
    this.root = root;
    this.tuning = tuning;
    List<Integer> ports = Ports.freePorts(members);
    for (int i = 0; i < members; i++) {
      peers.put("m" + (i + 1), HostPort.of("127.0.0.1", ports.get(i)));
    }
  }

  MasterCluster(Path root, int members) {
    this(root, members, b -> b);
  }

  List<String> memberIds() {
    return new ArrayList<>(peers.keySet());
  }

  MasterCluster startAll() {
    peers.keySet().forEach(this::start);
    return this;
  }

  MasterNode start(String memberId) {
    MasterConfig config = tuning.apply(MasterConfig.builder(memberId, peers,
            root.resolve(memberId))
        .electionTimeoutMin(ELECTION_TIMEOUT_MIN)
        .requestTimeout(REQUEST_TIMEOUT)).build();
    MeterRegistry registry = new SimpleMeterRegistry();
    try {
      MasterNode node = new MasterNode(config, clock, registry);
      node.start();
      running.put(memberId, node);
      registries.put(memberId, registry);
      return node;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  void stop(String memberId) {
    MasterNode node = running.remove(memberId);
    if (node != null) {
      try {
        node.close();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  void stopAll() {
    memberIds().forEach(this::stop);
  }

  MasterNode node(String memberId) {
    MasterNode node = running.get(memberId);
    assertThat(node).as("member %s is running", memberId).isNotNull();
    return node;
  }

  List<MasterNode> runningNodes() {
    return new ArrayList<>(running.values());
  }

  /** A counter of a running member, e.g. {@code snapshots.installed}. */
  double counter(String memberId, String name) {
    return registries.get(memberId).get(MasterMetrics.PREFIX + name).counter().count();
  }

  Optional<MasterNode> readyLeader() {
    return running.values().stream().filter(MasterNode::isLeaderReady).findFirst();
  }

  MasterNode awaitLeader() {
    return await("a ready leader").atMost(AWAIT).until(this::readyLeader, Optional::isPresent)
        .orElseThrow();
  }

  /** Waits until every running member has applied the same namespace. */
  String awaitConverged() {
    await("members converge").atMost(AWAIT).pollInterval(Duration.ofMillis(50)).until(() -> {
      List<MasterNode> nodes = runningNodes();
      long leaderCommit = nodes.stream().mapToLong(MasterNode::commitIndex).max().orElse(0);
      return nodes.stream().allMatch(n -> n.appliedIndex() >= leaderCommit)
          && nodes.stream().map(MasterNode::stateDigest).distinct().count() == 1;
    });
    return runningNodes().get(0).stateDigest();
  }

  /**
   * Submits at the ready leader, retrying (at whichever member leads then) as long as a refusal
   * says nothing happened. Returns the reply; throws the namespace's refusal, or the
   * unavailability when the outcome is unknown, for the caller to judge.
   */
  NamespaceReply submit(MasterCommand command) throws NamespaceException {
    return submit(command, false);
  }

  /**
   * As {@link #submit(MasterCommand)}, but also retries when the outcome is unknown: for
   * commands that may apply twice (mkdirs of a directory that exists is a no-op).
   */
  NamespaceReply submitIdempotent(MasterCommand command) throws NamespaceException {
    return submit(command, true);
  }

  private NamespaceReply submit(MasterCommand command, boolean idempotent)
      throws NamespaceException {
    long deadline = System.nanoTime() + AWAIT.toNanos();
    while (true) {
      MasterNode leader = awaitLeader();
      try {
        return leader.submit(command).get(REQUEST_TIMEOUT.toMillis() * 2, TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        if (e.getCause() instanceof NamespaceException refused) {
          throw refused;
        }
        if (e.getCause() instanceof MasterUnavailableException unavailable
            && (unavailable.nothingHappened() || idempotent) && System.nanoTime() < deadline) {
          continue;
        }
        throw new AssertionError("command failed", e.getCause());
      } catch (InterruptedException | TimeoutException e) {
        throw new AssertionError("command did not complete", e);
      }
    }
  }

  @Override
  public void close() {
    stopAll();
  }
}
