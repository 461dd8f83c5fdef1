package org.apsara.nuwa.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.apsara.nuwa.client.testing.EtcdClientExtension;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * Compaction discards the history of the whole shared store, which tests reading or watching from a
 * past revision rely on; so these run while no other test does.
 */
@Isolated
class CompactionTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  @RegisterExtension
  static final EtcdClientExtension etcd = new EtcdClientExtension("compaction");

  private NuwaClient client;
  private KvClient kv;
  private String p;

  @BeforeEach
  void connect() {
    client = etcd.client();
    kv = client.kv();
    p = etcd.prefix();
  }

  @Test
  void compactedRevisionsCannotBeRead() {
    long old = kv.put(p + "k", "1").header().revision();
    long current = kv.put(p + "k", "2").header().revision();

    kv.compact(current);

    assertThatThrownBy(
            () -> kv.get(KeyRange.key(p + "k"), GetOptions.builder().revision(old).build()))
        .isInstanceOf(CompactedException.class)
        .hasMessage("etcdserver: mvcc: required revision has been compacted");
    assertThat(kv.get(p + "k").first().orElseThrow().valueUtf8()).isEqualTo("2");
    assertThatThrownBy(() -> kv.compact(current)).isInstanceOf(CompactedException.class);
  }

  @Test
  void watchFromACompactedRevisionEndsWithTheCompactRevision() {
    long first = kv.put(p + "k", "1").header().revision();
    long compactAt = kv.put(p + "k", "2").header().revision();
    kv.compact(compactAt);
    RecordingWatchListener listener = new RecordingWatchListener();

    Watcher watcher =
        client
            .watch()
            .watch(
                KeyRange.key(p + "k"),
                WatchOptions.builder().startRevision(first).build(),
                listener);

    await().atMost(WAIT).until(() -> listener.errors.size() == 1);
    assertThat(listener.errors.get(0))
        .isInstanceOfSatisfying(
            CompactedException.class, e -> assertThat(e.compactRevision()).hasValue(compactAt));
    assertThat(listener.events).isEmpty();
    assertThat(watcher.isClosed()).isTrue();
  }
}
