package org.apsara.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import org.apsara.security.tls.ClusterCa;
import org.apsara.security.tls.PemFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code apsara ca init} and {@code apsara ca issue}, as an operator runs them. */
class CaCommandTest {
  @TempDir Path temp;

  @Test
  void initCreatesTheCaOnceAndIssueWritesCertificatesItSigned() throws Exception {
    Path caDir = temp.resolve("ca");
    Path certs = temp.resolve("certs");
    assertThat(Apsara.commandLine().execute("ca", "init", "--dir", caDir.toString())).isZero();
    assertThat(Apsara.commandLine().execute("ca", "issue", "nuwa-n1", "--dir", caDir.toString(),
        "--hosts", "10.0.0.1,node1", "--out", certs.toString(), "--validity-days", "30"))
        .isZero();

    X509Certificate leaf = PemFiles.readCertificates(certs.resolve("nuwa-n1.crt")).get(0);
    leaf.verify(ClusterCa.load(caDir).certificate().getPublicKey());
    assertThat(leaf.getSubjectAlternativeNames().stream().map(name -> (Object) name.get(1)))
        .containsExactlyInAnyOrder("10.0.0.1", "node1");
    assertThat(PosixFilePermissions.toString(
        Files.getPosixFilePermissions(certs.resolve("nuwa-n1.key")))).isEqualTo("rw-------");

    StringWriter errors = new StringWriter();
    assertThat(Apsara.commandLine().setErr(new PrintWriter(errors, true))
        .execute("ca", "init", "--dir", caDir.toString())).isEqualTo(1);
    assertThat(errors.toString()).contains("never overwritten");
    assertThat(Apsara.commandLine().setErr(new PrintWriter(errors, true))
        .execute("ca", "issue", "nuwa-n1", "--dir", caDir.toString(), "--hosts", "10.0.0.1",
            "--out", certs.toString())).isEqualTo(1);
    assertThat(errors.toString()).contains("nuwa-n1.crt");
  }
}
