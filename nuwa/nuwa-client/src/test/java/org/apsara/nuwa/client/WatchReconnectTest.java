package org.apsara.nuwa.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.apsara.nuwa.client.testing.EtcdProcess;
import org.apsara.nuwa.client.testing.NuwaTestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Watches across a server crash: the member is killed and restarted on the same data. */
class WatchReconnectTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  private EtcdProcess etcd;

  @BeforeEach
  void startServer() {
    NuwaTestServer.assumeEtcdInstalled();
    etcd = EtcdProcess.startSingle();
  }

  @AfterEach
  void stopServer() {
    if (etcd != null) {
      etcd.close();
    }
  }

  @Test
  void watchResumesAfterServerRestartWithoutLosingOrRepeatingEvents() {
    List<String> expected = new ArrayList<>();
    RecordingWatchListener listener = new RecordingWatchListener();
    try (NuwaClient watching = client();
        NuwaClient writing = client()) {
      long start = writing.kv().put("/w/k", "v0").header().revision();
      expected.add("v0");
      // An explicit start revision: resuming from it instead of from the last delivered revision
      // would deliver v0..v4 twice.
      Watcher watcher =
          watching
              .watch()
              .watch(
                  KeyRange.prefix("/w/"),
                  WatchOptions.builder().startRevision(start).build(),
                  listener);
      IntStream.range(1, 5)
          .forEach(
              i -> {
                writing.kv().put("/w/k", "v" + i);
                expected.add("v" + i);
              });
      await().atMost(WAIT).until(() -> listener.events.size() == 5);

      etcd.kill();
      etcd.restart();
      // Written as soon as the server is back, most likely before the watch has reconnected: it
      // must pick them up from history rather than start from "now".
      IntStream.range(5, 10)
          .forEach(
              i -> {
                writing.kv().put("/w/k", "v" + i);
                expected.add("v" + i);
              });
      await().atMost(WAIT).until(() -> listener.events.size() >= 10);
      writing.kv().put("/w/k", "v10");
      expected.add("v10");

      await().atMost(WAIT).until(() -> listener.events.size() >= expected.size());
      assertThat(listener.events)
          .extracting(e -> e.kv().valueUtf8())
          .containsExactlyElementsOf(expected);
      assertThat(listener.events)
          .extracting(WatchEvent::revision)
          .isSorted()
          .doesNotHaveDuplicates();
      assertThat(listener.errors).isEmpty();
      assertThat(watcher.isClosed()).isFalse();
    }
  }

  @Test
  void watchWaitsOutALongOutageAndCatchesUp() {
    RecordingWatchListener listener = new RecordingWatchListener();
    try (NuwaClient watching = client();
        NuwaClient writing = client()) {
      Watcher watcher = watching.watch().watchPrefix("/o/", listener);
      await().atMost(WAIT).until(() -> watcher.nextRevision() > 0);

      etcd.kill();
      // Let several reconnect attempts fail, so that the watch is in its longest backoff.
      await()
          .pollDelay(Duration.ofSeconds(3))
          .atMost(Duration.ofSeconds(4))
          .until(() -> !watcher.isClosed());
      etcd.restart();
      writing.kv().put("/o/a", "1");
      writing.kv().delete("/o/a");

      await().atMost(WAIT).until(() -> listener.events.size() == 2);
      assertThat(listener.describe()).containsExactly("PUT /o/a=1", "DELETE /o/a");
    }
  }

  private NuwaClient client() {
    return NuwaClient.builder()
        .endpoints(etcd.endpoint())
        .requestTimeout(Duration.ofSeconds(5))
        .build();
  }
}
