package org.apsara.nuwa.server.raft;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import io.etcd.jetcd.api.AlarmMember;
import io.etcd.jetcd.api.AlarmRequest;
import io.etcd.jetcd.api.AlarmResponse;
import io.etcd.jetcd.api.AlarmType;
import io.etcd.jetcd.api.LeaseKeepAliveResponse;
import io.etcd.jetcd.api.LeaseRevokeRequest;
import io.etcd.jetcd.api.LeaseTimeToLiveResponse;
import io.etcd.jetcd.api.ResponseHeader;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;
import org.apsara.common.time.MonotonicClock;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.api.proto.LeaseLeasesResponse;
import org.apsara.nuwa.api.proto.LeaseStatus;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import java.util.List;
import org.apsara.nuwa.server.auth.AuthState;
import org.apsara.nuwa.server.auth.AuthStore;
import org.apsara.nuwa.server.auth.proto.AuthStatusResponse;
import org.apsara.nuwa.server.lease.LeaseTimers;
import org.apsara.nuwa.server.raft.proto.AuthStamp;
import org.apsara.nuwa.server.mvcc.MvccStore;
import org.apsara.nuwa.server.mvcc.QuotaCost;
import org.apsara.nuwa.server.mvcc.RequestValidator;
import org.apsara.nuwa.server.raft.proto.Empty;
import org.apsara.nuwa.server.raft.proto.Error;
import org.apsara.nuwa.server.raft.proto.LogRecord;
import org.apsara.nuwa.server.raft.proto.MemberAttributes;
import org.apsara.nuwa.server.raft.proto.Query;
import org.apsara.nuwa.server.raft.proto.Reply;
import org.apsara.nuwa.server.raft.proto.ReplyBatch;
import org.apsara.raft.SnapshotCleanupGate;
import org.apsara.raft.SnapshotRetry;
import org.apsara.raft.TornWriteRepair;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Nuwa's replicated state machine: the MVCC key-value store, its leases, the authentication
 * state and the members' published attributes, built by applying {@link LogRecord}s in log order.
 *
 * <p>Ratis calls {@link #applyTransaction} and {@link #takeSnapshot} from one thread, in log
 * order; queries run concurrently on other threads and only read. Applying a record is
 * deterministic: the same records give the same state and replies on every member. Lease
 * deadlines are the one piece of soft state: they matter only on the leader, which resets them
 * to a full TTL when it takes office, so that a leader change never expires a lease early.
 */
public final class NuwaStateMachine extends BaseStateMachine {
  private static final Logger LOG = LoggerFactory.getLogger(NuwaStateMachine.class);
  private static final long SNAPSHOT_MAGIC = 0x4e55574153_4e4150L; // "NUWASNAP"
  /**
   * Snapshot format: 1 held the members' attributes and the store; 2 adds the authentication
   * state between them; 3 adds the raised alarms after the authentication state. Older
   * snapshots still load, with no authentication state (1) and no alarms (1 and 2).
   */
  private static final int SNAPSHOT_VERSION = 3;
  private static final int SNAPSHOT_VERSION_WITHOUT_ALARMS = 2;
  private static final int SNAPSHOT_VERSION_WITHOUT_AUTH = 1;
  /** Alarms in a stable order: by member, then by type. */
  private static final Comparator<AlarmMember> ALARM_ORDER =
      Comparator.comparingLong(AlarmMember::getMemberID).thenComparingInt(AlarmMember::getAlarmValue);
  /** Bound on the alarms a snapshot lists, far above members times types: a corrupt count fails. */
  private static final int MAX_SNAPSHOT_ALARMS = 1024;
  /** Suffix of a snapshot file being written; Ratis's names never end in it. */
  private static final String TMP_SUFFIX = ".tmp";
  /** How long closing waits for a snapshot being written; a gigabyte takes about ten seconds. */
  private static final Duration SNAPSHOT_WRITE_WAIT = Duration.ofMinutes(2);
  /** What {@link #takeSnapshot} returns when there is nothing to snapshot (Ratis's invalid index). */
  private static final long NO_SNAPSHOT = -1;
  private static final Reply READ_BARRIER_REPLY =
      Reply.newBuilder().setEmpty(Empty.getDefaultInstance()).build();

  private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage() {
    private final SnapshotCleanupGate cleanupGate = new SnapshotCleanupGate();

    @Override
    public void cleanupOldSnapshots(SnapshotRetentionPolicy policy) throws IOException {
      if (cleanupGate.due(getLatestSnapshot())) {
        super.cleanupOldSnapshots(policy);
      }
    }
  };
  /** See {@link #getLatestSnapshot}; null until the first snapshot is taken or loaded. */
  private volatile SingleFileSnapshotInfo latestSnapshot;
  /** Writes snapshots, so that the apply thread does not wait for them. */
  private final ExecutorService snapshotWriter = Executors.newSingleThreadExecutor(r -> {
    Thread thread = new Thread(r, "nuwa-snapshot-writer");
    thread.setDaemon(true);
    return thread;
  });
  /**
   * The snapshot being written, or written and not yet reported to Ratis. Set on the apply
   * thread; {@link #close} reads it from another.
   */
  private volatile CompletableFuture<SingleFileSnapshotInfo> snapshotWrite;
  private final SnapshotRetry snapshotRetry = new SnapshotRetry();
  private final AtomicLong snapshotsTaken = new AtomicLong();
  private final AtomicLong snapshotsFailed = new AtomicLong();
  private final LeaseTimers leaseTimers;
  private final CopyOnWriteArrayList<MvccStore.ChangeListener> changeListeners =
      new CopyOnWriteArrayList<>();
  private final Map<String, MemberAttributes> memberAttributes = new ConcurrentHashMap<>();
  private final AuthStore auth = new AuthStore();
  /** Raised alarms; replicated, so that every member refuses the same writes while one is. */
  private final Set<AlarmMember> alarms = ConcurrentHashMap.newKeySet();
  /** Whether {@link #alarms} holds a NOSPACE; kept beside it for the check on every record. */
  private volatile boolean noSpace;
  private volatile MvccStore store = newStore();
  private volatile boolean leader;
  /** Completes when this member is next the ready leader; guarded by {@code leaseTimers}. */
  private CompletableFuture<Void> nextLeadership = new CompletableFuture<>();

  public NuwaStateMachine(MonotonicClock clock) {
    this.leaseTimers = new LeaseTimers(clock);
  }

  /** The store as of the last applied record; readers may use it from any thread. */
  public MvccStore store() {
    return store;
  }

  /** The replicated authentication state; readers may use it from any thread. */
  public AuthStore auth() {
    return auth;
  }

  /** Registers a listener called on the apply thread after each revision is committed. */
  public void addChangeListener(MvccStore.ChangeListener listener) {
    changeListeners.add(listener);
  }

  public void removeChangeListener(MvccStore.ChangeListener listener) {
    changeListeners.remove(listener);
  }

  /** The raised alarms, by member, then by type; readers may call it from any thread. */
  public List<AlarmMember> alarms() {
    List<AlarmMember> raised = new ArrayList<>(alarms);
    raised.sort(ALARM_ORDER);
    return raised;
  }

  /** Whether a member raised NOSPACE: writes that add data are refused until it is cleared. */
  public boolean noSpace() {
    return noSpace;
  }

  /** Recomputes {@link #noSpace} after {@link #alarms} changed; apply thread only. */
  private void alarmsChanged() {
    noSpace = alarms.stream().anyMatch(alarm -> alarm.getAlarm() == AlarmType.NOSPACE);
  }

  /** Attributes published by each member, keyed by member name. */
  public Map<String, MemberAttributes> memberAttributes() {
    return new TreeMap<>(memberAttributes);
  }

  /** The group's cluster ID, once a founding member has published it. */
  public OptionalLong clusterId() {
    for (MemberAttributes attributes : memberAttributes.values()) {
      if (attributes.getClusterId() != 0) {
        return OptionalLong.of(attributes.getClusterId());
      }
    }
    return OptionalLong.empty();
  }

  /** True while this member is the leader and has committed an entry of its term. */
  public boolean isLeaderReady() {
    return leader;
  }

  /**
   * Completes once this member is the ready leader: at once if it is, else when it next becomes
   * one (never, if another member wins; callers bound the wait).
   */
  public CompletableFuture<Void> whenLeaderReady() {
    synchronized (leaseTimers) {
      return leader ? CompletableFuture.completedFuture(null) : nextLeadership;
    }
  }

  private MvccStore newStore() {
    MvccStore created = new MvccStore();
    created.setChangeListener(this::fireChange);
    return created;
  }

  private void fireChange(long revision, java.util.List<io.etcd.jetcd.api.Event> events) {
    for (MvccStore.ChangeListener listener : changeListeners) {
      try {
        listener.onChange(revision, events);
      } catch (RuntimeException e) {
        LOG.warn("change listener failed", e);
      }
    }
  }

  // ---------------------------------------------------------------- lifecycle and snapshots

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage)
      throws IOException {
    // Ratis reads its log right after this, with the storage locked by now.
    TornWriteRepair.repair(raftStorage.getStorageDir().getCurrentDir().toPath());
    super.initialize(server, groupId, raftStorage);
    storage.init(raftStorage);
    deleteUnfinishedSnapshots();
    loadSnapshot(storage.loadLatestSnapshot());
    getLifeCycle().transition(LifeCycle.State.STARTING);
    getLifeCycle().transition(LifeCycle.State.RUNNING);
  }

  /**
   * Ratis pauses the state machine before it installs a snapshot from the leader (on a member
   * too far behind for the leader's log, such as one that just joined), and then reloads it
   * through {@link #reinitialize}, which it requires to find the state machine paused.
   */
  @Override
  public void pause() {
    if (getLifeCycleState() == LifeCycle.State.RUNNING) {
      getLifeCycle().transition(LifeCycle.State.PAUSING);
      getLifeCycle().transition(LifeCycle.State.PAUSED);
    }
  }

  /** Replaces the whole state with the newest snapshot: the one just installed from the leader. */
  @Override
  public void reinitialize() throws IOException {
    awaitSnapshotWrite();
    loadSnapshot(storage.loadLatestSnapshot());
    if (getLifeCycleState() == LifeCycle.State.PAUSED) {
      getLifeCycle().transition(LifeCycle.State.STARTING);
      getLifeCycle().transition(LifeCycle.State.RUNNING);
    }
  }

  /** Snapshot files a stopped process left half-written; never loaded, and large. */
  private void deleteUnfinishedSnapshots() throws IOException {
    File directory = storage.getSnapshotFile(0, 0).getParentFile();
    File[] unfinished = directory.listFiles((dir, name) -> name.endsWith(TMP_SUFFIX));
    for (File file : unfinished == null ? new File[0] : unfinished) {
      Files.deleteIfExists(file.toPath());
      LOG.atInfo().addKeyValue("file", file.getName()).log("deleted an unfinished snapshot");
    }
  }

  /**
   * The newest snapshot, from memory. Ratis asks on every append on a follower and every round of
   * a log appender; its storage answers from a cache only once a snapshot exists and lists the
   * snapshot directory on every call until then (measured: 7% of a follower's CPU under load).
   * Snapshots appear only through {@link #loadSnapshot} and {@link #writeSnapshot}, which set this.
   */
  @Override
  public SnapshotInfo getLatestSnapshot() {
    return latestSnapshot;
  }

  @Override
  public StateMachineStorage getStateMachineStorage() {
    return storage;
  }

  private void loadSnapshot(SingleFileSnapshotInfo snapshot) throws IOException {
    latestSnapshot = snapshot;
    if (snapshot == null) {
      return;
    }
    File file = snapshot.getFile().getPath().toFile();
    // One pass over the file: it is read and digested together (a snapshot of a large store is
    // a gigabyte or more), and the state goes in place only once the digest matched.
    MessageDigest md5 = MD5FileUtil.newMD5();
    ParsedState parsed = null;
    IOException unreadable = null;
    long trailingBytes;
    try (DataInputStream in = new DataInputStream(new BufferedInputStream(
        new DigestInputStream(Files.newInputStream(file.toPath()), md5), 1 << 16))) {
      try {
        parsed = parseState(in, file.toString());
      } catch (IOException e) {
        unreadable = e;
      }
      // The rest of the file, so that the digest covers all of it whatever the parser made of it.
      trailingBytes = in.transferTo(OutputStream.nullOutputStream());
    }
    MD5Hash expected = snapshot.getFile().getFileDigest();
    MD5Hash actual = MD5Hash.newInstance(md5.digest());
    if (expected != null && !expected.equals(actual)) {
      IOException corrupt = new IOException(
          "snapshot " + file + " is corrupt: MD5 " + actual + " != " + expected);
      if (unreadable != null) {
        corrupt.addSuppressed(unreadable);
      }
      throw corrupt;
    }
    if (unreadable != null) {
      throw unreadable;
    }
    if (trailingBytes > 0) {
      throw new IOException("snapshot " + file + " has " + trailingBytes + " bytes after its end");
    }
    parsed.install();
    setLastAppliedTermIndex(snapshot.getTermIndex());
    LOG.atInfo()
        .addKeyValue("snapshot", file.getName())
        .addKeyValue("revision", store.revision())
        .log("loaded snapshot");
  }

  /** Replaces the whole state with one written by {@link #writeState}, of any supported version. */
  void readState(DataInputStream in, String source) throws IOException {
    parseState(in, source).install();
  }

  /** A snapshot's content, read and checked, not yet in place. */
  private final class ParsedState {
    final Map<String, MemberAttributes> members;
    final AuthState auth;
    final List<AlarmMember> alarms;
    final MvccStore store;

    ParsedState(Map<String, MemberAttributes> members, AuthState auth, List<AlarmMember> alarms,
        MvccStore store) {
      this.members = members;
      this.auth = auth;
      this.alarms = alarms;
      this.store = store;
    }

    /** Replaces the whole state with this one; apply thread (or before it runs) only. */
    void install() {
      store.setChangeListener(NuwaStateMachine.this::fireChange);
      memberAttributes.clear();
      memberAttributes.putAll(members);
      NuwaStateMachine.this.auth.restore(auth);
      NuwaStateMachine.this.alarms.clear();
      NuwaStateMachine.this.alarms.addAll(alarms);
      alarmsChanged();
      synchronized (leaseTimers) {
        leaseTimers.clear();
        for (long id : store.leaseIds()) {
          store.lease(id).ifPresent(info -> leaseTimers.granted(id, info.grantedTtlSeconds()));
        }
      }
      NuwaStateMachine.this.store = store;
    }
  }

  /** Reads a state written by {@link #writeState}, of any supported version, without installing it. */
  private ParsedState parseState(DataInputStream in, String source) throws IOException {
    if (in.readLong() != SNAPSHOT_MAGIC) {
      throw new IOException("not a Nuwa snapshot: " + source);
    }
    int version = in.readInt();
    if (version != SNAPSHOT_VERSION && version != SNAPSHOT_VERSION_WITHOUT_ALARMS
        && version != SNAPSHOT_VERSION_WITHOUT_AUTH) {
      throw new IOException("unsupported Nuwa snapshot version " + version + " in " + source);
    }
    int members = in.readInt();
    Map<String, MemberAttributes> loadedMembers = new TreeMap<>();
    for (int i = 0; i < members; i++) {
      byte[] bytes = new byte[in.readInt()];
      in.readFully(bytes);
      MemberAttributes attributes = MemberAttributes.parseFrom(bytes);
      loadedMembers.put(attributes.getName(), attributes);
    }
    AuthState loadedAuth = version == SNAPSHOT_VERSION_WITHOUT_AUTH
        ? AuthState.initial() : AuthStore.readSnapshot(in);
    List<AlarmMember> loadedAlarms = new ArrayList<>();
    if (version >= SNAPSHOT_VERSION) {
      int count = in.readInt();
      if (count < 0 || count > MAX_SNAPSHOT_ALARMS) {
        throw new IOException("corrupt Nuwa snapshot " + source + ": " + count + " alarms");
      }
      for (int i = 0; i < count; i++) {
        long member = in.readLong();
        AlarmType type = AlarmType.forNumber(in.readInt());
        if (type == null || type == AlarmType.NONE) {
          throw new IOException("corrupt Nuwa snapshot " + source + ": unknown alarm type");
        }
        loadedAlarms.add(AlarmMember.newBuilder().setMemberID(member).setAlarm(type).build());
      }
    }
    return new ParsedState(loadedMembers, loadedAuth, loadedAlarms, MvccStore.readSnapshot(in));
  }

  /** Writes the whole state, in the current snapshot format; the same state gives the same bytes. */
  void writeState(DataOutputStream out) throws IOException {
    captureState().writeTo(out);
  }

  /**
   * The whole state as of the last applied record, for any thread to write: the small parts
   * encoded at once, the store as its {@link MvccStore#snapshot}. Apply thread only.
   */
  private StateImage captureState() throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(head);
    out.writeLong(SNAPSHOT_MAGIC);
    out.writeInt(SNAPSHOT_VERSION);
    Map<String, MemberAttributes> members = memberAttributes();
    out.writeInt(members.size());
    for (MemberAttributes attributes : members.values()) {
      byte[] bytes = attributes.toByteArray();
      out.writeInt(bytes.length);
      out.write(bytes);
    }
    auth.writeSnapshot(out);
    List<AlarmMember> raised = alarms();
    out.writeInt(raised.size());
    for (AlarmMember alarm : raised) {
      out.writeLong(alarm.getMemberID());
      out.writeInt(alarm.getAlarmValue());
    }
    out.flush();
    return new StateImage(head.toByteArray(), store.snapshot());
  }

  /** The state as one snapshot holds it; immutable. */
  private record StateImage(byte[] head, MvccStore.Snapshot store) {
    void writeTo(DataOutputStream out) throws IOException {
      out.write(head);
      store.writeTo(out);
    }
  }

  /**
   * Ratis calls this on the apply thread once {@code --snapshot-every} entries were applied
   * since the last snapshot, and again after every further entry until it gets an index, up to
   * which it may then purge the log. Writing a large store takes seconds (measured: 9-11 s for
   * 957 MB), and the log would wait that long. So this only captures the state (a walk over the
   * keys) and writes it on another thread, answering {@link #NO_SNAPSHOT} until the write is
   * done; the call after that answers the new snapshot's index. The snapshot is offered to
   * followers and used at a restart as soon as it is written. Failures are reported and paced by
   * {@link SnapshotRetry}.
   */
  @Override
  public long takeSnapshot() throws IOException {
    CompletableFuture<SingleFileSnapshotInfo> writing = snapshotWrite;
    if (writing != null) {
      if (!writing.isDone()) {
        return NO_SNAPSHOT;
      }
      snapshotWrite = null;
      try {
        long index = writing.join().getIndex();
        snapshotRetry.succeeded();
        return index;
      } catch (CompletionException e) {
        snapshotsFailed.incrementAndGet();
        throw snapshotRetry.failed("writing a snapshot", e.getCause());
      }
    }
    TermIndex last = getLastAppliedTermIndex();
    if (last == null || last.getIndex() < 0) {
      return NO_SNAPSHOT;
    }
    SingleFileSnapshotInfo latest = latestSnapshot;
    if (latest != null && latest.getIndex() >= last.getIndex()) {
      return latest.getIndex();
    }
    long started = System.nanoTime();
    if (!snapshotRetry.mayTry()) {
      return NO_SNAPSHOT;
    }
    StateImage image = captureState();
    long capturedNanos = System.nanoTime() - started;
    snapshotWrite = CompletableFuture.supplyAsync(() -> {
      try {
        return writeSnapshot(image, last, started, capturedNanos);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }, snapshotWriter);
    return NO_SNAPSHOT;
  }

  /** Writes a captured state as the snapshot at {@code last}, and makes it the latest. */
  private SingleFileSnapshotInfo writeSnapshot(StateImage image, TermIndex last, long started,
      long capturedNanos) throws IOException {
    File target = storage.getSnapshotFile(last.getTerm(), last.getIndex());
    File tmp = new File(target.getParentFile(), target.getName() + TMP_SUFFIX);
    // Digested as it is written, rather than read back for its digest afterwards.
    MessageDigest md5 = MD5FileUtil.newMD5();
    try (FileOutputStream fileOut = new FileOutputStream(tmp);
        DataOutputStream out = new DataOutputStream(
            new BufferedOutputStream(new DigestOutputStream(fileOut, md5), 1 << 16))) {
      image.writeTo(out);
      out.flush();
      fileOut.getFD().sync();
    }
    Files.move(tmp.toPath(), target.toPath(), StandardCopyOption.ATOMIC_MOVE);
    MD5Hash digest = MD5Hash.newInstance(md5.digest());
    MD5FileUtil.saveMD5File(target, digest);
    SingleFileSnapshotInfo taken = new SingleFileSnapshotInfo(
        new org.apache.ratis.server.storage.FileInfo(target.toPath(), digest), last);
    synchronized (snapshotWriter) {
      // Never behind a snapshot installed from the leader meanwhile.
      if (latestSnapshot == null || latestSnapshot.getIndex() < last.getIndex()) {
        storage.updateLatestSnapshot(taken);
        latestSnapshot = taken;
      }
    }
    snapshotsTaken.incrementAndGet();
    LOG.atInfo().addKeyValue("index", last.getIndex()).addKeyValue("bytes", target.length())
        .addKeyValue("captureMs", capturedNanos / 1_000_000)
        .addKeyValue("ms", (System.nanoTime() - started) / 1_000_000).log("took snapshot");
    return taken;
  }

  /** Snapshots written since this member started. */
  public long snapshotsTaken() {
    return snapshotsTaken.get();
  }

  /** Snapshots that failed since this member started. */
  public long snapshotsFailed() {
    return snapshotsFailed.get();
  }

  /** Waits for a snapshot being written, if any, to be done (or to fail). */
  private void awaitSnapshotWrite() {
    CompletableFuture<SingleFileSnapshotInfo> writing = snapshotWrite;
    if (writing != null) {
      try {
        writing.get(SNAPSHOT_WRITE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (ExecutionException | TimeoutException e) {
        LOG.atWarn().setCause(e).log("a snapshot being written did not complete");
      }
    }
  }

  /** Lets a snapshot being written finish (so that a restart finds it), then stops the writer. */
  @Override
  public void close() throws IOException {
    awaitSnapshotWrite();
    snapshotWriter.shutdownNow();
    super.close();
  }

  // ---------------------------------------------------------------- applying records

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = trx.getLogEntry();
    Reply reply;
    try {
      LogRecord record = LogRecord.parseFrom(
          entry.getStateMachineLogEntry().getLogData().asReadOnlyByteBuffer());
      reply = apply(record);
    } catch (InvalidProtocolBufferException e) {
      // Every member sees the same bytes, so every member rejects them the same way.
      reply = error(Status.INTERNAL.withDescription("unreadable log record: " + e.getMessage()));
    }
    updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
    return CompletableFuture.completedFuture(toMessage(reply));
  }

  /** Applies one record and returns its reply; package-private for tests. Apply thread only. */
  Reply apply(LogRecord record) {
    MvccStore s = store;
    try {
      if (noSpace && addsData(record)) {
        // etcd's capped applier: whichever member the write came through, and whatever quota
        // that member has, no member stores it while the alarm is raised.
        return error(NuwaErrors.NO_SPACE);
      }
      if (record.hasAuthStamp()) {
        auth.checkStamp(record.getAuthStamp());
        checkLeaseWrites(s, record);
      }
      switch (record.getOpCase()) {
        case PUT:
          return Reply.newBuilder().setPut(s.put(record.getPut())).build();
        case DELETE_RANGE:
          return Reply.newBuilder().setDeleteRange(s.deleteRange(record.getDeleteRange())).build();
        case TXN:
          return Reply.newBuilder().setTxn(s.txn(record.getTxn())).build();
        case COMPACTION:
          return Reply.newBuilder().setCompaction(s.compact(record.getCompaction())).build();
        case LEASE_GRANT: {
          var response = s.leaseGrant(record.getLeaseGrant());
          synchronized (leaseTimers) {
            leaseTimers.granted(response.getID(), response.getTTL());
          }
          return Reply.newBuilder().setLeaseGrant(response).build();
        }
        case LEASE_REVOKE:
          return Reply.newBuilder().setLeaseRevoke(revoke(s, record.getLeaseRevoke())).build();
        case LEASE_EXPIRE:
          if (s.lease(record.getLeaseExpire().getID()).isEmpty()) {
            // Revoked by a client while the expiry was in flight: nothing left to do.
            return Reply.newBuilder().setEmpty(Empty.getDefaultInstance()).build();
          }
          return Reply.newBuilder().setLeaseRevoke(revoke(s, record.getLeaseExpire())).build();
        case BATCH: {
          ReplyBatch.Builder replies = ReplyBatch.newBuilder();
          for (LogRecord each : record.getBatch().getRecordsList()) {
            replies.addReplies(each.getOpCase() == LogRecord.OpCase.BATCH
                ? error(Status.INVALID_ARGUMENT.withDescription("nested record batch"))
                : apply(each));
          }
          return Reply.newBuilder().setBatch(replies).build();
        }
        case MEMBER_ATTRIBUTES: {
          MemberAttributes published = record.getMemberAttributes();
          long clusterId = clusterId().orElse(published.getClusterId());
          memberAttributes.put(published.getName(),
              published.toBuilder().setClusterId(clusterId).build());
          return Reply.newBuilder().setEmpty(Empty.getDefaultInstance()).build();
        }
        case AUTH:
          auth.apply(record.getAuth());
          return Reply.newBuilder().setEmpty(Empty.getDefaultInstance()).build();
        case ALARM:
          return Reply.newBuilder().setAlarm(applyAlarm(record.getAlarm())).build();
        default:
          return error(Status.INTERNAL.withDescription("unknown log record " + record.getOpCase()));
      }
    } catch (StatusRuntimeException e) {
      return error(e.getStatus());
    }
  }

  /** Whether applying the record may add data to the store: what NOSPACE refuses. */
  private static boolean addsData(LogRecord record) {
    return switch (record.getOpCase()) {
      case PUT, LEASE_GRANT -> true;
      case TXN -> QuotaCost.of(record.getTxn()) > 0;
      default -> false;
    };
  }

  private AlarmResponse applyAlarm(AlarmRequest request) {
    AlarmMember alarm = AlarmMember.newBuilder().setMemberID(request.getMemberID())
        .setAlarmValue(request.getAlarmValue()).build();
    AlarmResponse.Builder response = AlarmResponse.newBuilder().setHeader(header(store));
    switch (request.getAction()) {
      case ACTIVATE -> {
        if (request.getAlarm() != AlarmType.NOSPACE) {
          // The members check this before they propose; a record that slipped past is refused
          // the same way everywhere, and no snapshot ever holds a type it cannot read back.
          throw Status.INVALID_ARGUMENT.withDescription("etcdserver: only NOSPACE can be raised")
              .asRuntimeException();
        }
        if (alarms.add(alarm)) {
          alarmsChanged();
          LOG.atWarn().addKeyValue("memberID", Long.toHexString(alarm.getMemberID()))
              .addKeyValue("alarm", alarm.getAlarm())
              .log("alarm raised: writes that add data are refused until it is cleared");
        }
        response.addAlarms(alarm);
      }
      case DEACTIVATE -> {
        if (alarms.remove(alarm)) {
          alarmsChanged();
          LOG.atInfo().addKeyValue("memberID", Long.toHexString(alarm.getMemberID()))
              .addKeyValue("alarm", alarm.getAlarm()).log("alarm cleared");
          response.addAlarms(alarm);
        }
      }
      default -> throw Status.INVALID_ARGUMENT
          .withDescription("etcdserver: alarm action " + request.getAction() + " is not logged")
          .asRuntimeException();
    }
    return response.build();
  }

  /**
   * A client may revoke a lease, or attach a key to one, only if it may write every key the lease
   * holds now (etcd's rule; the keys can change between the request's check and this point).
   */
  private void checkLeaseWrites(MvccStore s, LogRecord record) {
    switch (record.getOpCase()) {
      case PUT -> checkLeaseWrites(s, record.getAuthStamp(), record.getPut().getLease());
      case TXN -> checkLeaseWrites(s, record.getAuthStamp(), record.getTxn());
      case LEASE_REVOKE -> checkLeaseWrites(s, record.getAuthStamp(), record.getLeaseRevoke().getID());
      default -> { }
    }
  }

  private void checkLeaseWrites(MvccStore s, AuthStamp stamp, TxnRequest txn) {
    for (var ops : List.of(txn.getSuccessList(), txn.getFailureList())) {
      for (RequestOp op : ops) {
        if (op.hasRequestPut()) {
          checkLeaseWrites(s, stamp, op.getRequestPut().getLease());
        } else if (op.hasRequestTxn()) {
          checkLeaseWrites(s, stamp, op.getRequestTxn());
        }
      }
    }
  }

  private void checkLeaseWrites(MvccStore s, AuthStamp stamp, long leaseId) {
    if (leaseId != 0) {
      s.lease(leaseId).ifPresent(lease -> auth.checkLeaseWrites(stamp, lease.keys()));
    }
  }

  private io.etcd.jetcd.api.LeaseRevokeResponse revoke(MvccStore s, LeaseRevokeRequest request) {
    var response = s.leaseRevoke(request);
    synchronized (leaseTimers) {
      leaseTimers.revoked(request.getID());
    }
    return response;
  }

  // ---------------------------------------------------------------- queries

  @Override
  public CompletableFuture<Message> query(Message request) {
    Reply reply;
    try {
      Query query = Query.parseFrom(request.getContent().asReadOnlyByteBuffer());
      reply = answer(query);
    } catch (InvalidProtocolBufferException e) {
      reply = error(Status.INVALID_ARGUMENT.withDescription("unreadable query: " + e.getMessage()));
    } catch (StatusRuntimeException e) {
      reply = error(e.getStatus());
    }
    return CompletableFuture.completedFuture(toMessage(reply));
  }

  /** Answers a query from this member's applied state; also used directly for serializable reads. */
  public Reply answer(Query query) {
    MvccStore s = store;
    switch (query.getOpCase()) {
      case RANGE:
        RequestValidator.validateRange(query.getRange());
        return Reply.newBuilder().setRange(s.range(query.getRange())).build();
      case LEASE_KEEP_ALIVE: {
        long id = query.getLeaseKeepAlive().getID();
        long ttl;
        synchronized (leaseTimers) {
          ttl = leader ? leaseTimers.renew(id) : -2;
        }
        if (ttl == -2) {
          throw NuwaErrors.NOT_LEADER.asRuntimeException();
        }
        // etcd answers an unknown lease with TTL 0 rather than an error.
        return Reply.newBuilder().setLeaseKeepAlive(LeaseKeepAliveResponse.newBuilder()
            .setHeader(header(s)).setID(id).setTTL(Math.max(ttl, 0))).build();
      }
      case LEASE_TIME_TO_LIVE: {
        long id = query.getLeaseTimeToLive().getID();
        var info = s.lease(id);
        if (info.isEmpty()) {
          // etcd reports an unknown lease as TTL -1 in the response, not as an error.
          return Reply.newBuilder().setLeaseTimeToLive(LeaseTimeToLiveResponse.newBuilder()
              .setHeader(header(s)).setID(id).setTTL(-1)).build();
        }
        long remaining;
        synchronized (leaseTimers) {
          remaining = leaseTimers.remainingSeconds(id);
        }
        var response = LeaseTimeToLiveResponse.newBuilder().setHeader(header(s)).setID(id)
            .setTTL(Math.max(remaining, 0)).setGrantedTTL(info.get().grantedTtlSeconds());
        if (query.getLeaseTimeToLive().getKeys()) {
          response.addAllKeys(info.get().keys());
        }
        return Reply.newBuilder().setLeaseTimeToLive(response).build();
      }
      case AUTH_STATUS: {
        var current = auth.state();
        return Reply.newBuilder().setAuthStatus(AuthStatusResponse.newBuilder().setHeader(header(s))
            .setEnabled(current.enabled()).setAuthRevision(current.revision())).build();
      }
      case LEASE_LEASES: {
        var response = LeaseLeasesResponse.newBuilder().setHeader(header(s));
        for (long id : s.leaseIds()) {
          response.addLeases(LeaseStatus.newBuilder().setID(id));
        }
        return Reply.newBuilder().setLeaseLeases(response).build();
      }
      case READ_BARRIER:
        return READ_BARRIER_REPLY;
      default:
        throw Status.INVALID_ARGUMENT.withDescription("unknown query " + query.getOpCase())
            .asRuntimeException();
    }
  }

  private static ResponseHeader header(MvccStore s) {
    return ResponseHeader.newBuilder().setRevision(s.revision()).build();
  }

  // ---------------------------------------------------------------- leadership and leases

  @Override
  public void notifyLeaderReady() {
    CompletableFuture<Void> ready;
    synchronized (leaseTimers) {
      leaseTimers.resetAll();
      leader = true;
      ready = nextLeadership;
    }
    // Outside the lock: what waited for this runs on this thread now.
    ready.complete(null);
    LOG.info("became leader; lease deadlines reset to a full TTL");
  }

  @Override
  public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
    if (!groupMemberId.getPeerId().equals(newLeaderId)) {
      synchronized (leaseTimers) {
        leader = false;
        if (nextLeadership.isDone()) {
          nextLeadership = new CompletableFuture<>();
        }
      }
    }
  }

  /** Leases whose time ran out on this leader, at most {@code max}; empty on a follower. */
  public java.util.List<Long> expiredLeases(int max) {
    synchronized (leaseTimers) {
      return leader ? leaseTimers.expired(max) : java.util.List.of();
    }
  }

  // ---------------------------------------------------------------- encoding

  static Reply error(Status status) {
    return Reply.newBuilder().setError(Error.newBuilder()
        .setCode(status.getCode().value())
        .setMessage(status.getDescription() == null ? "" : status.getDescription())).build();
  }

  static Message toMessage(com.google.protobuf.MessageLite reply) {
    return Message.valueOf(
        org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations.unsafeWrap(
            reply.toByteString().asReadOnlyByteBuffer()));
  }
}
