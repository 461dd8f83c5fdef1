package org.apsara.security.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterCaTest {
  private static final Instant NOW = Instant.parse("2026-11-29T04:00:00Z");
  private static final int SAN_DNS = 2;
  private static final int SAN_IP = 7;
  private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

  @TempDir Path dir;
  private final Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);

  @Test
  void createsACaCertificateThatLoadsBackUnchanged() throws Exception {
    Path caDir = dir.resolve("ca");
    ClusterCa created = ClusterCa.create(caDir, clock);
    ClusterCa loaded = ClusterCa.load(caDir, clock);

    X509Certificate ca = loaded.certificate();
    assertThat(ca).isEqualTo(created.certificate());
    assertThat(loaded.certificateFile()).isEqualTo(caDir.resolve("ca.crt"));
    assertThat(ca.getBasicConstraints()).as("a CA with path length 0").isZero();
    assertThat(ca.getKeyUsage()[5]).as("keyCertSign").isTrue();
    assertThat(ca.getSubjectX500Principal()).isEqualTo(ca.getIssuerX500Principal());
    assertThat(ca.getSubjectX500Principal().getName()).contains("CN=apsara-cluster-ca-");
    assertThat(ca.getPublicKey().getAlgorithm()).isEqualTo("EC");
    assertThat(ca.getNotAfter().toInstant()).isEqualTo(NOW.plus(ClusterCa.CA_VALIDITY));
    assertThat(ca.getNotBefore().toInstant()).isEqualTo(NOW.minus(ClusterCa.BACKDATE));
    ca.verify(ca.getPublicKey());
    assertThat(mode(caDir.resolve("ca.key"))).isEqualTo("rw-------");
    assertThat(mode(caDir.resolve("ca.crt"))).startsWith("rw-");
    assertThat(Files.readString(caDir.resolve("ca.key"))).startsWith("-----BEGIN PRIVATE KEY-----");
    assertThat(Files.list(caDir).map(p -> p.getFileName().toString()).toList())
        .as("no temporary file is left behind").containsExactlyInAnyOrder("ca.crt", "ca.key");
  }

  @Test
  void twoClustersGetDifferentCaNames() throws Exception {
    X509Certificate one = ClusterCa.create(dir.resolve("one"), clock).certificate();
    X509Certificate two = ClusterCa.create(dir.resolve("two"), clock).certificate();
    assertThat(one.getSubjectX500Principal()).isNotEqualTo(two.getSubjectX500Principal());
  }

  @Test
  void issuesALeafThatVerifiesAgainstTheCaAndCarriesItsNames() throws Exception {
    ClusterCa ca = ClusterCa.create(dir.resolve("ca"), clock);
    LeafSpec spec = LeafSpec.forHosts("nuwa-n1", List.of("127.0.0.1", "localhost", "::1",
        "Node1.Example.com", "127.0.0.1"), Duration.ofDays(30));

    TlsMaterial material = ca.issue(spec, dir.resolve("certs"));

    assertThat(material.certChainFile()).contains(dir.resolve("certs/nuwa-n1.crt"));
    assertThat(material.keyFile()).contains(dir.resolve("certs/nuwa-n1.key"));
    assertThat(material.trustedCaFile()).contains(ca.certificateFile());
    assertThat(mode(dir.resolve("certs/nuwa-n1.key"))).isEqualTo("rw-------");
    X509Certificate leaf = PemFiles.readCertificates(dir.resolve("certs/nuwa-n1.crt")).get(0);
    leaf.verify(ca.certificate().getPublicKey());
    assertThat(leaf.getIssuerX500Principal()).isEqualTo(ca.certificate().getSubjectX500Principal());
    assertThat(leaf.getSubjectX500Principal().getName()).contains("CN=nuwa-n1");
    assertThat(leaf.getBasicConstraints()).as("not a CA").isEqualTo(-1);
    assertThat(leaf.getExtendedKeyUsage()).containsExactlyInAnyOrder(SERVER_AUTH, CLIENT_AUTH);
    assertThat(leaf.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofDays(30)));
    Map<Integer, List<String>> names = subjectAltNames(leaf);
    assertThat(names.get(SAN_DNS)).containsExactlyInAnyOrder("localhost", "node1.example.com");
    assertThat(names.get(SAN_IP)).hasSize(2).contains("127.0.0.1");
    assertThat(names.get(SAN_IP).stream().map(ClusterCaTest::address))
        .contains(InetAddress.getByName("::1"));
    assertThat(ca.verifies(leaf, Duration.ofDays(29))).isTrue();
    assertThat(ca.verifies(leaf, Duration.ofDays(31))).as("expires within 31 days").isFalse();
  }

  @Test
  void aLeafNeverOutlivesTheCa() throws Exception {
    ClusterCa.create(dir.resolve("ca"), clock);
    Instant late = NOW.plus(ClusterCa.CA_VALIDITY).minus(Duration.ofDays(10));
    ClusterCa ca = ClusterCa.load(dir.resolve("ca"), Clock.fixed(late, ZoneOffset.UTC));

    ca.issue(LeafSpec.forHosts("late", List.of("127.0.0.1"), Duration.ofDays(365)), dir);

    X509Certificate leaf = PemFiles.readCertificates(dir.resolve("late.crt")).get(0);
    assertThat(leaf.getNotAfter()).isEqualTo(ca.certificate().getNotAfter());
  }

  @Test
  void anExpiredCaIssuesNothing() throws Exception {
    ClusterCa.create(dir.resolve("ca"), clock);
    Instant after = NOW.plus(ClusterCa.CA_VALIDITY).plusSeconds(1);
    ClusterCa ca = ClusterCa.load(dir.resolve("ca"), Clock.fixed(after, ZoneOffset.UTC));

    assertThatThrownBy(() -> ca.issue(LeafSpec.forHosts("x", List.of("::1"), Duration.ofDays(1)),
        dir)).isInstanceOf(IllegalStateException.class).hasMessageContaining("expired");
    assertThat(dir.resolve("x.key")).doesNotExist();
  }

  @Test
  void aCertificateOfAnotherCaDoesNotVerify() throws Exception {
    ClusterCa ours = ClusterCa.create(dir.resolve("ours"), clock);
    ClusterCa theirs = ClusterCa.create(dir.resolve("theirs"), clock);
    theirs.issue(LeafSpec.forHosts("svc", List.of("127.0.0.1"), Duration.ofDays(1)), dir);

    X509Certificate foreign = PemFiles.readCertificates(dir.resolve("svc.crt")).get(0);
    assertThat(ours.verifies(foreign, Duration.ZERO)).isFalse();
    assertThat(theirs.verifies(foreign, Duration.ZERO)).isTrue();
  }

  @Test
  void neverOverwritesACa() throws Exception {
    Path caDir = dir.resolve("ca");
    ClusterCa.create(caDir, clock);
    byte[] key = Files.readAllBytes(caDir.resolve("ca.key"));
    byte[] cert = Files.readAllBytes(caDir.resolve("ca.crt"));

    assertThatThrownBy(() -> ClusterCa.create(caDir, clock))
        .isInstanceOf(FileAlreadyExistsException.class).hasMessageContaining("never overwritten");
    Files.delete(caDir.resolve("ca.crt"));
    assertThatThrownBy(() -> ClusterCa.create(caDir, clock))
        .as("a lone key is not overwritten either").isInstanceOf(FileAlreadyExistsException.class);

    assertThat(Files.readAllBytes(caDir.resolve("ca.key"))).isEqualTo(key);
    assertThat(cert).isNotEmpty();
  }

  @Test
  void loadOrCreateCreatesOnceAndThenReuses() throws Exception {
    Path caDir = dir.resolve("ca");
    X509Certificate first = ClusterCa.loadOrCreate(caDir, clock).certificate();
    X509Certificate second = ClusterCa.loadOrCreate(caDir, clock).certificate();
    assertThat(second).isEqualTo(first);

    Files.delete(caDir.resolve("ca.crt"));
    assertThatThrownBy(() -> ClusterCa.loadOrCreate(caDir, clock))
        .hasMessageContaining("incomplete cluster CA").hasMessageContaining("ca.crt is missing");
  }

  @Test
  void neverOverwritesAnIssuedCertificate() throws Exception {
    ClusterCa ca = ClusterCa.create(dir.resolve("ca"), clock);
    LeafSpec spec = LeafSpec.forHosts("svc", List.of("127.0.0.1"), Duration.ofDays(1));
    ca.issue(spec, dir);
    String cert = Files.readString(dir.resolve("svc.crt"));

    assertThatThrownBy(() -> ca.issue(spec, dir)).isInstanceOf(FileAlreadyExistsException.class)
        .hasMessageContaining("svc.crt");
    assertThat(Files.readString(dir.resolve("svc.crt"))).isEqualTo(cert);
  }

  @Test
  void reportsAMissingCa() {
    assertThatThrownBy(() -> ClusterCa.load(dir, clock))
        .hasMessage("no cluster CA in " + dir + " (neither ca.crt nor ca.key)");
  }

  @Test
  void reportsGarbledFiles() throws Exception {
    Path caDir = dir.resolve("ca");
    ClusterCa.create(caDir, clock);
    String goodCert = Files.readString(caDir.resolve("ca.crt"));

    Files.writeString(caDir.resolve("ca.crt"), "not a certificate\n");
    assertThatThrownBy(() -> ClusterCa.load(caDir, clock))
        .hasMessageContaining(caDir.resolve("ca.crt").toString())
        .hasMessageContaining("holds no PEM block");

    // Valid PEM armour around base64 that is not DER.
    Files.writeString(caDir.resolve("ca.crt"),
        "-----BEGIN CERTIFICATE-----\nAAAAAAAAAAAA\n-----END CERTIFICATE-----\n");
    assertThatThrownBy(() -> ClusterCa.load(caDir, clock))
        .hasMessageContaining(caDir.resolve("ca.crt").toString());

    // A certificate with flipped bytes in the middle of its base64.
    String[] lines = goodCert.split("\n");
    lines[3] = new StringBuilder(lines[3]).reverse().toString();
    Files.writeString(caDir.resolve("ca.crt"), String.join("\n", lines) + "\n");
    assertThatThrownBy(() -> ClusterCa.load(caDir, clock))
        .hasMessageContaining(caDir.resolve("ca.crt").toString());

    Files.writeString(caDir.resolve("ca.crt"), goodCert);
    Files.writeString(caDir.resolve("ca.key"), goodCert);
    assertThatThrownBy(() -> ClusterCa.load(caDir, clock))
        .hasMessageContaining("holds a certificate where a private key was expected");
  }

  @Test
  void refusesACaKeyOthersCanRead() throws Exception {
    Path caDir = dir.resolve("ca");
    ClusterCa.create(caDir, clock);
    Files.setPosixFilePermissions(caDir.resolve("ca.key"), PosixFilePermissions.fromString("rw-r--r--"));

    assertThatThrownBy(() -> ClusterCa.load(caDir, clock)).hasMessageContaining("chmod 600");
  }

  @Test
  void refusesAKeyThatIsNotTheCertificates() throws Exception {
    ClusterCa.create(dir.resolve("one"), clock);
    ClusterCa.create(dir.resolve("two"), clock);
    Files.copy(dir.resolve("two/ca.key"), dir.resolve("one/ca.key"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);

    assertThatThrownBy(() -> ClusterCa.load(dir.resolve("one"), clock))
        .hasMessageContaining("does not hold the key of the certificate");
  }

  @Test
  void refusesALeafAsCa() throws Exception {
    ClusterCa ca = ClusterCa.create(dir.resolve("ca"), clock);
    ca.issue(LeafSpec.forHosts("svc", List.of("127.0.0.1"), Duration.ofDays(1)), dir);
    Path fake = dir.resolve("fake");
    Files.createDirectories(fake);
    Files.copy(dir.resolve("svc.crt"), fake.resolve("ca.crt"));
    Files.copy(dir.resolve("svc.key"), fake.resolve("ca.key"));

    assertThatThrownBy(() -> ClusterCa.load(fake, clock))
        .hasMessageContaining("does not hold a CA certificate");
  }

  @Test
  void checksLeafSpecs() {
    Duration day = Duration.ofDays(1);
    assertThatThrownBy(() -> LeafSpec.forHosts("../etc", List.of("a"), day))
        .hasMessageContaining("must be 1 to 64 letters");
    assertThatThrownBy(() -> LeafSpec.forHosts("svc", List.of(), day))
        .hasMessageContaining("at least one DNS name or IP address");
    assertThatThrownBy(() -> LeafSpec.forHosts("svc", List.of("bad name"), day))
        .hasMessageContaining("is not a DNS name");
    assertThatThrownBy(() -> LeafSpec.forHosts("svc", List.of("300.1.1.1"), day))
        .hasMessageContaining("not a valid IPv4 address");
    assertThatThrownBy(() -> LeafSpec.forHosts("svc", List.of("a"), Duration.ZERO))
        .hasMessageContaining("must be positive");
    List<String> many = java.util.stream.IntStream.range(0, LeafSpec.SUBJECT_ALT_NAMES_MAX + 1)
        .mapToObj(i -> "h" + i).toList();
    assertThatThrownBy(() -> LeafSpec.forHosts("svc", many, day)).hasMessageContaining("more than");
    assertThat(LeafSpec.forHosts("svc", List.of("[::1]", "10.0.0.1", "Host"), day))
        .satisfies(spec -> {
          assertThat(spec.dnsNames()).containsExactly("host");
          assertThat(spec.ipAddresses()).hasSize(2);
        });
  }

  @Test
  void readsKeysInTheFormsOpensslWrites() throws Exception {
    ClusterCa ca = ClusterCa.create(dir.resolve("ca"), clock);
    ca.issue(LeafSpec.forHosts("svc", List.of("127.0.0.1"), Duration.ofDays(1)), dir);
    // The SEC1 form ("EC PRIVATE KEY") of the same key, as `openssl ec` writes it.
    java.security.interfaces.ECPrivateKey key =
        (java.security.interfaces.ECPrivateKey) PemFiles.readPrivateKey(dir.resolve("svc.key"));
    org.bouncycastle.asn1.pkcs.PrivateKeyInfo info =
        org.bouncycastle.asn1.pkcs.PrivateKeyInfo.getInstance(key.getEncoded());
    byte[] sec1 = new org.bouncycastle.asn1.sec.ECPrivateKey(256, key.getS(),
        info.getPrivateKeyAlgorithm().getParameters()).getEncoded();
    String pem = "-----BEGIN EC PRIVATE KEY-----\n"
        + java.util.Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(sec1)
        + "\n-----END EC PRIVATE KEY-----\n";
    Path sec1File = dir.resolve("sec1.key");
    Files.writeString(sec1File, pem);

    java.security.interfaces.ECPrivateKey read =
        (java.security.interfaces.ECPrivateKey) PemFiles.readPrivateKey(sec1File);
    assertThat(read.getS()).isEqualTo(key.getS());
  }

  private static Map<Integer, List<String>> subjectAltNames(X509Certificate certificate)
      throws Exception {
    Collection<List<?>> names = certificate.getSubjectAlternativeNames();
    return names.stream().collect(Collectors.groupingBy(name -> (Integer) name.get(0),
        Collectors.mapping(name -> (String) name.get(1), Collectors.toList())));
  }

  private static InetAddress address(String literal) {
    try {
      return InetAddress.getByName(literal);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }

  private static String mode(Path file) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
  }
}
