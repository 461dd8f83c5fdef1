package org.apsara.nuwa.server.mvcc;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.CompactionResponse;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.DeleteRangeResponse;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseGrantResponse;
import io.etcd.jetcd.api.LeaseRevokeRequest;
import io.etcd.jetcd.api.LeaseRevokeResponse;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.PutResponse;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.TxnResponse;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.api.NuwaLimits;

/**
 * Nuwa's replicated state: an in-memory multi-version key-value store with leases, behaving as
 * etcd v3.5's {@code mvcc} store and applier do.
 *
 * <h2>Threads</h2>
 *
 * The write methods ({@link #put}, {@link #deleteRange}, {@link #txn}, {@link #compact},
 * {@link #leaseGrant}, {@link #leaseRevoke}) and the snapshot methods must be called by one
 * thread at a time, normally the Raft apply thread. The read methods ({@link #revision},
 * {@link #compactRevision}, {@link #range}, {@link #events}, {@link #lease}, {@link #leaseIds},
 * {@link #approximateBytes}) may be called from any thread, concurrently with writes, and never
 * block them: a write is staged completely and then published by advancing the revision, and a
 * read works at the revision it saw when it started, so it sees every change of a revision or
 * none. A compaction that overtakes a read of an explicit older revision makes the read fail
 * with {@link NuwaErrors#COMPACTED}, exactly as if it had come later; a read of the current
 * revision starts over at the newer current revision instead. Lease views ({@link #lease},
 * {@link #leaseIds}) are current but not tied to a revision.
 *
 * <h2>Determinism</h2>
 *
 * The same sequence of write calls gives the same revisions, responses, events and snapshot
 * bytes on every member: there is no clock, no randomness and no hash-ordered iteration.
 *
 * <h2>Errors</h2>
 *
 * Every method reports a bad request with a {@link StatusRuntimeException} carrying one of
 * {@link NuwaErrors}, and a failed write leaves the store unchanged.
 */
public final class MvccStore {
  /** The revision of an empty store, as in etcd. */
  public static final long INITIAL_REVISION = 1;

  /** Hears of each committed revision. */
  @FunctionalInterface
  public interface ChangeListener {
    /**
     * Called on the apply thread after {@code revision} is committed and visible to readers,
     * with its events in sub-revision order (without {@code prev_kv}; read them with
     * {@link MvccStore#events} when needed). Must be quick and must not throw: the store is
     * already changed, and an exception reaches the caller of the write method.
     */
    void onChange(long revision, List<Event> events);
  }

  /** A granted lease and the keys attached to it, in key order. */
  public record LeaseInfo(long id, long grantedTtlSeconds, List<ByteString> keys) {
    public LeaseInfo {
      keys = List.copyOf(keys);
    }
  }

  private static final KeyValue[] NO_CHANGES = {};
  /**
   * Times a read of the current revision starts over after a compaction overtook it. Each
   * retry reads a revision at or above that compaction, so a second attempt normally succeeds.
   */
  private static final int MAX_CURRENT_READ_ATTEMPTS = 8;

  private final KeyIndex index;
  private final LeaseTable leases;
  private volatile EventLog eventLog;
  private volatile long currentRevision;
  private volatile long compactRevision;
  private volatile ChangeListener listener;

  /** An empty store at revision {@value #INITIAL_REVISION}; its compact revision is 0. */
  public MvccStore() {
    this(new KeyIndex(), new LeaseTable(), new EventLog(EventLog.FIRST_WRITE_REVISION),
        INITIAL_REVISION, 0);
  }

  MvccStore(KeyIndex index, LeaseTable leases, EventLog eventLog, long revision,
      long compactRevision) {
    this.index = index;
    this.leases = leases;
    this.eventLog = eventLog;
    this.currentRevision = revision;
    this.compactRevision = compactRevision;
  }

  // ---------------------------------------------------------------- reads (any thread)

  /** The latest committed revision. */
  public long revision() {
    return currentRevision;
  }

  /** The revision of the last compaction; 0 if the store was never compacted. */
  public long compactRevision() {
    return compactRevision;
  }

