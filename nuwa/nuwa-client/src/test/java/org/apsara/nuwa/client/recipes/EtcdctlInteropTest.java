package org.apsara.nuwa.client.recipes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.testing.CommandLine;
import org.apsara.nuwa.client.testing.NuwaTestServer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.apsara.nuwa.client.testing.EtcdClientExtension;

/**
 * The lock and election recipes share etcd's key layout, so they exclude and follow {@code etcdctl
 * lock} and {@code etcdctl elect} (etcd's Go implementation) on the same names.
 */
class EtcdctlInteropTest {
  private static final Duration WAIT = Duration.ofSeconds(15);
  private static final Duration QUIET = Duration.ofMillis(700);

  @RegisterExtension
  static final EtcdClientExtension etcd = new EtcdClientExtension("interop");

  private NuwaClient client;
  private static Path etcdctl;
  private String name;

  @BeforeEach
  void connect() {
    client = etcd.client();
  }

  @BeforeEach
  void needEtcdctl() {
    Optional<Path> found = CommandLine.find("etcdctl");
    assumeThat(found).as("etcdctl is not installed; skipping interoperability tests").isPresent();
    etcdctl = found.get();
    name = NuwaTestServer.uniquePrefix("interop") + "shared";
  }

  private CommandLine etcdctl(String... args) {
    List<String> command =
        new ArrayList<>(
            List.of(
                etcdctl.toString(), "--endpoints=" + String.join(",", NuwaTestServer.endpoints())));
    command.addAll(List.of(args));
    return CommandLine.start(command);
  }

  @Test
  void lockExcludesEtcdctlLockBothWays() throws Exception {
    try (Session session = Session.open(client, Duration.ofSeconds(30));
        CommandLine holder = etcdctl("lock", "--ttl=2", name)) {
      DistributedLock lock = new DistributedLock(session, name);
      Optional<String> etcdctlKey = holder.nextLine(WAIT);
      assertThat(etcdctlKey).hasValueSatisfying(k -> assertThat(k).startsWith(name + "/"));
      assertThat(lock.holder())
          .hasValueSatisfying(kv -> assertThat(kv.keyUtf8()).isEqualTo(etcdctlKey.get()));
      assertThat(lock.tryLock(QUIET)).isFalse();

      holder.terminate();
      assertThat(lock.tryLock(WAIT)).isTrue();

      try (CommandLine waiter = etcdctl("lock", "--ttl=2", name)) {
        assertThat(waiter.nextLine(QUIET))
            .as("etcdctl must wait while Java holds the lock")
            .isEmpty();
        lock.unlock();
        assertThat(waiter.nextLine(WAIT))
            .hasValueSatisfying(k -> assertThat(k).startsWith(name + "/"));
        waiter.terminate();
      }
    }
  }

  @Test
  void electionInteroperatesWithEtcdctlElect() throws Exception {
    List<String> seenByJava = new CopyOnWriteArrayList<>();
    Subscription javaObserver =
        LeaderElection.observe(
            client, name, l -> seenByJava.add(l.map(Leader::valueUtf8).orElse("-")));
    try (Session session = Session.open(client, Duration.ofSeconds(30));
        CommandLine observer = etcdctl("elect", "--listen", name)) {
      LeaderElection election = new LeaderElection(session, name);
      election.campaign("java-leader");

      // etcdctl elect --listen prints each leader as its key, then its value.
      assertThat(observer.nextLine(WAIT))
          .hasValueSatisfying(k -> assertThat(k).startsWith(name + "/"));
      assertThat(observer.nextLine(WAIT)).hasValue("java-leader");

      try (CommandLine candidate = etcdctl("elect", name, "etcdctl-leader")) {
        assertThat(candidate.nextLine(QUIET)).as("etcdctl must wait while Java leads").isEmpty();
        election.resign();
        assertThat(candidate.nextLine(WAIT))
            .hasValueSatisfying(k -> assertThat(k).startsWith(name + "/"));
        assertThat(candidate.nextLine(WAIT)).hasValue("etcdctl-leader");
        await().atMost(WAIT).until(() -> seenByJava.contains("etcdctl-leader"));
        assertThat(election.leader()).map(Leader::valueUtf8).hasValue("etcdctl-leader");
        candidate.terminate();
      }
      assertThat(seenByJava).containsSubsequence("-", "java-leader", "etcdctl-leader");
    } finally {
      javaObserver.close();
    }
  }
}
