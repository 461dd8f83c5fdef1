package org.apsara.nuwa.server.mvcc;

import static org.apsara.nuwa.server.mvcc.Kv.bs;
import static org.apsara.nuwa.server.mvcc.Kv.delete;
import static org.apsara.nuwa.server.mvcc.Kv.kv;
import static org.apsara.nuwa.server.mvcc.Kv.op;
import static org.apsara.nuwa.server.mvcc.Kv.put;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.TxnRequest;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MvccStoreEventsTest {
  private final MvccStore store = new MvccStore();

  private List<Event> everything(long from, boolean prevKv) {
    return store.events(from, bs("\0"), bs("\0"), prevKv, 1000);
  }

  private static List<Long> revisions(List<Event> events) {
    return events.stream().map(e -> e.getKv().getModRevision()).toList();
  }

  @Test
  void putAndDeleteEventsCarryWhatEtcdSends() {
    store.put(put("a", "1")); // 2
    store.put(put("a", "2")); // 3
    store.deleteRange(delete("a")); // 4

    List<Event> events = everything(2, true);
    assertThat(events).hasSize(3);
    assertThat(events.get(0)).isEqualTo(Event.newBuilder().setType(Event.EventType.PUT)
        .setKv(kv("a", "1", 2, 2, 1, 0)).build());
    assertThat(events.get(1)).isEqualTo(Event.newBuilder().setType(Event.EventType.PUT)
        .setKv(kv("a", "2", 2, 3, 2, 0)).setPrevKv(kv("a", "1", 2, 2, 1, 0)).build());
    assertThat(events.get(2)).isEqualTo(Event.newBuilder().setType(Event.EventType.DELETE)
        .setKv(KeyValue.newBuilder().setKey(bs("a")).setModRevision(4))
        .setPrevKv(kv("a", "2", 2, 3, 2, 0)).build());
    assertThat(everything(2, false)).allMatch(e -> !e.hasPrevKv());
  }

  @Test
  void startsAtTheRequestedRevisionAndFiltersByKeyRange() {
    store.put(put("a", "1")); // 2
    store.put(put("b", "1")); // 3
    store.put(put("c", "1")); // 4
    store.put(put("b", "2")); // 5
    assertThat(revisions(everything(4, false))).containsExactly(4L, 5L);
    assertThat(revisions(store.events(0, bs("b"), bs(""), false, 100))).containsExactly(3L, 5L);
    assertThat(revisions(store.events(0, bs("a"), bs("c"), false, 100)))
        .containsExactly(2L, 3L, 5L);
    assertThat(everything(6, false)).as("nothing yet").isEmpty();
    assertThat(everything(60, false)).isEmpty();
  }

  @Test
  void batchesEndBetweenRevisions() {
    store.put(put("a", "1")); // 2
    store.txn(TxnRequest.newBuilder().addSuccess(op(put("b", "1"))).addSuccess(op(put("c", "1")))
        .build()); // 3
    store.put(put("d", "1")); // 4
    assertThat(revisions(store.events(0, bs("\0"), bs("\0"), false, 2))).containsExactly(2L);
    assertThat(revisions(store.events(0, bs("\0"), bs("\0"), false, 3)))
        .containsExactly(2L, 3L, 3L);
    assertThat(revisions(store.events(3, bs("\0"), bs("\0"), false, 2))).containsExactly(3L, 3L);
    assertThat(revisions(store.events(3, bs("\0"), bs("\0"), false, 3)))
        .containsExactly(3L, 3L, 4L);
  }

  @Test
  void aRevisionLargerThanTheBatchComesWhole() {
    TxnRequest.Builder big = TxnRequest.newBuilder();
    for (int i = 0; i < 5; i++) {
      big.addSuccess(op(put("k" + i, "v")));
    }
    store.txn(big.build()); // 2
    store.put(put("z", "1")); // 3
    assertThat(revisions(store.events(0, bs("\0"), bs("\0"), false, 2)))
        .containsExactly(2L, 2L, 2L, 2L, 2L);
    assertThat(store.events(0, bs("k1"), bs("k3"), false, 1)).hasSize(2);
  }

  @Test
  void listenerHearsEachRevisionAfterItIsVisible() {
    List<String> heard = new ArrayList<>();
    store.setChangeListener((revision, events) -> {
      assertThat(store.revision()).isEqualTo(revision);
      assertThat(everything(revision, false)).isEqualTo(events);
      heard.add(revision + ":" + events.size());
    });
    store.put(put("a", "1"));
    store.txn(TxnRequest.newBuilder().addSuccess(op(put("b", "1"))).addSuccess(op(delete("a")))
        .build());
    store.deleteRange(delete("nothing"));
    assertThat(heard).containsExactly("2:1", "3:2");
    store.setChangeListener(null);
    store.put(put("c", "1"));
    assertThat(heard).hasSize(2);
  }

  @Test
  void refusesAnEmptyBatchSize() {
    assertThatThrownBy(() -> store.events(0, bs("a"), bs(""), false, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