  /**
   * Answers a range request at its revision (0: the current one). The response header carries
   * only the current revision; the server fills in the rest.
   *
   * @throws StatusRuntimeException {@link NuwaErrors#FUTURE_REVISION} or
   *     {@link NuwaErrors#COMPACTED} for a revision that cannot be read, or a validation error
   */
  public RangeResponse range(RangeRequest request) {
    RequestValidator.validateRange(request);
    for (int attempt = 1; ; attempt++) {
      long current = currentRevision;
      long revision = request.getRevision() == 0 ? current : request.getRevision();
      if (revision > current) {
        throw NuwaErrors.FUTURE_REVISION.asRuntimeException();
      }
      if (revision >= compactRevision) {
        RangeResponse response = RangeEvaluator.evaluate(index.at(revision), request, current);
        if (revision >= compactRevision) {
          return response;
        }
      }
      // A compaction ran before or during this read and may have dropped versions it needs. A
      // read of an explicit revision has lost it; a read of the current one tries a newer
      // current one (a reader stalled between taking the current revision and checking it can
      // find that revision compacted meanwhile).
      if (request.getRevision() != 0 || attempt == MAX_CURRENT_READ_ATTEMPTS) {
        throw NuwaErrors.COMPACTED.asRuntimeException();
      }
    }
  }

  /**
   * The events of the keys in [{@code key}, {@code rangeEnd}) (named as in a range request)
   * with mod revision at least {@code fromRevision}, in (revision, sub-revision) order. A batch
   * ends before the first revision that would take it past {@code maxEvents}, so the events
   * of one revision are never split: if the first revision alone has more than
   * {@code maxEvents} matching events, the batch is that whole revision (a caller that must
   * bound a message splits it). The next batch starts at the last event's revision + 1; an
   * empty batch means there are no events up to {@link #revision()}.
   *
   * <p>A DELETE event's key-value holds the key and the deletion revision. {@code prev_kv} is
   * the key's version just before the event's revision, when that revision is still readable.
   *
   * @throws StatusRuntimeException {@link NuwaErrors#COMPACTED} if {@code fromRevision} is
   *     below {@link #compactRevision()}
   */
  public List<Event> events(long fromRevision, ByteString key, ByteString rangeEnd,
      boolean withPrevKv, int maxEvents) {
    if (maxEvents <= 0) {
      throw new IllegalArgumentException("maxEvents must be positive: " + maxEvents);
    }
    checkNotCompacted(fromRevision);
    long compacted = compactRevision;
    long current = currentRevision;
    EventLog log = eventLog;
    KeyRange range = KeyRange.of(key, rangeEnd);
    List<Event> batch = new ArrayList<>();
    List<Event> matching = new ArrayList<>();
    for (long r = Math.max(fromRevision, log.firstRevision()); r <= current; r++) {
      KeyValue[] changes = log.changesAt(r);
      if (changes == null) {
        break; // compacted meanwhile; reported below
      }
      matching.clear();
      for (KeyValue kv : changes) {
        if (range.contains(kv.getKey())) {
          matching.add(toEvent(kv, withPrevKv ? previousVersion(kv, compacted) : null));
        }
      }
      if (matching.isEmpty()) {
        continue;
      }
      if (!batch.isEmpty() && batch.size() + matching.size() > maxEvents) {
        break;
      }
      batch.addAll(matching);
      if (batch.size() >= maxEvents) {
        break;
      }
    }
    checkNotCompacted(fromRevision);
    return batch;
  }

  /** The lease with this ID, if granted and not revoked. */
  public Optional<LeaseInfo> lease(long leaseId) {
    LeaseTable.Lease lease = leases.get(leaseId);
    if (lease == null) {
      return Optional.empty();
    }
    return Optional.of(new LeaseInfo(lease.id, lease.ttlSeconds, new ArrayList<>(lease.keys)));
  }

  /**
   * Roughly how many bytes of heap the store takes: its versions (keys, values and per-version
   * overhead, history included) and its leases; what the server reports as etcd's database size,
   * and what the quota limits.
   */
  public long approximateBytes() {
    return index.approximateBytes() + leases.count() * QuotaCost.LEASE_BYTES;
  }

  /** The IDs of all granted leases, ascending. */
  public List<Long> leaseIds() {
    return leases.ids();
  }

  // ---------------------------------------------------------------- writes (apply thread)

  /**
   * Puts a key (etcd's Put). The new version gets the next revision; {@code lease} must be
   * granted; {@code ignore_value} and {@code ignore_lease} keep those of the existing key,
   * which must exist.
   */
  public PutResponse put(PutRequest request) {
    RequestValidator.validatePut(request);
    if (request.getLease() != LeaseTable.NO_LEASE && !leases.contains(request.getLease())) {
      throw NuwaErrors.LEASE_NOT_FOUND.asRuntimeException();
    }
    WriteBatch batch = newBatch();
    PutResponse response = batch.put(request);
    notifyListener(commit(batch));
    return response;
  }

