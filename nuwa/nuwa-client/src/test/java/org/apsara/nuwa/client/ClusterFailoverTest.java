package org.apsara.nuwa.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apsara.nuwa.client.testing.EtcdProcess;
import org.apsara.nuwa.client.testing.NuwaTestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A client of a three-member cluster while each member in turn crashes and comes back. */
class ClusterFailoverTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  /**
   * Short, so that requests caught in the election after a leader's crash (etcd holds them for its
   * own, longer, request timeout) are given up and retried soon.
   */
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(2);

  private List<EtcdProcess> members = List.of();

  @BeforeEach
  void startCluster() {
    NuwaTestServer.assumeEtcdInstalled();
    members = EtcdProcess.startCluster(3);
  }

  @AfterEach
  void stopCluster() {
    members.forEach(EtcdProcess::close);
  }

  @Test
  void readsAndWatchesSurviveTheCrashOfAnyOneMember() {
    List<String> endpoints = members.stream().map(EtcdProcess::endpoint).toList();
    RecordingWatchListener listener = new RecordingWatchListener();
    List<String> written = new ArrayList<>();
    try (NuwaClient client =
        NuwaClient.builder().endpoints(endpoints).requestTimeout(REQUEST_TIMEOUT).build()) {
      // The key exists before the crashes: putOnce compares values, and a value comparison on a
      // missing key never holds.
      client.kv().put("/f/k", "initial");
      Watcher watcher = client.watch().watchPrefix("/f/", listener);
      await().atMost(WAIT).until(() -> watcher.nextRevision() > 0);

      for (int down = 0; down < members.size(); down++) {
        members.get(down).kill();
        EtcdProcess survivor = members.get((down + 1) % members.size());
        // Writes go to a survivor directly; the client under test only reads and watches.
        try (NuwaClient writer =
            NuwaClient.builder()
                .endpoints(survivor.endpoint())
                .requestTimeout(REQUEST_TIMEOUT)
                .build()) {
          for (int i = 0; i < 3; i++) {
            String value = "down-" + down + "-" + i;
            putOnce(writer, "/f/k", value);
            written.add(value);
          }
        }
        for (int i = 0; i < 10; i++) {
          assertThat(client.kv().get("/f/k").first().orElseThrow().valueUtf8())
              .isEqualTo(written.get(written.size() - 1));
        }
        await().atMost(WAIT).until(() -> listener.events.size() == written.size());
        members.get(down).restart();
      }

      assertThat(listener.events)
          .extracting(e -> e.kv().valueUtf8())
          .containsExactlyElementsOf(written);
      assertThat(listener.errors).isEmpty();
    }
  }

  /**
   * Writes {@code value} exactly once even though the cluster may be electing a new leader: a write
   * that failed ambiguously may have been applied, so it is retried only as a compare-and-set that
   * does nothing if the value is already there.
   */
  private static void putOnce(NuwaClient writer, String key, String value) {
    Txn txn = Txn.builder().when(Cmp.value(key).notEqualTo(value)).then(Op.put(key, value)).build();
    await()
        .atMost(WAIT)
        .ignoreExceptionsMatching(
            e -> e instanceof NuwaUnavailableException || e instanceof NuwaTimeoutException)
        .until(() -> writer.kv().txn(txn) != null);
  }
}
