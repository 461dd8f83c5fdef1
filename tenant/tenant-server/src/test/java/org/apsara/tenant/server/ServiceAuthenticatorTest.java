package org.apsara.tenant.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.common.time.ManualClock;
import org.apsara.common.time.MonotonicClock;
import org.apsara.security.audit.AuditEvent;
import org.apsara.security.audit.InMemoryAuditSink;
import org.apsara.security.grpc.AuthenticationServerInterceptor;
import org.apsara.security.grpc.Authorization;
import org.apsara.security.grpc.Authorization.Access;
import org.apsara.security.grpc.SecurityContext;
import org.apsara.security.grpc.SigningClientInterceptor;
import org.apsara.security.sign.AccessKeyCredentials;
import org.apsara.security.sign.CredentialScope;
import org.apsara.security.sign.ScopedAuthorizationHeader;
import org.apsara.security.sign.ScopedSignature;
import org.apsara.security.sign.ServiceScope;
import org.apsara.tenant.api.CreatedAccessKey;
import org.apsara.tenant.api.IdentityClient;
import org.apsara.tenant.api.service.ServiceAuthenticator;
import org.apsara.tenant.api.service.ServiceAuthenticatorOptions;
import org.apsara.tenant.api.v1.IdentityServiceGrpc;
import org.apsara.testkit.Ports;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A toy service guarded by a {@link ServiceAuthenticator} that learns keys and policies from a real
 * identity server: who gets in, and how fast changes made at the identity service arrive.
 */
class ServiceAuthenticatorTest {
  private static final String REGION = "cn-test";
  private static final String SERVICE = "toy";
  private static final ServiceScope TOY = new ServiceScope(REGION, SERVICE);
  /** Short, so that the tests of refreshing take a fraction of a second each. */
  private static final Duration REFRESH_INTERVAL = Duration.ofMillis(200);
  /** How long a refreshed change may take to arrive here on a busy machine. */
  private static final Duration ARRIVAL_TIMEOUT = Duration.ofSeconds(10);
  private static final MethodDescriptor.Marshaller<String> UTF8 = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(String value) {
      return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String parse(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };
  /** Reads the thing named by the request, {@code <tenant>/<thing>}; replies with the caller. */
  private static final MethodDescriptor<String, String> READ =
      MethodDescriptor.<String, String>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("apsara.test.Toy/Read")
          .setRequestMarshaller(UTF8)
          .setResponseMarshaller(UTF8)
          .build();

  @TempDir static Path dir;

  private static NuwaFixture nuwa;
  private static TenantServer identityServer;
  private static IdentityClient systemRoot;
  private static int tenants;

  private final InMemoryAuditSink audit = new InMemoryAuditSink(InMemoryAuditSink.CAPACITY_MAX);
  private final AtomicInteger credentialCalls = new AtomicInteger();
  private final AtomicBoolean identityDown = new AtomicBoolean();
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private String tenant;

  @BeforeAll
  static void startIdentityService() throws Exception {
    nuwa = NuwaFixture.start(dir.resolve("nuwa"));
    identityServer = TenantServer.start(TenantConfig.builder()
        .nuwaEndpoints(nuwa.endpoints())
        .port(Ports.freePort())
        .metricsPort(-1)
        .masterKeyFile(dir.resolve("master.key"))
        .region(REGION)
        .build(), new InMemoryAuditSink());
    systemRoot = IdentityClient.connect(
        identityServer.address(), identityServer.bootstrapCredentials().orElseThrow().credentials());
  }

  @AfterAll
  static void stopIdentityService() {
    if (systemRoot != null) {
      systemRoot.close();
    }
    if (identityServer != null) {
      identityServer.close();
    }
    if (nuwa != null) {
      nuwa.close();
    }
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }

  /** The authenticator of the toy service {@link #startToy} started last. */
  private ServiceAuthenticator lastAuthenticator;

  /** A toy service guarded by a new authenticator; returns the channel to reach it. */
  private ManagedChannel startToy(ServiceAuthenticatorOptions options, MonotonicClock monotonic)
      throws IOException {
    ServiceAuthenticator authenticator = ServiceAuthenticator.start(
        identityAsTheService(), SERVICE, options, Clock.systemUTC(), monotonic);
    closeables.add(authenticator);
    lastAuthenticator = authenticator;
    Authorization authorization = authenticator.authorization(audit);
    ServerServiceDefinition toy = ServerServiceDefinition.builder("apsara.test.Toy")
        .addMethod(READ, ServerCalls.asyncUnaryCall((request, out) -> {
          String[] parts = request.split("/", 2);
          try {
            authorization.require("toy:Read",
                "acs:toy:" + REGION + ":" + parts[0] + ":thing/" + parts[1], Access.READ);
          } catch (StatusRuntimeException denied) {
            out.onError(denied);
            return;
          }
          out.onNext(SecurityContext.currentPrincipal().orElseThrow().arn());
          out.onCompleted();
        }))
        .build();
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(ServerInterceptors.intercept(toy, authenticator.interceptor(audit, Set.of())))
        .build().start();
    closeables.add(() -> server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS));
    ManagedChannel channel = Grpc.newChannelBuilderForAddress(
        "127.0.0.1", server.getPort(), InsecureChannelCredentials.create()).build();
    closeables.add(channel::shutdownNow);
    return channel;
  }