  /**
   * Deletes the keys in a range (etcd's DeleteRange). The revision advances only if something
   * was deleted.
   */
  public DeleteRangeResponse deleteRange(DeleteRangeRequest request) {
    RequestValidator.validateDeleteRange(request);
    WriteBatch batch = newBatch();
    DeleteRangeResponse response = batch.deleteRange(request);
    notifyListener(commit(batch));
    return response;
  }

  /**
   * Runs a transaction (etcd's Txn): all its writes share one new revision, with sub-revisions
   * in operation order; a transaction that writes nothing leaves the revision as it is. Every
   * check that can fail is made before anything is written, so a failed transaction changes
   * nothing. See {@link TxnExecutor} for the order of evaluation.
   */
  public TxnResponse txn(TxnRequest request) {
    RequestValidator.validateTxn(request);
    long begin = currentRevision;
    KvReader before = index.at(begin);
    TxnExecutor.Plan plan = TxnExecutor.plan(request, before);
    TxnExecutor.checkPuts(request, plan, before, leases);
    TxnExecutor.checkRanges(request, plan, begin, compactRevision);
    WriteBatch batch = newBatch();
    TxnResponse.Builder response = TxnExecutor.execute(request, plan, batch, index);
    response.setHeader(WriteBatch.header(batch.currentRevision()));
    notifyListener(commit(batch));
    return response.build();
  }

  /**
   * Compacts the history at a revision (etcd's Compact): every key keeps its newest version at
   * or before the revision unless that is a deletion, and the versions and events before the
   * revision are dropped. Reads and watches from the revision on still work.
   *
   * @throws StatusRuntimeException {@link NuwaErrors#COMPACTED} if the revision is not above the
   *     last compaction, {@link NuwaErrors#FUTURE_REVISION} if it is above the current revision
   */
  public CompactionResponse compact(CompactionRequest request) {
    RequestValidator.validateCompaction(request);
    long revision = request.getRevision();
    if (revision <= compactRevision) {
      throw NuwaErrors.COMPACTED.asRuntimeException();
    }
    if (revision > currentRevision) {
      throw NuwaErrors.FUTURE_REVISION.asRuntimeException();
    }
    // Published before anything is dropped: a reader that then finds data missing also finds
    // the new compact revision when it checks after reading.
    compactRevision = revision;
    eventLog = eventLog.compactedAt(revision);
    index.compact(revision);
    return CompactionResponse.newBuilder().setHeader(WriteBatch.header(currentRevision)).build();
  }

  /**
   * Grants a lease (etcd's LeaseGrant) with the ID the proposing member chose. A TTL below
   * {@link NuwaLimits#MIN_LEASE_TTL_SECONDS} is raised to it, as etcd raises it; the response
   * carries the TTL granted.
   *
   * @throws StatusRuntimeException {@link NuwaErrors#LEASE_EXISTS} if the ID is taken,
   *     {@link NuwaErrors#LEASE_TTL_TOO_LARGE} for a TTL over the maximum, and
   *     {@link NuwaErrors#LEASE_NOT_FOUND} for ID 0, as etcd's lessor answers it
   */
  public LeaseGrantResponse leaseGrant(LeaseGrantRequest request) {
    RequestValidator.validateLeaseGrant(request);
    long id = request.getID();
    if (id == LeaseTable.NO_LEASE) {
      throw NuwaErrors.LEASE_NOT_FOUND.asRuntimeException();
    }
    if (leases.contains(id)) {
      throw NuwaErrors.LEASE_EXISTS.asRuntimeException();
    }
    long ttl = Math.max(request.getTTL(), NuwaLimits.MIN_LEASE_TTL_SECONDS);
    leases.grant(id, ttl);
    return LeaseGrantResponse.newBuilder()
        .setHeader(WriteBatch.header(currentRevision))
        .setID(id)
        .setTTL(ttl)
        .build();
  }

