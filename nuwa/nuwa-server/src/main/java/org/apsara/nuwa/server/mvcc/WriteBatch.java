package org.apsara.nuwa.server.mvcc;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.DeleteRangeResponse;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.PutResponse;
import io.etcd.jetcd.api.ResponseHeader;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.apsara.nuwa.api.NuwaErrors;

/**
 * The writes of one revision, staged before any of them touches the store. Reads through the
 * batch see the committed state with the staged writes on top, as the operations of an etcd
 * transaction see their own earlier writes. If an operation fails, the batch is dropped and the
 * store is exactly as it was; {@link MvccStore} commits a batch only when every operation of the
 * request has succeeded.
 *
 * <p>Used on the apply thread only.
 */
final class WriteBatch implements KvReader {
  private final KeyIndex index;
  private final LeaseTable leases;
  private final long beginRevision;
  private final KvReader committed;
  /** The newest staged version of each written key, tombstones included. */
  private final TreeMap<ByteString, KeyValue> staged = new TreeMap<>(KeyRange.KEY_ORDER);
  /** Every staged version in sub-revision order. */
  private final List<KeyValue> changes = new ArrayList<>();

  WriteBatch(KeyIndex index, LeaseTable leases, long beginRevision) {
    this.index = index;
    this.leases = leases;
    this.beginRevision = beginRevision;
    this.committed = index.at(beginRevision);
  }

  long beginRevision() {
    return beginRevision;
  }

  /** The revision every write of this batch gets. */
  long newRevision() {
    return beginRevision + 1;
  }

  /** The revision a read inside the batch reports, as etcd's write transaction reports it. */
  long currentRevision() {
    return changes.isEmpty() ? beginRevision : beginRevision + 1;
  }

  boolean hasChanges() {
    return !changes.isEmpty();
  }

  KeyValue[] changes() {
    return changes.toArray(new KeyValue[0]);
  }

  @Override
  public KeyValue get(ByteString key) {
    KeyValue kv = staged.get(key);
    if (kv != null) {
      return KeyIndex.live(kv);
    }
    return committed.get(key);
  }

  @Override
  public void scan(KeyRange range, Predicate<KeyValue> visitor) {
    if (staged.isEmpty()) {
      committed.scan(range, visitor);
      return;
    }
    if (range.isSingleKey()) {
      KeyValue kv = get(range.begin());
      if (kv != null) {
        visitor.test(kv);
      }
      return;
    }
    MergedScan merged = new MergedScan(range.slice(staged).values().iterator(), visitor);
    committed.scan(range, merged);
    merged.finish();
  }

  /** Executes a put (etcd's {@code applierV3backend.Put} inside a write transaction). */
  PutResponse put(PutRequest request) {
    KeyValue previous = get(request.getKey());
    if ((request.getIgnoreValue() || request.getIgnoreLease()) && previous == null) {
      throw NuwaErrors.KEY_NOT_FOUND.asRuntimeException();
    }
    ByteString value = request.getIgnoreValue() ? previous.getValue() : request.getValue();
    long lease = request.getIgnoreLease() ? previous.getLease() : request.getLease();
    if (lease != LeaseTable.NO_LEASE && !leases.contains(lease)) {
      throw NuwaErrors.LEASE_NOT_FOUND.asRuntimeException();
    }
    long revision = newRevision();
    KeyValue kv = KeyValue.newBuilder()
        .setKey(canonicalKey(request.getKey()))
        .setValue(value)
        .setCreateRevision(previous == null ? revision : previous.getCreateRevision())
        .setModRevision(revision)
        .setVersion(previous == null ? 1 : previous.getVersion() + 1)
        .setLease(lease)
        .build();
    stage(kv);
    PutResponse.Builder response = PutResponse.newBuilder().setHeader(header(revision));
    if (request.getPrevKv() && previous != null) {
      response.setPrevKv(previous);
    }
    return response.build();
  }

  /** Executes a delete (etcd's {@code applierV3backend.DeleteRange} inside a write transaction). */
  DeleteRangeResponse deleteRange(DeleteRangeRequest request) {
    List<KeyValue> deleted = delete(KeyRange.of(request.getKey(), request.getRangeEnd()));
    DeleteRangeResponse.Builder response = DeleteRangeResponse.newBuilder()
        .setHeader(header(currentRevision()))
        .setDeleted(deleted.size());
    if (request.getPrevKv()) {
      response.addAllPrevKvs(deleted);
    }
    return response.build();
  }

  /** Deletes the live keys in {@code range}; returns their versions before the deletion. */
  List<KeyValue> delete(KeyRange range) {
    List<KeyValue> live = new ArrayList<>();
    scan(range, kv -> live.add(kv));
    long revision = newRevision();
    for (KeyValue kv : live) {
      // etcd's tombstone: the key and the deletion revision, nothing else.
      stage(KeyValue.newBuilder().setKey(kv.getKey()).setModRevision(revision).build());
    }
    return live;
  }

  static ResponseHeader header(long revision) {
    return ResponseHeader.newBuilder().setRevision(revision).build();
  }

  private ByteString canonicalKey(ByteString key) {
    KeyValue kv = staged.get(key);
    return kv != null ? kv.getKey() : index.canonicalKey(key);
  }

  private void stage(KeyValue kv) {
    staged.put(kv.getKey(), kv);
    changes.add(kv);
  }

  /**
   * Merges a scan of the committed keys with the staged versions of the same range: a staged
   * version replaces the committed one of its key, and a staged tombstone hides it.
   */
  private static final class MergedScan implements Predicate<KeyValue> {
    private final Iterator<KeyValue> staged;
    private final Predicate<KeyValue> visitor;
    private KeyValue nextStaged;
    private boolean stopped;

    MergedScan(Iterator<KeyValue> staged, Predicate<KeyValue> visitor) {
      this.staged = staged;
      this.visitor = visitor;
      this.nextStaged = staged.hasNext() ? staged.next() : null;
    }

    @Override
    public boolean test(KeyValue committedKv) {
      while (nextStaged != null
          && KeyRange.KEY_ORDER.compare(nextStaged.getKey(), committedKv.getKey()) < 0) {
        if (!emitStaged()) {
          return false;
        }
      }
      if (nextStaged != null && nextStaged.getKey().equals(committedKv.getKey())) {
        return emitStaged();
      }
      return emit(committedKv);
    }

    void finish() {
      while (!stopped && nextStaged != null) {
        emitStaged();
      }
    }

    private boolean emitStaged() {
      KeyValue kv = nextStaged;
      nextStaged = staged.hasNext() ? staged.next() : null;
      return KeyHistory.isTombstone(kv) || emit(kv);
    }

    private boolean emit(KeyValue kv) {
      if (!visitor.test(kv)) {
        stopped = true;
        return false;
      }
      return true;
    }
  }
}
