package org.apsara.nuwa.client;

import io.etcd.jetcd.api.AuthGrpc;
import io.etcd.jetcd.api.AuthenticateRequest;
import io.etcd.jetcd.api.AuthenticateResponse;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.NameResolverRegistry;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettySslContextChannelCredentials;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.common.time.MonotonicClock;
import org.apsara.security.tls.TlsContexts;
import org.apsara.security.tls.TlsMaterial;

/**
 * A connection to a Nuwa cluster (or any etcd v3 cluster), speaking etcd's v3 gRPC API.
 *
 * <pre>{@code
 * try (NuwaClient client =
 *     NuwaClient.builder().endpoints("10.0.0.1:2379", "10.0.0.2:2379").build()) {
 *   client.kv().put("greeting", "hello");
 *   String value = client.kv().get("greeting").first().orElseThrow().valueUtf8();
 * }
 * }</pre>
 *
 * <p><b>Connections.</b> The client keeps one connection to each endpoint and spreads requests
 * round-robin over those that are up. A read that fails because its endpoint went away is retried
 * on another; a write is retried only when the failure proves it was not applied (see {@link
 * KvClient}). Watches and lease keep-alives move to another endpoint by themselves.
 *
 * <p><b>Authentication.</b> A client built with {@link Builder#user} authenticates as that user
 * (etcd's {@code Auth/Authenticate}) when its first call is made, sends the token it gets with
 * every call, watch and keep-alive, and authenticates again when the server says the token is
 * stale. See {@link Builder#user} for what that guarantees.
 *
 * <p><b>Threading.</b> Thread-safe; meant to be shared by a whole process. Listener callbacks run
 * on the callback executor (a pool of daemon threads owned by the client unless one was given), one
 * at a time per watch or lease. Futures of asynchronous calls complete on gRPC's threads.
 *
 * <p><b>Lifecycle.</b> {@link #close()} ends every watch and keep-alive of this client (their
 * listeners hear of it), fails calls still in progress, and shuts the connections down; calls made
 * afterwards fail. Leases are not revoked on close: they expire after their TTL, as they would if
 * the process died.
 */
public final class NuwaClient implements AutoCloseable {
  /** Default deadline of each request, retries included. */
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(5);

  /**
   * Default limit on one response. A range read returning more fails; read large ranges in pages
   * with {@link GetOptions.Builder#limit}.
   */
  public static final int DEFAULT_MAX_INBOUND_MESSAGE_BYTES = 128 * 1024 * 1024;

  /**
   * Interval of HTTP/2 pings on a connection with open calls, to notice a dead server on a silent
   * connection (a watch with no traffic). etcd refuses pings more often than every 5 s.
   */
  static final Duration KEEPALIVE_TIME = Duration.ofSeconds(10);

  /** How long a ping may go unanswered before the connection is dropped. */
  static final Duration KEEPALIVE_TIMEOUT = Duration.ofSeconds(5);

  /** How long {@link #close()} waits for calls in flight to finish. */
  static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(2);

  /**
   * etcd's metadata key asking a member to refuse a stream while it has no leader, and to end it if
   * it loses its leader, so that the stream moves to a member that can serve it.
   */
  static final Metadata.Key<String> REQUIRE_LEADER_KEY =
      Metadata.Key.of("hasleader", Metadata.ASCII_STRING_MARSHALLER);

  private static final String USER_AGENT = "apsara-nuwa-client";

  private final List<String> endpoints;
  private final String user;
  private final ManagedChannel channel;
  private final ScheduledThreadPoolExecutor scheduler;
  private final ExecutorService ownedCallbackExecutor;
  private final ClientContext context;
  private final KvClient kv;
  private final WatchClient watch;
  private final LeaseClient lease;
  private final ClusterClient cluster;
  private final Object closeLock = new Object();
  private boolean closed;