  /**
   * Revokes a lease (etcd's LeaseRevoke): its keys are deleted, in key order, all in one new
   * revision (none if it had no keys), and then the lease is gone.
   *
   * @throws StatusRuntimeException {@link NuwaErrors#LEASE_NOT_FOUND} for an unknown lease
   */
  public LeaseRevokeResponse leaseRevoke(LeaseRevokeRequest request) {
    LeaseTable.Lease lease = leases.get(request.getID());
    if (lease == null) {
      throw NuwaErrors.LEASE_NOT_FOUND.asRuntimeException();
    }
    WriteBatch batch = newBatch();
    for (ByteString key : new ArrayList<>(lease.keys)) {
      if (batch.delete(KeyRange.single(key)).size() != 1) {
        throw new IllegalStateException("lease " + lease.id + " holds a key that does not exist");
      }
    }
    KeyValue[] changes = commit(batch);
    leases.remove(lease.id);
    notifyListener(changes);
    return LeaseRevokeResponse.newBuilder().setHeader(WriteBatch.header(currentRevision)).build();
  }

  /** Sets the one listener told of each committed revision; {@code null} removes it. */
  public void setChangeListener(ChangeListener listener) {
    this.listener = listener;
  }

  // ---------------------------------------------------------------- snapshots (apply thread)

  /**
   * Writes the whole state (revisions, leases, the history since the last compaction) in the
   * format of {@link SnapshotFormat}: a magic number, a format version and a CRC32C checksum.
   * Writes nothing after its last byte and leaves {@code out} open; the same state always
   * gives the same bytes.
   */
  public void writeSnapshot(OutputStream out) throws IOException {
    snapshot().writeTo(out);
  }

  /** A store's state as of one revision; immutable, written by any thread. */
  public interface Snapshot {
    /** Writes it as {@link #writeSnapshot} does; the same state always gives the same bytes. */
    void writeTo(OutputStream out) throws IOException;
  }

  /**
   * The state as of now, for another thread to write while this store goes on applying writes,
   * so that a snapshot of a large store does not hold up the log. Costs a walk over every key
   * (to find the versions older than the retained history), not a copy of the values.
   */
  public Snapshot snapshot() {
    return SnapshotFormat.capture(currentRevision, compactRevision, leases, index, eventLog);
  }

  /**
   * Reads a store written by {@link #writeSnapshot}, consuming exactly its bytes and leaving
   * {@code in} open (so pass a buffered stream). The store has no listener.
   *
   * @throws IOException if the snapshot is truncated, corrupt or of an unknown format version
   */
  public static MvccStore readSnapshot(InputStream in) throws IOException {
    return SnapshotFormat.read(in);
  }

  // ---------------------------------------------------------------- internals

  private WriteBatch newBatch() {
    return new WriteBatch(index, leases, currentRevision);
  }

  /** Applies a batch's changes and publishes its revision; returns the changes. */
  private KeyValue[] commit(WriteBatch batch) {
    if (!batch.hasChanges()) {
      return NO_CHANGES;
    }
    if (batch.beginRevision() != currentRevision) {
      throw new IllegalStateException("batch begun at revision " + batch.beginRevision()
          + " committed at revision " + currentRevision);
    }
    long revision = batch.newRevision();
    KeyValue[] changes = batch.changes();
    for (KeyValue kv : changes) {
      KeyValue before = index.append(kv);
      leases.onKeyChanged(kv.getKey(), before, kv);
    }
    eventLog.append(revision, changes);
    currentRevision = revision;
    return changes;
  }

  private void notifyListener(KeyValue[] changes) {
    ChangeListener current = listener;
    if (current == null || changes.length == 0) {
      return;
    }
    List<Event> events = new ArrayList<>(changes.length);
    for (KeyValue kv : changes) {
      events.add(toEvent(kv, null));
    }
    current.onChange(changes[0].getModRevision(), Collections.unmodifiableList(events));
  }

  private void checkNotCompacted(long revision) {
    if (revision < compactRevision) {
      throw NuwaErrors.COMPACTED.asRuntimeException();
    }
  }

  /** The live version of the event's key just before the event, if still readable. */
  private KeyValue previousVersion(KeyValue kv, long compacted) {
    long before = kv.getModRevision() - 1;
    if (before < compacted) {
      return null;
    }
    KeyHistory history = index.history(kv.getKey());
    return history == null ? null : KeyIndex.live(history.at(before));
  }

  private static Event toEvent(KeyValue kv, KeyValue previous) {
    Event.Builder event = Event.newBuilder()
        .setType(KeyHistory.isTombstone(kv) ? Event.EventType.DELETE : Event.EventType.PUT)
        .setKv(kv);
    if (previous != null) {
      event.setPrevKv(previous);
    }
    return event.build();
  }
}
