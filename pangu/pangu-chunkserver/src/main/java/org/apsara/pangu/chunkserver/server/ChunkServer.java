package org.apsara.pangu.chunkserver.server;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.common.net.GrpcServers;
import org.apsara.common.net.HostPort;
import org.apsara.common.observe.GrpcServerMetrics;
import org.apsara.common.observe.HealthStatus;
import org.apsara.common.observe.Metrics;
import org.apsara.common.observe.ServiceHttpEndpoint;
import org.apsara.common.time.MonotonicClock;
import org.apsara.pangu.api.ChunkServerLimits;
import org.apsara.pangu.api.v1.ChunkServerLocation;
import org.apsara.pangu.api.v1.GetServerInfoResponse;
import org.apsara.pangu.client.chunkserver.BulkReadProtocol;
import org.apsara.pangu.client.chunkserver.BulkWriteProtocol;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.apsara.pangu.chunkserver.store.ChunkServerIdentity;
import org.apsara.pangu.chunkserver.store.ChunkStore;
import org.apsara.pangu.chunkserver.store.CorruptReplicaListener;
import org.apsara.pangu.chunkserver.store.CorruptReplicaReport;
import org.apsara.pangu.chunkserver.store.DecommissionMarker;
import org.apsara.pangu.chunkserver.store.Scrubber;
import org.apsara.pangu.chunkserver.store.VolumeConfig;
import org.apsara.pangu.chunkserver.store.VolumeUsage;
import org.apsara.security.tls.TlsContexts;
import org.apsara.security.token.CapabilityTokenVerifier;
import org.apsara.security.token.TokenKeyFile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One chunkserver: the chunk store on its volumes, the background scrubber, the {@code
 * apsara.pangu.v1.ChunkServer} gRPC service, the bulk read and write paths ({@link
 * BulkReadServer}, on their own port, without TLS only) and, if configured, /metrics, /health and /ready over
 * HTTP.
 *
 * <p>{@link #start} opens (and recovers) the store, loads the token keys, and starts serving;
 * anything unusable (a volume, the key file, TLS files, a port) fails the start with an exception
 * naming it, after releasing what was already started. {@link #close} stops accepting calls, lets
 * calls in flight finish for {@value #SHUTDOWN_GRACE_SECONDS} s, and closes the store: writes not
 * yet synced are then as after a crash, never acknowledged.
 *
 * <p>The chunkserver is known to the master by a stable {@link #id}, generated once and kept on
 * its volumes ({@link ChunkServerIdentity}); a start whose volumes disagree about it fails. When
 * master addresses are configured, a heartbeat thread reports to the master leader (full and
 * incremental replica reports, corrupt replicas, following the leader; see {@code
 * HeartbeatSender}), and {@code /ready} fails after three heartbeat intervals without an
 * answer. {@link #heartbeatReport} returns what a heartbeat carries, and {@link
 * #acknowledgeCorruptReports} drops the corrupt reports the master has received.
 *
 * <p>Thread-safe.
 */
public final class ChunkServer implements AutoCloseable {
  /** The name in metrics. */
  public static final String SERVICE_NAME = "pangu-chunkserver";
  /** How long {@link #close} lets calls in flight finish before cancelling them. */
  public static final long SHUTDOWN_GRACE_SECONDS = 2;
  /**
   * Most corrupt reports kept for the next heartbeat; beyond it the oldest are dropped (the chunk
   * report still flags those replicas corrupt, so the master learns of them anyway).
   */
  public static final int PENDING_CORRUPT_REPORTS_MAX = 10_000;

  private static final Logger LOG = LoggerFactory.getLogger(ChunkServer.class);

  private final ChunkServerConfig config;
  private final CorruptReplicaListener extraListener;
  private final PrometheusMeterRegistry registry;
  private final ChunkServerMetrics metrics;
  /** Chunk id -> the latest report not yet acknowledged; insertion order is report order. */
  private final Map<Long, CorruptReplicaReport> pendingCorrupt = new LinkedHashMap<>();
  /** Serializes changes of {@link #decommissioning}. */
  private final Object decommissionLock = new Object();
  /** An operator is decommissioning this chunkserver ({@link DecommissionMarker}). */
  private volatile boolean decommissioning;
  private String id;
  private ChunkStore store;
  private HeartbeatSender heartbeats;
  private ChunkServiceImpl service;
  private Scrubber scrubber;
  private ExecutorService handlers;
  private ScheduledExecutorService deadlineTimer;
  private Server grpcServer;
  private BulkReadServer bulkReadServer;
  private ServiceHttpEndpoint httpEndpoint;
  private boolean closed;

  private ChunkServer(ChunkServerConfig config, CorruptReplicaListener extraListener) {
    this.config = config;
    this.extraListener = extraListener;
    this.registry = Metrics.newRegistry(SERVICE_NAME, config.serverId());
    this.metrics = new ChunkServerMetrics(registry);
  }

  /** Starts a chunkserver; see {@link #start(ChunkServerConfig, CorruptReplicaListener)}. */
  public static ChunkServer start(ChunkServerConfig config) throws IOException {
    return start(config, CorruptReplicaListener.IGNORE);
  }

  /**
   * Starts a chunkserver.
   *
   * @param listener also told of every replica found corrupt, after it is recorded for the next
   *     heartbeat; called on the thread that found it, must not block
   * @throws IOException if a volume, the token key file or a TLS file cannot be used, or the port
   *     cannot be bound
   */
  public static ChunkServer start(ChunkServerConfig config, CorruptReplicaListener listener)
      throws IOException {
    ChunkServer server = new ChunkServer(Objects.requireNonNull(config, "config"),
        Objects.requireNonNull(listener, "listener"));
    try {
      server.startInternal();
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
    return server;
  }

  private void startInternal() throws IOException {
    // Files first: a bad key or TLS file fails before the disks are scanned.
    CapabilityTokenVerifier verifier = new CapabilityTokenVerifier(
        TokenKeyFile.load(config.tokenKeyFile()), Clock.systemUTC());
    SslContext serverTls = config.tls().isEmpty() ? null
        : TlsContexts.forServer(config.tls().get(), config.clientAuth());
    // Copies are pulled from peers with this server's own identity, trusting its CA.
    SslContext peerTls = config.tls().isEmpty() ? null
        : TlsContexts.forClient(config.tls().get());

    id = ChunkServerIdentity.loadOrCreate(volumeDirectories(), ChunkServerIdentity::generate);
    store = ChunkStore.open(config.storeConfig(), this::onCorruptReplica);
    decommissioning = DecommissionMarker.isSet(volumeDirectories());
    if (decommissioning) {
      LOG.info("this chunkserver is being decommissioned; it takes no new replicas");
    }
    metrics.bindStore(store);
    scrubber = new Scrubber(store, config.scrubBytesPerSecond(), Scrubber.DEFAULT_BATCH_BYTES,
        org.apsara.common.time.MonotonicClock.SYSTEM, Scrubber.Pacer.PARK);
    scrubber.start(config.scrubInterval());

    handlers = Executors.newFixedThreadPool(config.handlerThreads(), daemonThreads("chunk-call"));
    deadlineTimer = Executors.newSingleThreadScheduledExecutor(daemonThreads("chunk-deadline"));
    ReplicaCopier copier = new ReplicaCopier(store, metrics,
        source -> ChunkServerClient.connect(source, peerTls));
    TokenGate tokens = new TokenGate(verifier, metrics);
    if (config.bulkReadEnabled()) {
      bulkReadServer = BulkReadServer.start(config.host(), config.dataPort(), store, tokens,
          metrics);
    } else if (config.dataPort() != ChunkServerConfig.DATA_PORT_OFF) {
      LOG.info("the bulk data path stays closed with TLS: it is plaintext; reads and writes use"
          + " ReadReplica and WriteReplica");
    }
    service = new ChunkServiceImpl(store, tokens, metrics, copier,
        config.replicationTimeout().toNanos(), deadlineTimer, this::serverInfo);
    NettyServerBuilder builder = NettyServerBuilder
        .forAddress(new InetSocketAddress(config.host(), config.port()))
        // Every handler may block on the disk, so none runs on a network thread.
        .executor(handlers)
        .maxInboundMessageSize(ChunkServerLimits.DATA_MESSAGE_BYTES_MAX
            + ChunkServerLimits.MESSAGE_OVERHEAD_BYTES_MAX)
        .initialFlowControlWindow(ChunkServerLimits.FLOW_CONTROL_WINDOW_BYTES)
        .permitKeepAliveWithoutCalls(true)
        .permitKeepAliveTime(5, TimeUnit.SECONDS)
        .addService(ServerInterceptors.intercept(service.definition(),
            new GrpcServerMetrics(registry)));
    if (serverTls != null) {
      builder.sslContext(serverTls);
    }
    grpcServer = builder.build().start();
    if (!config.masterAddresses().isEmpty()) {
      heartbeats = new HeartbeatSender(reportSource(), location(), config.masterAddresses(),
          member -> masterChannel(member, peerTls), metrics, MonotonicClock.SYSTEM, new Random());
      metrics.bindHeartbeats(heartbeats);
      heartbeats.start();
    }
    if (config.metricsPort() >= 0) {
      httpEndpoint = new ServiceHttpEndpoint(
          HostPort.of(config.host(), config.metricsPort()), registry);
      httpEndpoint.addHealthCheck("serving", () -> grpcServer.isShutdown()
          ? HealthStatus.unhealthy("the gRPC server is shut down") : HealthStatus.ok());
      if (heartbeats != null) {
        httpEndpoint.addReadinessCheck("master", heartbeats::readiness);
      }
      httpEndpoint.addReadinessCheck("volumes", () ->
          store.volumeUsage().stream().allMatch(VolumeUsage::failed)
              ? HealthStatus.unhealthy("every volume has failed (see fsck or the log)")
              : HealthStatus.ok());
      httpEndpoint.start();
    }
    LOG.atInfo().addKeyValue("id", id).addKeyValue("address", address())
        .addKeyValue("advertised", location().getAddress()).addKeyValue("rack", config.rack())
        .addKeyValue("masters", config.masterAddresses()).addKeyValue("tls", serverTls != null)
        .addKeyValue("bulkReadPort", bulkReadPort())
        .addKeyValue("replicas", store.replicas().size())
        .addKeyValue("volumes", config.storeConfig().volumes().size())
        .log("chunkserver started");
  }

  /** This chunkserver as the master knows it: its id, advertised address and rack. */
  ChunkServerLocation location() {
    return ChunkServerLocation.newBuilder()
        .setId(id)
        .setAddress(HostPort.of(config.advertiseHost(), grpcServer.getPort()).format())
        .setRack(config.rack())
        .build();
  }

  /** What GetServerInfo answers. */
  GetServerInfoResponse serverInfo() {
    return GetServerInfoResponse.newBuilder()
        .setChunkserverId(id)
        .setBulkReadPort(Math.max(0, bulkReadPort()))
        .setBulkReadVersion(BulkReadProtocol.VERSION)
        // The bulk port takes writes too whenever it is open.
        .setBulkWriteVersion(bulkReadServer == null ? 0 : BulkWriteProtocol.VERSION)
        .build();
  }

  /** What heartbeats report, read from this chunkserver. */
  HeartbeatSender.ReportSource reportSource() {
    return new HeartbeatSender.ReportSource() {
      @Override
      public HeartbeatReport heartbeatReport() {
        return ChunkServer.this.heartbeatReport();
      }

      @Override
      public void acknowledgeCorruptReports(Collection<CorruptReplicaReport> delivered) {
        ChunkServer.this.acknowledgeCorruptReports(delivered);
      }

      @Override
      public void setDecommissioning(boolean value) throws IOException {
        ChunkServer.this.setDecommissioning(value);
      }
    };
  }

  /** How WriteReplica packets were parsed; for tests. */
  WriteRequestMarshaller writeMarshaller() {
    return service.writeMarshaller();
  }

  /** The heartbeat sender, or null when no master is configured; for tests. */
  HeartbeatSender heartbeats() {
    return heartbeats;
  }

  static ManagedChannel masterChannel(HostPort member, SslContext tls) {
    NettyChannelBuilder builder = NettyChannelBuilder.forAddress(member.host(), member.port())
        // A heartbeat is never retried by gRPC: the sender decides what the next one carries.
        .disableRetry();
    if (tls != null) {
      builder.sslContext(tls);
    } else {
      builder.usePlaintext();
    }
    return builder.build();
  }

  private void onCorruptReplica(CorruptReplicaReport report) {
    metrics.corruptReplicaFound();
    synchronized (pendingCorrupt) {
      pendingCorrupt.remove(report.chunkId());
      pendingCorrupt.put(report.chunkId(), report);
      if (pendingCorrupt.size() > PENDING_CORRUPT_REPORTS_MAX) {
        Long oldest = pendingCorrupt.keySet().iterator().next();
        pendingCorrupt.remove(oldest);
      }
    }
    LOG.warn("replica of chunk {} found corrupt: {}", report.chunkId(), report.reason());
    extraListener.onCorruptReplica(report);
  }

  /** What the next heartbeat to the master carries. */
  public HeartbeatReport heartbeatReport() {
    List<CorruptReplicaReport> corrupt;
    synchronized (pendingCorrupt) {
      corrupt = new ArrayList<>(pendingCorrupt.values());
    }
    return new HeartbeatReport(store.volumeUsage(), store.replicas(), corrupt, decommissioning);
  }

  /**
   * Records on this chunkserver's volumes that an operator started (or ended) its
   * decommissioning, as the master asked in a heartbeat answer; heartbeats report it from then
   * on. Does nothing when it is already so.
   *
   * @throws IOException if a volume cannot be written; heartbeats then still report the old
   *     state, and the master asks again
   */
  public void setDecommissioning(boolean value) throws IOException {
    synchronized (decommissionLock) {
      if (value == decommissioning) {
        return;
      }
      try {
        DecommissionMarker.set(volumeDirectories(), value);
      } finally {
        // A marker left on any volume (a failed clear) still counts, as it would at restart.
        decommissioning = DecommissionMarker.isSet(volumeDirectories());
      }
    }
    LOG.info(value ? "decommissioning started: this chunkserver takes no new replicas"
        : "decommissioning cancelled: this chunkserver is back in service");
  }

  private List<Path> volumeDirectories() {
    return config.storeConfig().volumes().stream().map(VolumeConfig::directory).toList();
  }

  /**
   * Drops corrupt reports the master has received, so the next heartbeat leaves them out. A
   * replica reported again since (a newer report object) stays.
   */
  public void acknowledgeCorruptReports(Collection<CorruptReplicaReport> delivered) {
    synchronized (pendingCorrupt) {
      for (CorruptReplicaReport report : delivered) {
        pendingCorrupt.remove(report.chunkId(), report);
      }
    }
  }

  /**
   * The stable id the master knows this chunkserver by, kept on its volumes (see {@link
   * ChunkServerIdentity}).
   */
  public String id() {
    return id;
  }

  /** Where the gRPC service listens, with the port actually bound. */
  public HostPort address() {
    return HostPort.of(config.host(), grpcServer.getPort());
  }

  /**
   * The port of the bulk read path, on the host of {@link #address}, or -1 if it is closed (off,
   * or TLS is configured).
   */
  public int bulkReadPort() {
    return bulkReadServer == null ? -1 : bulkReadServer.port();
  }

  /** The bulk read server, or null; for tests. */
  BulkReadServer bulkReadServer() {
    return bulkReadServer;
  }

  /** The HTTP port of /metrics, /health and /ready, or -1 if it is off. */
  public int metricsPort() {
    return httpEndpoint == null ? -1 : httpEndpoint.port();
  }

  /** The store; for tests and tools (heartbeats use {@link #heartbeatReport}). */
  public ChunkStore store() {
    return store;
  }

  public PrometheusMeterRegistry metrics() {
    return registry;
  }

  public ChunkServerConfig config() {
    return config;
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
    if (heartbeats != null) {
      heartbeats.close();
    }
    if (httpEndpoint != null) {
      httpEndpoint.close();
    }
    if (bulkReadServer != null) {
      bulkReadServer.close();
    }
    if (grpcServer != null) {
      GrpcServers.stop(grpcServer, Duration.ofSeconds(SHUTDOWN_GRACE_SECONDS));
    }
    if (scrubber != null) {
      scrubber.close();
    }
    if (handlers != null) {
      handlers.shutdown();
    }
    if (deadlineTimer != null) {
      deadlineTimer.shutdownNow();
    }
    if (store != null) {
      store.close();
    }
    registry.close();
    LOG.info("chunkserver stopped");
  }

  private static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, prefix + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }
}
