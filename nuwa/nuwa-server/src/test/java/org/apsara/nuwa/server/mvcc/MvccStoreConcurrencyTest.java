package org.apsara.nuwa.server.mvcc;

import static org.apsara.nuwa.server.mvcc.Kv.all;
import static org.apsara.nuwa.server.mvcc.Kv.bs;
import static org.apsara.nuwa.server.mvcc.Kv.op;
import static org.apsara.nuwa.server.mvcc.Kv.put;
import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.TxnRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Readers racing the apply thread must see whole revisions: every revision below writes the
 * same value to all keys in one transaction, so any read that sees two values, or a revision
 * whose events are incomplete, has seen half a revision. Compactions run meanwhile, so reads of
 * old revisions either succeed consistently or fail as compacted.
 */
class MvccStoreConcurrencyTest {
  private static final int KEYS = 8;
  private static final int REVISIONS = 3000;
  private static final int READERS = 2;
  private static final int COMPACT_EVERY = 100;

  @Test
  void readersNeverSeeHalfARevision() throws InterruptedException {
    MvccStore store = new MvccStore();
    AtomicBoolean done = new AtomicBoolean();
    ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
    AtomicLong reads = new AtomicLong();
    AtomicLong compactedReads = new AtomicLong();

    List<Thread> readers = new ArrayList<>();
    for (int r = 0; r < READERS; r++) {
      Thread reader = new Thread(() -> {
        try {
          while (!done.get()) {
            checkCurrent(store);
            long revision = store.revision();
            try {
              checkAt(store, Math.max(2, revision - COMPACT_EVERY / 2));
              checkEvents(store, Math.max(2, revision - 3));
            } catch (StatusRuntimeException e) {
              if (e.getStatus().getCode() != Status.Code.OUT_OF_RANGE) {
                throw e;
              }
              compactedReads.incrementAndGet();
            }
            reads.incrementAndGet();
          }
        } catch (Throwable t) {
          failures.add(t);
        }
      }, "reader-" + r);
      readers.add(reader);
      reader.start();
    }

    for (int i = 1; i <= REVISIONS; i++) {
      TxnRequest.Builder txn = TxnRequest.newBuilder();
      for (int k = 0; k < KEYS; k++) {
        txn.addSuccess(op(put("k" + k, Integer.toString(i))));
      }
      store.txn(txn.build());
      if (i % COMPACT_EVERY == 0) {
        store.compact(CompactionRequest.newBuilder().setRevision(store.revision() - 10).build());
      }
    }
    done.set(true);
    for (Thread reader : readers) {
      reader.join();
    }
    assertThat(failures).isEmpty();
    assertThat(reads.get()).isPositive();
    assertThat(store.revision()).isEqualTo(REVISIONS + 1);
  }

  private static void checkCurrent(MvccStore store) {
    RangeResponse response = store.range(all().build());
    checkWhole(response, response.getHeader().getRevision());
  }

  private static void checkAt(MvccStore store, long revision) {
    RangeResponse response = store.range(all().setRevision(revision).build());
    checkWhole(response, revision);
  }

  private static void checkWhole(RangeResponse response, long revision) {
    if (revision < 2) {
      return;
    }
    assertThat(response.getCount()).isEqualTo(KEYS);
    for (KeyValue kv : response.getKvsList()) {
      assertThat(kv.getModRevision()).isEqualTo(revision);
      assertThat(kv.getValue()).isEqualTo(bs(Long.toString(revision - 1)));
    }
  }

  private static void checkEvents(MvccStore store, long from) {
    List<Event> events = store.events(from, bs("\0"), bs("\0"), true, KEYS * 2);
    assertThat(events.size() % KEYS).as("whole revisions only").isZero();
    for (Event event : events) {
      long revision = event.getKv().getModRevision();
      if (event.hasPrevKv()) {
        assertThat(event.getPrevKv().getModRevision()).isEqualTo(revision - 1);
      } else {
        // Only the first write has no previous version, and a compacted one is not shown.
        assertThat(revision == 2 || revision - 1 < store.compactRevision()).isTrue();
      }
    }
  }
}