  private NuwaClient(Builder b, ChannelCredentials credentials) {
    List<Endpoint> parsed = b.endpoints.stream().map(Endpoint::parse).toList();
    this.endpoints = parsed.stream().map(Endpoint::authority).toList();
    this.user = b.user;
    AuthTokens auth =
        b.user == null ? null : new AuthTokens(b.user, b.password, this::authenticate);
    NameResolverRegistry registry = new NameResolverRegistry();
    registry.register(new StaticEndpointsResolverProvider(parsed));
    ManagedChannelBuilder<?> channelBuilder =
        Grpc.newChannelBuilder(
                StaticEndpointsResolverProvider.target(), credentials, registry)
            .defaultLoadBalancingPolicy("round_robin")
            .disableServiceConfigLookUp()
            .maxInboundMessageSize(b.maxInboundMessageBytes)
            .keepAliveTime(KEEPALIVE_TIME.toNanos(), TimeUnit.NANOSECONDS)
            .keepAliveTimeout(KEEPALIVE_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS)
            .keepAliveWithoutCalls(false)
            .userAgent(USER_AGENT);
    if (!b.interceptors.isEmpty()) {
      channelBuilder.intercept(b.interceptors);
    }
    if (auth != null) {
      channelBuilder.intercept(auth.interceptor());
    }
    this.channel = channelBuilder.build();

    this.scheduler = new ScheduledThreadPoolExecutor(1, daemonThreads("nuwa-client-timer"));
    scheduler.setRemoveOnCancelPolicy(true);
    if (b.callbackExecutor == null) {
      this.ownedCallbackExecutor =
          Executors.newCachedThreadPool(daemonThreads("nuwa-client-callback"));
    } else {
      this.ownedCallbackExecutor = null;
    }
    Metadata requireLeader = new Metadata();
    requireLeader.put(REQUIRE_LEADER_KEY, "true");
    Channel streamChannel =
        ClientInterceptors.intercept(
            channel, MetadataUtils.newAttachHeadersInterceptor(requireLeader));
    RpcInvoker rpc = new RpcInvoker(channel, channel, scheduler, b.requestTimeout, auth);
    this.context =
        new ClientContext(
            streamChannel,
            rpc,
            scheduler,
            b.callbackExecutor != null ? b.callbackExecutor : ownedCallbackExecutor,
            b.clock,
            b.requestTimeout,
            ClientContext.newOpenStreamSet(),
            auth);
    this.kv = new KvClient(rpc);
    this.watch = new WatchClient(context);
    this.lease = new LeaseClient(context);
    this.cluster = new ClusterClient(rpc, b.requestTimeout, auth);
  }

