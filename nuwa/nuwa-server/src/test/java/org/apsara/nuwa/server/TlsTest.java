package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apsara.common.net.HostPort;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.NuwaException;
import org.apsara.security.tls.ClusterCa;
import org.apsara.security.tls.LeafSpec;
import org.apsara.security.tls.TlsContexts;
import org.apsara.security.tls.TlsMaterial;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 3-member group with TLS on every port: the client port with client-certificate
 * authentication (etcd's {@code --client-cert-auth}) and mutual TLS between members, used by
 * etcd's own etcdctl and jetcd and by nuwa-client.
 */
class TlsTest {
  private static final Duration DAY = Duration.ofDays(1);
  private static final long CALL_TIMEOUT_SECONDS = 15;
  /** etcdctl retries a refused connection until its command timeout: keep refusals short. */
  private static final String REFUSAL_TIMEOUT = "--command-timeout=3s";

  @TempDir static Path dir;
  static ClusterCa ca;
  static TlsMaterial server;
  static TlsMaterial peer;
  static TlsMaterial client;
  static TlsMaterial foreignClient;
  static NuwaTestCluster cluster;
  private final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    ca = ClusterCa.create(dir.resolve("ca"));
    Path certs = dir.resolve("certs");
    server = ca.issue(LeafSpec.forHosts("nuwa", List.of("127.0.0.1", "localhost"), DAY), certs);
    peer = ca.issue(LeafSpec.forHosts("nuwa-peer", List.of("127.0.0.1"), DAY), certs);
    client = ca.issue(LeafSpec.forHosts("client", List.of("127.0.0.1"), DAY), certs);
    foreignClient = ClusterCa.create(dir.resolve("other-ca"))
        .issue(LeafSpec.forHosts("client", List.of("127.0.0.1"), DAY), dir.resolve("foreign"))
        .withTrustedCaFile(ca.certificateFile());
    cluster = NuwaTestCluster.start(dir.resolve("cluster"), 3, config -> config
        .clientTls(server).clientCertAuth(true).peerTls(peer));
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @AfterEach
  void closeChannels() {
    channels.forEach(ManagedChannel::shutdownNow);
  }

  @Test
  void etcdctlWithTheClusterCertificatesWritesAndEveryMemberReplicates() throws Exception {
    assumeTrue(EtcdctlRunner.installed(), "etcdctl is not installed (Debian package etcd-client)");
    EtcdctlRunner.Result put = etcdctl(0, withCertificate(), "put", "tls-key", "over-mtls");
    assertThat(put.output()).as(put.all()).isEqualTo("OK");

    for (int i = 0; i < cluster.size(); i++) {
      int member = i;
      // Serializable reads answer from the member's own store: each has it through the peers.
      await().atMost(Duration.ofSeconds(30)).until(() -> etcdctl(member, withCertificate(),
          "get", "tls-key", "--print-value-only", "--consistency=s").output(),
          "over-mtls"::equals);
    }
    EtcdctlRunner.Result members = etcdctl(1, withCertificate(), "member", "list");
    assertThat(members.output()).as(members.all()).contains("https://127.0.0.1:");
  }

  @Test
  void etcdctlWithoutAClientCertificateIsRefused() throws Exception {
    assumeTrue(EtcdctlRunner.installed(), "etcdctl is not installed (Debian package etcd-client)");
    EtcdctlRunner.Result anonymous = etcdctl(0,
        List.of(REFUSAL_TIMEOUT, "--cacert=" + ca.certificateFile()), "get", "tls-key");
    assertThat(anonymous.ok()).as(anonymous.all()).isFalse();
    EtcdctlRunner.Result foreign = etcdctl(0, List.of(REFUSAL_TIMEOUT,
        "--cacert=" + ca.certificateFile(),
        "--cert=" + foreignClient.certChainFile().get(),
        "--key=" + foreignClient.keyFile().get()), "get", "tls-key");
    assertThat(foreign.ok()).as(foreign.all()).isFalse();
  }

  @Test
  void aPlaintextClientIsRefused() throws Exception {
    ManagedChannel plaintext = Grpc.newChannelBuilder(cluster.endpoint(0),
        InsecureChannelCredentials.create()).build();
    channels.add(plaintext);
    assertUnavailable(plaintext);
    if (EtcdctlRunner.installed()) {
      EtcdctlRunner.Result result = EtcdctlRunner.run("http://" + cluster.endpoint(0), null,
          List.of(REFUSAL_TIMEOUT, "get", "tls-key"));
      assertThat(result.ok()).as(result.all()).isFalse();
    }
  }

  @Test
  void jetcdWithTheClusterCertificatesWorks() throws Exception {
    Client jetcd = Client.builder()
        .endpoints(cluster.endpoints().stream().map(e -> "https://" + e).toArray(String[]::new))
        .sslContext(builder -> builder.trustManager(ca.certificateFile().toFile())
            .keyManager(client.certChainFile().get().toFile(), client.keyFile().get().toFile()))
        .build();
    try {
      ByteSequence key = bytes("jetcd-tls");
      jetcd.getKVClient().put(key, bytes("v1")).get(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertThat(jetcd.getKVClient().get(key).get(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS)
          .getKvs().get(0).getValue().toString(StandardCharsets.UTF_8)).isEqualTo("v1");
    } finally {
      jetcd.close();
    }
  }

  @Test
  void nuwaClientWithTheClusterCertificatesWorksAndWithoutOneIsRefused() {
    try (NuwaClient nuwa = NuwaClient.builder().endpoints(cluster.endpoints()).tls(client)
        .build()) {
      nuwa.kv().put("nuwa-client-tls", "v1");
      assertThat(nuwa.kv().get("nuwa-client-tls").kvs().get(0).valueUtf8()).isEqualTo("v1");
    }
    try (NuwaClient anonymous = NuwaClient.builder().endpoints(cluster.endpoints())
        .tls(TlsMaterial.trusting(ca.certificateFile()))
        .requestTimeout(Duration.ofSeconds(3)).build()) {
      assertThatThrownBy(() -> anonymous.kv().get("nuwa-client-tls"))
          .isInstanceOf(NuwaException.class);
    }
  }

  @Test
  void thePeerPortAcceptsOnlyCallersWithACertificateOfTheCa() throws Exception {
    HostPort peerAddress = cluster.member(0).config().peers().get("n1");
    String target = peerAddress.format();
    // The peer port does not serve the health service: a call that gets through the handshake
    // ends UNIMPLEMENTED, one that does not UNAVAILABLE.
    ManagedChannel member = NettyChannelBuilder.forTarget(target)
        .sslContext(TlsContexts.forClient(peer)).build();
    ManagedChannel anonymous = NettyChannelBuilder.forTarget(target)
        .sslContext(TlsContexts.forClient(TlsMaterial.trusting(ca.certificateFile()))).build();
    ManagedChannel foreign = NettyChannelBuilder.forTarget(target)
        .sslContext(TlsContexts.forClient(foreignClient)).build();
    ManagedChannel plaintext = Grpc.newChannelBuilder(target,
        InsecureChannelCredentials.create()).build();
    channels.addAll(List.of(member, anonymous, foreign, plaintext));

    assertThatThrownBy(() -> check(member)).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED));
    assertUnavailable(anonymous);
    assertUnavailable(foreign);
    assertUnavailable(plaintext);
  }

  @Test
  void startRefusesUnusableCertificateFiles() {
    NuwaConfig.Builder config = NuwaConfig.builder().memberId("n1")
        .peer("n1", HostPort.of("127.0.0.1", 1)).dataDir(dir.resolve("refused"));
    assertThatThrownBy(() -> config.clientCertAuth(true).build())
        .hasMessageContaining("needs TLS on the client port with a trusted CA file");
    assertThatThrownBy(() -> config.clientCertAuth(false)
        .peerTls(TlsMaterial.trusting(ca.certificateFile())).build())
        .hasMessageContaining("TLS between members is mutual");
    TlsMaterial mismatched = TlsMaterial.mutual(server.certChainFile().get(),
        client.keyFile().get(), ca.certificateFile());
    assertThatThrownBy(() -> NuwaServer.start(config.peerTls(null).clientTls(mismatched).build()))
        .hasMessageContaining("does not hold the key of the certificate");
    assertThatThrownBy(() -> NuwaServer.start(config.clientTls(null).peerTls(mismatched).build()))
        .hasMessageContaining("does not hold the key of the certificate");
  }

  private static void check(ManagedChannel channel) {
    HealthGrpc.newBlockingStub(channel).withDeadlineAfter(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance());
  }

  private static void assertUnavailable(ManagedChannel channel) {
    assertThatThrownBy(() -> check(channel)).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
  }

  private static List<String> withCertificate() {
    return List.of("--cacert=" + ca.certificateFile(), "--cert=" + client.certChainFile().get(),
        "--key=" + client.keyFile().get());
  }

  private static EtcdctlRunner.Result etcdctl(int member, List<String> tls, String... args)
      throws Exception {
    List<String> command = new ArrayList<>(tls);
    command.addAll(List.of(args));
    return EtcdctlRunner.run("https://" + cluster.endpoint(member), null, command);
  }

  private static ByteSequence bytes(String text) {
    return ByteSequence.from(text, StandardCharsets.UTF_8);
  }
}
