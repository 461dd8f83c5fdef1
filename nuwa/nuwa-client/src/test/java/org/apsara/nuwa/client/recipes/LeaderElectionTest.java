package org.apsara.nuwa.client.recipes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apsara.nuwa.client.GetOptions;
import org.apsara.nuwa.client.KeyRange;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.testing.NuwaTestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.apsara.nuwa.client.testing.EtcdClientExtension;

class LeaderElectionTest {
  private static final Duration WAIT = Duration.ofSeconds(15);

  @RegisterExtension
  static final EtcdClientExtension etcd = new EtcdClientExtension("election");

  private NuwaClient client;
  private final List<AutoCloseable> toClose = new ArrayList<>();
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private String name;

  @BeforeEach
  void connect() {
    client = etcd.client();
  }

  @BeforeEach
  void namespace() {
    name = NuwaTestServer.uniquePrefix("election") + "leader";
  }

  @AfterEach
  void cleanUp() throws Exception {
    threads.shutdownNow();
    threads.awaitTermination(10, TimeUnit.SECONDS);
    for (AutoCloseable c : toClose) {
      c.close();
    }
  }

  private Session session(NuwaClient c, Duration ttl) {
    Session s = Session.open(c, ttl);
    toClose.add(s);
    return s;
  }

  @Test
  void oneLeaderAtATimeAndLeadershipPassesOnResignAndSessionEnd() throws Exception {
    List<String> observed = new CopyOnWriteArrayList<>();
    toClose.add(
        LeaderElection.observe(
            client, name, leader -> observed.add(leader.map(Leader::valueUtf8).orElse("-"))));
    List<LeaderElection> candidates = new ArrayList<>();
    List<Session> candidateSessions = new ArrayList<>();
    List<Future<?>> campaigns = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Session s = session(client, Duration.ofSeconds(30));
      LeaderElection election = new LeaderElection(s, name);
      candidateSessions.add(s);
      candidates.add(election);
      String value = "candidate-" + i;
      campaigns.add(
          threads.submit(
              () -> {
                election.campaign(value);
                return null;
              }));
      // Enter the line in a known order.
      await().atMost(WAIT).until(() -> count(name) == candidates.size());
    }

    await().atMost(WAIT).until(() -> campaigns.get(0).isDone());
    assertThat(leaders(candidates)).containsExactly(0);
    assertThat(candidates.get(0).leader()).map(Leader::valueUtf8).hasValue("candidate-0");

    candidates.get(0).resign();
    campaigns.get(1).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(leaders(candidates)).containsExactly(1);

    candidateSessions.get(1).close();
    campaigns.get(2).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(leaders(candidates)).containsExactly(2);

    await().atMost(WAIT).until(() -> observed.size() == 4);
    assertThat(observed).containsExactly("-", "candidate-0", "candidate-1", "candidate-2");
  }

  @Test
  void leadershipPassesWhenTheLeadersProcessDies() throws Exception {
    NuwaClient doomed = NuwaTestServer.newClient();
    LeaderElection first = new LeaderElection(Session.open(doomed, Duration.ofSeconds(2)), name);
    first.campaign("doomed");
    LeaderElection second = new LeaderElection(session(client, Duration.ofSeconds(30)), name);
    Future<?> campaign =
        threads.submit(
            () -> {
              second.campaign("survivor");
              return null;
            });

    doomed.close();

    campaign.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(second.isLeader()).isTrue();
    assertThat(second.leader()).map(Leader::valueUtf8).hasValue("survivor");
  }

  @Test
  void leaderProclaimsNewValuesAndOthersCannot() throws Exception {
    LeaderElection leader = new LeaderElection(session(client, Duration.ofSeconds(30)), name);
    LeaderElection follower = new LeaderElection(session(client, Duration.ofSeconds(30)), name);
    leader.campaign("v1");
    List<Optional<Leader>> observed = new CopyOnWriteArrayList<>();
    toClose.add(follower.observe(observed::add));

    leader.proclaim("v2");

    await().atMost(WAIT).until(() -> observed.size() == 2);
    assertThat(observed).extracting(o -> o.orElseThrow().valueUtf8()).containsExactly("v1", "v2");
    assertThat(observed.get(1).orElseThrow().createRevision())
        .isEqualTo(observed.get(0).orElseThrow().createRevision());
    assertThatThrownBy(() -> follower.proclaim("usurper")).isInstanceOf(NotLeaderException.class);
    assertThat(follower.campaign("v3", Duration.ofMillis(300))).isFalse();
    assertThat(count(name)).isEqualTo(1);
  }

  private static List<Integer> leaders(List<LeaderElection> candidates) {
    List<Integer> leaders = new ArrayList<>();
    for (int i = 0; i < candidates.size(); i++) {
      if (candidates.get(i).isLeader()) {
        leaders.add(i);
      }
    }
    return leaders;
  }

  private long count(String name) {
    return client
        .kv()
        .get(KeyRange.prefix(name + "/"), GetOptions.builder().countOnly(true).build())
        .count();
  }
}