  private ManagedChannel startToy() throws IOException {
    return startToy(defaultOptions(), MonotonicClock.SYSTEM);
  }

  private static ServiceAuthenticatorOptions defaultOptions() {
    return ServiceAuthenticatorOptions.defaults().withRegion(REGION)
        .withRefreshInterval(REFRESH_INTERVAL);
  }

  /**
   * The identity client the service connects with (the system root's key), counting its
   * GetServiceCredential calls and, while {@link #identityDown}, sending them to a port where
   * nothing listens.
   */
  private IdentityClient identityAsTheService() {
    ManagedChannel channel = Grpc.newChannelBuilderForAddress(identityServer.address().host(),
        identityServer.address().port(), InsecureChannelCredentials.create()).build();
    ManagedChannel nowhere = Grpc.newChannelBuilderForAddress(
        "127.0.0.1", Ports.freePort(), InsecureChannelCredentials.create()).build();
    closeables.add(channel::shutdownNow);
    closeables.add(nowhere::shutdownNow);
    ClientInterceptor counting = new ClientInterceptor() {
      @Override
      public <ReqT, RespT> io.grpc.ClientCall<ReqT, RespT> interceptCall(
          MethodDescriptor<ReqT, RespT> method, CallOptions options, Channel next) {
        if (method.equals(IdentityServiceGrpc.getGetServiceCredentialMethod())) {
          credentialCalls.incrementAndGet();
          if (identityDown.get()) {
            return nowhere.newCall(method, options);
          }
        }
        return next.newCall(method, options);
      }
    };
    Channel signed = ClientInterceptors.intercept(channel, counting, new SigningClientInterceptor(
        identityServer.bootstrapCredentials().orElseThrow().credentials(), Clock.systemUTC()));
    return new IdentityClient(signed, Duration.ofSeconds(5));
  }

  /** A new tenant with a user who may read the tenant's things; returns the user's key. */
  private CreatedAccessKey reader(String user) {
    if (tenant == null) {
      tenant = "toy-" + (++tenants);
      systemRoot.createTenant(tenant, "");
      systemRoot.createPolicy(tenant, "ReadThings", "{\"Version\": \"1\", \"Statement\": [{"
          + "\"Effect\": \"Allow\", \"Action\": \"toy:Read\", \"Resource\": \"acs:toy:*:" + tenant
          + ":thing/*\"}]}", "");
    }
    systemRoot.createUser(tenant, user, "");
    systemRoot.attachPolicyToUser(tenant, "ReadThings", user);
    return systemRoot.createAccessKey(tenant, user);
  }

  private static String read(Channel channel, AccessKeyCredentials key, ServiceScope scope,
      String thing) {
    Channel signed = ClientInterceptors.intercept(
        channel, SigningClientInterceptor.forService(key, scope, Clock.systemUTC()));
    return ClientCalls.blockingUnaryCall(signed, READ, CallOptions.DEFAULT, thing);
  }

