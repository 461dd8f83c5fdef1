package org.apsara.pangu.master.raft;

import com.google.protobuf.InvalidProtocolBufferException;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.LeaderNotReadyException;
import org.apache.ratis.protocol.exceptions.NotLeaderException;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.SizeInBytes;
import org.apsara.common.net.HostPort;
import org.apsara.common.observe.HealthCheck;
import org.apsara.common.observe.HealthStatus;
import org.apsara.pangu.master.MasterConfig;
import org.apsara.pangu.master.namespace.ContentSummary;
import org.apsara.pangu.master.namespace.DirectoryListing;
import org.apsara.pangu.master.namespace.FileStatus;
import org.apsara.pangu.master.namespace.Namespace;
import org.apsara.pangu.master.namespace.NamespaceException;
import org.apsara.pangu.master.namespace.NamespaceReply;
import org.apsara.pangu.master.namespace.proto.NamespaceRecord;
import org.apsara.pangu.master.raft.MasterStateMachine.LeaderTerm;
import org.apsara.raft.DirectSubmit;
import org.apsara.raft.RaftServerSettings;
import org.apsara.raft.RaftWatchdog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One member of the Pangu master's Raft group: a Ratis server replicating the namespace log into
 * a {@link MasterStateMachine}, the Java API that proposes commands and serves reads, and the
 * leader's background duties (lease monitor, reclaim driver).
 *
 * <h2>Commands</h2>
 *
 * <p>{@link #submit} runs only on the ready leader: it builds the record with the leader's
 * {@link org.apsara.pangu.master.namespace.NamespaceProposer} (which refuses a bad command before
 * it reaches the log) and replicates it. A follower refuses with {@link
 * MasterUnavailableException.Reason#NOT_LEADER}, naming the leader it knows; a leader that has not
 * yet applied every entry of earlier terms refuses with {@link
 * MasterUnavailableException.Reason#LEADER_NOT_READY}. Commands are not forwarded: the caller
 * (next, the gRPC service and its clients) retries at the leader.
 *
 * <p>Commands that arrive while earlier entries are being replicated share the next entry (see
 * {@link CommandBatcher}); each is still judged and answered on its own. Ratis in turn groups
 * concurrent entries into one append and one fsync.
 *
 * <h2>Durability</h2>
 *
 * <p>A command's future completes only after its entry is committed (fsync'd on a majority; Ratis's
 * unsafe flush is off) and applied on this member. The namespace's RocksDB writes are not synced
 * themselves: the log is the durable record, and after a crash the log replays whatever the
 * namespace lost.
 *
 * <p>Thread-safe. Every returned future completes, within the configured request timeout for
 * commands and linearizable reads.
 */
public final class MasterNode implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MasterNode.class);
  /** Every master group has this id: one Pangu cluster has one master group. */
  static final RaftGroupId GROUP_ID = RaftGroupId.valueOf(
      UUID.nameUUIDFromBytes("apsara-pangu-master".getBytes(StandardCharsets.UTF_8)));
  /** Threads that run reads once a read index round is done, off Ratis's apply thread. */
  private static final int READ_THREADS = 2;
  /** Reads waiting for a read thread at most; beyond it reads are shed, not queued. */
  private static final int QUEUED_READS_MAX = 10_000;
  /** Each snapshot file travels in chunks of at most this size. */
  private static final SizeInBytes SNAPSHOT_CHUNK_SIZE_MAX = SizeInBytes.valueOf("4MB");

  private final MasterConfig config;
  private final RaftPeerId selfId;
  private final RaftGroup group;
  private final MasterMetrics metrics;
  private final MasterStateMachine stateMachine;
  private final LeaderDuties duties;
  private final RaftServer server;
  private final ClientId clientId = ClientId.randomId();
  private final AtomicLong callIds = new AtomicLong();
  private final AtomicInteger queuedReads = new AtomicInteger();
  private final ExecutorService reads;
  private final RaftWatchdog watchdog;
  private final MeterRegistry registry;
  private final List<Meter> gauges = new ArrayList<>();
  private final List<LeadershipObserver> observers = new CopyOnWriteArrayList<>();
  private final CommandBatcher batcher;
  private volatile LeaseRecovery leaseRecovery;

  /**
   * Prepares the member; {@link #start} starts it.
   *
   * @param wallClock stamps record times and lease expiries on the leader, and times the lease
   *     monitor's grace period
   * @param registry where this member's meters go
   */
  public MasterNode(MasterConfig config, Clock wallClock, MeterRegistry registry)
      throws IOException {
    this.config = config;
    this.registry = registry;
    this.selfId = RaftPeerId.valueOf(config.memberId());
    List<RaftPeer> peers = new ArrayList<>();
    for (Map.Entry<String, HostPort> peer : config.peers().entrySet()) {
      peers.add(RaftPeer.newBuilder().setId(peer.getKey())
          .setAddress(peer.getValue().format()).build());
    }
    this.group = RaftGroup.valueOf(GROUP_ID, peers);
    this.metrics = new MasterMetrics(registry);
    this.stateMachine = new MasterStateMachine(config.dataDir().resolve("namespace"), wallClock,
        config.proposer(), metrics);
    this.duties = new LeaderDuties(config.memberId(), new DutiesLeader(), wallClock,
        config.proposer().leaseDuration(), config.leaseMonitorInterval(),
        config.reclaimInterval(), config.requestTimeout(), metrics);
    stateMachine.setListener(new MasterStateMachine.LeadershipListener() {
      @Override
      public void leaderReady(LeaderTerm leaderTerm) {
        duties.leaderReady(leaderTerm);
        observers.forEach(o -> o.leaderReady(leaderTerm.term()));
      }

      @Override
      public void leadershipLost() {
        duties.leadershipLost();
        observers.forEach(LeadershipObserver::leadershipLost);
      }
    });

    Path raftDir = config.dataDir().resolve("raft");
    boolean fresh = !Files.isDirectory(raftDir.resolve(GROUP_ID.getUuid().toString()));
    Files.createDirectories(raftDir);
    this.server = RaftServer.newBuilder()
        .setServerId(selfId)
        .setGroup(group)
        .setProperties(serverProperties(config, raftDir))
        .setStateMachine(stateMachine)
        .setOption(fresh ? RaftStorage.StartupOption.FORMAT : RaftStorage.StartupOption.RECOVER)
        .build();
    this.watchdog = new RaftWatchdog("pangu-master-" + selfId, server, GROUP_ID,
        config.dataDir());
    this.batcher = new CommandBatcher(new CommandBatcher.Leader() {
      @Override
      public LeaderTerm readyLeaderTerm() {
        return MasterNode.this.readyLeaderTerm();
      }

      @Override
      public CompletableFuture<NamespaceReply> replicate(NamespaceRecord record) {
        return MasterNode.this.replicate(record);
      }

      @Override
      public void refused() {
        metrics.proposalsRefused.increment();
      }

      @Override
      public String memberId() {
        return config.memberId();
      }
    });
    this.reads = Executors.newFixedThreadPool(READ_THREADS, r -> {
      Thread thread = new Thread(r, "pangu-master-" + config.memberId() + "-reads");
      thread.setDaemon(true);
      return thread;
    });
  }

  private static RaftProperties serverProperties(MasterConfig config, Path raftDir) {
    RaftProperties properties = RaftServerSettings.base(raftDir, config.self().host(),
        config.self().port(), config.electionTimeoutMin(), config.requestTimeout(),
        config.appendBatchWait());
    RaftServerConfigKeys.Log.setSegmentSizeMax(properties,
        SizeInBytes.valueOf(config.logSegmentSizeBytes()));
    RaftServerConfigKeys.Log.setPurgeGap(properties, config.logPurgeGap());
    // Ratis by default appends a metadata entry recording the commit index after entries commit
    // and forces it like any entry: a second fsync for every command, on the path of its reply.
    // It tells followers the commit index at once; here only the leader serves, so followers
    // may learn it with the next append or heartbeat (Nuwa turns it off too, and makes a
    // follower catch up before it refuses a caller), and a restarted member applies committed
    // entries once a leader's commit covers them, as Raft prescribes.
    RaftServerConfigKeys.Log.setLogMetadataEnabled(properties, false);
    // Followers may fall behind the purged log; the leader then sends its snapshot (see
    // MasterStateMachine for why Ratis's own transfer).
    RaftServerConfigKeys.Log.Appender.setInstallSnapshotEnabled(properties, true);
    RaftServerConfigKeys.Log.Appender.setSnapshotChunkSizeMax(properties, SNAPSHOT_CHUNK_SIZE_MAX);
    RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(properties,
        config.snapshotEveryEntries());
    RaftServerConfigKeys.Snapshot.setRetentionFileNum(properties, config.snapshotsRetained());
    return properties;
  }

  /**
   * Adds an observer of this member's leadership; call before {@link #start} so that no
   * transition is missed.
   */
  public void addLeadershipObserver(LeadershipObserver observer) {
    observers.add(Objects.requireNonNull(observer, "observer"));
  }

  /**
   * Sets how the lease monitor closes files whose lease expired (see {@link LeaseRecovery});
   * call before {@link #start}.
   */
  public void setLeaseRecovery(LeaseRecovery recovery) {
    this.leaseRecovery = recovery;
  }

  /**
   * Returns normally on the ready leader; otherwise throws the {@link MasterUnavailableException}
   * a command would fail with (not leader, naming the leader it knows; not ready; stopped). For
   * leader-only work that is not a command, such as placing replicas or taking heartbeats.
   */
  public void requireReadyLeader() {
    readyLeaderTerm();
  }

  /** True while this member leads in {@code term} and is ready to propose. */
  public boolean leading(long term) {
    try {
      return readyLeaderTerm().term() == term;
    } catch (MasterUnavailableException e) {
      return false;
    }
  }

  /** Starts the Ratis server; the member joins its group and takes part in elections. */
  public void start() throws IOException {
    server.start();
    watchdog.start();
    gauges.add(Gauge.builder(MasterMetrics.PREFIX + "applied.index", this,
        MasterNode::appliedIndex).description("Last log index applied").register(registry));
    gauges.add(Gauge.builder(MasterMetrics.PREFIX + "commit.index", this,
        MasterNode::commitIndex).description("Last log index known committed").register(registry));
    gauges.add(Gauge.builder(MasterMetrics.PREFIX + "leader", this,
        n -> n.isLeaderReady() ? 1 : 0).description("1 on the ready leader").register(registry));
    LOG.atInfo().addKeyValue("member", selfId).addKeyValue("peers", config.peers().keySet())
        .log("pangu master started");
  }

  // ---------------------------------------------------------------- commands

  /**
   * On the ready leader: builds the command's record and replicates it. Completes with the
   * reply once the record is committed and applied here; fails with
   * <ul>
   *   <li>a {@link NamespaceException} (as the cause of the {@link CompletionException} or
   *       {@link ExecutionException}) when the proposer or the apply refused the command; nothing
   *       changed;</li>
   *   <li>a {@link MasterUnavailableException}: not the leader, leader not ready, stopped, or
   *       the outcome is unknown (see its reasons).</li>
   * </ul>
   */
  public CompletableFuture<NamespaceReply> submit(MasterCommand command) {
    try {
      readyLeaderTerm();
    } catch (MasterUnavailableException e) {
      return CompletableFuture.failedFuture(e);
    }
    return batcher.submit(command);
  }

  /** Appends one entry through Ratis; the batcher's way into the log, on its proposer thread. */
  private CompletableFuture<NamespaceReply> replicate(NamespaceRecord record) {
    CompletableFuture<RaftClientReply> sent;
    try {
      sent = DirectSubmit.submit(server, request(
          Message.valueOf(UnsafeByteOperations.unsafeWrap(record.toByteArray())),
          RaftClientRequest.writeRequestType()));
    } catch (IOException | RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    return sent.orTimeout(config.requestTimeout().toMillis(), TimeUnit.MILLISECONDS)
        .handle((reply, failure) -> {
          if (failure == null && reply.isSuccess()) {
            return decode(reply);
          }
          throw new CompletionException(unavailable(
              failure != null ? unwrap(failure) : reply.getException(), true));
        });
  }

  private RaftClientRequest request(Message message, RaftClientRequest.Type type) {
    return RaftClientRequest.newBuilder()
        .setClientId(clientId)
        .setServerId(selfId)
        .setGroupId(GROUP_ID)
        .setCallId(callIds.incrementAndGet())
        .setMessage(message)
        .setType(type)
        .build();
  }

  private static NamespaceReply decode(RaftClientReply reply) {
    try {
      return ReplyCodec.decode(reply.getMessage().getContent().asReadOnlyByteBuffer());
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("unreadable reply from the state machine", e);
    }
  }

  /** The leader term to propose in, or why there is none. */
  private LeaderTerm readyLeaderTerm() {
    DivisionInfo info = divisionInfo();
    if (info == null) {
      throw new MasterUnavailableException(MasterUnavailableException.Reason.STOPPED, null,
          "member " + selfId + " is not running");
    }
    if (!info.isLeader()) {
      throw MasterUnavailableException.notLeader(selfId.toString(),
          Optional.ofNullable(info.getLeaderId()).map(RaftPeerId::toString).orElse(null));
    }
    LeaderTerm leaderTerm = stateMachine.leaderTerm();
    if (leaderTerm == null || leaderTerm.term() != info.getCurrentTerm()) {
      throw MasterUnavailableException.leaderNotReady(selfId.toString());
    }
    return leaderTerm;
  }

  /**
   * What a failed Ratis request means to the caller.
   *
   * @param proposed the request may have entered the log
   */
  private MasterUnavailableException unavailable(Throwable error, boolean proposed) {
    if (error instanceof LeaderNotReadyException) {
      return MasterUnavailableException.leaderNotReady(selfId.toString());
    }
    String leaderHint = null;
    if (error instanceof NotLeaderException notLeader) {
      leaderHint = notLeader.getSuggestedLeader() == null ? null
          : notLeader.getSuggestedLeader().getId().toString();
      if (!proposed) {
        return MasterUnavailableException.notLeader(selfId.toString(), leaderHint);
      }
    }
    String what = error instanceof TimeoutException
        ? "no reply within " + config.requestTimeout() : String.valueOf(error);
    return new MasterUnavailableException(MasterUnavailableException.Reason.OUTCOME_UNKNOWN,
        leaderHint, (proposed ? "outcome unknown" : "read failed") + " on member " + selfId
            + ": " + what, error);
  }

  // ---------------------------------------------------------------- reads

  /** The status of {@code path}; see {@link #read}. */
  public CompletableFuture<FileStatus> getStatus(String path, ReadConsistency consistency) {
    return read(consistency, ns -> ns.getStatus(path));
  }

  /** One page of the directory {@code path}; see {@link Namespace#list} and {@link #read}. */
  public CompletableFuture<DirectoryListing> list(String path, String startAfter, int limit,
      ReadConsistency consistency) {
    return read(consistency, ns -> ns.list(path, startAfter, limit));
  }

  /** What the subtree at {@code path} holds; see {@link #read}. */
  public CompletableFuture<ContentSummary> contentSummary(String path,
      ReadConsistency consistency) {
    return read(consistency, ns -> ns.contentSummary(path));
  }

  /**
   * Runs {@code read} on this member's namespace, after a read index round on the leader for
   * {@link ReadConsistency#LINEARIZABLE}, at once for {@link ReadConsistency#STALE}. Fails with a
   * {@link NamespaceException} cause when the read itself is refused (no such path...), with a
   * {@link MasterUnavailableException} when the member cannot serve it. A read that needs no
   * round (a stale one, or any in a group of one) runs on the calling thread, so {@code read}
   * must be bounded and the caller must not be one of Ratis's threads.
   */
  public <T> CompletableFuture<T> read(ReadConsistency consistency, NamespaceRead<T> read) {
    if (consistency == ReadConsistency.STALE) {
      return readHere(read);
    }
    try {
      readyLeaderTerm();
    } catch (MasterUnavailableException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (group.getPeers().size() == 1) {
      // The only voter leads for good once ready, and it answers a command only after applying
      // it, so its state holds every acknowledged change. (Ratis's read index does not
      // complete in a group of one.)
      return readHere(read);
    }
    CompletableFuture<RaftClientReply> index;
    try {
      index = DirectSubmit.submit(server,
          request(Message.EMPTY, RaftClientRequest.readRequestType()));
    } catch (IOException e) {
      index = CompletableFuture.failedFuture(e);
    }
    return index.orTimeout(config.requestTimeout().toMillis(), TimeUnit.MILLISECONDS)
        .handle((reply, failure) -> {
          if (failure == null && reply.isSuccess()) {
            return null;
          }
          throw new CompletionException(unavailable(
              failure != null ? unwrap(failure) : reply.getException(), false));
        })
        .thenCompose(caughtUp -> runRead(read));
  }

  /**
   * Runs a read on the calling thread, a request thread: every read is bounded (a page, one
   * file's status), and handing it to another thread would cost more than the read.
   */
  private <T> CompletableFuture<T> readHere(NamespaceRead<T> read) {
    try {
      return CompletableFuture.completedFuture(readOnce(read));
    } catch (NamespaceException | RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Runs a read on the read threads: after a read index round, whose completion comes on one of
   * Ratis's threads, never to be held up by reads.
   */
  private <T> CompletableFuture<T> runRead(NamespaceRead<T> read) {
    if (queuedReads.incrementAndGet() > QUEUED_READS_MAX) {
      queuedReads.decrementAndGet();
      return CompletableFuture.failedFuture(new MasterUnavailableException(
          MasterUnavailableException.Reason.BUSY, null, "member " + selfId
              + " has " + QUEUED_READS_MAX + " reads queued; try again later"));
    }
    CompletableFuture<T> result = new CompletableFuture<>();
    try {
      reads.execute(() -> {
        queuedReads.decrementAndGet();
        try {
          result.complete(readOnce(read));
        } catch (NamespaceException | RuntimeException e) {
          result.completeExceptionally(e);
        }
      });
    } catch (RejectedExecutionException stopped) {
      queuedReads.decrementAndGet();
      result.completeExceptionally(new MasterUnavailableException(
          MasterUnavailableException.Reason.STOPPED, null, "member " + selfId + " is stopping"));
    }
    return result;
  }

  /** A follower's namespace is replaced when it installs a snapshot: read the new one then. */
  private <T> T readOnce(NamespaceRead<T> read) throws NamespaceException {
    Namespace namespace = stateMachine.namespace();
    try {
      return read.read(namespace);
    } catch (IllegalStateException closed) {
      Namespace replaced = stateMachine.namespace();
      if (replaced == namespace) {
        throw closed;
      }
      return read.read(replaced);
    }
  }

  // ---------------------------------------------------------------- state

  public String memberId() {
    return selfId.toString();
  }

  /** The leader this member knows of, if any (itself included). */
  public Optional<String> leaderId() {
    DivisionInfo info = divisionInfo();
    return info == null ? Optional.empty()
        : Optional.ofNullable(info.getLeaderId()).map(RaftPeerId::toString);
  }

  /** True while this member leads and has applied every entry of earlier terms. */
  public boolean isLeaderReady() {
    try {
      readyLeaderTerm();
      return true;
    } catch (MasterUnavailableException e) {
      return false;
    }
  }

  /** The last log index applied here (configuration entries included). */
  public long appliedIndex() {
    DivisionInfo info = divisionInfo();
    return info == null ? 0 : info.getLastAppliedIndex();
  }

  /** The last log index this member knows committed. */
  public long commitIndex() {
    try {
      return server.getDivision(GROUP_ID).getRaftLog().getLastCommittedIndex();
    } catch (IOException e) {
      return 0;
    }
  }

  /** The first index still in this member's log; past 0 once a snapshot let it purge. */
  long logStartIndex() {
    try {
      return server.getDivision(GROUP_ID).getRaftLog().getStartIndex();
    } catch (IOException e) {
      return 0;
    }
  }

  /**
   * A digest of this member's whole namespace (see {@link Namespace#stateDigest}): equal on
   * members that applied the same entries. Reads everything; for checks, not the hot path.
   */
  public String stateDigest() {
    return stateMachine.namespace().stateDigest();
  }

  /** The namespace this member applied, for stale reads and checks. */
  public Namespace namespace() {
    return stateMachine.namespace();
  }

  /**
   * Healthy while this member knows a leader and has applied to within {@link
   * MasterConfig#healthyApplyLagMax()} entries of its commit index. Cheap and non-blocking.
   */
  public HealthCheck healthCheck() {
    return () -> {
      if (leaderId().isEmpty()) {
        return HealthStatus.unhealthy("member " + selfId + " knows no leader");
      }
      long lag = commitIndex() - appliedIndex();
      if (lag > config.healthyApplyLagMax()) {
        return HealthStatus.unhealthy("member " + selfId + " has applied " + appliedIndex()
            + ", " + lag + " entries behind its commit index (limit "
            + config.healthyApplyLagMax() + ")");
      }
      return HealthStatus.ok();
    };
  }

  private DivisionInfo divisionInfo() {
    try {
      return server.getDivision(GROUP_ID).getInfo();
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static Throwable unwrap(Throwable failure) {
    Throwable cause = failure;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }

  /** Ratis's member of the group on this server: its state, log and role, for diagnostics. */
  public RaftServer.Division division() throws IOException {
    return server.getDivision(GROUP_ID);
  }

  /**
   * Completes with what failed if this member's Raft server fails beyond repair (see {@link
   * RaftWatchdog}).
   */
  public CompletableFuture<String> failed() {
    return watchdog.failed();
  }

  /** Stops the duties, the Ratis server and the namespace. Idempotent. */
  @Override
  public void close() throws IOException {
    watchdog.close();
    duties.close();
    batcher.close();
    try {
      server.close();
    } finally {
      reads.shutdownNow();
      gauges.forEach(registry::remove);
      gauges.clear();
    }
  }

  /** The leader operations the duties use. */
  private final class DutiesLeader implements LeaderDuties.Leader {
    @Override
    public boolean leading(long term) {
      try {
        return readyLeaderTerm().term() == term;
      } catch (MasterUnavailableException e) {
        return false;
      }
    }

    @Override
    public CompletableFuture<NamespaceReply> submit(MasterCommand command) {
      return MasterNode.this.submit(command);
    }

    @Override
    public Namespace namespace() {
      return stateMachine.namespace();
    }

    @Override
    public LeaseRecovery leaseRecovery() {
      return leaseRecovery;
    }
  }
}