  /** Sends one Authenticate request for {@link AuthTokens}, retried like any read. */
  private CompletableFuture<AuthenticateResponse> authenticate(AuthenticateRequest request) {
    return context
        .rpc()
        .call(AuthGrpc.getAuthenticateMethod(), request, RpcInvoker.Idempotency.IDEMPOTENT);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Keys and transactions. */
  public KvClient kv() {
    return kv;
  }

  /** Watches. */
  public WatchClient watch() {
    return watch;
  }

  /** Leases. */
  public LeaseClient lease() {
    return lease;
  }

  /** The cluster's members, and each member's own status. */
  public ClusterClient cluster() {
    return cluster;
  }

  /** The endpoints this client was built with, as {@code host:port}. */
  public List<String> endpoints() {
    return endpoints;
  }

  /** The user this client authenticates as, if it was built with one. */
  public Optional<String> user() {
    return Optional.ofNullable(user);
  }

  /** The executor listener callbacks run on. */
  public Executor callbackExecutor() {
    return context.callbackExecutor();
  }

  /** The default deadline of each request. */
  public Duration requestTimeout() {
    return context.requestTimeout();
  }

  /** Ends every watch and keep-alive, fails calls in progress, closes connections. Idempotent. */
  @Override
  public void close() {
    synchronized (closeLock) {
      if (closed) {
        return;
      }
      closed = true;
    }
    for (ClientStream stream : List.copyOf(context.openStreams())) {
      stream.clientClosed();
    }
    scheduler.shutdownNow();
    context.rpc().shutdown();
    channel.shutdown();
    try {
      if (!channel.awaitTermination(SHUTDOWN_GRACE.toNanos(), TimeUnit.NANOSECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
    if (ownedCallbackExecutor != null) {
      ownedCallbackExecutor.shutdown();
    }
  }

  /** The endpoints and the user; never the password. */
  @Override
  public String toString() {
    return "NuwaClient{endpoints=" + endpoints + (user == null ? "" : ", user=" + user) + "}";
  }

  private static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger count = new AtomicInteger();
    return task -> {
      Thread t = new Thread(task, prefix + "-" + count.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /**
   * Configures a {@link NuwaClient}. Not thread-safe. Everything but the endpoints has a default.
   */
  public static final class Builder {
    private final List<String> endpoints = new ArrayList<>();
    private final List<ClientInterceptor> interceptors = new ArrayList<>();
    private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
    private int maxInboundMessageBytes = DEFAULT_MAX_INBOUND_MESSAGE_BYTES;
    private Executor callbackExecutor;
    private MonotonicClock clock = MonotonicClock.SYSTEM;
    private String user;
    private String password;
    private TlsMaterial tls;

    private Builder() {}

    /**
     * Servers to connect to, as {@code host:port}, {@code http://host:port} or
     * {@code https://host:port}. {@code https://} endpoints without {@link #tls} are checked
     * against the platform's trusted CAs; {@code http://} ones cannot be mixed with TLS.
     */
    public Builder endpoints(String... endpoints) {
      return endpoints(Arrays.asList(endpoints));
    }

    public Builder endpoints(List<String> endpoints) {
      for (String endpoint : endpoints) {
        Endpoint.parse(endpoint);
        this.endpoints.add(endpoint);
      }
      return this;
    }

    /** The deadline of each request, retries included. */
    public Builder requestTimeout(Duration timeout) {
      Objects.requireNonNull(timeout, "timeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("request timeout must be positive: " + timeout);
      }
      this.requestTimeout = timeout;
      return this;
    }

    /**
     * Adds an interceptor to every call (requests, watches and keep-alives alike), for example to
     * sign requests. Interceptors run in the order added, the first outermost.
     */
    public Builder interceptor(ClientInterceptor interceptor) {
      interceptors.add(Objects.requireNonNull(interceptor, "interceptor"));
      return this;
    }

    /** The largest response accepted. */
    public Builder maxInboundMessageBytes(int bytes) {
      if (bytes < 1) {
        throw new IllegalArgumentException("max inbound message size must be positive: " + bytes);
      }
      this.maxInboundMessageBytes = bytes;
      return this;
    }

    /**
     * Runs listener callbacks on {@code executor} instead of a pool owned by the client. The client
     * does not shut it down.
     */
    public Builder callbackExecutor(Executor executor) {
      this.callbackExecutor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /** The clock lease keep-alives measure TTLs with. */
    public Builder clock(MonotonicClock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Authenticates as {@code name} with {@code password}, for a cluster with authentication
     * enabled ({@code etcdctl auth enable}). Without it, a cluster with authentication enabled
     * refuses every request that needs a user, with {@link NuwaAuthenticationException} ({@code
     * "etcdserver: user name is empty"}).
     *
     * <pre>{@code
     * NuwaClient client =
     *     NuwaClient.builder().endpoints("10.0.0.1:2379").user("alice", alicePassword).build();
     * }</pre>
     *
     * <p><b>When.</b> {@link #build()} does not contact the cluster. The client authenticates when
     * its first call (or watch, or keep-alive) is made; calls made meanwhile wait for that one
     * authentication, within their own deadlines. A wrong name or password therefore shows on the
     * first call, which fails with {@link NuwaAuthenticationException} naming the user; every
     * later call tries again, one authentication at a time. If the cluster has authentication
     * disabled, the client sends no token, and authenticates as soon as a server says it needs one
     * ({@code "etcdserver: user name is empty"}), as etcd's Go client does.
     *
     * <p><b>What carries the token.</b> Every request of every sub-client sends the token in the
     * {@code token} request header, as etcd's clients do. A watch or keep-alive stream sends the
     * token current when the stream opens, in its headers; a stream reopened after a failover
     * carries the token current then.
     *
     * <p><b>Renewal.</b> The server invalidates tokens when they expire (etcd's {@code
     * --auth-token-ttl} for idle tokens), when it restarts (etcd's default "simple" tokens live in
     * memory), when the user's password changes, and, for signed tokens, when users, roles or
     * permissions change. A request refused with {@code "etcdserver: invalid auth token"}, {@code
     * "etcdserver: revision of auth store is old"} or {@code "etcdserver: user name is empty"}
     * makes the client authenticate again and send that request once more, writes included (the
     * server refuses those before applying anything). However many requests fail on one stale
     * token, they share one authentication. Each request is sent at most once more; refused again,
     * it fails with {@link NuwaAuthenticationException}. A watch whose creation is refused for its
     * token, or with {@code "etcdserver: permission denied"} (how etcd 3.4 answers a stale token on
     * a watch), likewise renews the token once and retries; a keep-alive stream refused for its
     * token renews it once before its next stream. If the password no longer works (it was
     * changed), calls fail with {@link NuwaAuthenticationException} naming the user, watches end
     * with it, and a keep-alive that must open a new stream loses its lease with it.
     *
     * <p>A request outside the user's permissions fails with a {@link NuwaException} of code
     * {@code PERMISSION_DENIED} ({@code "etcdserver: permission denied"}), and a watch on such keys
     * ends with it after the one renewal above.
     *
     * <p>The password is kept in memory for the life of the client, to authenticate again; it is
     * sent only in Authenticate requests, and appears in no message, log or {@code toString}.
     * Without {@link #tls} connections are plaintext: use it on trusted networks only.
     *
     * @param name the user; must not be empty
     * @param password the user's password
     */
    public Builder user(String name, String password) {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(password, "password");
      if (name.isEmpty()) {
        throw new IllegalArgumentException("user name must not be empty");
      }
      this.user = name;
      this.password = password;
      return this;
    }

    /**
     * Talks TLS to every endpoint: servers are verified against {@code material}'s trusted CA
     * file (the cluster CA's {@code ca.crt}; the platform's CAs if it has none) and must name the
     * endpoint's host in their certificate; the material's certificate and key, if it has them,
     * are presented to servers that ask for a client certificate (etcd's
     * {@code --client-cert-auth}), as etcdctl's {@code --cacert}, {@code --cert} and
     * {@code --key} do. The files are read by {@link #build()}.
     */
    public Builder tls(TlsMaterial material) {
      this.tls = Objects.requireNonNull(material, "material");
      return this;
    }

    /** The endpoints and the user; never the password. */
    @Override
    public String toString() {
      return "NuwaClient.Builder{endpoints="
          + endpoints
          + (user == null ? "" : ", user=" + user)
          + (tls == null ? "" : ", tls=" + tls)
          + ", requestTimeout="
          + requestTimeout
          + "}";
    }

    /**
     * The client. It connects lazily; only the TLS files, if any, are read now.
     *
     * @throws IllegalStateException if no endpoint was given
     * @throws IllegalArgumentException if {@code http://} and {@code https://} endpoints are
     *     mixed, or an {@code http://} endpoint is given with {@link #tls}
     * @throws UncheckedIOException if a TLS file cannot be read or its key does not match its
     *     certificate
     */
    public NuwaClient build() {
      if (endpoints.isEmpty()) {
        throw new IllegalStateException("at least one endpoint is required");
      }
      return new NuwaClient(this, credentials());
    }

    private ChannelCredentials credentials() {
      Set<String> schemes = new TreeSet<>();
      endpoints.forEach(endpoint -> schemes.add(Endpoint.scheme(endpoint)));
      if (schemes.contains("http") && schemes.contains("https")) {
        throw new IllegalArgumentException("endpoints mix http:// and https://: " + endpoints);
      }
      if (schemes.contains("http") && tls != null) {
        throw new IllegalArgumentException("TLS is set, but endpoints say http://: " + endpoints);
      }
      if (tls == null && !schemes.contains("https")) {
        return InsecureChannelCredentials.create();
      }
      try {
        return NettySslContextChannelCredentials.create(tls != null
            ? TlsContexts.forClient(tls) : GrpcSslContexts.forClient().build());
      } catch (IOException e) {
        throw new UncheckedIOException(e.getMessage(), e);
      }
    }
  }
}
