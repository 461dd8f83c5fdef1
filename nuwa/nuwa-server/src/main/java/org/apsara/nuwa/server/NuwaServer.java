package org.apsara.nuwa.server;

import io.etcd.jetcd.api.AlarmMember;
import io.etcd.jetcd.api.LeaseRevokeRequest;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.protobuf.services.HealthStatusManager;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apsara.common.fault.Failpoints;
import org.apsara.common.net.HostPort;
import org.apsara.common.observe.GrpcServerMetrics;
import org.apsara.common.observe.HealthStatus;
import org.apsara.common.observe.Metrics;
import org.apsara.common.observe.ServiceHttpEndpoint;
import org.apsara.common.time.MonotonicClock;
import org.apsara.nuwa.server.grpc.AuthTokenInterceptor;
import org.apsara.nuwa.server.grpc.NuwaServices;
import org.apsara.nuwa.server.grpc.ServerContext;
import org.apsara.nuwa.server.raft.NuwaStateMachine;
import org.apsara.nuwa.server.raft.RaftNode;
import org.apsara.nuwa.server.raft.proto.LogRecord;
import org.apsara.nuwa.server.raft.proto.MemberAttributes;
import org.apsara.raft.RaftWatchdog;
import org.apsara.raft.SnapshotRetry;
import org.apsara.security.tls.TlsContexts;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Nuwa member: a Raft peer with the replicated MVCC store, serving etcd's v3 gRPC API on its
 * client port. The same class runs in the embedded cluster and as its own OS process.
 *
 * <p>Start with {@link #start}; {@link #close} stops it and releases its ports, keeping its data
 * directory so that the next start recovers every acknowledged write.
 */
public final class NuwaServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(NuwaServer.class);
  /** How often the leader looks for expired leases. */
  private static final long LEASE_CHECK_INTERVAL_MS = 100;
  /** Expired leases revoked per check at most, so that a mass expiry does not flood the log. */
  private static final int LEASE_EXPIRIES_PER_CHECK_MAX = 500;
  /** Threads sending watch events; the work per event is small and never blocks. */
  private static final int WATCH_SENDER_THREADS = 4;
  /** Head room over the request limit for gRPC framing, as etcd allows. */
  private static final int GRPC_OVERHEAD_BYTES = 512 * 1024;
  /**
   * Threads hashing and checking passwords: half the cores, so that a burst of Authenticate calls
   * (slow on purpose) leaves the rest of the member room to work.
   */
  private static final int PASSWORD_HASH_THREADS =
      Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
  /** Password hashes waiting for a thread at most; beyond it "too many requests". */
  private static final int PASSWORD_HASHES_QUEUED_MAX = 1000;

  private final NuwaConfig config;
  private final NuwaStateMachine stateMachine;
  private final RaftNode raft;
  private final ScheduledExecutorService scheduler;
  private final ExecutorService watchSenders;
  private final ExecutorService passwordHashing;
  private final Set<Long> expiriesInFlight = ConcurrentHashMap.newKeySet();
  private final HealthStatusManager grpcHealth = new HealthStatusManager();
  private final PrometheusMeterRegistry metrics;
  private NuwaServices services;
  private Server grpcServer;
  private int clientPort;
  private boolean closed;
  private final CompletableFuture<String> stoppedByItself = new CompletableFuture<>();
  private ServiceHttpEndpoint httpEndpoint;

  private NuwaServer(NuwaConfig config) throws IOException {
    this.config = config;
    Files.createDirectories(config.dataDir());
    this.metrics = Metrics.newRegistry("nuwa", config.memberId());
    this.stateMachine = new NuwaStateMachine(MonotonicClock.SYSTEM);
    this.raft = new RaftNode(config, stateMachine);
    AtomicInteger threads = new AtomicInteger();
    this.scheduler = Executors.newScheduledThreadPool(2, r -> daemon(r,
        "nuwa-" + config.memberId() + "-scheduler-" + threads.incrementAndGet()));
    this.watchSenders = Executors.newFixedThreadPool(WATCH_SENDER_THREADS, r -> daemon(r,
        "nuwa-" + config.memberId() + "-watch-" + threads.incrementAndGet()));
    this.passwordHashing = new ThreadPoolExecutor(PASSWORD_HASH_THREADS, PASSWORD_HASH_THREADS,
        0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(PASSWORD_HASHES_QUEUED_MAX),
        r -> daemon(r, "nuwa-" + config.memberId() + "-password-hash-" + threads.incrementAndGet()));
  }

  private static Thread daemon(Runnable r, String name) {
    Thread thread = new Thread(r, name);
    thread.setDaemon(true);
    return thread;
  }

  /** Starts a member: recovers its data, joins the group and opens its client port. */
  public static NuwaServer start(NuwaConfig config) throws IOException {
    NuwaServer server = new NuwaServer(config);
    try {
      server.startInternal();
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
    return server;
  }

  private void startInternal() throws IOException {
    if (!Failpoints.enabled().isEmpty()) {
      LOG.atWarn().addKeyValue("failpoints", Failpoints.enabled())
          .log("FAILPOINTS ENABLED: this member breaks guarantees on purpose; for tests only");
    }
    // Unusable TLS files fail the start here, before the member joins the group.
    SslContext clientSsl = config.clientTls() == null ? null
        : TlsContexts.forServer(config.clientTls(), config.clientAuth());
    raft.start();
    ServerContext ctx = new ServerContext(config, raft, stateMachine, scheduler,
        Clock.systemUTC(), passwordHashing);
    services = new NuwaServices(ctx, watchSenders);
    NettyServerBuilder builder = NettyServerBuilder
        .forAddress(new InetSocketAddress(config.clientHost(), config.clientPort()))
        .maxInboundMessageSize(config.maxRequestBytes() + GRPC_OVERHEAD_BYTES)
        .permitKeepAliveWithoutCalls(true)
        .permitKeepAliveTime(5, TimeUnit.SECONDS)
        // Handlers run on the Netty event loop that read the request. None blocks: writes and
        // linearizable reads hand their work to Raft and answer from its callbacks, serializable
        // reads read the in-memory store. Handing each message to a pool instead cost a thread
        // wake-up per request, which on a busy two-core machine cost more CPU than the request
        // (measured: 4,100 puts/s with 128 clients with the pool, 7,000 without).
        .directExecutor()
        .addService(grpcHealth.getHealthService());
    if (clientSsl != null) {
      builder.sslContext(clientSsl);
    }
    GrpcServerMetrics metricsInterceptor = new GrpcServerMetrics(metrics);
    AuthTokenInterceptor tokens = new AuthTokenInterceptor();
    // The last interceptor given runs first: metrics see every call, tokens reach the handlers.
    services.definitions().forEach(d -> builder.addService(
        ServerInterceptors.intercept(d, tokens, metricsInterceptor)));
    grpcServer = builder.build().start();
    clientPort = grpcServer.getPort();
    grpcHealth.setStatus("", ServingStatus.SERVING);
    scheduler.scheduleWithFixedDelay(this::expireLeases, LEASE_CHECK_INTERVAL_MS,
        LEASE_CHECK_INTERVAL_MS, TimeUnit.MILLISECONDS);
    if (config.autoCompactionRetainRevisions() > 0) {
      long intervalMs = config.autoCompactionInterval().toMillis();
      scheduler.scheduleWithFixedDelay(this::autoCompact, intervalMs, intervalMs,
          TimeUnit.MILLISECONDS);
    }
    publishAttributes(0);
    startHttpEndpoint();
    raft.failed().thenAccept(reason -> RaftWatchdog.stopService(
        "nuwa member " + config.memberId(), reason, this, stoppedByItself));
    LOG.atInfo()
        .addKeyValue("member", config.memberId())
        .addKeyValue("clientUrl", clientUrl())
        .addKeyValue("clientTls", config.clientTls() == null ? "off" : config.clientAuth())
        .addKeyValue("peerTls", config.peerTls() == null ? "off" : "mutual")
        .addKeyValue("peers", config.peersInOrder().keySet())
        .addKeyValue("quotaBytes", config.effectiveQuotaBytes() == Long.MAX_VALUE ? "none"
            : config.effectiveQuotaBytes())
        .log("nuwa member started");
  }

  private void startHttpEndpoint() {
    Gauge.builder("nuwa_store_bytes", () -> stateMachine.store().approximateBytes())
        .description("The store's estimate of its size, which the quota limits").register(metrics);
    Gauge.builder("nuwa_quota_bytes", () -> (double) config.effectiveQuotaBytes())
        .description("This member's quota of the store's size").register(metrics);
    Gauge.builder("nuwa_alarms", () -> stateMachine.alarms().size())
        .description("Alarms raised (NOSPACE refuses writes that add data)").register(metrics);
    Gauge.builder("nuwa_revision", () -> stateMachine.store().revision())
        .description("Latest revision of the key-value store").register(metrics);
    Gauge.builder("nuwa_compact_revision", () -> stateMachine.store().compactRevision())
        .description("Revision the history is compacted to").register(metrics);
    FunctionCounter.builder("nuwa_snapshots_taken", stateMachine, NuwaStateMachine::snapshotsTaken)
        .description("Snapshots this member wrote").register(metrics);
    FunctionCounter.builder("nuwa_snapshots_failed", stateMachine,
            NuwaStateMachine::snapshotsFailed)
        .description("Snapshots that failed (the next try waits "
            + SnapshotRetry.DELAY.toSeconds() + " s)").register(metrics);
    Gauge.builder("nuwa_raft_term", raft::term).description("Current Raft term").register(metrics);
    Gauge.builder("nuwa_raft_commit_index", raft::commitIndex)
        .description("Highest log index known committed").register(metrics);
    Gauge.builder("nuwa_raft_applied_index", raft::appliedIndex)
        .description("Highest log index applied to the store").register(metrics);
    Gauge.builder("nuwa_is_leader", () -> raft.isLeader() ? 1 : 0)
        .description("1 if this member is the Raft leader").register(metrics);
    Gauge.builder("nuwa_has_leader", () -> raft.leader().isPresent() ? 1 : 0)
        .description("1 if this member knows a leader").register(metrics);
    if (config.metricsPort() < 0) {
      return;
    }
    httpEndpoint = new ServiceHttpEndpoint(
        HostPort.of(config.clientHost(), config.metricsPort()), metrics);
    httpEndpoint.addHealthCheck("member", () -> raft.isVoter() ? HealthStatus.ok()
        : HealthStatus.unhealthy(config.join()
            ? "not a member of the group: waiting to be added, or removed"
            : "not a member of the group: removed"));
    httpEndpoint.addHealthCheck("leader", () -> raft.leader().isPresent()
        ? HealthStatus.ok() : HealthStatus.unhealthy("etcdserver: no leader"));
    // As etcd's /health: a raised alarm makes every member unhealthy until it is cleared.
    httpEndpoint.addHealthCheck("alarms", () -> {
      List<AlarmMember> alarms = stateMachine.alarms();
      return alarms.isEmpty() ? HealthStatus.ok()
          : HealthStatus.unhealthy(alarms.stream().map(alarm -> alarm.getAlarm().toString())
              .distinct().sorted().collect(Collectors.joining(", ")) + " raised");
    });
    httpEndpoint.addReadinessCheck("applied", () -> raft.appliedIndex() >= raft.commitIndex()
        ? HealthStatus.ok()
        : HealthStatus.unhealthy("applying the log: " + raft.appliedIndex() + " of "
            + raft.commitIndex()));
    httpEndpoint.start();
  }

  /** The HTTP port of /metrics and /health, or -1 if it is off. */
  public int metricsPort() {
    return httpEndpoint == null ? -1 : httpEndpoint.port();
  }

  /** This member's meters (also served on /metrics). */
  public PrometheusMeterRegistry metrics() {
    return metrics;
  }

  /** Tells the group this member's client URL (etcd's published attributes), retrying until it lands. */
  private void publishAttributes(int attempt) {
    MemberAttributes.Builder attributes = MemberAttributes.newBuilder()
        .setName(config.memberId())
        .addClientUrls(clientUrl())
        .addPeerUrls(config.peerScheme() + "://" + config.peers().get(config.memberId()).format());
    if (!config.join()) {
      attributes.setClusterId(ServerContext.clusterId(config.peers().keySet()));
    }
    LogRecord record = LogRecord.newBuilder().setMemberAttributes(attributes).build();
    raft.propose(record).whenComplete((reply, failure) -> {
      if (failure != null && !scheduler.isShutdown()) {
        long delayMs = Math.min(5000, 200L * (attempt + 1));
        scheduler.schedule(() -> publishAttributes(attempt + 1), delayMs, TimeUnit.MILLISECONDS);
      }
    });
  }

  private void expireLeases() {
    try {
      List<Long> expired = stateMachine.expiredLeases(LEASE_EXPIRIES_PER_CHECK_MAX);
      for (long id : expired) {
        if (!expiriesInFlight.add(id)) {
          continue;
        }
        LOG.atInfo().addKeyValue("lease", Long.toHexString(id)).log("lease expired; revoking");
        raft.propose(LogRecord.newBuilder()
                .setLeaseExpire(LeaseRevokeRequest.newBuilder().setID(id)).build())
            .whenComplete((reply, failure) -> expiriesInFlight.remove(id));
      }
    } catch (RuntimeException e) {
      LOG.warn("lease expiry check failed", e);
    }
  }

  /**
   * Keeps the store's history bounded: the leader compacts everything older than the retention
   * (the store lives in memory, so unbounded history would eventually exhaust the heap).
   */
  private void autoCompact() {
    try {
      if (!stateMachine.isLeaderReady()) {
        return;
      }
      long target = stateMachine.store().revision() - config.autoCompactionRetainRevisions();
      if (target <= stateMachine.store().compactRevision()) {
        return;
      }
      LOG.atInfo().addKeyValue("revision", target).log("auto-compacting history");
      raft.propose(LogRecord.newBuilder().setCompaction(
          io.etcd.jetcd.api.CompactionRequest.newBuilder().setRevision(target)).build());
    } catch (RuntimeException e) {
      LOG.warn("auto-compaction failed", e);
    }
  }

  public NuwaConfig config() {
    return config;
  }

  /**
   * The port the etcd-compatible API listens on (the configured one, or the one picked); once
   * the member has stopped, the one it had.
   */
  public int clientPort() {
    return clientPort;
  }

  public String clientUrl() {
    return config.clientScheme() + "://" + config.clientHost() + ":" + clientPort();
  }

  public String clientEndpoint() {
    return config.clientHost() + ":" + clientPort();
  }

  public RaftNode raft() {
    return raft;
  }

  public NuwaStateMachine stateMachine() {
    return stateMachine;
  }

  /**
   * Completes with the reason if the member stopped by itself: its Raft server failed beyond
   * repair (a log write failed, such as on a full disk). Never completes on {@link #close}.
   */
  public CompletableFuture<String> stoppedByItself() {
    return stoppedByItself;
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    grpcHealth.enterTerminalState();
    if (httpEndpoint != null) {
      httpEndpoint.close();
    }
    if (services != null) {
      services.close();
    }
    if (grpcServer != null) {
      grpcServer.shutdown();
    }
    scheduler.shutdownNow();
    watchSenders.shutdownNow();
    passwordHashing.shutdownNow();
    try {
      raft.close();
    } catch (IOException e) {
      LOG.warn("closing the Raft node failed", e);
    }
    if (grpcServer != null) {
      try {
        if (!grpcServer.awaitTermination(2, TimeUnit.SECONDS)) {
          grpcServer.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        grpcServer.shutdownNow();
      }
    }
    metrics.close();
    LOG.atInfo().addKeyValue("member", config.memberId()).log("nuwa member stopped");
  }
}