  private static StatusRuntimeException refused(Callable<String> call) {
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, call::call);
    assertThat(e).as("the call's refusal").isNotNull();
    return e;
  }

  private static String errorCode(StatusRuntimeException e) {
    return Status.trailersFromThrowable(e).get(AuthenticationServerInterceptor.ERROR_CODE_TRAILER);
  }

  @Test
  void aSignedCallIsAllowedOrDeniedByTheUsersPolicies() throws Exception {
    ManagedChannel toy = startToy();
    CreatedAccessKey alice = reader("alice");

    assertThat(read(toy, alice.credentials(), TOY, tenant + "/a"))
        .isEqualTo("acs:ram::" + tenant + ":user/alice");
    StatusRuntimeException elsewhere =
        refused(() -> read(toy, alice.credentials(), TOY, "system/a"));
    assertThat(elsewhere.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(elsewhere.getStatus().getDescription()).contains("no policy statement naming that"
        + " tenant allows it");
    assertThat(audit.events()).anySatisfy(event -> {
      assertThat(event.outcome()).isEqualTo(AuditEvent.Outcome.DENIED);
      assertThat(event.resource()).isEqualTo("acs:toy:" + REGION + ":system:thing/a");
    });
  }

  @Test
  void aSignatureForAnotherServiceOrAnUnknownKeyIsRefused() throws Exception {
    ManagedChannel toy = startToy();
    CreatedAccessKey alice = reader("alice");

    StatusRuntimeException otherService = refused(() ->
        read(toy, alice.credentials(), new ServiceScope(REGION, "pangu"), tenant + "/a"));
    assertThat(otherService.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(errorCode(otherService)).isEqualTo("InvalidCredentialScope");

    AccessKeyCredentials stranger =
        new AccessKeyCredentials("LTAIstranger000000000000", "stranger-secret");
    StatusRuntimeException unknown =
        refused(() -> read(toy, stranger, TOY, tenant + "/a"));
    assertThat(errorCode(unknown)).isEqualTo("InvalidAccessKeyId.NotFound");
  }

  @Test
  void aDisabledKeyIsRefusedWithinTheRefreshInterval() throws Exception {
    ManagedChannel toy = startToy();
    CreatedAccessKey bob = reader("bob");
    assertThat(read(toy, bob.credentials(), TOY, tenant + "/a")).endsWith("user/bob");

    systemRoot.setAccessKeyEnabled(tenant, "bob", bob.accessKey().getAccessKeyId(), false);

    await().atMost(ARRIVAL_TIMEOUT).pollInterval(REFRESH_INTERVAL.dividedBy(4)).untilAsserted(() ->
        assertThat(errorCode(refused(() -> read(toy, bob.credentials(), TOY, tenant + "/a"))))
            .isEqualTo("InvalidAccessKeyId.Inactive"));
  }

  @Test
  void aPolicyAttachedLaterTakesEffect() throws Exception {
    ManagedChannel toy = startToy();
    reader("alice"); // creates the tenant and its ReadThings policy
    systemRoot.createUser(tenant, "carol", "");
    CreatedAccessKey carol = systemRoot.createAccessKey(tenant, "carol");
    assertThat(refused(() -> read(toy, carol.credentials(), TOY, tenant + "/a"))
        .getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);

    systemRoot.attachPolicyToUser(tenant, "ReadThings", "carol");

    await().atMost(ARRIVAL_TIMEOUT).pollInterval(REFRESH_INTERVAL.dividedBy(4))
        .ignoreException(StatusRuntimeException.class)
        .untilAsserted(() ->
            assertThat(read(toy, carol.credentials(), TOY, tenant + "/a")).endsWith("user/carol"));
  }

  @Test
  void concurrentFirstCallsShareOneLookupAndAnUnknownKeyIsRememberedBriefly() throws Exception {
    // No background refresh during the test, so that every lookup counted is one a call made;
    // and the age of answers moves only when the test says.
    Duration noRefresh = Duration.ofHours(1);
    ManualClock monotonic = new ManualClock();
    ServiceAuthenticatorOptions options = defaultOptions().withMaxStaleness(noRefresh)
        .withRefreshInterval(noRefresh);
    ManagedChannel toy = startToy(options, monotonic);
    CreatedAccessKey dave = reader("dave");
    int callers = 8;
    ExecutorService pool = Executors.newFixedThreadPool(callers);
    closeables.add(pool::shutdownNow);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<String>> results = new ArrayList<>();
    for (int i = 0; i < callers; i++) {
      results.add(pool.submit(() -> {
        go.await();
        return read(toy, dave.credentials(), TOY, tenant + "/a");
      }));
    }
    go.countDown();
    for (Future<String> result : results) {
      assertThat(result.get(30, TimeUnit.SECONDS)).endsWith("user/dave");
    }
    assertThat(credentialCalls.get()).isEqualTo(1);

    AccessKeyCredentials stranger =
        new AccessKeyCredentials("LTAIstranger111111111111", "stranger-secret");
    identityDown.set(true);
    assertThat(errorCode(refused(() -> read(toy, stranger, TOY, tenant + "/a"))))
        .isEqualTo("SigningKeyUnavailable");
    identityDown.set(false);
    assertThat(errorCode(refused(() -> read(toy, stranger, TOY, tenant + "/a"))))
        .as("a failed lookup is not remembered").isEqualTo("InvalidAccessKeyId.NotFound");
    for (int i = 0; i < 5; i++) {
      assertThat(errorCode(refused(() -> read(toy, stranger, TOY, tenant + "/a"))))
          .isEqualTo("InvalidAccessKeyId.NotFound");
    }
    // The failed lookup, the one that found nothing, and none for the five calls after it.
    assertThat(credentialCalls.get()).isEqualTo(3);

    monotonic.advance(options.notFoundTtl().plusMillis(1));
    assertThat(errorCode(refused(() -> read(toy, stranger, TOY, tenant + "/a"))))
        .isEqualTo("InvalidAccessKeyId.NotFound");
    assertThat(credentialCalls.get()).as("asked again once forgotten").isEqualTo(4);
  }

  @Test
  void onlyAKeyNotYetSeenOnItsDayMakesACallWaitForTheIdentityService() throws Exception {
    ManagedChannel toy = startToy();
    CreatedAccessKey erin = reader("erin");
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    String header = scopedHeader(erin.credentials().accessKeyId(), today);
    assertThat(lastAuthenticator.answersFromMemory(header)).isFalse();

    read(toy, erin.credentials(), TOY, tenant + "/a");
    assertThat(lastAuthenticator.answersFromMemory(header)).isTrue();
    assertThat(lastAuthenticator.answersFromMemory(
        scopedHeader(erin.credentials().accessKeyId(), today.plusDays(1)))).isFalse();
    // Refused before any lookup: nothing to wait for.
    assertThat(lastAuthenticator.answersFromMemory(null)).isTrue();
    assertThat(lastAuthenticator.answersFromMemory(ScopedSignature.ALGORITHM + " nonsense"))
        .isTrue();
  }

  private static String scopedHeader(String accessKeyId, LocalDate date) {
    return new ScopedAuthorizationHeader(accessKeyId, new CredentialScope(date, REGION, SERVICE),
        List.of("host"), "0".repeat(64)).format();
  }

  @Test
  void aCachedAnswerOutlivesAnOutageOnlyForTheStalenessBound() throws Exception {
    ManualClock monotonic = new ManualClock();
    Duration maxStaleness = Duration.ofMinutes(5);
    ManagedChannel toy = startToy(defaultOptions().withMaxStaleness(maxStaleness), monotonic);
    CreatedAccessKey erin = reader("erin");
    assertThat(read(toy, erin.credentials(), TOY, tenant + "/a")).endsWith("user/erin");

    identityDown.set(true);
    monotonic.advance(maxStaleness);
    assertThat(read(toy, erin.credentials(), TOY, tenant + "/a"))
        .as("at the bound").endsWith("user/erin");
    monotonic.advance(Duration.ofSeconds(1));
    StatusRuntimeException stale = refused(() -> read(toy, erin.credentials(), TOY, tenant + "/a"));
    assertThat(stale.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(errorCode(stale)).isEqualTo("SigningKeyUnavailable");
    assertThat(stale.getStatus().getDescription()).contains("last confirmed");

    identityDown.set(false);
    await().atMost(ARRIVAL_TIMEOUT).pollInterval(REFRESH_INTERVAL.dividedBy(4))
        .ignoreException(StatusRuntimeException.class)
        .untilAsserted(() ->
            assertThat(read(toy, erin.credentials(), TOY, tenant + "/a")).endsWith("user/erin"));
  }

  @Test
  void aServiceConfiguredForAnotherRegionThanTheIdentityServiceRefusesToGuess() throws Exception {
    ManagedChannel toy = startToy(defaultOptions().withRegion("local"), MonotonicClock.SYSTEM);
    CreatedAccessKey frank = reader("frank");

    StatusRuntimeException e = refused(() ->
        read(toy, frank.credentials(), new ServiceScope("local", SERVICE), tenant + "/a"));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(e.getStatus().getDescription())
        .contains("the identity service serves region " + REGION);
  }
}
