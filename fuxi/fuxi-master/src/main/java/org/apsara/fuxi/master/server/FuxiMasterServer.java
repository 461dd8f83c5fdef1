package org.apsara.fuxi.master.server;

import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apsara.common.net.GrpcServers;
import org.apsara.common.net.HostPort;
import org.apsara.common.observe.GrpcServerMetrics;
import org.apsara.common.observe.HealthStatus;
import org.apsara.common.observe.Metrics;
import org.apsara.common.observe.ServiceHttpEndpoint;
import org.apsara.common.time.MonotonicClock;
import org.apsara.fuxi.api.FuxiPermissions;
import org.apsara.fuxi.api.v1.FuxiMasterGrpc;
import org.apsara.fuxi.master.scheduler.SchedulerStats;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.recipes.Leader;
import org.apsara.nuwa.client.recipes.LeaderElection;
import org.apsara.nuwa.client.recipes.Session;
import org.apsara.nuwa.client.recipes.Subscription;
import org.apsara.security.audit.AuditSink;
import org.apsara.security.audit.Slf4jAuditSink;
import org.apsara.security.tls.ClientAuth;
import org.apsara.security.tls.TlsContexts;
import org.apsara.security.token.CapabilityTokenException;
import org.apsara.security.token.CapabilityTokenIssuer;
import org.apsara.security.token.CapabilityTokenVerifier;
import org.apsara.security.token.TokenKey;
import org.apsara.security.token.TokenKeyFile;
import org.apsara.tenant.api.service.ServiceAuthenticator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One FuxiMaster member: the FuxiMaster and TuboTracker gRPC services on one port, a candidacy in
 * the primary election in Nuwa, the scheduler thread ({@link FuxiMasterCore}) and, if configured,
 * /metrics, /health and /ready over HTTP.
 *
 * <p>Every member runs the same way; the one elected (nuwa-client {@link LeaderElection} named
 * {@value HardStateStore#ELECTION}, the value its advertised address) loads the hard state from
 * Nuwa, collects soft state for {@code rebuild.window} and then serves. The others answer
 * UNAVAILABLE NOT_PRIMARY naming the primary. A member that loses its Nuwa session, or finds its
 * guarded write refused, steps down and campaigns again.
 *
 * <p><b>Authentication.</b> With {@link FuxiMasterConfig#identity()} every FuxiMaster call except
 * {@code Allocate} must carry an {@code APSARA4-HMAC-SHA256} signature for the service {@value
 * FuxiPermissions#SERVICE} in the profile's region (an unsigned or badly signed call ends {@code
 * UNAUTHENTICATED}), checked by a {@link ServiceAuthenticator} against what the identity service
 * says about the key, and each call is authorized as {@link FuxiPermissions} lists ({@code
 * PERMISSION_DENIED} with the reason). {@code Allocate} is exempt: an application master proves
 * itself with its application token in the stream. The TuboTracker service is never signed: TLS
 * with client certificates guards it, and what a Tubo may run comes from the master's grant
 * table. Denials and allowed changes go to the audit log ({@value Slf4jAuditSink#LOGGER_NAME}).
 * Without an identity the master authenticates nobody, takes a submit's tenant on trust, and
 * warns so once at start.
 *
 * <p>Start with {@link #start(FuxiMasterConfig)}; anything unusable (the key file, TLS files, the
 * port, Nuwa credentials) fails the start with an exception naming it, after releasing what was
 * started. {@link #close} resigns (a standby takes over at once), stops serving, lets calls in
 * flight end for {@value #SHUTDOWN_GRACE_SECONDS} s and releases everything.
 *
 * <p>Thread-safe.
 */
public final class FuxiMasterServer implements AutoCloseable {
  /** The name in metrics. */
  public static final String SERVICE_NAME = "fuxi-master";
  public static final long SHUTDOWN_GRACE_SECONDS = 2;
  /** Largest inbound message: a heartbeat of MAX_WORKERS_PER_HEARTBEAT workers and exits. */
  public static final int INBOUND_MESSAGE_BYTES_MAX = 16 << 20;
  /** Wait before campaigning again after a failed term or an unreachable Nuwa. */
  public static final Duration CAMPAIGN_RETRY = Duration.ofMillis(500);
  /**
   * The FuxiMaster calls that need no signature: an application master's allocation stream,
   * which carries the application's capability token instead.
   */
  public static final Set<String> UNAUTHENTICATED_METHODS =
      Set.of(FuxiMasterGrpc.getAllocateMethod().getFullMethodName());

  private static final Logger LOG = LoggerFactory.getLogger(FuxiMasterServer.class);

  private final FuxiMasterConfig config;
  private final PrometheusMeterRegistry registry;
  private final AuditSink auditSink;
  private ServiceAuthenticator authenticator;
  private volatile Optional<String> primary = Optional.empty();
  private NuwaClient nuwa;
  private FuxiMasterCore core;
  private Server grpcServer;
  private ServiceHttpEndpoint httpEndpoint;
  private Subscription leaderWatch;
  private Thread campaigner;
  private HostPort address;
  private volatile boolean closed;

  private FuxiMasterServer(FuxiMasterConfig config, AuditSink auditSink) {
    this.config = config;
    this.auditSink = auditSink;
    this.registry = Metrics.newRegistry(SERVICE_NAME, config.memberId());
  }

  /**
   * Starts one member and its campaign; returns without waiting to be elected. Audit events go
   * to the logger {@value Slf4jAuditSink#LOGGER_NAME}.
   *
   * @throws IOException if the token key file, a TLS file or the Nuwa password file cannot be
   *     read, or the port cannot be bound
   * @throws java.io.UncheckedIOException if the identity profile's TLS files cannot be read
   */
  public static FuxiMasterServer start(FuxiMasterConfig config) throws IOException {
    return start(config, new Slf4jAuditSink());
  }

  /** Starts as {@link #start(FuxiMasterConfig)}, auditing to {@code auditSink}. */
  public static FuxiMasterServer start(FuxiMasterConfig config, AuditSink auditSink)
      throws IOException {
    FuxiMasterServer server = new FuxiMasterServer(Objects.requireNonNull(config, "config"),
        Objects.requireNonNull(auditSink, "auditSink"));
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
    Clock wallClock = Clock.systemUTC();
    // The first key signs; verifiers accept every key listed, so keys can be rotated.
    CapabilityTokenIssuer issuer = new CapabilityTokenIssuer(keys.get(0), wallClock);
    CapabilityTokenVerifier verifier = new CapabilityTokenVerifier(keys, wallClock);
    FuxiMasterCore.Tokens tokens = new FuxiMasterCore.Tokens() {
      @Override
      public String issue(String applicationId) {
        return issuer.issue(applicationId, FuxiMasterCore.TOKEN_RESOURCE_PREFIX + applicationId,
            Set.of(FuxiMasterCore.TOKEN_OPERATION), config.tokenLifetime());
      }

      @Override
      public boolean verify(String token, String applicationId) {
        try {
          return verifier.verify(token, FuxiMasterCore.TOKEN_RESOURCE_PREFIX + applicationId,
              FuxiMasterCore.TOKEN_OPERATION).subject().equals(applicationId);
        } catch (CapabilityTokenException | RuntimeException e) {
          return false;
        }
      }
    };
    SslContext serverTls = config.tls().isEmpty() ? null : TlsContexts.forServer(
        config.tls().get(), config.clientCertAuth() ? ClientAuth.REQUIRE : ClientAuth.NONE);
    NuwaClient.Builder nuwaBuilder = NuwaClient.builder().endpoints(config.nuwaEndpoints());
    config.nuwaTls().ifPresent(nuwaBuilder::tls);
    if (config.nuwaUser().isPresent()) {
      nuwaBuilder.user(config.nuwaUser().get(),
          Files.readString(config.nuwaPasswordFile().get()).strip());
    }
    nuwa = nuwaBuilder.build();

    core = new FuxiMasterCore(config, MonotonicClock.SYSTEM, wallClock, new HardStateStore(nuwa),
        tokens, () -> primary);
    GrpcServerMetrics grpcMetrics = new GrpcServerMetrics(registry);
    MasterAccess access;
    // The last interceptor given runs first: metrics see every call, rejected ones included.
    ServerInterceptor[] clientInterceptors;
    if (config.identity().isPresent()) {
      authenticator = ServiceAuthenticator.connect(config.identity().get(),
          FuxiPermissions.SERVICE);
      access = MasterAccess.enforcing(authenticator.authorization(auditSink), authenticator,
          authenticator.scope().region(), wallClock);
      clientInterceptors = new ServerInterceptor[] {
          authenticator.interceptor(auditSink, UNAUTHENTICATED_METHODS), grpcMetrics};
    } else {
      access = MasterAccess.open();
      clientInterceptors = new ServerInterceptor[] {grpcMetrics};
      LOG.atWarn().addKeyValue("member", config.memberId()).log("fuxi master runs without"
          + " authentication: anyone who reaches its port may submit, kill and change quota"
          + " groups, as any tenant. Give it an identity (identity.credentials) to check"
          + " signed calls");
    }
    NettyServerBuilder builder = NettyServerBuilder
        .forAddress(new InetSocketAddress(config.bindHost(), config.port()))
        .maxInboundMessageSize(INBOUND_MESSAGE_BYTES_MAX)
        .permitKeepAliveWithoutCalls(true)
        .permitKeepAliveTime(5, TimeUnit.SECONDS)
        .addService(ServerInterceptors.intercept(
            new FuxiMasterService(core, access), clientInterceptors))
        .addService(ServerInterceptors.intercept(new TuboTrackerService(core), grpcMetrics));
    if (serverTls != null) {
      builder.sslContext(serverTls);
    }
    grpcServer = builder.build().start();
    // The advertised address (the election value, FUXI_MASTERS) needs the port actually bound.
    address = config.advertiseAddress(grpcServer.getPort());
    core.setMasters(config.masters().isEmpty() ? List.of(address) : config.masters());
    registerGauges();

    leaderWatch = LeaderElection.observe(nuwa, HardStateStore.ELECTION,
        leader -> primary = leader.map(Leader::valueUtf8));
    campaigner = new Thread(this::campaignLoop, "fuxi-master-election");
    campaigner.setDaemon(true);
    campaigner.start();

    if (config.metricsPort() >= 0) {
      httpEndpoint = new ServiceHttpEndpoint(
          HostPort.of(config.bindHost(), config.metricsPort()), registry);
      httpEndpoint.addHealthCheck("serving", () -> grpcServer.isShutdown()
          ? HealthStatus.unhealthy("the gRPC server is shut down") : HealthStatus.ok());
      httpEndpoint.addReadinessCheck("primary", () -> switch (core.mode()) {
        case SERVING -> HealthStatus.ok();
        case REBUILDING -> HealthStatus.unhealthy("primary, rebuilding soft state");
        case STANDBY -> HealthStatus.unhealthy("standby; primary " + primary.orElse("unknown"));
      });
      httpEndpoint.start();
    }
    LOG.atInfo().addKeyValue("member", config.memberId()).addKeyValue("address", address)
        .addKeyValue("tls", serverTls != null)
        .addKeyValue("authentication", authenticator != null).log("fuxi master started");
  }

  private void registerGauges() {
    Gauge.builder("fuxi_master_primary", core, c -> c.mode() == FuxiMasterCore.Mode.SERVING ? 1 : 0)
        .description("1 while this member is the serving primary").register(registry);
    Gauge.builder("fuxi_master_machines", core, c -> stat(c, SchedulerStats::machines))
        .register(registry);
    Gauge.builder("fuxi_master_applications", core, c -> stat(c, SchedulerStats::applications))
        .register(registry);
    Gauge.builder("fuxi_master_pending_units", core, c -> stat(c, SchedulerStats::pendingUnits))
        .register(registry);
    Gauge.builder("fuxi_master_granted_units_total", core,
        c -> stat(c, SchedulerStats::grantedUnits)).register(registry);
  }

  private static double stat(FuxiMasterCore c,
      java.util.function.ToDoubleFunction<SchedulerStats> f) {
    return c.stats().map(f::applyAsDouble).orElse(0.0);
  }

  private void campaignLoop() {
    while (!closed) {
      Session session = null;
      LeaderElection election = null;
      boolean elected = false;
      try {
        session = Session.open(nuwa, config.electionTtl());
        election = new LeaderElection(session, HardStateStore.ELECTION);
        election.campaign(address.toString());
        elected = true;
        long lease = session.leaseId();
        Leader me = election.leader().filter(l -> l.leaseId() == lease)
            .orElseThrow(() -> new IllegalStateException("elected, but another key leads"));
        LOG.atInfo().addKeyValue("member", config.memberId()).log("elected primary");
        CompletableFuture<Void> deposed = core.becomePrimary(me.key(), me.createRevision());
        CompletableFuture.anyOf(deposed, session.done()).exceptionally(t -> null).get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Exception e) {
        if (!closed) {
          LOG.atWarn().setCause(e).log("campaign failed; trying again");
        }
      } finally {
        // Stop serving before resigning, so that two members never serve at once.
        if (elected) {
          core.becomeStandby(closed ? "the master is closing" : "the term ended");
        }
        endTerm(election, session);
      }
      if (closed || Thread.currentThread().isInterrupted()) {
        return;
      }
      try {
        Thread.sleep(CAMPAIGN_RETRY.toMillis());
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private static void endTerm(LeaderElection election, Session session) {
    try {
      if (election != null) {
        election.resign();
      }
    } catch (RuntimeException e) {
      // The key goes with the session.
    }
    try {
      if (session != null) {
        session.close();
      }
    } catch (RuntimeException e) {
      // The lease expires by itself.
    }
  }

  /** Where this member is reached, with the port actually bound. */
  public HostPort address() {
    return address;
  }

  /** Whether this member is the primary and has finished rebuilding (serves every call). */
  public boolean isServing() {
    return core != null && core.mode() == FuxiMasterCore.Mode.SERVING;
  }

  /** Whether this member was elected (serving or still rebuilding). */
  public boolean isPrimary() {
    return core != null && core.mode() != FuxiMasterCore.Mode.STANDBY;
  }

  /** The primary's address as the election names it, when known. */
  public Optional<String> primaryAddress() {
    return primary;
  }

  /** The HTTP port of /metrics, /health and /ready, or -1 if it is off. */
  public int metricsPort() {
    return httpEndpoint == null ? -1 : httpEndpoint.port();
  }

  /** Whether client calls must be signed and are authorized. */
  public boolean authenticates() {
    return authenticator != null;
  }

  public FuxiMasterConfig config() {
    return config;
  }

  public PrometheusMeterRegistry metrics() {
    return registry;
  }

  /** Resigns, stops serving and releases everything. Idempotent. */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    if (campaigner != null) {
      campaigner.interrupt();
      try {
        campaigner.join(TimeUnit.SECONDS.toMillis(10));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (leaderWatch != null) {
      leaderWatch.close();
    }
    if (httpEndpoint != null) {
      httpEndpoint.close();
    }
    if (grpcServer != null) {
      GrpcServers.stop(grpcServer, Duration.ofSeconds(SHUTDOWN_GRACE_SECONDS));
    }
    if (core != null) {
      core.close();
    }
    if (authenticator != null) {
      authenticator.close();
    }
    if (nuwa != null) {
      nuwa.close();
    }
    registry.close();
    LOG.atInfo().addKeyValue("member", config.memberId()).log("fuxi master stopped");
  }
}
