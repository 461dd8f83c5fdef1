package org.apsara.security.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real gRPC calls over TCP on the loopback interface with contexts from {@link TlsContexts}. */
class MutualTlsTest {
  private static final Duration DAY = Duration.ofDays(1);
  private static final long CALL_DEADLINE_SECONDS = 10;

  @TempDir Path dir;
  private ClusterCa ca;
  private ClusterCa otherCa;
  private TlsMaterial server;
  private TlsMaterial client;
  private TlsMaterial foreignClient;
  private final List<Server> servers = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeEach
  void issueCertificates() throws IOException {
    ca = ClusterCa.create(dir.resolve("ca"));
    otherCa = ClusterCa.create(dir.resolve("other-ca"));
    server = ca.issue(LeafSpec.forHosts("server", List.of("127.0.0.1", "localhost"), DAY),
        dir.resolve("certs"));
    client = ca.issue(LeafSpec.forHosts("client", List.of("127.0.0.1"), DAY),
        dir.resolve("certs"));
    foreignClient = otherCa.issue(LeafSpec.forHosts("client", List.of("127.0.0.1"), DAY),
        dir.resolve("foreign")).withTrustedCaFile(ca.certificateFile());
  }

  @AfterEach
  void stop() throws InterruptedException {
    channels.forEach(ManagedChannel::shutdownNow);
    servers.forEach(Server::shutdownNow);
    for (Server s : servers) {
      s.awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aClientWithACertificateOfTheCaIsServed() throws Exception {
    int port = start(server, ClientAuth.REQUIRE);
    assertThat(check(port, client)).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
  }

  @Test
  void requiredClientAuthRefusesAClientWithoutCertificate() throws Exception {
    int port = start(server, ClientAuth.REQUIRE);
    assertRefused(port, TlsMaterial.trusting(ca.certificateFile()));
  }

  @Test
  void requiredClientAuthRefusesACertificateOfAnotherCa() throws Exception {
    int port = start(server, ClientAuth.REQUIRE);
    assertRefused(port, foreignClient);
  }

  @Test
  void optionalClientAuthServesClientsWithAndWithoutCertificate() throws Exception {
    int port = start(server, ClientAuth.OPTIONAL);
    assertThat(check(port, TlsMaterial.trusting(ca.certificateFile())))
        .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
    assertThat(check(port, client)).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
  }

  @Test
  void withoutClientAuthAnyTlsClientIsServed() throws Exception {
    int port = start(TlsMaterial.of(server.certChainFile().get(), server.keyFile().get(), null),
        ClientAuth.NONE);
    assertThat(check(port, TlsMaterial.trusting(ca.certificateFile())))
        .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
  }

  @Test
  void aClientRefusesAServerOfAnotherCa() throws Exception {
    int port = start(server, ClientAuth.NONE);
    assertRefused(port, TlsMaterial.trusting(otherCa.certificateFile()));
  }

  @Test
  void aClientRefusesAServerWhoseCertificateDoesNotNameTheHost() throws Exception {
    TlsMaterial elsewhere = ca.issue(LeafSpec.forHosts("elsewhere", List.of("10.1.2.3",
        "example.org"), DAY), dir.resolve("certs"));
    int port = start(elsewhere, ClientAuth.NONE);
    assertRefused(port, TlsMaterial.trusting(ca.certificateFile()));
  }

  @Test
  void aPlaintextClientIsRefused() throws Exception {
    int port = start(server, ClientAuth.NONE);
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", port,
        InsecureChannelCredentials.create()).build();
    channels.add(channel);
    assertThatThrownBy(() -> HealthGrpc.newBlockingStub(channel)
        .withDeadlineAfter(CALL_DEADLINE_SECONDS, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
  }

  @Test
  void reportsUnusableMaterialBeforeAnyHandshake() throws Exception {
    assertThatThrownBy(() -> TlsContexts.forServer(TlsMaterial.trusting(ca.certificateFile()),
        ClientAuth.NONE)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("needs a certificate and key");
    TlsMaterial noCa = TlsMaterial.of(server.certChainFile().get(), server.keyFile().get(), null);
    assertThatThrownBy(() -> TlsContexts.forServer(noCa, ClientAuth.REQUIRE))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("trusted CA file");
    TlsMaterial mismatched = TlsMaterial.mutual(server.certChainFile().get(),
        client.keyFile().get(), ca.certificateFile());
    assertThatThrownBy(() -> TlsContexts.forClient(mismatched)).isInstanceOf(IOException.class)
        .hasMessageContaining("client.key does not hold the key of the certificate in")
        .hasMessageContaining("server.crt");
    Path missing = dir.resolve("missing.crt");
    assertThatThrownBy(() -> TlsContexts.forClient(TlsMaterial.trusting(missing)))
        .isInstanceOf(IOException.class).hasMessage("certificate file " + missing
            + " does not exist");
    Path empty = Files.createFile(dir.resolve("empty.pem"));
    assertThatThrownBy(() -> TlsContexts.forClient(TlsMaterial.trusting(empty)))
        .isInstanceOf(IOException.class).hasMessageContaining("holds no PEM block");
    assertThatThrownBy(() -> TlsMaterial.of(server.certChainFile().get(), null, null))
        .hasMessageContaining("without its key file");
  }

  private int start(TlsMaterial material, ClientAuth clientAuth) throws IOException {
    HealthStatusManager health = new HealthStatusManager();
    Server s = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .sslContext(TlsContexts.forServer(material, clientAuth))
        .addService(health.getHealthService())
        .build()
        .start();
    servers.add(s);
    return s.getPort();
  }

  private HealthCheckResponse.ServingStatus check(int port, TlsMaterial material)
      throws IOException {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port)
        .sslContext(TlsContexts.forClient(material))
        .build();
    channels.add(channel);
    return HealthGrpc.newBlockingStub(channel)
        .withDeadlineAfter(CALL_DEADLINE_SECONDS, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance())
        .getStatus();
  }

  private void assertRefused(int port, TlsMaterial material) {
    assertThatThrownBy(() -> check(port, material))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
  }
}
