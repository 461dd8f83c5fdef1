package org.apsara.fuxi.tubo.agent;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
import org.apsara.fuxi.api.AppMasterEnvironment;
import org.apsara.fuxi.api.v1.Resources;
import org.apsara.fuxi.api.v1.TuboHeartbeatRequest;
import org.apsara.fuxi.tubo.MachineResources;
import org.apsara.fuxi.tubo.RunningWorker;
import org.apsara.fuxi.tubo.TuboConfig;
import org.apsara.fuxi.tubo.WorkerSupervisor;
import org.apsara.fuxi.tubo.cgroup.Enforcement;
import org.apsara.fuxi.tubo.cgroup.HostPaths;
import org.apsara.security.tls.TlsContexts;
import org.apsara.security.tls.TlsMaterial;
import org.apsara.security.token.CapabilityTokenVerifier;
import org.apsara.security.token.TokenKeyFile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Tubo: the agent of a machine. It runs the workers FuxiMaster grants here ({@link
 * WorkerSupervisor}, in sandboxes under the data directory), heartbeats to the FuxiMaster primary
 * (running workers, exits; the answer brings the grant table, AM launches and ended
 * applications), serves the {@code apsara.fuxi.v1.Tubo} gRPC service to application masters, and,
 * if configured, /metrics, /health and /ready over HTTP.
 *
 * <p>{@link #start} loads the token keys and TLS files, starts the supervisor (which adopts the
 * workers a previous Tubo on this data directory and cgroup parent left running), binds the
 * service and sends the first heartbeat; anything unusable fails the start with an exception
 * naming it, after releasing what was already started. {@link #close} stops heartbeats and the
 * service and leaves the workers running, so that a Tubo started again adopts and reports them.
 *
 * <p>Thread-safe.
 */
public final class TuboServer implements AutoCloseable {
  /** The name in metrics. */
  public static final String SERVICE_NAME = "fuxi-tubo";

  private static final Logger LOG = LoggerFactory.getLogger(TuboServer.class);

  private final TuboServerConfig config;
  private final PrometheusMeterRegistry registry;
  private final TuboMetrics metrics;
  private MachineResources resources;
  private WorkerSupervisor supervisor;
  private TuboAgent agent;
  private volatile HeartbeatLoop heartbeats;
  private MemoryPressureWatcher memoryWatcher;
  private ExecutorService handlers;
  private ExecutorService killer;
  private Server grpcServer;
  private ServiceHttpEndpoint httpEndpoint;
  private boolean closed;

  private TuboServer(TuboServerConfig config) {
    this.config = config;
    this.registry = Metrics.newRegistry(SERVICE_NAME, config.machineId());
    this.metrics = new TuboMetrics(registry);
  }

  /**
   * Starts a Tubo.
   *
   * @throws IOException if the data directory, the token key file or a TLS file cannot be used,
   *     the machine's resources cannot be detected, a forced cgroup version is not usable, or the
   *     port cannot be bound
   */
  public static TuboServer start(TuboServerConfig config) throws IOException {
    TuboServer server = new TuboServer(Objects.requireNonNull(config, "config"));
    try {
      server.startInternal();
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
    return server;
  }

  private void startInternal() throws IOException {
    // Files first: a bad key or TLS file fails before any worker is adopted.
    CapabilityTokenVerifier verifier = new CapabilityTokenVerifier(
        TokenKeyFile.load(config.tokenKeyFile()), Clock.systemUTC());
    SslContext serverTls = config.tls().isEmpty() ? null
        : TlsContexts.forServer(config.tls().get(), config.clientAuth());
    SslContext masterTls = config.tls().isEmpty() ? null
        : TlsContexts.forClient(config.tls().get());
    resources = resources(config);
    Files.createDirectories(config.dataDir());
    PendingExits exits = PendingExits.open(
        config.dataDir().resolve(TuboServerConfig.EXIT_SEQUENCE_FILE));

    killer = Executors.newSingleThreadExecutor(daemonThreads("tubo-kill"));
    // Workers reach FuxiMaster and the Tubos over TLS when this machine does: they trust
    // the same CA certificates.
    Map<String, String> workerEnvironment = config.tls()
        .flatMap(TlsMaterial::trustedCaFile)
        .map(ca -> Map.of(AppMasterEnvironment.TLS_CA, ca.toAbsolutePath().toString()))
        .orElse(Map.of());
    agent = new TuboAgent(config.machineId(), workerEnvironment, exits, metrics, killer);
    TuboConfig supervisorConfig = TuboConfig.defaults(config.sandboxRoot(), resources)
        .withCgroupMode(config.cgroupMode())
        .withCgroupParent(config.cgroupParent());
    // The supervisor warns loudly itself when it cannot enforce limits.
    supervisor = WorkerSupervisor.start(supervisorConfig, agent::onExit);

    // Attached before the service takes calls; a start before the first heartbeat loop exists
    // finds the table unknown and is told to retry.
    agent.attach(supervisor, this::beatNow);
    handlers = Executors.newFixedThreadPool(AgentLimits.HANDLER_THREADS,
        daemonThreads("tubo-call"));
    TuboService service = new TuboService(agent, new ApplicationTokenGate(verifier), metrics);
    NettyServerBuilder builder = NettyServerBuilder
        .forAddress(new InetSocketAddress(config.bindHost(), config.port()))
        .executor(handlers)
        .addService(ServerInterceptors.intercept(service, new GrpcServerMetrics(registry)));
    if (serverTls != null) {
      builder.sslContext(serverTls);
    }
    grpcServer = builder.build().start();

    heartbeats = new HeartbeatLoop(identity(), agent, config.masterAddresses(),
        member -> masterChannel(member, masterTls), metrics, MonotonicClock.SYSTEM,
        new Random());
    metrics.bind(() -> supervisor.running().size(), exits::size,
        heartbeats::lastAnsweredAgeSeconds);
    heartbeats.start();
    if (config.memoryPressureMib() > 0) {
      memoryWatcher = new MemoryPressureWatcher(supervisor, config.memoryPressureMib(),
          MemoryPressureWatcher.fromMeminfo(HostPaths.SYSTEM.meminfo()));
      memoryWatcher.start(AgentLimits.MEMORY_CHECK_INTERVAL);
    }

    if (config.metricsPort() >= 0) {
      httpEndpoint = new ServiceHttpEndpoint(
          HostPort.of(config.bindHost(), config.metricsPort()), registry);
      httpEndpoint.addHealthCheck("serving", () -> grpcServer.isShutdown()
          ? HealthStatus.unhealthy("the gRPC server is shut down") : HealthStatus.ok());
      httpEndpoint.addReadinessCheck("master", heartbeats::readiness);
      httpEndpoint.start();
    }
    List<RunningWorker> adopted = supervisor.running();
    LOG.atInfo().addKeyValue("machine", config.machineId()).addKeyValue("address", address())
        .addKeyValue("advertised", advertisedAddress()).addKeyValue("rack", config.rack())
        .addKeyValue("masters", config.masterAddresses()).addKeyValue("tls", serverTls != null)
        .addKeyValue("capacity", resources)
        .addKeyValue("enforcement", supervisor.describeEnforcement())
        .addKeyValue("adopted", adopted.size())
        .log("tubo started");
  }

  /**
   * Sends a heartbeat at once; the future completes when it has ended (answered or not). For
   * tests and tools: the loop heartbeats by itself.
   */
  CompletableFuture<Void> beatNow() {
    HeartbeatLoop loop = heartbeats;
    return loop == null ? CompletableFuture.completedFuture(null) : loop.beatNow();
  }

  /** The configured capacity, each dimension not configured detected. */
  private static MachineResources resources(TuboServerConfig config) throws IOException {
    if (config.cpuMillicores().isPresent() && config.memoryMib().isPresent()) {
      return new MachineResources(config.cpuMillicores().getAsInt(),
          config.memoryMib().getAsLong());
    }
    MachineResources detected = MachineResources.detect();
    return new MachineResources(config.cpuMillicores().orElse(detected.cpuMillicores()),
        config.memoryMib().orElse(detected.memoryMib()));
  }

  /** The fixed part of every heartbeat. */
  private TuboHeartbeatRequest identity() {
    return TuboHeartbeatRequest.newBuilder()
        .setMachineId(config.machineId())
        .setRack(config.rack())
        .setAddress(advertisedAddress().format())
        .setCapacity(Resources.newBuilder()
            .setCpuMillis(resources.cpuMillicores())
            .setMemoryMib(resources.memoryMib()))
        .setEnforcement(enforcementName(supervisor.enforcement()))
        .build();
  }

  /** The names {@code NodeStatus.enforcement} documents. */
  static String enforcementName(Enforcement enforcement) {
    return switch (enforcement) {
      case CGROUP_V1 -> "cgroup v1";
      case CGROUP_V2 -> "cgroup v2";
      case UNENFORCED -> "unenforced";
    };
  }

  static ManagedChannel masterChannel(HostPort member, SslContext tls) {
    NettyChannelBuilder builder = NettyChannelBuilder.forAddress(member.host(), member.port())
        // A heartbeat is never retried by gRPC: the loop decides where the next one goes.
        .disableRetry();
    if (tls != null) {
      builder.sslContext(tls);
    } else {
      builder.usePlaintext();
    }
    return builder.build();
  }

  /** Where the gRPC service listens, with the port actually bound. */
  public HostPort address() {
    return HostPort.of(config.bindHost(), grpcServer.getPort());
  }

  /** The address reported to the master and handed to AMs: advertised host, bound port. */
  public HostPort advertisedAddress() {
    return HostPort.of(config.advertisedHost(), grpcServer.getPort());
  }

  /** The HTTP port of /metrics, /health and /ready, or -1 if it is off. */
  public int metricsPort() {
    return httpEndpoint == null ? -1 : httpEndpoint.port();
  }

  public String machineId() {
    return config.machineId();
  }

  /** What this machine offers to workers (configured or detected). */
  public MachineResources capacity() {
    return resources;
  }

  /** The workers running now, oldest first; for tools and tests. */
  public List<RunningWorker> runningWorkers() {
    return supervisor.running();
  }

  /** How this machine enforces workers' limits. */
  public Enforcement enforcement() {
    return supervisor.enforcement();
  }

  /** How limits are enforced, as FuxiMaster shows it: "cgroup v1", "cgroup v2", "unenforced". */
  public String enforcementName() {
    return enforcementName(supervisor.enforcement());
  }

  public PrometheusMeterRegistry metrics() {
    return registry;
  }

  public TuboServerConfig config() {
    return config;
  }

  /**
   * Stops heartbeats, the service and supervision, and releases everything. Workers keep running
   * for the next Tubo on this data directory to adopt. Exits not yet acknowledged by the master
   * are lost with this process; the master sees those workers gone from the next Tubo's running
   * list. Idempotent.
   */
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
    if (memoryWatcher != null) {
      memoryWatcher.close();
    }
    if (httpEndpoint != null) {
      httpEndpoint.close();
    }
    if (grpcServer != null) {
      GrpcServers.stop(grpcServer, AgentLimits.SHUTDOWN_GRACE);
    }
    if (handlers != null) {
      handlers.shutdown();
    }
    if (killer != null) {
      // Kills already asked for complete: a revoked worker must not outlive its grant.
      killer.shutdown();
      try {
        killer.awaitTermination(AgentLimits.SHUTDOWN_GRACE.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (supervisor != null) {
      supervisor.close();
      // Workers still running keep their groups for the next start to adopt; with none left
      // there is nothing to adopt, and empty groups would pile up on the machine.
      try {
        supervisor.removeTuboCgroups();
      } catch (IOException e) {
        LOG.debug("could not remove Tubo's empty cgroups", e);
      }
    }
    registry.close();
    LOG.info("tubo stopped");
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
