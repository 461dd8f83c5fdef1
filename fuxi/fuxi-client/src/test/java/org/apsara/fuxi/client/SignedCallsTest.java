package org.apsara.fuxi.client;

import static org.apsara.fuxi.client.testing.GrpcTestServer.fuxiError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.common.net.HostPort;
import org.apsara.fuxi.api.FuxiPermissions;
import org.apsara.fuxi.api.v1.ListNodesResponse;
import org.apsara.fuxi.api.v1.NodeStatus;
import org.apsara.fuxi.client.testing.FakeFuxiMaster;
import org.apsara.fuxi.client.testing.GrpcTestServer;
import org.apsara.security.audit.InMemoryAuditSink;
import org.apsara.security.grpc.AuthenticationServerInterceptor;
import org.apsara.security.grpc.SecurityContext;
import org.apsara.security.sign.AccessKeyCredentials;
import org.apsara.security.sign.NonceCache;
import org.apsara.security.sign.Principal;
import org.apsara.security.sign.ResolvedSigningKey;
import org.apsara.security.sign.ScopedSignature;
import org.apsara.security.sign.ServiceScope;
import org.apsara.security.sign.SignatureVerifier;
import org.apsara.security.sign.SigningKeyResolver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A FuxiClient with credentials against a fake master that checks signatures as an
 * authenticating FuxiMaster does (only derived keys on the server side).
 */
class SignedCallsTest {
  private static final String REGION = "cn-test";
  private static final AccessKeyCredentials ALICE =
      new AccessKeyCredentials("LTAIalice000000000000000", "alice-secret-000000000000000000");
  private static final Principal ALICE_PRINCIPAL =
      new Principal("acme", "alice", ALICE.accessKeyId());

  private final List<AutoCloseable> open = new ArrayList<>();
  /** The caller each call reached the master with. */
  private final List<String> callers = new CopyOnWriteArrayList<>();
  private final SigningKeyResolver resolver = (id, scope) -> id.equals(ALICE.accessKeyId())
      ? Optional.of(new ResolvedSigningKey(
          ScopedSignature.deriveSigningKey(ALICE.accessKeySecret(), scope), true, ALICE_PRINCIPAL))
      : Optional.empty();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private HostPort serveAuthenticating(FakeFuxiMaster master) throws Exception {
    GrpcTestServer server = new GrpcTestServer(master, AuthenticationServerInterceptor.forService(
        new SignatureVerifier(Clock.systemUTC(), new NonceCache()),
        new ServiceScope(REGION, FuxiPermissions.SERVICE), resolver, new InMemoryAuditSink(),
        Set.of()));
    open.add(server);
    return server.address();
  }

  private FuxiClient client(HostPort master, AccessKeyCredentials key, String region) {
    FuxiClientConfig.Builder config = FuxiClientConfig.builder(List.of(master))
        .operationTimeout(Duration.ofSeconds(10))
        .backoff(Duration.ofMillis(5), Duration.ofMillis(50));
    if (key != null) {
      config.credentials(key, region);
    }
    FuxiClient client = FuxiClient.connect(config.build());
    open.add(client);
    return client;
  }

  private FakeFuxiMaster answeringNodes() {
    FakeFuxiMaster master = new FakeFuxiMaster();
    master.onUnary((method, request) -> {
      callers.add(SecurityContext.currentPrincipal().map(Principal::arn).orElse("nobody"));
      return ListNodesResponse.newBuilder()
          .addNodes(NodeStatus.newBuilder().setMachineId("m1")).build();
    });
    return master;
  }

  @Test
  void everyCallAndEveryRetryIsSignedForFuxi() throws Exception {
    FakeFuxiMaster master = new FakeFuxiMaster();
    AtomicInteger calls = new AtomicInteger();
    master.onUnary((method, request) -> {
      callers.add(SecurityContext.currentPrincipal().map(Principal::arn).orElse("nobody"));
      if (calls.incrementAndGet() == 1) {
        throw fuxiError(Status.Code.UNAVAILABLE, "REBUILDING", null);
      }
      return ListNodesResponse.newBuilder()
          .addNodes(NodeStatus.newBuilder().setMachineId("m1")).build();
    });
    FuxiClient client = client(serveAuthenticating(master), ALICE, REGION);

    assertThat(client.nodes()).extracting(NodeStatus::getMachineId).containsExactly("m1");
    client.nodes();

    // The retry after REBUILDING was signed anew: a reused nonce would have been refused.
    assertThat(master.count("nodes")).isEqualTo(3);
    assertThat(callers).containsOnly(ALICE_PRINCIPAL.arn()).hasSize(3);
  }

  @Test
  void unsignedOrWronglyScopedCallsAreRefusedOnceAndNotRetried() throws Exception {
    FakeFuxiMaster master = answeringNodes();
    HostPort address = serveAuthenticating(master);

    assertThatThrownBy(() -> client(address, null, REGION).nodes())
        .isInstanceOfSatisfying(FuxiException.class,
            e -> assertThat(e.status()).isEqualTo(Status.Code.UNAUTHENTICATED));
    assertThatThrownBy(() -> client(address, ALICE, "elsewhere").nodes())
        .isInstanceOfSatisfying(FuxiException.class, e -> {
          assertThat(e.status()).isEqualTo(Status.Code.UNAUTHENTICATED);
          assertThat(e.getMessage()).contains("elsewhere");
        });
    assertThat(master.count("nodes")).isZero();
  }

  @Test
  void credentialsNeverShowTheSecret() {
    FuxiClientConfig config = FuxiClientConfig.builder(List.of(HostPort.of("127.0.0.1", 7300)))
        .credentials(ALICE, REGION).build();

    assertThat(config.toString()).contains(ALICE.accessKeyId())
        .doesNotContain(ALICE.accessKeySecret());
    assertThat(config.credentials().scope()).isEqualTo(
        new ServiceScope(REGION, FuxiPermissions.SERVICE));
    assertThatThrownBy(() -> FuxiClientConfig.builder(List.of(HostPort.of("127.0.0.1", 7300)))
        .credentials(ALICE, "no such region!"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
