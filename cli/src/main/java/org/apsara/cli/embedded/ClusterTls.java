package org.apsara.cli.embedded;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.apsara.security.tls.ClusterCa;
import org.apsara.security.tls.LeafSpec;
import org.apsara.security.tls.PemFiles;
import org.apsara.security.tls.TlsMaterial;

/**
 * The embedded cluster's certificates: the cluster CA in {@code TLS_DIR/ca}, created on the first
 * start with TLS and reused afterwards, and one certificate per service in {@code TLS_DIR/certs},
 * issued when missing and issued anew when it no longer verifies against the CA, expires within
 * {@link #RENEW_BEFORE}, or does not name every loopback host.
 *
 * <p>Not thread-safe: one embedded cluster uses it while starting.
 */
public final class ClusterTls {
  /** Below the data directory: the CA and the certificates. */
  public static final String TLS_DIR = "tls";
  /** A certificate expiring sooner than this is replaced at the next start. */
  public static final Duration RENEW_BEFORE = Duration.ofDays(30);
  /** The names every certificate of the embedded cluster carries: it runs on loopback only. */
  public static final List<String> LOOPBACK_HOSTS = List.of("127.0.0.1", "localhost");
  /** The name of the command line's client certificate. */
  public static final String CLI_CERTIFICATE = "cli";

  private final ClusterCa ca;
  private final Path certsDir;

  private ClusterTls(ClusterCa ca, Path certsDir) {
    this.ca = ca;
    this.certsDir = certsDir;
  }

  /** Loads the CA of {@code dataDir}, creating it on the first start with TLS. */
  public static ClusterTls open(Path dataDir) throws IOException {
    Path tlsDir = dataDir.resolve(TLS_DIR);
    return new ClusterTls(ClusterCa.loadOrCreate(tlsDir.resolve("ca")), tlsDir.resolve("certs"));
  }

  /** The CA certificate file every service and client trusts. */
  public Path caFile() {
    return ca.certificateFile();
  }

  /**
   * The certificate named {@code name} for the loopback hosts, reused when still good, else
   * issued; with the CA as trusted CA.
   */
  public TlsMaterial certificate(String name) throws IOException {
    LeafSpec spec = LeafSpec.forHosts(name, LOOPBACK_HOSTS, LeafSpec.VALIDITY_DEFAULT);
    Path certFile = certsDir.resolve(name + ".crt");
    Path keyFile = certsDir.resolve(name + ".key");
    if (Files.exists(certFile) && Files.exists(keyFile) && reusable(certFile)) {
      return TlsMaterial.mutual(certFile, keyFile, ca.certificateFile());
    }
    Files.deleteIfExists(certFile);
    Files.deleteIfExists(keyFile);
    return ca.issue(spec, certsDir);
  }

  private boolean reusable(Path certFile) {
    try {
      X509Certificate certificate = PemFiles.readCertificates(certFile).get(0);
      if (!ca.verifies(certificate, RENEW_BEFORE)) {
        return false;
      }
      // An IP address SAN reads back as text; DNS names as given.
      List<String> names = certificate.getSubjectAlternativeNames().stream()
          .map(name -> String.valueOf(name.get(1))).toList();
      return names.containsAll(LOOPBACK_HOSTS);
    } catch (IOException | java.security.cert.CertificateParsingException e) {
      return false;
    }
  }
}
