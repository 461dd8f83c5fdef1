package org.apsara.nuwa.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.apsara.nuwa.client.testing.NuwaTestServer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.apsara.nuwa.client.testing.EtcdClientExtension;

class WatchClientTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  @RegisterExtension
  static final EtcdClientExtension etcd = new EtcdClientExtension("watch");

  private NuwaClient client;
  private KvClient kv;
  private String p;

  @BeforeEach
  void bind() {
    client = etcd.client();
    kv = client.kv();
    p = etcd.prefix();
  }

  @Test
  void deliversPutsAndDeletesOfOneKeyInOrder() {
    RecordingWatchListener listener = new RecordingWatchListener();
    try (Watcher watcher = client.watch().watch(p + "k", listener)) {
      await().atMost(WAIT).until(() -> watcher.nextRevision() > 0);
      kv.put(p + "k", "1");
      kv.put(p + "other", "ignored");
      kv.put(p + "k", "2");
      kv.delete(p + "k");

      await().atMost(WAIT).until(() -> listener.events.size() == 3);
      assertThat(listener.describe())
          .containsExactly("PUT " + p + "k=1", "PUT " + p + "k=2", "DELETE " + p + "k");
      assertThat(listener.events.get(2).kv().modRevision())
          .isGreaterThan(listener.events.get(1).kv().modRevision());
      assertThat(listener.overlapped).isFalse();
      assertThat(listener.errors).isEmpty();
    }
  }

  @Test
  void replaysHistoryFromAStartRevision() {
    long first = kv.put(p + "h", "1").header().revision();
    kv.put(p + "h", "2");
    kv.put(p + "h", "3");
    RecordingWatchListener listener = new RecordingWatchListener();

    try (Watcher watcher =
        client
            .watch()
            .watch(
                KeyRange.key(p + "h"),
                WatchOptions.builder().startRevision(first).build(),
                listener)) {
      await().atMost(WAIT).until(() -> listener.events.size() == 3);
      assertThat(listener.events)
          .extracting(e -> e.kv().valueUtf8())
          .containsExactly("1", "2", "3");
      assertThat(watcher.nextRevision()).isEqualTo(listener.events.get(2).revision() + 1);
    }
  }

  @Test
  void prefixWatchSeesOnlyKeysUnderThePrefix() {
    RecordingWatchListener listener = new RecordingWatchListener();
    try (Watcher watcher = client.watch().watchPrefix(p + "dir/", listener)) {
      await().atMost(WAIT).until(() -> watcher.nextRevision() > 0);
      kv.put(p + "dir/a", "1");
      kv.put(p + "dir", "not under the prefix");
      kv.put(p + "dir0", "not under the prefix");
      kv.put(p + "dir/b/c", "2");

      await().atMost(WAIT).until(() -> listener.events.size() == 2);
      assertThat(listener.keys()).containsExactly(p + "dir/a", p + "dir/b/c");
    }
  }

  @Test
  void rangeWatchSeesOnlyKeysInTheRange() {
    RecordingWatchListener listener = new RecordingWatchListener();
    KeyRange range = KeyRange.between(p + "b", p + "d");
    try (Watcher watcher = client.watch().watch(range, WatchOptions.DEFAULT, listener)) {
      await().atMost(WAIT).until(() -> watcher.nextRevision() > 0);
      for (String k : List.of("a", "b", "c", "d")) {
        kv.put(p + k, k);
      }
      await().atMost(WAIT).until(() -> listener.events.size() == 2);
      assertThat(listener.keys()).containsExactly(p + "b", p + "c");
    }
  }

  @Test
  void deliversPreviousValuesWhenAsked() {
    kv.put(p + "k", "before");
    RecordingWatchListener listener = new RecordingWatchListener();
    try (Watcher watcher =
        client
            .watch()
            .watch(KeyRange.key(p + "k"), WatchOptions.builder().prevKv(true).build(), listener)) {
      await().atMost(WAIT).until(() -> watcher.nextRevision() > 0);
      kv.put(p + "k", "after");
      kv.delete(p + "k");

      await().atMost(WAIT).until(() -> listener.events.size() == 2);
      assertThat(listener.events.get(0).prevKv()).map(KeyValue::valueUtf8).hasValue("before");
      assertThat(listener.events.get(1).prevKv()).map(KeyValue::valueUtf8).hasValue("after");
    }
  }

  @Test
  void filtersOutPutsOrDeletes() {
    RecordingWatchListener deletesOnly = new RecordingWatchListener();
    RecordingWatchListener putsOnly = new RecordingWatchListener();
    KeyRange range = KeyRange.prefix(p);
    try (Watcher a =
            client.watch().watch(range, WatchOptions.builder().noPut(true).build(), deletesOnly);
        Watcher b =
            client.watch().watch(range, WatchOptions.builder().noDelete(true).build(), putsOnly)) {
      await().atMost(WAIT).until(() -> a.nextRevision() > 0 && b.nextRevision() > 0);
      kv.put(p + "x", "1");
      kv.delete(p + "x");
      kv.put(p + "y", "2");

      await()
          .atMost(WAIT)
          .until(() -> deletesOnly.events.size() == 1 && putsOnly.events.size() == 2);
      assertThat(deletesOnly.describe()).containsExactly("DELETE " + p + "x");
      assertThat(putsOnly.describe()).containsExactly("PUT " + p + "x=1", "PUT " + p + "y=2");
    }
  }

  @Test
  void cancelledWatchDeliversNothingMore() {
    RecordingWatchListener cancelled = new RecordingWatchListener();
    RecordingWatchListener witness = new RecordingWatchListener();
    Watcher watcher = client.watch().watch(p + "k", cancelled);
    try (Watcher other = client.watch().watch(p + "k", witness)) {
      await().atMost(WAIT).until(() -> watcher.nextRevision() > 0 && other.nextRevision() > 0);
      kv.put(p + "k", "seen");
      await().atMost(WAIT).until(() -> cancelled.events.size() == 1);

      watcher.cancel();
      assertThat(watcher.isClosed()).isTrue();
      kv.put(p + "k", "not seen");
      kv.put(p + "k", "not seen either");

      await().atMost(WAIT).until(() -> witness.events.size() == 3);
      assertThat(cancelled.describe()).containsExactly("PUT " + p + "k=seen");
      assertThat(cancelled.errors).isEmpty();
    }
  }

  @Test
  void reportsProgressPeriodicallyAndOnRequest() {
    RecordingWatchListener periodic = new RecordingWatchListener();
    RecordingWatchListener onRequest = new RecordingWatchListener();
    long revision = kv.put(p + "k", "1").header().revision();
    try (Watcher a =
            client
                .watch()
                .watch(
                    KeyRange.key(p + "k"),
                    WatchOptions.builder().progressNotify(true).build(),
                    periodic);
        Watcher b = client.watch().watch(p + "k", onRequest)) {
      await().atMost(WAIT).until(() -> b.nextRevision() > 0);
      b.requestProgress();

      await()
          .atMost(WAIT)
          .until(() -> !periodic.progress.isEmpty() && !onRequest.progress.isEmpty());
      assertThat(periodic.progress.get(0)).isGreaterThanOrEqualTo(revision);
      assertThat(onRequest.progress.get(0)).isGreaterThanOrEqualTo(revision);
      assertThat(a.nextRevision()).isGreaterThan(revision);
    }
  }

  @Test
  void slowListenerStillGetsEveryEventOnceAndInOrder() {
    List<String> values = IntStream.range(0, 50).mapToObj(i -> "v" + i).toList();
    RecordingWatchListener recorder = new RecordingWatchListener();
    WatchListener slow =
        response -> {
          try {
            Thread.sleep(2);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          recorder.onNext(response);
        };
    try (Watcher watcher = client.watch().watch(p + "k", slow)) {
      await().atMost(WAIT).until(() -> watcher.nextRevision() > 0);
      values.forEach(v -> kv.put(p + "k", v));
      await().atMost(WAIT).until(() -> recorder.events.size() == values.size());
      assertThat(recorder.events)
          .extracting(e -> e.kv().valueUtf8())
          .containsExactlyElementsOf(values);
    }
  }

  @Test
  void closingTheClientEndsItsWatchesWithAnError() {
    RecordingWatchListener listener = new RecordingWatchListener();
    NuwaClient other = NuwaTestServer.newClient();
    Watcher watcher = other.watch().watch(p + "k", listener);
    await().atMost(WAIT).until(() -> watcher.nextRevision() > 0);

    other.close();

    await().atMost(WAIT).until(() -> listener.errors.size() == 1);
    assertThat(listener.errors.get(0).code()).isEqualTo(io.grpc.Status.Code.CANCELLED);
    assertThat(watcher.isClosed()).isTrue();
  }

}
