package org.apsara.nuwa.server.mvcc;

import static org.apsara.nuwa.server.mvcc.Kv.all;
import static org.apsara.nuwa.server.mvcc.Kv.bs;
import static org.apsara.nuwa.server.mvcc.Kv.delete;
import static org.apsara.nuwa.server.mvcc.Kv.get;
import static org.apsara.nuwa.server.mvcc.Kv.grant;
import static org.apsara.nuwa.server.mvcc.Kv.op;
import static org.apsara.nuwa.server.mvcc.Kv.put;
import static org.apsara.nuwa.server.mvcc.Kv.revoke;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.RangeRequest.SortOrder;
import io.etcd.jetcd.api.RangeRequest.SortTarget;
import io.etcd.jetcd.api.TxnRequest;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class MvccStoreSnapshotTest {
  /** A store with history, deletions, a transaction, leases and a compaction behind it. */
  static MvccStore populated() {
    MvccStore store = new MvccStore();
    store.leaseGrant(grant(7, 60));
    store.leaseGrant(grant(3, 10));
    store.put(put("a", "1")); // 2
    store.put(put("b", "1", 7)); // 3
    store.put(put("c", "1", 7)); // 4
    store.put(put("a", "2")); // 5
    store.deleteRange(delete("c")); // 6
    store.put(put("d", "1", 3)); // 7
    store.compact(CompactionRequest.newBuilder().setRevision(5).build());
    store.txn(TxnRequest.newBuilder()
        .addSuccess(op(put("e", "1")))
        .addSuccess(op(put("a", "3", 3)))
        .addSuccess(op(delete("d")))
        .build()); // 8
    store.put(put("b", "2", 7)); // 9
    store.leaseGrant(grant(11, 5));
    store.leaseRevoke(revoke(11));
    return store;
  }

  static byte[] snapshot(MvccStore store) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    store.writeSnapshot(out);
    return out.toByteArray();
  }

  static MvccStore read(byte[] bytes) throws IOException {
    return MvccStore.readSnapshot(new ByteArrayInputStream(bytes));
  }

  @Test
  void aSnapshotTakenNowIsWrittenAsOfNowWhateverIsAppliedMeanwhile() throws IOException {
    // Snapshots are captured on the apply thread and written by another while writes go on.
    MvccStore store = populated();
    byte[] expected = snapshot(store);
    MvccStore.Snapshot captured = store.snapshot();

    store.put(put("a", "4")); // a new version of a key below the history
    store.put(put("f", "1", 7)); // a new key, on a lease
    store.deleteRange(delete("b"));
    store.leaseGrant(grant(12, 30));
    store.leaseRevoke(revoke(3));
    for (int i = 0; i < 2000; i++) {
      store.put(put("g" + i, "x")); // enough revisions for the event log to grow its array
    }
    store.compact(CompactionRequest.newBuilder().setRevision(store.revision() - 1).build());

    ByteArrayOutputStream written = new ByteArrayOutputStream();
    captured.writeTo(written);
    assertThat(written.toByteArray()).isEqualTo(expected);
  }

  @Test
  void roundTripAnswersEverythingTheSame() throws IOException {
    MvccStore original = populated();
    byte[] bytes = snapshot(original);
    MvccStore copy = read(bytes);

    assertThat(copy.revision()).isEqualTo(original.revision()).isEqualTo(9);
    assertThat(copy.compactRevision()).isEqualTo(original.compactRevision()).isEqualTo(5);
    for (long revision = 5; revision <= 9; revision++) {
      var request = all().setRevision(revision).build();
      assertThat(copy.range(request)).isEqualTo(original.range(request));
    }
    var sorted = all().setSortTarget(SortTarget.MOD).setSortOrder(SortOrder.DESCEND).build();
    assertThat(copy.range(sorted)).isEqualTo(original.range(sorted));
    assertThat(copy.events(5, bs("\0"), bs("\0"), true, 100))
        .isEqualTo(original.events(5, bs("\0"), bs("\0"), true, 100))
        .hasSize(7);
    assertThat(copy.leaseIds()).isEqualTo(original.leaseIds()).containsExactly(3L, 7L);
    for (long id : original.leaseIds()) {
      assertThat(copy.lease(id)).isEqualTo(original.lease(id));
    }
    assertThat(copy.lease(3).orElseThrow().keys()).containsExactly(bs("a"));
    assertThat(copy.approximateBytes()).isEqualTo(original.approximateBytes());
    assertThat(snapshot(copy)).as("a store read back writes the same bytes").isEqualTo(bytes);
  }

  @Test
  void aStoreReadBackGoesOnExactlyAsTheOriginal() throws IOException {
    MvccStore original = populated();
    MvccStore copy = read(snapshot(original));
    for (MvccStore store : new MvccStore[] {original, copy}) {
      store.leaseRevoke(revoke(7));
      store.put(put("a", "4").toBuilder().setPrevKv(true).build());
      store.compact(CompactionRequest.newBuilder().setRevision(8).build());
    }
    assertThat(copy.range(all().build())).isEqualTo(original.range(all().build()));
    assertThat(copy.events(8, bs("\0"), bs("\0"), true, 100))
        .isEqualTo(original.events(8, bs("\0"), bs("\0"), true, 100));
    assertThat(snapshot(copy)).isEqualTo(snapshot(original));
  }

  @Test
  void anEmptyStoreRoundTrips() throws IOException {
    MvccStore copy = read(snapshot(new MvccStore()));
    assertThat(copy.revision()).isEqualTo(1);
    assertThat(copy.compactRevision()).isZero();
    assertThat(copy.range(all().build()).getCount()).isZero();
    copy.put(put("a", "1"));
    assertThat(copy.range(get("a")).getKvs(0).getModRevision()).isEqualTo(2);
  }

  @Test
  void readsExactlyItsOwnBytesFromALargerStream() throws IOException {
    MvccStore original = populated();
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(buffer);
    out.writeUTF("before");
    original.writeSnapshot(out);
    out.writeUTF("after");
    out.flush();

    DataInputStream in = new DataInputStream(
        new BufferedInputStream(new ByteArrayInputStream(buffer.toByteArray())));
    assertThat(in.readUTF()).isEqualTo("before");
    MvccStore copy = MvccStore.readSnapshot(in);
    assertThat(in.readUTF()).isEqualTo("after");
    assertThat(copy.revision()).isEqualTo(original.revision());
  }

  @Test
  void rejectsEveryFlippedByte() throws IOException {
    byte[] bytes = snapshot(populated());
    for (int i = 0; i < bytes.length; i++) {
      byte[] corrupt = bytes.clone();
      corrupt[i] ^= 0x10;
      int position = i;
      assertThatThrownBy(() -> read(corrupt))
          .as("flipped byte %d of %d", position, bytes.length)
          .isInstanceOf(IOException.class);
    }
  }

  @Test
  void rejectsEveryTruncation() throws IOException {
    byte[] bytes = snapshot(populated());
    for (int length = 0; length < bytes.length; length++) {
      byte[] truncated = Arrays.copyOf(bytes, length);
      int position = length;
      assertThatThrownBy(() -> read(truncated))
          .as("truncated to %d of %d bytes", position, bytes.length)
          .isInstanceOf(IOException.class);
    }
  }

  @Test
  void namesTheProblemWithAForeignOrNewerSnapshot() throws IOException {
    byte[] bytes = snapshot(populated());
    byte[] foreign = bytes.clone();
    foreign[0] = 'X';
    assertThatThrownBy(() -> read(foreign)).isInstanceOf(IOException.class)
        .hasMessageContaining("not an MVCC store snapshot");
    byte[] newer = bytes.clone();
    ByteBuffer.wrap(newer).putInt(8, 2);
    assertThatThrownBy(() -> read(newer)).isInstanceOf(IOException.class)
        .hasMessageContaining("unsupported MVCC snapshot format version 2");
    byte[] flipped = bytes.clone();
    flipped[bytes.length - 10] ^= 1;
    assertThatThrownBy(() -> read(flipped)).isInstanceOf(IOException.class)
        .hasMessageContaining("checksum mismatch");
    assertThatThrownBy(() -> read(Arrays.copyOf(bytes, bytes.length - 1)))
        .isInstanceOf(IOException.class).hasMessageContaining("truncated");
  }
}
