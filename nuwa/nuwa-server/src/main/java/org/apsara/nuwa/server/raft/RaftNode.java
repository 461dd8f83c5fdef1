package org.apsara.nuwa.server.raft;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.client.RaftClientRpc;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcFactory;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SetConfigurationRequest;
import org.apache.ratis.protocol.exceptions.AlreadyClosedException;
import org.apache.ratis.protocol.exceptions.NotLeaderException;
import org.apache.ratis.protocol.exceptions.RaftException;
import org.apache.ratis.protocol.exceptions.ReconfigurationInProgressException;
import org.apache.ratis.protocol.exceptions.SetConfigurationException;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.apsara.common.fault.Failpoints;
import org.apsara.common.net.HostPort;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.server.NuwaConfig;
import org.apsara.nuwa.server.raft.proto.Empty;
import org.apsara.nuwa.server.raft.proto.LogRecord;
import org.apsara.nuwa.server.raft.proto.Query;
import org.apsara.nuwa.server.raft.proto.RecordBatch;
import org.apsara.nuwa.server.raft.proto.Reply;
import org.apsara.raft.DirectSubmit;
import org.apsara.raft.RaftServerSettings;
import org.apsara.raft.RaftWatchdog;
import org.apsara.security.tls.TlsContexts;
import org.apsara.security.tls.TlsMaterial;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This member's place in the Raft group: the Ratis server that replicates the log and applies it
 * to the {@link NuwaStateMachine}, and the path by which this member's gRPC handlers propose
 * records and read linearizably.
 *
 * <p>Requests go into the local Ratis server on the calling thread when this member leads (and
 * for reads, which every member serves by read index; see {@link DirectSubmit}), and otherwise to
 * the leader over Ratis's client protocol, following its redirects. Every request is unordered:
 * one slow or failed request never holds up or fails another, unlike Ratis's ordered client. A
 * retried write keeps its call ID, so Ratis's retry cache applies it at most once.
 *
 * <p>Thread-safe. Every future completes within the configured request timeout, with the reply or
 * with a {@link StatusRuntimeException} carrying the status an etcd client expects.
 */
