package org.apsara.pangu.master.raft;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.FileListSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.LifeCycle;
import org.apsara.pangu.master.namespace.AppliedIndex;
import org.apsara.pangu.master.namespace.Namespace;
import org.apsara.pangu.master.namespace.NamespaceErrorCode;
import org.apsara.pangu.master.namespace.NamespaceException;
import org.apsara.pangu.master.namespace.NamespaceProposer;
import org.apsara.pangu.master.namespace.NamespaceReply;
import org.apsara.pangu.master.namespace.ProposerConfig;
import org.apsara.pangu.master.namespace.proto.NamespaceRecord;
import org.apsara.raft.SnapshotRetry;
import org.apsara.raft.TornWriteRepair;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Pangu master's Raft state machine: applies each log entry, one {@link NamespaceRecord},
 * to the RocksDB {@link Namespace} at the entry's term and index, and returns the encoded
 * {@link NamespaceReply}.
 *
 * <h2>Snapshots</h2>
 *
 * <p>A snapshot is a RocksDB checkpoint of the namespace in {@code snapshot.<term>_<index>/}
 * of Ratis's state machine directory (see {@link CheckpointSnapshotStorage}). On start, and when
 * Ratis reloads after installing a snapshot from the leader, the namespace is restored from the
 * newest snapshot if, and only if, that snapshot is newer than the namespace's own applied index:
 * an old snapshot never overwrites newer state, and entries the namespace already holds are
 * skipped when the log replays them.
 *
 * <p>A follower that is missing entries the leader has purged gets the snapshot through
 * Ratis's own transfer ({@code raft.server.log.appender.install.snapshot.enabled}), not through
 * {@code notifyInstallSnapshotFromLeader}. A checkpoint is a few immutable files, which is what
 * Ratis's transfer sends well: in bounded chunks over the connection the members already share,
 * each file checked by MD5 on arrival, the received set swapped in by one directory rename and
 * then handed to {@link #reinitialize}. Fetching it ourselves would need a second channel between
 * masters, with its own security and flow control, for no gain at this size.
 *
 * <h2>Leadership</h2>
 *
 * <p>Ratis calls {@link #notifyLeaderReady} on the apply thread once the leader has applied the
 * first entry of its own term, hence every entry of earlier terms. Only then does this machine
 * create the leader's {@link NamespaceProposer}, whose id counters must start past every id
 * already stamped into the log.
 *
 * <p>Threading: Ratis calls {@link #applyTransaction}, {@link #takeSnapshot} and
 * {@link #reinitialize} from its one apply thread. {@link #namespace()} may be read from any
 * thread; a follower's namespace is replaced when it installs a snapshot, so a reader that meets
 * a closed namespace should read again.
 */
public final class MasterStateMachine extends BaseStateMachine {
  private static final Logger LOG = LoggerFactory.getLogger(MasterStateMachine.class);

  /** The leader's term and the proposer made for it. Locked while a proposal is built. */
  record LeaderTerm(long term, NamespaceProposer proposer, long sinceWallMs) {}

  /** Told when this member becomes a ready leader and when it stops leading. */
  interface LeadershipListener {
    /** On the apply thread: must return quickly. */
    void leaderReady(LeaderTerm leaderTerm);

    void leadershipLost();
  }

  private final Path namespaceDir;
  private final Clock wallClock;
  private final ProposerConfig proposerConfig;
  private final MasterMetrics metrics;
  private final CheckpointSnapshotStorage storage = new CheckpointSnapshotStorage();
  private final SnapshotRetry snapshotRetry = new SnapshotRetry();
  private volatile Namespace namespace;
  private volatile LeaderTerm leaderTerm;
  private volatile LeadershipListener listener;

  /**
   * @param namespaceDir where the namespace's RocksDB lives
   * @param wallClock stamps record times on the leader
   * @param proposerConfig the leader's lease duration and reclaim batch size
   */
  MasterStateMachine(Path namespaceDir, Clock wallClock, ProposerConfig proposerConfig,
      MasterMetrics metrics) {
    this.namespaceDir = namespaceDir;
    this.wallClock = wallClock;
    this.proposerConfig = proposerConfig;
    this.metrics = metrics;
  }

  void setListener(LeadershipListener listener) {
    this.listener = listener;
  }

  /** The applied namespace; replaced when a follower installs a snapshot. */
  public Namespace namespace() {
    Namespace current = namespace;
    if (current == null) {
      throw new IllegalStateException("the state machine is not initialized");
    }
    return current;
  }

  /** The ready leader's term and proposer; null unless this member led and became ready. */
  LeaderTerm leaderTerm() {
    return leaderTerm;
  }

  // ---------------------------------------------------------------- lifecycle and snapshots

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage)
      throws IOException {
    // Ratis reads its log right after this, with the storage locked by now.
    TornWriteRepair.repair(raftStorage.getStorageDir().getCurrentDir().toPath());
    super.initialize(server, groupId, raftStorage);
    storage.init(raftStorage);
    FileListSnapshotInfo snapshot = storage.latest();
    namespace = openNamespace(snapshot);
    AppliedIndex applied = namespace.lastApplied();
    // Ratis replays the log from the snapshot on; the applied index reported to it starts there
    // too, even when the namespace already holds more (those entries are skipped as they
    // replay). Reporting more than Ratis has replayed would make a snapshot claim an index Ratis
    // has not reached; a snapshot labelled below the state it holds is harmless, since replaying
    // entries the state already holds changes nothing.
    if (snapshot != null) {
      setLastAppliedTermIndex(snapshot.getTermIndex());
    }
    getLifeCycle().transition(LifeCycle.State.STARTING);
    getLifeCycle().transition(LifeCycle.State.RUNNING);
    LOG.atInfo().addKeyValue("applied", applied).addKeyValue("snapshot",
        snapshot == null ? "none" : snapshot.getTermIndex()).log("namespace state machine ready");
  }

  /**
   * Opens the namespace in place, or restores it from {@code snapshot} when the snapshot is
   * newer (the namespace's unsynced writes were lost with the machine) or the namespace cannot
   * be opened (a restore was cut short by a crash).
   */
  private Namespace openNamespace(FileListSnapshotInfo snapshot) throws IOException {
    Namespace opened;
    try {
      opened = Namespace.open(namespaceDir);
    } catch (RuntimeException e) {
      if (snapshot == null) {
        throw e;
      }
      LOG.atWarn().setCause(e).log("cannot open the namespace; restoring it from the snapshot");
      return restore(snapshot);
    }
    if (snapshot != null && newerThan(snapshot, opened)) {
      opened.close();
      return restore(snapshot);
    }
    return opened;
  }

  /** Whether the snapshot holds records the namespace lacks. */
  private boolean newerThan(FileListSnapshotInfo snapshot, Namespace current) {
    return storage.namespaceApplied(snapshot).index() > current.lastApplied().index();
  }

  private Namespace restore(FileListSnapshotInfo snapshot) throws IOException {
    Path directory = storage.directoryOf(snapshot.getTermIndex());
    CheckpointSnapshotStorage.deleteChecksumFiles(directory);
    Namespace restored =
        Namespace.restore(CheckpointSnapshotStorage.checkpointOf(directory), namespaceDir);
    metrics.snapshotsRestored.increment();
    return restored;
  }

  @Override
  public void pause() {
    // Ratis pauses the machine before it writes a received snapshot and reloads it afterwards;
    // it checks that the machine went through PAUSED.
    LifeCycle lifeCycle = getLifeCycle();
    if (lifeCycle.getCurrentState() == LifeCycle.State.RUNNING) {
      lifeCycle.transition(LifeCycle.State.PAUSING);
      lifeCycle.transition(LifeCycle.State.PAUSED);
    }
  }

  /** After Ratis installed a snapshot from the leader: restore the namespace from it if newer. */
  @Override
  public void reinitialize() throws IOException {
    FileListSnapshotInfo snapshot = storage.reload();
    Namespace current = namespace;
    if (snapshot == null) {
      throw new IOException("no snapshot to reload in the state machine directory");
    }
    // What Ratis considers applied from now on, whichever state is kept.
    advanceLastApplied(snapshot.getTermIndex());
    if (newerThan(snapshot, current)) {
      current.close();
      namespace = restore(snapshot);
      metrics.snapshotsInstalled.increment();
      LOG.atInfo().addKeyValue("snapshot", snapshot.getTermIndex())
          .log("namespace replaced by the leader's snapshot");
    } else {
      LOG.atInfo().addKeyValue("snapshot", snapshot.getTermIndex())
          .addKeyValue("applied", current.lastApplied())
          .log("kept the namespace: it is not older than the snapshot");
    }
    LifeCycle lifeCycle = getLifeCycle();
    if (lifeCycle.getCurrentState() == LifeCycle.State.PAUSED) {
      lifeCycle.transition(LifeCycle.State.STARTING);
      lifeCycle.transition(LifeCycle.State.RUNNING);
    }
  }

  @Override
  public SnapshotInfo getLatestSnapshot() {
    return storage.latest();
  }

  @Override
  public StateMachineStorage getStateMachineStorage() {
    return storage;
  }

  /**
   * Checkpoints the namespace as of the last applied entry. Apply thread.
   *
   * <p>Ratis calls this after every round of applied entries once a snapshot is due, and once
   * more when the member stops; failures are reported and paced by {@link SnapshotRetry}.
   */
  @Override
  public long takeSnapshot() throws IOException {
    TermIndex last = getLastAppliedTermIndex();
    if (last == null || last.getIndex() < 0) {
      return RaftLog.INVALID_LOG_INDEX;
    }
    FileListSnapshotInfo existing = storage.latest();
    if (existing != null && existing.getIndex() >= last.getIndex()) {
      return existing.getIndex();
    }
    long startNanos = System.nanoTime();
    if (!snapshotRetry.mayTry()) {
      return RaftLog.INVALID_LOG_INDEX;
    }
    AppliedIndex held;
    try {
      Path tmp = storage.temporaryDirectory(last);
      Files.createDirectories(tmp);
      // While the log replays after a restart the namespace may hold more than the label says
      // (see initialize); never less, since every entry up to the label has been applied.
      held = namespace().checkpoint(CheckpointSnapshotStorage.checkpointOf(tmp));
      storage.publish(tmp, last, held);
    } catch (IOException | RuntimeException e) {
      metrics.snapshotsFailed.increment();
      throw snapshotRetry.failed("snapshot at " + last, e);
    }
    snapshotRetry.succeeded();
    metrics.snapshotsTaken.increment();
    LOG.atInfo().addKeyValue("snapshot", last).addKeyValue("namespace", held)
        .addKeyValue("ms", (System.nanoTime() - startNanos) / 1_000_000).log("took snapshot");
    return last.getIndex();
  }

  @Override
  public void close() throws IOException {
    Namespace current = namespace;
    if (current != null) {
      current.close();
    }
    super.close();
  }

  // ---------------------------------------------------------------- applying entries

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = trx.getLogEntry();
    NamespaceReply reply;
    try {
      NamespaceRecord record = NamespaceRecord.parseFrom(
          entry.getStateMachineLogEntry().getLogData().asReadOnlyByteBuffer());
      // A storage failure throws out of here: Ratis then stops this member, which must not
      // go on with a namespace that missed an entry.
      reply = namespace.apply(entry.getTerm(), entry.getIndex(), record);
    } catch (InvalidProtocolBufferException e) {
      // Every member has the same bytes, so every member refuses them alike.
      reply = new NamespaceReply.Failed(new NamespaceException(NamespaceErrorCode.INVALID_ARGUMENT,
          "", "unreadable log record at index " + entry.getIndex() + ": " + e.getMessage()));
    }
    count(reply);
    advanceLastApplied(TermIndex.valueOf(entry.getTerm(), entry.getIndex()));
    return CompletableFuture.completedFuture(
        Message.valueOf(UnsafeByteOperations.unsafeWrap(ReplyCodec.encode(reply))));
  }

  private void count(NamespaceReply reply) {
    if (reply instanceof NamespaceReply.Batch batch) {
      batch.replies().forEach(this::count);
    } else if (reply instanceof NamespaceReply.Failed) {
      metrics.recordsRefused.increment();
    } else if (!(reply instanceof NamespaceReply.AlreadyApplied)) {
      metrics.recordsApplied.increment();
    }
  }

  /** Configuration and leader start-up entries: they move the applied index but not the state. */
  @Override
  public void notifyTermIndexUpdated(long term, long index) {
    advanceLastApplied(TermIndex.valueOf(term, index));
  }

  /**
   * The log replays entries the namespace may already hold (its index can be past the snapshot
   * Ratis starts from); the applied index only moves forward.
   */
  private void advanceLastApplied(TermIndex applied) {
    TermIndex current = getLastAppliedTermIndex();
    if (current == null || applied.getIndex() > current.getIndex()) {
      updateLastAppliedTermIndex(applied.getTerm(), applied.getIndex());
    }
  }

  /** Read index barrier: the read itself runs on the namespace once this completes. */
  @Override
  public CompletableFuture<Message> query(Message request) {
    return CompletableFuture.completedFuture(Message.EMPTY);
  }

  // ---------------------------------------------------------------- leadership

  @Override
  public void notifyLeaderReady() {
    long term = currentTerm();
    if (term == Long.MAX_VALUE) {
      LOG.warn("leader ready, but its term is unknown; not serving");
      return;
    }
    LeaderTerm ready = new LeaderTerm(term,
        new NamespaceProposer(namespace(), wallClock, proposerConfig), wallClock.millis());
    leaderTerm = ready;
    LOG.atInfo().addKeyValue("term", term).addKeyValue("applied", namespace().lastApplied())
        .log("leader ready: every earlier entry applied, proposing from now on");
    LeadershipListener l = listener;
    if (l != null) {
      l.leaderReady(ready);
    }
  }

  @Override
  public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
    LeaderTerm current = leaderTerm;
    if (current == null) {
      return;
    }
    if (groupMemberId.getPeerId().equals(newLeaderId) && current.term() >= currentTerm()) {
      // Ready notifications follow this one; a ready term at least as new is this term's own.
      return;
    }
    leaderTerm = null;
    LOG.atInfo().addKeyValue("term", current.term()).addKeyValue("newLeader", newLeaderId)
        .log("leadership lost");
    LeadershipListener l = listener;
    if (l != null) {
      l.leadershipLost();
    }
  }

  private long currentTerm() {
    try {
      return getServer().join().getDivision(getGroupId()).getInfo().getCurrentTerm();
    } catch (IOException e) {
      return Long.MAX_VALUE;
    }
  }
}
