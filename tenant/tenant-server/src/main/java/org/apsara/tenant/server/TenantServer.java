package org.apsara.tenant.server;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.protobuf.services.HealthStatusManager;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apsara.common.net.HostPort;
import org.apsara.common.observe.GrpcServerMetrics;
import org.apsara.common.observe.HealthStatus;
import org.apsara.common.observe.Metrics;
import org.apsara.common.observe.ServiceHttpEndpoint;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.recipes.ServiceInstance;
import org.apsara.nuwa.client.recipes.ServiceRegistration;
import org.apsara.nuwa.client.recipes.ServiceRegistry;
import org.apsara.nuwa.client.recipes.Session;
import org.apsara.security.audit.AuditSink;
import org.apsara.security.audit.Slf4jAuditSink;
import org.apsara.security.crypto.MasterKey;
import org.apsara.security.crypto.SecretBox;
import org.apsara.security.grpc.AuthenticationServerInterceptor;
import org.apsara.security.grpc.Authorization;
import org.apsara.security.policy.DecisionCache;
import org.apsara.security.sign.NonceCache;
import org.apsara.security.sign.SignatureVerifier;
import org.apsara.security.tls.TlsContexts;
import org.apsara.tenant.api.CreatedAccessKey;
import org.apsara.tenant.api.CredentialsFile;
import org.apsara.tenant.api.TenantAuthorizer;
import org.apsara.tenant.server.store.IdentityStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One identity server: the {@code apsara.tenant.v1.IdentityService} on its gRPC port, backed by
 * Nuwa, with /metrics, /health and /ready on its HTTP port, registered in Nuwa's service registry
 * as {@value #SERVICE_NAME}. Any number of servers may run against one Nuwa cluster; they share
 * all state through it.
 *
 * <p>{@link #start} bootstraps the cluster if this is its first server (see {@link Bootstrap}),
 * loads the {@link IdentityView}, opens the port, and registers. Every call except the gRPC health
 * check must be signed; every call is authorized by a {@link TenantAuthorizer} and audited to
 * the {@value Slf4jAuditSink#LOGGER_NAME} logger unless another sink is given. With a Nuwa login
 * ({@link TenantConfig#nuwaUser()}, the root user of a Nuwa with authentication on), a {@link
 * NuwaAuthSync} also makes every enabled AccessKey a Nuwa user that reaches the keys of its
 * tenant that its policies allow.
 *
 * <p>{@link #close} deregisters first, so that clients stop picking this server, then stops
 * serving and releases everything. Thread-safe.
 */
public final class TenantServer implements AutoCloseable {
  /** The name this service registers under: {@code /apsara/services/tenant/<instance id>}. */
  public static final String SERVICE_NAME = "tenant";
  /** Methods that need no signature: load balancers and probes check health anonymously. */
  public static final Set<String> UNAUTHENTICATED_METHODS = Set.of(
      HealthGrpc.getCheckMethod().getFullMethodName(),
      HealthGrpc.getWatchMethod().getFullMethodName());
  /** How long {@link #close} lets calls in flight finish. */
  static final long SHUTDOWN_GRACE_SECONDS = 2;

  private static final Logger LOG = LoggerFactory.getLogger(TenantServer.class);

  private final TenantConfig config;
  private final AuditSink auditSink;
  private final PrometheusMeterRegistry metrics;
  private final HealthStatusManager grpcHealth = new HealthStatusManager();
  private NuwaClient nuwa;
  private IdentityStore store;
  private IdentityView view;
  private Optional<NuwaAuthSync> nuwaAuthSync = Optional.empty();
  private DecisionCache decisions;
  private Optional<CreatedAccessKey> bootstrapCredentials = Optional.empty();
  private Server grpcServer;
  private ServiceHttpEndpoint httpEndpoint;
  private Session session;
  private ServiceRegistration registration;
  private boolean closed;

  private TenantServer(TenantConfig config, AuditSink auditSink) {
    this.config = config;
    this.auditSink = auditSink;
    this.metrics = Metrics.newRegistry(SERVICE_NAME,
        config.instanceId().orElse(config.host() + "-" + config.port()));
  }

  /** Starts a server that audits to {@link Slf4jAuditSink}. */
  public static TenantServer start(TenantConfig config) throws IOException {
    return start(config, new Slf4jAuditSink());
  }

  /**
   * Starts a server.
   *
   * @throws IOException if the master key file or the credentials file cannot be read or written,
   *     or the port cannot be bound
   * @throws IllegalStateException if the master key is not the cluster's
   * @throws org.apsara.nuwa.client.NuwaException if Nuwa cannot be reached
   */
  public static TenantServer start(TenantConfig config, AuditSink auditSink) throws IOException {
    TenantServer server = new TenantServer(
        Objects.requireNonNull(config, "config"), Objects.requireNonNull(auditSink, "auditSink"));
    try {
      server.startInternal();
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
    return server;
  }

  private void startInternal() throws IOException {
    // Unusable TLS files fail the start before anything else happens.
    SslContext apiSsl = config.tls().isEmpty() ? null
        : TlsContexts.forServer(config.tls().get(), config.clientAuth());
    NuwaClient.Builder nuwaBuilder = NuwaClient.builder().endpoints(config.nuwaEndpoints());
    config.nuwaTls().ifPresent(nuwaBuilder::tls);
    Optional<String> nuwaPassword = Optional.empty();
    if (config.nuwaUser().isPresent()) {
      nuwaPassword = Optional.of(
          java.nio.file.Files.readString(config.nuwaPasswordFile().get()).strip());
      nuwaBuilder.user(config.nuwaUser().get(), nuwaPassword.get());
    }
    nuwa = nuwaBuilder.build();
    MasterKey masterKey = Bootstrap.loadOrCreateMasterKey(config.masterKeyFile());
    Clock clock = Clock.systemUTC();
    store = new IdentityStore(nuwa, new SecretBox(masterKey), clock);
    Bootstrap.checkMasterKey(store, masterKey);
    bootstrapCredentials = Bootstrap.createSystemTenant(store);

    decisions = new DecisionCache(DecisionCache.DEFAULT_MAX_ENTRIES);
    view = IdentityView.start(nuwa, new SecretBox(masterKey), decisions);
    if (nuwaPassword.isPresent()) {
      // Only a Nuwa with authentication on confines anyone, and only its root may set that up.
      nuwaAuthSync = Optional.of(NuwaAuthSync.start(view, new NuwaAuthAdmin(
          config.nuwaEndpoints(), config.nuwaUser().get(), nuwaPassword.get(),
          config.nuwaTls().orElse(null)), config.region()));
    }
    TenantAuthorizer authorizer = new TenantAuthorizer(view, decisions, config.region());
    IdentityServiceImpl service = new IdentityServiceImpl(store, view, authorizer,
        new Authorization(authorizer, auditSink, clock), clock, config.region());
    AuthenticationServerInterceptor authentication = new AuthenticationServerInterceptor(
        new SignatureVerifier(clock, new NonceCache()), view, auditSink, UNAUTHENTICATED_METHODS);
    GrpcServerMetrics callMetrics = new GrpcServerMetrics(metrics);
    // The last interceptor given runs first: metrics see every call, rejected ones included.
    NettyServerBuilder builder = NettyServerBuilder
        .forAddress(new InetSocketAddress(config.host(), config.port()))
        .addService(ServerInterceptors.intercept(service, authentication, callMetrics))
        .addService(ServerInterceptors.intercept(
            grpcHealth.getHealthService(), authentication, callMetrics));
    if (apiSsl != null) {
      builder.sslContext(apiSsl);
    }
    grpcServer = builder.build().start();
    grpcHealth.setStatus("", ServingStatus.SERVING);
    startHttpEndpoint();

    if (bootstrapCredentials.isPresent()) {
      handOver(bootstrapCredentials.get());
    }
    String instanceId = config.instanceId().orElse(address().format());
    session = Session.open(nuwa, config.registrationTtl());
    registration = new ServiceRegistry(nuwa).register(session, new ServiceInstance(
        SERVICE_NAME, instanceId, address().format(), Map.of("region", config.region())));
    LOG.atInfo().addKeyValue("address", address()).addKeyValue("instance", instanceId)
        .addKeyValue("region", config.region()).addKeyValue("viewRevision", view.revision())
        .log("identity server started");
  }

  /** Writes the system root's new AccessKey where the operator asked for it; never logs the secret. */
  private void handOver(CreatedAccessKey created) throws IOException {
    String id = created.accessKey().getAccessKeyId();
    if (config.bootstrapCredentialsFile().isEmpty()) {
      LOG.atWarn().addKeyValue("accessKeyId", id).log("created the system root's AccessKey;"
          + " no credentials file was configured, so only the starting process has its secret");
      return;
    }
    java.nio.file.Path file = config.bootstrapCredentialsFile().get();
    // Over TLS, the profile trusts the CA this service trusts: in a cluster CA's cluster, the one
    // that signed this service's certificate too. A client certificate is the caller's to add.
    Optional<org.apsara.security.tls.TlsMaterial> profileTls = config.tls()
        .flatMap(tls -> tls.trustedCaFile())
        .map(org.apsara.security.tls.TlsMaterial::trusting);
    CredentialsFile.write(file, new CredentialsFile.Profile(CredentialsFile.DEFAULT_PROFILE,
        created.credentials(), Optional.of(address()), profileTls));
    LOG.atInfo().addKeyValue("accessKeyId", id).addKeyValue("file", file)
        .log("created the system root's AccessKey and wrote it to the credentials file");
  }

  private void startHttpEndpoint() {
    Gauge.builder("tenant_view_revision", view, IdentityView::revision)
        .description("Store revision up to which the identity view is current").register(metrics);
    Gauge.builder("tenant_view_following", view, v -> v.isFollowing() ? 1 : 0)
        .description("1 while the identity view is watching the store").register(metrics);
    FunctionCounter.builder("tenant_decision_cache_hits", decisions, DecisionCache::hits)
        .description("Authorization decisions answered from the cache").register(metrics);
    FunctionCounter.builder("tenant_decision_cache_misses", decisions, DecisionCache::misses)
        .description("Authorization decisions evaluated from policies").register(metrics);
    nuwaAuthSync.ifPresent(sync -> {
      Gauge.builder("tenant_nuwa_auth_synced_revision", sync, NuwaAuthSync::syncedRevision)
          .description("Store revision up to which Nuwa's users and roles match the identities")
          .register(metrics);
      Gauge.builder("tenant_nuwa_auth_failures", sync, NuwaAuthSync::failuresInARow)
          .description("Failed passes in a row of bringing Nuwa's users and roles in line")
          .register(metrics);
    });
    if (config.metricsPort() < 0) {
      return;
    }
    httpEndpoint = new ServiceHttpEndpoint(HostPort.of(config.host(), config.metricsPort()), metrics);
    // A view that stopped following still answers from what it has, so the server stays
    // healthy; it is not ready, since it may grant what was revoked since.
    httpEndpoint.addHealthCheck("serving", () -> grpcServer.isShutdown()
        ? HealthStatus.unhealthy("the gRPC server is shut down") : HealthStatus.ok());
    httpEndpoint.addReadinessCheck("identity-view", () -> view.isFollowing()
        ? HealthStatus.ok()
        : HealthStatus.unhealthy("the identity view is reloading from Nuwa"));
    httpEndpoint.start();
  }

  /** Where the gRPC API listens, with the port actually bound. */
  public HostPort address() {
    return HostPort.of(config.host(), grpcServer.getPort());
  }

  /** The HTTP port of /metrics, /health and /ready, or -1 if it is off. */
  public int metricsPort() {
    return httpEndpoint == null ? -1 : httpEndpoint.port();
  }

  /**
   * The system root's AccessKey if this start created it (the cluster's first), else empty. The
   * secret is in no other place unless {@link TenantConfig#bootstrapCredentialsFile()} was set.
   */
  public Optional<CreatedAccessKey> bootstrapCredentials() {
    return bootstrapCredentials;
  }

  public IdentityStore store() {
    return store;
  }

  public IdentityView view() {
    return view;
  }

  /** What keeps Nuwa's users and roles in line with the identities; present with a Nuwa login. */
  public Optional<NuwaAuthSync> nuwaAuthSync() {
    return nuwaAuthSync;
  }

  public PrometheusMeterRegistry metrics() {
    return metrics;
  }

  public TenantConfig config() {
    return config;
  }

  /** Deregisters, stops serving and releases everything. Idempotent. */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    grpcHealth.enterTerminalState();
    closeQuietly(registration);
    closeQuietly(session);
    if (httpEndpoint != null) {
      httpEndpoint.close();
    }
    if (grpcServer != null) {
      grpcServer.shutdown();
      try {
        if (!grpcServer.awaitTermination(SHUTDOWN_GRACE_SECONDS, TimeUnit.SECONDS)) {
          grpcServer.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        grpcServer.shutdownNow();
      }
    }
    nuwaAuthSync.ifPresent(NuwaAuthSync::close);
    if (view != null) {
      view.close();
    }
    if (nuwa != null) {
      nuwa.close();
    }
    metrics.close();
  }

  private static void closeQuietly(AutoCloseable closeable) {
    if (closeable == null) {
      return;
    }
    try {
      closeable.close();
    } catch (Exception e) {
      // Nuwa unreachable at shutdown: the registration expires with its lease anyway.
      LOG.atWarn().addKeyValue("error", e.getMessage()).log("deregistering failed");
    }
  }
}
