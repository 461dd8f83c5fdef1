package org.apsara.pangu.master.server;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.common.net.GrpcServers;
import org.apsara.common.net.HostPort;
import org.apsara.common.observe.GrpcServerMetrics;
import org.apsara.common.observe.HealthStatus;
import org.apsara.common.observe.Metrics;
import org.apsara.common.observe.ServiceHttpEndpoint;
import org.apsara.common.time.MonotonicClock;
import org.apsara.pangu.master.chunks.ChunkManager;
import org.apsara.pangu.master.chunks.ChunkTokens;
import org.apsara.pangu.master.chunks.GrpcChunkServerCalls;
import org.apsara.pangu.master.raft.MasterNode;
import org.apsara.pangu.master.repair.LastChunkRecovery;
import org.apsara.pangu.master.repair.ReplicationMonitor;
import org.apsara.raft.RaftWatchdog;
import org.apsara.security.audit.AuditSink;
import org.apsara.security.audit.Slf4jAuditSink;
import org.apsara.security.tls.ClientAuth;
import org.apsara.security.tls.TlsContexts;
import org.apsara.security.token.CapabilityTokenIssuer;
import org.apsara.security.token.TokenKey;
import org.apsara.security.token.TokenKeyFile;
import org.apsara.tenant.api.CredentialsFile;
import org.apsara.tenant.api.service.ServiceAuthenticator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running Pangu master member: its {@link MasterNode} (Raft and the namespace), the leader's
 * {@link ChunkManager}, {@link ReplicationMonitor} and {@link LastChunkRecovery}, the gRPC
 * services {@code PanguMaster} and {@code ChunkServerTracker} on the member's client port, and,
 * if configured, /metrics, /health and /ready over HTTP.
 *
 * <p>Start a member with {@link #start(MasterServerConfig)}; every member of the group runs the
 * same way with its own {@code member.id}. Anything unusable (the key file, TLS files, a port,
 * the data directory) fails the start with an exception naming it, after releasing what was
 * already started. {@link #close} stops serving, lets calls in flight end for
 * {@value #SHUTDOWN_GRACE_SECONDS} s, and stops the member.
 *
 * <p>Thread-safe.
 */
public final class MasterServer implements AutoCloseable {
  /** The name in metrics. */
  public static final String SERVICE_NAME = "pangu-master";
  public static final long SHUTDOWN_GRACE_SECONDS = 2;
  /**
   * Threads running the calls that may block (placement, lease recovery, chunkserver reports);
   * see {@link CallExecutors}.
   */
  public static final int HANDLER_THREADS = 16;
  /**
   * Largest inbound message: a full chunk report of a chunkserver with about two million
   * replicas (some 25 bytes each).
   */
  public static final int INBOUND_MESSAGE_BYTES_MAX = 64 << 20;

  private static final Logger LOG = LoggerFactory.getLogger(MasterServer.class);

  private final MasterServerConfig config;
  private final PrometheusMeterRegistry registry;
  private MasterNode node;
  private ChunkManager chunks;
  private GrpcChunkServerCalls calls;
  private ReplicationMonitor monitor;
  private LastChunkRecovery recovery;
  private ExecutorService handlers;
  private ServiceAuthenticator authenticator;
  private Server grpcServer;
  private ServiceHttpEndpoint httpEndpoint;
  private boolean closed;
  private final CompletableFuture<String> stoppedByItself = new CompletableFuture<>();

  private MasterServer(MasterServerConfig config) {
    this.config = config;
    this.registry = Metrics.newRegistry(SERVICE_NAME, config.memberId());
  }

  /**
   * Starts one member.
   *
   * @throws IOException if the token key file, a TLS file or the data directory cannot be used,
   *     or a port cannot be bound
   */
  public static MasterServer start(MasterServerConfig config) throws IOException {
    MasterServer server = new MasterServer(Objects.requireNonNull(config, "config"));
    try {
      server.startInternal();
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
    return server;
  }

  private void startInternal() throws IOException {
    List<TokenKey> keys = TokenKeyFile.load(config.tokenKeyFile());
    SslContext serverTls = config.tls().isEmpty() ? null : TlsContexts.forServer(
        config.tls().get(), config.clientCertAuth() ? ClientAuth.REQUIRE : ClientAuth.NONE);
    SslContext chunkServerTls = config.tls().isEmpty() ? null
        : TlsContexts.forClient(config.tls().get());
    Clock wallClock = Clock.systemUTC();
    // The first key of the file signs; verifiers accept every key listed (see TokenKeyFile).
    ChunkTokens tokens = new ChunkTokens(new CapabilityTokenIssuer(keys.get(0), wallClock),
        wallClock, config.tokenLifetime());

    node = new MasterNode(config.master(), wallClock, registry);
    chunks = new ChunkManager(config.chunks(), MonotonicClock.SYSTEM, wallClock,
        new SplittableRandom(new SecureRandom().nextLong()));
    calls = new GrpcChunkServerCalls(tokens, chunkServerTls);
    monitor = new ReplicationMonitor(node, chunks, calls, config.repairInterval(),
        config.master().requestTimeout(), registry);
    recovery = new LastChunkRecovery(node, chunks, calls, wallClock,
        config.master().requestTimeout());
    node.addLeadershipObserver(monitor);
    node.setLeaseRecovery(recovery);

    MasterErrors errors = new MasterErrors(config.clientAddresses());
    AtomicInteger threads = new AtomicInteger();
    handlers = Executors.newFixedThreadPool(HANDLER_THREADS, r -> {
      Thread thread = new Thread(r, "pangu-master-call-" + threads.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    });
    AuditSink audit = new Slf4jAuditSink();
    MasterAccess access = startAuthentication(audit);
    PanguMasterService master = new PanguMasterService(node, chunks, tokens, recovery, monitor,
        errors, access, config, handlers);
    ChunkServerTrackerService tracker = new ChunkServerTrackerService(node, chunks, errors);
    GrpcServerMetrics grpcMetrics = new GrpcServerMetrics(registry);
    // Metrics outermost, so that refused calls are counted too.
    ServerServiceDefinition masterService = authenticator == null ? master.bindService()
        : ServerInterceptors.intercept(master, authenticator.interceptor(audit, Set.of()));
    NettyServerBuilder builder = NettyServerBuilder
        .forAddress(new InetSocketAddress(config.bindHost(), config.clientAddress().port()))
        // The small namespace calls run where they were read; the rest on the handler pool.
        .directExecutor()
        .callExecutor(new CallExecutors(handlers, authenticator))
        .maxInboundMessageSize(INBOUND_MESSAGE_BYTES_MAX)
        .permitKeepAliveWithoutCalls(true)
        .permitKeepAliveTime(5, TimeUnit.SECONDS)
        .addService(ServerInterceptors.intercept(masterService, grpcMetrics))
        .addService(ServerInterceptors.intercept(tracker, grpcMetrics));
    if (serverTls != null) {
      builder.sslContext(serverTls);
    }
    node.start();
    grpcServer = builder.build().start();
    if (config.metricsPort() >= 0) {
      httpEndpoint = new ServiceHttpEndpoint(
          HostPort.of(config.bindHost(), config.metricsPort()), registry);
      httpEndpoint.addHealthCheck("raft", node.healthCheck());
      httpEndpoint.addHealthCheck("serving", () -> grpcServer.isShutdown()
          ? HealthStatus.unhealthy("the gRPC server is shut down") : HealthStatus.ok());
      httpEndpoint.start();
    }
    LOG.atInfo().addKeyValue("member", config.memberId()).addKeyValue("address", clientAddress())
        .addKeyValue("tls", serverTls != null).addKeyValue("peers", config.clientAddresses())
        .log("pangu master started");
    node.failed().thenAccept(reason -> RaftWatchdog.stopService(
        "pangu master " + config.memberId(), reason, this, stoppedByItself));
  }

  /**
   * Completes with the reason if the member stopped by itself: its Raft server failed beyond
   * repair (a log write failed, such as on a full disk). Never completes on {@link #close}.
   */
  public CompletableFuture<String> stoppedByItself() {
    return stoppedByItself;
  }

  /**
   * Connects to the identity service with this service's own AccessKey when one is configured,
   * and says how calls are checked.
   */
  private MasterAccess startAuthentication(AuditSink audit) throws IOException {
    if (config.identity().isEmpty()) {
      LOG.atWarn().addKeyValue("member", config.memberId()).log("client calls are not"
          + " authenticated: every caller acts as " + config.defaultOwner() + "; configure"
          + " identity.credentials to require signed requests");
      return MasterAccess.unauthenticated(config.defaultOwner(), config.defaultGroup());
    }
    MasterServerConfig.Identity own = config.identity().get();
    CredentialsFile.Profile profile = CredentialsFile.read(own.credentialsFile(), own.profile())
        .orElseThrow(() -> new IOException("the credentials file " + own.credentialsFile()
            + " has no profile [" + own.profile() + "]"));
    authenticator = ServiceAuthenticator.connect(profile, MasterAccess.SERVICE);
    return MasterAccess.authenticated(authenticator.authorization(audit), profile.region());
  }

  /** Where the client service listens, with the port actually bound. */
  public HostPort clientAddress() {
    return HostPort.of(config.bindHost(), grpcServer.getPort());
  }

  /** The HTTP port of /metrics, /health and /ready, or -1 if it is off. */
  public int metricsPort() {
    return httpEndpoint == null ? -1 : httpEndpoint.port();
  }

  public MasterServerConfig config() {
    return config;
  }

  /** The Raft member; for tests and tools. */
  public MasterNode node() {
    return node;
  }

  /** The leader's chunk soft state (empty unless this member leads); for tests and tools. */
  public ChunkManager chunks() {
    return chunks;
  }

  /** True while this member is the ready leader. */
  public boolean isLeader() {
    return node.isLeaderReady();
  }

  public PrometheusMeterRegistry metrics() {
    return registry;
  }

  /** Stops serving and releases everything. Idempotent. */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    if (httpEndpoint != null) {
      httpEndpoint.close();
    }
    if (grpcServer != null) {
      GrpcServers.stop(grpcServer, Duration.ofSeconds(SHUTDOWN_GRACE_SECONDS));
    }
    if (monitor != null) {
      monitor.close();
    }
    if (recovery != null) {
      recovery.close();
    }
    if (node != null) {
      try {
        node.close();
      } catch (IOException e) {
        LOG.atWarn().setCause(e).log("stopping the master member failed");
      }
    }
    if (calls != null) {
      calls.close();
    }
    if (handlers != null) {
      handlers.shutdownNow();
    }
    if (authenticator != null) {
      authenticator.close();
    }
    registry.close();
    LOG.atInfo().addKeyValue("member", config.memberId()).log("pangu master stopped");
  }
}