public final class RaftNode implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RaftNode.class);
  /** The same group ID on every member of every Nuwa cluster; one Nuwa cluster is one group. */
  private static final RaftGroupId GROUP_ID =
      RaftGroupId.valueOf(UUID.nameUUIDFromBytes("apsara-nuwa".getBytes(StandardCharsets.UTF_8)));
  /**
   * Batches of proposals being replicated at once by this member; see {@link Batcher}. One: the
   * work of an entry (Ratis's log write, appends to the followers, their replies, the commit)
   * costs about as much as the work of its records, so an entry that carries twice the records
   * halves that part of a write's CPU. With 128 clients on two cores, one batch in flight instead
   * of two took puts from 3,092 to 4,129 per second, the members' CPU per put from 0.38 to 0.27
   * ms, and the median latency from 36 to 26 ms.
   */
  private static final int BATCHES_IN_FLIGHT_MAX = 1;
  /** Proposals waiting for a batch at most; beyond it a member sheds load rather than queue. */
  private static final int QUEUED_RECORDS_MAX = 10_000;
  /** Records in one batch at most. */
  private static final int RECORDS_PER_BATCH_MAX = 512;
  /** Pause before asking again while no leader is known or the leader is not ready. */
  private static final long RETRY_DELAY_MS = 50;
  /**
   * Failpoint that answers "linearizable" reads from the local state without a read index: a
   * partitioned member then serves stale data. Tests enable it to prove they would notice.
   */
  public static final String FAILPOINT_SKIP_READ_INDEX = "nuwa.read.skipReadIndex";
  private static final boolean SKIP_READ_INDEX = Failpoints.enabled(FAILPOINT_SKIP_READ_INDEX);
  /**
   * How often a follower checks that the entries it appended get committed; see {@link
   * #nudgeCommit}.
   */
  private static final long COMMIT_CHECK_INTERVAL_MS = 20;
  /** Pause before a joining member asks the group again to add it. */
  private static final long JOIN_RETRY_DELAY_MS = 1000;
  /**
   * Tries of one administrative call: enough to ride out the election that follows a leadership
   * hand-off, during which the new leader is not ready yet.
   */
  private static final int ADMIN_CALL_TRIES = 40;
  /** How long an administrative call (a membership change) may take at most. */
  private static final long MEMBERSHIP_CHANGE_TIMEOUT_SECONDS = 60;
  private static final Message READ_BARRIER = NuwaStateMachine.toMessage(
      Query.newBuilder().setReadBarrier(Empty.getDefaultInstance()).build());

  private final NuwaConfig config;
  private final RaftPeerId selfId;
  /** The members named by the configuration ({@code --peers}); the group may have changed since. */
  private final List<RaftPeer> initialPeers;
  /** Members whose address {@link #leaderRpc} knows. */
  private final Set<RaftPeerId> dialable = ConcurrentHashMap.newKeySet();
  private final NuwaStateMachine stateMachine;
  private final RaftServer server;
  private final ClientId clientId = ClientId.randomId();
  private final AtomicLong callIds = new AtomicLong();
  private final ScheduledExecutorService retries;
  private final Batcher batcher = new Batcher();
  /** Runs what follows a read index round: the next round, and the reads served by this one. */
  private final ExecutorService reads;
  private final ReadRounds<Reply> readRounds;
  /** Bytes of records in one batch at most: a batch is one log entry, which Ratis limits. */
  private final long batchBytesMax;
  /** Ratis's RPC parameters: the peer TLS settings, shared by the server and its clients. */
  private final Parameters rpcParameters;
  private RaftClientRpc leaderRpc;
  private final RaftWatchdog watchdog;
  /** The last log index a follower had at the previous commit check; only that task's. */
  private long appendedAtLastCheck;
  private final AtomicBoolean nudging = new AtomicBoolean();

  public RaftNode(NuwaConfig config, NuwaStateMachine stateMachine) throws IOException {
    this.config = config;
    this.stateMachine = stateMachine;
    this.selfId = RaftPeerId.valueOf(config.memberId());
    List<RaftPeer> peers = new ArrayList<>();
    for (Map.Entry<String, HostPort> peer : config.peersInOrder().entrySet()) {
      peers.add(RaftPeer.newBuilder()
          .setId(peer.getKey())
          .setAddress(peer.getValue().format())
          .build());
    }
    this.initialPeers = List.copyOf(peers);
    // A joining member starts outside any configuration and waits for the leader to bring it up
    // to date; the group's configuration, from the leader or from this member's own log after a
    // restart, is the one that counts from then on.
    RaftGroup group = config.join()
        ? RaftGroup.valueOf(GROUP_ID) : RaftGroup.valueOf(GROUP_ID, peers);

    Path raftDir = config.dataDir().resolve("raft");
    boolean fresh = !Files.isDirectory(raftDir.resolve(GROUP_ID.getUuid().toString()));
    Files.createDirectories(raftDir);
    RaftProperties properties = serverProperties(config, raftDir);
    this.rpcParameters = rpcParameters(config);
    this.server = RaftServer.newBuilder()
        .setServerId(selfId)
        .setGroup(group)
        .setProperties(properties)
        .setParameters(rpcParameters)
        .setStateMachine(stateMachine)
        .setOption(fresh ? RaftStorage.StartupOption.FORMAT : RaftStorage.StartupOption.RECOVER)
        .build();
    this.watchdog = new RaftWatchdog("nuwa-" + config.memberId(), server, GROUP_ID,
        config.dataDir());
    this.batchBytesMax = config.maxRequestBytes() * 2L;
    this.retries = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread thread = new Thread(r, "nuwa-" + config.memberId() + "-raft-retry");
      thread.setDaemon(true);
      return thread;
    });
    this.reads = Executors.newSingleThreadExecutor(r -> {
      Thread thread = new Thread(r, "nuwa-" + config.memberId() + "-reads");
      thread.setDaemon(true);
      return thread;
    });
    this.readRounds = new ReadRounds<>(this::readIndexRound, reads);
  }

  /**
   * With peer TLS, every Ratis connection of this member is mutual TLS: the one port that serves
   * other members, Ratis clients and admin calls requires a certificate of the peer CA, and this
   * member's own connections to the others present its certificate and check theirs, including
   * that it names the address dialed.
   */
  private static Parameters rpcParameters(NuwaConfig config) throws IOException {
    Parameters parameters = new Parameters();
    TlsMaterial tls = config.peerTls();
    if (tls == null) {
      return parameters;
    }
    // Read and check the files here, for an error that names them; Ratis reads them again
    // itself (keeping the whole chain) and would only report a failed handshake.
    TlsContexts.readIdentity(tls);
    TlsContexts.readTrustedCertificates(tls);
    GrpcConfigKeys.TLS.setConf(parameters, new GrpcTlsConfig(tls.keyFile().orElseThrow().toFile(),
        tls.certChainFile().orElseThrow().toFile(), tls.trustedCaFile().orElseThrow().toFile(),
        true));
    return parameters;
  }

  private static RaftProperties serverProperties(NuwaConfig config, Path raftDir) {
    HostPort self = config.peers().get(config.memberId());
    RaftProperties properties = RaftServerSettings.base(raftDir, self.host(), self.port(),
        config.electionTimeoutMin(), config.requestTimeout(), config.appendBatchWait());
    RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(properties, config.snapshotEveryEntries());
    RaftServerConfigKeys.Snapshot.setRetentionFileNum(properties, 2);
    RaftServerConfigKeys.Log.setSegmentSizeMax(properties, SizeInBytes.valueOf("64MB"));
    // By default Ratis appends a metadata entry with the commit index after entries commit, and
    // forces it like any entry: a second fsync for every write, on the way to its reply. What it
    // buys is that followers learn the commit index at once instead of with the leader's next
    // message; nothing here depends on that. A follower's reads wait for a read index, and its
    // refusals by the auth state for one too (ServerContext.guard). A restarted member applies the
    // entries it has once a leader's commit covers them, as Raft prescribes: an acknowledged entry
    // is on a majority's disks either way.
    RaftServerConfigKeys.Log.setLogMetadataEnabled(properties, false);
    // One append batch holds several maximal requests; Ratis wants the gRPC message limit to
    // exceed the batch limit by at least 1 MiB of framing.
    long appendBatchBytes = config.maxRequestBytes() * 4L;
    RaftServerConfigKeys.Log.Appender.setBufferByteLimit(properties,
        SizeInBytes.valueOf(appendBatchBytes));
    RaftServerConfigKeys.Log.setWriteBufferSize(properties,
        SizeInBytes.valueOf(Math.max(8L << 20, appendBatchBytes + (1L << 20))));
    GrpcConfigKeys.setMessageSizeMax(properties, SizeInBytes.valueOf(appendBatchBytes + (2L << 20)));
    return properties;
  }

  public void start() throws IOException {
    server.start();
    watchdog.start();
    leaderRpc = new GrpcFactory(rpcParameters).newRaftClientRpc(clientId, clientProperties());
    retries.scheduleWithFixedDelay(this::nudgeCommit, COMMIT_CHECK_INTERVAL_MS,
        COMMIT_CHECK_INTERVAL_MS, TimeUnit.MILLISECONDS);
    if (config.join() && !isVoter()) {
      Thread joining = new Thread(this::join, "nuwa-" + config.memberId() + "-join");
      joining.setDaemon(true);
      joining.start();
    }
  }

  /** Whether this member is a voter of the group's configuration as this member knows it. */
  public boolean isVoter() {
    return members().stream().anyMatch(peer -> peer.getId().equals(selfId));
  }

  /**
   * Asks the running group to add this member, until it has or this member stops; runs on a
   * thread of its own, as each request may wait long. The leader first brings this member up to
   * date (entries or a snapshot), then commits the configuration that includes it; a member that
   * stops answering meanwhile is not added. Asking again is harmless: adding a member that is
   * already in the group changes nothing.
   */
  private void join() {
    List<RaftPeer> others = initialPeers.stream()
        .filter(peer -> !peer.getId().equals(selfId)).toList();
    RaftPeer self = initialPeers.stream()
        .filter(peer -> peer.getId().equals(selfId)).findFirst().orElseThrow();
    LOG.atInfo().addKeyValue("member", selfName()).addKeyValue("asking", others)
        .log("asking the group to add this member");
    while (!retries.isShutdown()) {
      Object error;
      try (RaftClient client = adminClient(others)) {
        RaftClientReply reply = client.admin().setConfiguration(SetConfigurationRequest.Arguments
            .newBuilder().setServersInNewConf(List.of(self))
            .setMode(SetConfigurationRequest.Mode.ADD).build());
        if (reply.isSuccess()) {
          LOG.atInfo().addKeyValue("member", selfName()).addKeyValue("members", members())
              .log("joined the group");
          return;
        }
        error = reply.getException();
      } catch (IOException | RuntimeException e) {
        error = e;
      }
      LOG.atWarn().addKeyValue("member", selfName()).addKeyValue("error", error)
          .log("the group did not add this member yet; asking again");
      try {
        Thread.sleep(JOIN_RETRY_DELAY_MS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * On a follower: when an entry it had already appended at the previous check is still not known
   * committed, runs a read index round, for which the leader sends every follower a heartbeat
   * carrying its commit index.
   *
   * <p>Why: a Ratis leader tells followers the commit index only with its next message to them.
   * Under load that comes at once; in a quiet cluster it is the next heartbeat, half an election
   * timeout later, and until then a follower has not applied a write the leader acknowledged, so
   * its watchers see the write that much later. With this check they see it within a few tens of
   * milliseconds. Under load entries are committed before the next check, so no round is run.
   */
  private void nudgeCommit() {
    try {
      RaftServer.Division division = server.getDivision(GROUP_ID);
      if (division.getInfo().isLeader()) {
        appendedAtLastCheck = 0;
        return;
      }
      RaftLog log = division.getRaftLog();
      TermIndex last = log.getLastEntryTermIndex();
      if (log.getLastCommittedIndex() < appendedAtLastCheck && nudging.compareAndSet(false, true)) {
        readRounds.awaitRound().whenComplete((round, failure) -> nudging.set(false));
      }
      appendedAtLastCheck = last == null ? 0 : last.getIndex();
    } catch (IOException | RuntimeException e) {
      // Stopping, or not started yet: the next check tries again.
      LOG.atDebug().addKeyValue("error", e.toString()).log("commit check skipped");
    }
  }

  private RaftProperties clientProperties() {
    RaftProperties clientProperties = new RaftProperties();
    RaftClientConfigKeys.Rpc.setRequestTimeout(clientProperties,
        TimeDuration.valueOf(config.requestTimeout().toMillis(), TimeUnit.MILLISECONDS));
    GrpcConfigKeys.setMessageSizeMax(clientProperties,
        SizeInBytes.valueOf(config.maxRequestBytes() * 4L + (2L << 20)));
    return clientProperties;
  }

  /**
   * Replicates the record and returns the reply of its application. Records proposed while
   * earlier ones are still being replicated travel together in one log entry (group commit), so
   * many concurrent clients cost the log and the network little more than one.
   */
  public CompletableFuture<Reply> propose(LogRecord record) {
    PendingRecord pending = new PendingRecord(record, new CompletableFuture<>());
    List<List<PendingRecord>> ready;
    synchronized (batcher) {
      if (batcher.queue.size() >= QUEUED_RECORDS_MAX) {
        return CompletableFuture.failedFuture(NuwaErrors.TOO_MANY_REQUESTS.asRuntimeException());
      }
      batcher.queue.add(pending);
      ready = batcher.takeReadyBatches();
    }
    ready.forEach(batcher::send);
    return pending.reply;
  }

  private record PendingRecord(LogRecord record, CompletableFuture<Reply> reply) {}

  /**
   * Gathers proposals into batches. At most {@link #BATCHES_IN_FLIGHT_MAX} batches are being
   * replicated at a time; whatever arrives meanwhile waits and leaves as the next batch. A lone
   * proposal on an idle member leaves at once, so batching adds no latency to it.
   *
   * <p>Batches are taken under this batcher's lock and sent after it is released: on the leader
   * a batch goes into Ratis on the sending thread (see {@link DirectSubmit}), which takes Ratis's
   * locks, and a Ratis thread holding those may complete a batch and so need this lock.
   */
  private final class Batcher {
    final java.util.ArrayDeque<PendingRecord> queue = new java.util.ArrayDeque<>();
    int inFlight;

    /** The batches that may leave now, counted in flight; called with this batcher's lock held. */
    List<List<PendingRecord>> takeReadyBatches() {
      List<List<PendingRecord>> ready = List.of();
      while (inFlight < BATCHES_IN_FLIGHT_MAX && !queue.isEmpty()) {
        List<PendingRecord> batch = new ArrayList<>();
        long bytes = 0;
        while (!queue.isEmpty() && batch.size() < RECORDS_PER_BATCH_MAX) {
          long size = queue.peek().record().getSerializedSize();
          if (!batch.isEmpty() && bytes + size > batchBytesMax) {
            break;
          }
          bytes += size;
          batch.add(queue.poll());
        }
        inFlight++;
        if (ready.isEmpty()) {
          ready = new ArrayList<>(BATCHES_IN_FLIGHT_MAX);
        }
        ready.add(batch);
      }
      return ready;
    }

    /** Replicates one batch taken by {@link #takeReadyBatches}; called without the lock. */
    void send(List<PendingRecord> batch) {
      LogRecord entry = batch.size() == 1 ? batch.get(0).record()
          : LogRecord.newBuilder().setBatch(RecordBatch.newBuilder()
              .addAllRecords(batch.stream().map(PendingRecord::record).toList())).build();
      finish(toLeader(NuwaStateMachine.toMessage(entry), RaftClientRequest.writeRequestType()))
          .whenComplete((reply, failure) -> {
            List<List<PendingRecord>> ready;
            synchronized (this) {
              inFlight--;
              ready = takeReadyBatches();
            }
            ready.forEach(this::send);
            if (batch.size() == 1) {
              complete(batch.get(0).reply(), reply, failure);
              return;
            }
            for (int i = 0; i < batch.size(); i++) {
              Reply each = failure == null ? reply.getBatch().getReplies(i) : null;
              complete(batch.get(i).reply(), each, failure);
            }
          });
    }

    private void complete(CompletableFuture<Reply> target, Reply reply, Throwable failure) {
      if (failure != null) {
        target.completeExceptionally(failure);
      } else if (reply.hasError()) {
        target.completeExceptionally(Status.fromCodeValue(reply.getError().getCode())
            .withDescription(reply.getError().getMessage()).asRuntimeException());
      } else {
        target.complete(reply);
      }
    }
  }

  /**
   * A linearizable read: this member learns the leader's commit index, catches up, then answers
   * from its own state. Concurrent reads share that work; see {@link ReadRounds}.
   */
  public CompletableFuture<Reply> readLinearizable(Query query) {
    return awaitCaughtUp().thenCompose(caughtUp -> finishLocal(readLocal(query)));
  }

  /**
   * Completes once this member has applied everything that was committed when this was called,
   * so that its own state holds every write acknowledged before then, on whichever member: what
   * a linearizable read waits for, and what a decision on this member's replicated state (such as
   * refusing a caller by the auth state) must wait for where that state may lag the leader's.
   * Shares a read index round with concurrent reads (in a group of one, completes at once).
   * Fails as such a read fails: request timed out, or no leader.
   */
  public CompletableFuture<Void> awaitCaughtUp() {
    if (SKIP_READ_INDEX) {
      return CompletableFuture.completedFuture(null);
    }
    if (members().size() == 1 && isVoter()) {
      // The only voter leads for good once it has replayed its log, and it replies to a write
      // only after applying it, so its own state already holds every acknowledged write. (Ratis's
      // read index never completes in a group of one.) Right after a start it waits for that,
      // as a write would, rather than refusing.
      return stateMachine.whenLeaderReady().copy()
          .completeOnTimeout(null, config.requestTimeout().toMillis(), TimeUnit.MILLISECONDS)
          .thenRun(() -> {
            if (!stateMachine.isLeaderReady()) {
              throw NuwaErrors.NO_LEADER.asRuntimeException();
            }
          });
    }
    return readRounds.awaitRound().thenApply(round -> null);
  }

  /** One read index round through Ratis: done once this member has applied the read index. */
  private CompletableFuture<Reply> readIndexRound() {
    long deadlineNanos = System.nanoTime() + config.requestTimeout().toNanos();
    CompletableFuture<RaftClientReply> result = new CompletableFuture<>();
    attempt(READ_BARRIER, RaftClientRequest.readRequestType(), callIds.incrementAndGet(),
        deadlineNanos, selfId, true, result);
    return finish(result);
  }

  /** A query answered by the leader's state machine without a read index (lease keep-alives). */
  public CompletableFuture<Reply> askLeader(Query query) {
    return finish(toLeader(NuwaStateMachine.toMessage(query),
        RaftClientRequest.readRequestType(true)));
  }

  /** A serializable read from this member's applied state; may be stale, never blocks. */
  public Reply readLocal(Query query) {
    try {
      return stateMachine.answer(query);
    } catch (StatusRuntimeException e) {
      return NuwaStateMachine.error(e.getStatus());
    }
  }

  private CompletableFuture<RaftClientReply> toLeader(Message message, RaftClientRequest.Type type) {
    long deadlineNanos = System.nanoTime() + config.requestTimeout().toNanos();
    CompletableFuture<RaftClientReply> result = new CompletableFuture<>();
    attempt(message, type, callIds.incrementAndGet(), deadlineNanos, knownLeader(), false, result);
    return result;
  }

  private RaftPeerId knownLeader() {
    try {
      return server.getDivision(GROUP_ID).getInfo().getLeaderId();
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * One try at a request, and the decision what to do when it fails: follow a redirect at once,
   * wait a moment while leadership settles or the network recovers, give up at the deadline.
   *
   * @param pinned true for requests this member must serve itself (reads by read index)
   */
  private void attempt(Message message, RaftClientRequest.Type type, long callId,
      long deadlineNanos, RaftPeerId target, boolean pinned,
      CompletableFuture<RaftClientReply> result) {
    if (System.nanoTime() - deadlineNanos > 0) {
      result.completeExceptionally(NuwaErrors.TIMEOUT.asRuntimeException());
      return;
    }
    if (target == null || !target.equals(selfId) && !makeDialable(target)) {
      // No leader known, or one whose address this member has not learned yet.
      retryLater(message, type, callId, deadlineNanos, pinned, result);
      return;
    }
    RaftClientRequest request = RaftClientRequest.newBuilder()
        .setClientId(clientId)
        .setServerId(target)
        .setGroupId(GROUP_ID)
        .setCallId(callId)
        .setMessage(message)
        .setType(type)
        .build();
    CompletableFuture<RaftClientReply> sent;
    try {
      sent = target.equals(selfId)
          ? DirectSubmit.submit(server, request)
          : leaderRpc.sendRequestAsyncUnordered(request);
    } catch (IOException | RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    sent.whenComplete((reply, failure) -> {
      Throwable error = failure != null ? unwrap(failure)
          : reply.isSuccess() ? null : reply.getException();
      if (error == null) {
        result.complete(reply);
        return;
      }
      if (error instanceof NotLeaderException notLeader && !pinned) {
        RaftPeer suggested = notLeader.getSuggestedLeader();
        if (suggested != null && !suggested.getId().equals(target)) {
          if (dialable.add(suggested.getId())) {
            leaderRpc.addRaftPeers(List.of(suggested));
          }
          attempt(message, type, callId, deadlineNanos, suggested.getId(), false, result);
          return;
        }
      }
      LOG.atDebug().addKeyValue("target", target).addKeyValue("callId", callId)
          .addKeyValue("error", error.toString()).log("raft request failed");
      if (!target.equals(selfId) && error instanceof IOException
          && (!(error instanceof RaftException) || error instanceof AlreadyClosedException)) {
        // A transport failure leaves the connection to that member closed; the next try must
        // open a new one (what Ratis's own client does).
        leaderRpc.handleException(target, error, true);
      }
      if (retryable(error)) {
        retryLater(message, type, callId, deadlineNanos, pinned, result);
        return;
      }
      result.completeExceptionally(error);
    });
  }

  private void retryLater(Message message, RaftClientRequest.Type type, long callId,
      long deadlineNanos, boolean pinned, CompletableFuture<RaftClientReply> result) {
    try {
      retries.schedule(() -> attempt(message, type, callId, deadlineNanos,
          pinned ? selfId : knownLeader(), pinned, result), RETRY_DELAY_MS, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException stopped) {
      result.completeExceptionally(NuwaErrors.STOPPED.asRuntimeException());
    }
  }

  /** Failures that a later try may not meet: leadership moving, the network, a busy leader. */
  private static boolean retryable(Throwable error) {
    return error instanceof IOException && !(error instanceof StateMachineException);
  }

  private static Throwable unwrap(Throwable failure) {
    Throwable cause = failure;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }

  private static CompletableFuture<Reply> finishLocal(Reply reply) {
    if (reply.hasError()) {
      return CompletableFuture.failedFuture(Status.fromCodeValue(reply.getError().getCode())
          .withDescription(reply.getError().getMessage()).asRuntimeException());
    }
    return CompletableFuture.completedFuture(reply);
  }

  private CompletableFuture<Reply> finish(CompletableFuture<RaftClientReply> sent) {
    return sent.handle((reply, failure) -> {
      if (failure != null) {
        throw toStatus(failure);
      }
      try {
        Reply parsed = Reply.parseFrom(reply.getMessage().getContent().asReadOnlyByteBuffer());
        if (parsed.hasError()) {
          throw Status.fromCodeValue(parsed.getError().getCode())
              .withDescription(parsed.getError().getMessage()).asRuntimeException();
        }
        return parsed;
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        throw Status.INTERNAL.withDescription("unreadable reply: " + e.getMessage())
            .asRuntimeException();
      }
    });
  }

  /**
   * The status for a request that could not be completed. Always "request timed out", never "no
   * leader": a write may have reached a leader on an earlier try, and etcd clients re-send writes
   * that failed with "no leader", which would apply them twice.
   */
  private static StatusRuntimeException toStatus(Throwable failure) {
    Throwable cause = unwrap(failure);
    if (cause instanceof StatusRuntimeException status) {
      return status;
    }
    // etcd clients match the message exactly, so the cause goes in the status's cause only.
    return NuwaErrors.TIMEOUT.withCause(cause).asRuntimeException();
  }


  /** Ratis's member of the group on this server: its state, log and role, for diagnostics. */
  public RaftServer.Division division() throws IOException {
    return server.getDivision(GROUP_ID);
  }

  /** This member's name. */
  public String selfName() {
    return selfId.toString();
  }

  /** The current leader's name, if this member knows one. */
  public Optional<String> leader() {
    try {
      DivisionInfo info = server.getDivision(GROUP_ID).getInfo();
      RaftPeerId leaderId = info.getLeaderId();
      return Optional.ofNullable(leaderId).map(RaftPeerId::toString);
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  public boolean isLeader() {
    try {
      return server.getDivision(GROUP_ID).getInfo().isLeader();
    } catch (IOException e) {
      return false;
    }
  }

  public long term() {
    try {
      return server.getDivision(GROUP_ID).getInfo().getCurrentTerm();
    } catch (IOException e) {
      return 0;
    }
  }

  public long commitIndex() {
    try {
      return server.getDivision(GROUP_ID).getRaftLog().getLastCommittedIndex();
    } catch (IOException e) {
      return 0;
    }
  }

  public long appliedIndex() {
    try {
      return server.getDivision(GROUP_ID).getInfo().getLastAppliedIndex();
    } catch (IOException e) {
      return 0;
    }
  }

  /** Asks Ratis to hand leadership to the named member. */
  public CompletableFuture<Void> transferLeadership(String memberName, long timeoutMs) {
    return CompletableFuture.runAsync(() -> {
      try (RaftClient client = adminClient(members())) {
        RaftClientReply reply = client.admin()
            .transferLeadership(RaftPeerId.valueOf(memberName), timeoutMs);
        if (!reply.isSuccess()) {
          throw toStatus(reply.getException());
        }
      } catch (IOException e) {
        throw toStatus(e);
      }
    });
  }

  /**
   * Takes the named member out of the group. Fails with FAILED_PRECONDITION, changing nothing,
   * when the group's membership changed since this member last learned it, or another change is
   * under way.
   *
   * <p>The leader is removed only after it handed leadership to another member: a leader that
   * removes itself shuts down without answering the requests it was still replicating, which
   * their clients would then wait out until their deadline.
   */
  public CompletableFuture<Void> removeMember(String memberName) {
    List<RaftPeer> current = List.copyOf(members());
    List<RaftPeer> remaining = current.stream()
        .filter(peer -> !peer.getId().toString().equals(memberName)).toList();
    return CompletableFuture.runAsync(() -> {
      try (RaftClient client = adminClient(current)) {
        if (leader().filter(memberName::equals).isPresent()) {
          handOffLeadership(client, remaining);
        }
        RaftClientReply reply = client.admin().setConfiguration(SetConfigurationRequest.Arguments
            .newBuilder().setServersInCurrentConf(current).setServersInNewConf(remaining)
            .setMode(SetConfigurationRequest.Mode.COMPARE_AND_SET).build());
        if (!reply.isSuccess()) {
          throw membershipFailure(reply.getException());
        }
      } catch (IOException e) {
        throw membershipFailure(e);
      }
    });
  }

  /** Makes one of {@code successors} the leader, trying each in turn. */
  private void handOffLeadership(RaftClient client, List<RaftPeer> successors) throws IOException {
    Object refusal = null;
    for (RaftPeer successor : successors) {
      RaftClientReply moved = client.admin().transferLeadership(successor.getId(),
          config.requestTimeout().toMillis());
      if (moved.isSuccess()) {
        return;
      }
      refusal = moved.getException();
    }
    throw Status.UNAVAILABLE.withDescription("etcdserver: the leader could not hand leadership"
        + " to another member before leaving the group: " + refusal).asRuntimeException();
  }

  private static StatusRuntimeException membershipFailure(Throwable failure) {
    Throwable cause = unwrap(failure);
    if (cause instanceof SetConfigurationException
        || cause instanceof ReconfigurationInProgressException) {
      return Status.FAILED_PRECONDITION.withDescription("etcdserver: the membership changed or"
          + " is changing; list the members and try again").withCause(cause).asRuntimeException();
    }
    return toStatus(cause);
  }

  /**
   * The voters of the group's configuration as this member knows it: the latest it has in its
   * log, committed or not. Empty on a joining member that has not been added yet.
   */
  public Collection<RaftPeer> members() {
    try {
      return server.getDivision(GROUP_ID).getRaftConf().getCurrentPeers();
    } catch (IOException e) {
      return List.of();
    }
  }

  /**
   * Lets {@link #leaderRpc} reach the member, which may have joined after this one started;
   * false if this member does not know its address (yet).
   */
  private boolean makeDialable(RaftPeerId target) {
    if (dialable.contains(target)) {
      return true;
    }
    List<RaftPeer> known = new ArrayList<>(members());
    known.addAll(initialPeers);
    for (RaftPeer peer : known) {
      if (peer.getId().equals(target) && dialable.add(target)) {
        leaderRpc.addRaftPeers(List.of(peer));
        return true;
      }
    }
    return dialable.contains(target);
  }

  /**
   * A Ratis client for one administrative call: it finds the leader among {@code peers} and
   * follows its redirects. Made per call, so that it knows the group as it is then.
   */
  private RaftClient adminClient(Collection<RaftPeer> peers) {
    return RaftClient.newBuilder()
        .setRaftGroup(RaftGroup.valueOf(GROUP_ID, peers))
        .setProperties(adminClientProperties())
        .setParameters(rpcParameters)
        .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(ADMIN_CALL_TRIES,
            TimeDuration.valueOf(RETRY_DELAY_MS, TimeUnit.MILLISECONDS)))
        .build();
  }

  /**
   * A membership change waits while the leader brings a new member up to date, which may take
   * longer than a client request; Ratis fails it sooner if the new member stops answering.
   */
  private RaftProperties adminClientProperties() {
    RaftProperties properties = clientProperties();
    RaftClientConfigKeys.Rpc.setRequestTimeout(properties,
        TimeDuration.valueOf(MEMBERSHIP_CHANGE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
    return properties;
  }

  /**
   * Completes with what failed if this member's Raft server fails beyond repair (see {@link
   * RaftWatchdog}).
   */
  public CompletableFuture<String> failed() {
    return watchdog.failed();
  }

  @Override
  public void close() throws IOException {
    watchdog.close();
    retries.shutdownNow();
    reads.shutdownNow();
    if (leaderRpc != null) {
      leaderRpc.close();
    }
    server.close();
  }
}
