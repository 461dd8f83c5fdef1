package org.apsara.tenant.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import org.apsara.common.net.HostPort;
import org.apsara.security.sign.AccessKeyCredentials;
import org.apsara.security.tls.TlsMaterial;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CredentialsFileTest {
  private static final AccessKeyCredentials ALICE =
      new AccessKeyCredentials("LTAIalice000000000000000", "alice-secret-000000000000000000");
  private static final AccessKeyCredentials BOB =
      new AccessKeyCredentials("LTAIbob00000000000000000", "bob-secret-00000000000000000000");

  @TempDir Path dir;

  private static CredentialsFile.Profile profile(String name, AccessKeyCredentials credentials) {
    return new CredentialsFile.Profile(
        name, credentials, Optional.of(HostPort.parse("10.0.0.5:7070")));
  }

  private static String mode(Path file) throws IOException {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
  }

  @Test
  void aNewFileAndItsDirectoryAreAccessibleToTheOwnerOnly() throws Exception {
    Path file = dir.resolve("home/.apsara/credentials");

    CredentialsFile.write(file, profile("default", ALICE));

    assertThat(mode(file)).isEqualTo("rw-------");
    assertThat(mode(file.getParent())).isEqualTo("rwx------");
    assertThat(Files.readString(file)).isEqualTo("[default]\n"
        + "access_key_id = LTAIalice000000000000000\n"
        + "access_key_secret = alice-secret-000000000000000000\n"
        + "endpoint = 10.0.0.5:7070\n");
    assertThat(CredentialsFile.read(file, "default")).contains(profile("default", ALICE));
    assertThat(CredentialsFile.read(file, "other")).isEmpty();
  }

  @Test
  void aProfileNamesItsRegionOnlyWhenItIsNotTheDefault() throws Exception {
    Path file = dir.resolve("credentials");
    CredentialsFile.Profile hangzhou = new CredentialsFile.Profile("hz", ALICE,
        Optional.of(HostPort.parse("10.0.0.5:7070")), Optional.empty(), "cn-hangzhou");

    CredentialsFile.write(file, hangzhou);
    CredentialsFile.write(file, profile("default", BOB));

    assertThat(Files.readString(file)).contains("endpoint = 10.0.0.5:7070\nregion = cn-hangzhou\n")
        .containsOnlyOnce("region");
    assertThat(CredentialsFile.read(file, "hz")).contains(hangzhou);
    CredentialsFile.Profile local = CredentialsFile.read(file, "default").orElseThrow();
    assertThat(local.region()).isEqualTo(CredentialsFile.DEFAULT_REGION).isEqualTo("local");
    assertThat(hangzhou.serviceScope("pangu").toString()).isEqualTo("cn-hangzhou/pangu");

    Files.writeString(file, "[bad]\naccess_key_id = LTAIx\naccess_key_secret = s\n"
        + "region = CN/Hangzhou\n");
    assertThatThrownBy(() -> CredentialsFile.read(file, "bad"))
        .isInstanceOf(IOException.class).hasMessageContaining("region");
  }

  @Test
  void aProfileCarriesTheFilesToCallTheServiceOverTls() throws Exception {
    Path file = dir.resolve("credentials");
    TlsMaterial tls = TlsMaterial.mutual(Path.of("/etc/apsara/certs/cli.crt"),
        Path.of("/etc/apsara/certs/cli.key"), Path.of("/etc/apsara/ca/ca.crt"));
    CredentialsFile.Profile profile = new CredentialsFile.Profile("default",
        new AccessKeyCredentials(ALICE.accessKeyId(), ALICE.accessKeySecret()),
        Optional.of(HostPort.parse("10.0.0.5:7070")), Optional.of(tls));

    CredentialsFile.write(file, profile);

    assertThat(Files.readString(file)).endsWith("endpoint = 10.0.0.5:7070\n"
        + "ca_file = /etc/apsara/ca/ca.crt\n"
        + "cert_file = /etc/apsara/certs/cli.crt\n"
        + "key_file = /etc/apsara/certs/cli.key\n");
    assertThat(CredentialsFile.read(file, "default")).contains(profile);

    CredentialsFile.write(file, new CredentialsFile.Profile("default", profile.credentials(),
        profile.endpoint(), Optional.of(TlsMaterial.trusting(Path.of("/ca.crt")))));
    assertThat(CredentialsFile.read(file, "default").orElseThrow().tls())
        .contains(TlsMaterial.trusting(Path.of("/ca.crt")));

    Files.writeString(file, "[default]\naccess_key_id = LTAIalice000000000000000\n"
        + "access_key_secret = s\ncert_file = /cli.crt\nkey_file = /cli.key\n");
    assertThatThrownBy(() -> CredentialsFile.read(file, "default"))
        .hasMessageContaining("cert_file and key_file need ca_file");
  }

  @Test
  void rewritingAProfileLeavesEveryOtherLineAsItWas() throws Exception {
    Path file = dir.resolve("credentials");
    String before = "# written by hand\n"
        + "[default]\n"
        + "access_key_id = LTAIalice000000000000000\n"
        + "access_key_secret = alice-secret-000000000000000000\n"
        + "region = cn-test\n"
        + "\n"
        + "; the operators\n"
        + "[ops]\n"
        + "access_key_id=LTAIops00000000000000000\n"
        + "access_key_secret=ops-secret\n";
    Files.writeString(file, before, StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

    CredentialsFile.write(file, new CredentialsFile.Profile("default", BOB, Optional.empty()));

    assertThat(Files.readString(file)).isEqualTo("# written by hand\n"
        + "[default]\n"
        + "access_key_id = LTAIbob00000000000000000\n"
        + "access_key_secret = bob-secret-00000000000000000000\n"
        + "\n"
        + "; the operators\n"
        + "[ops]\n"
        + "access_key_id=LTAIops00000000000000000\n"
        + "access_key_secret=ops-secret\n");
    assertThat(mode(file)).isEqualTo("rw-------");
    assertThat(CredentialsFile.readAll(file)).containsOnlyKeys("default", "ops");
    assertThat(CredentialsFile.read(file, "ops").orElseThrow().credentials().accessKeySecret())
        .isEqualTo("ops-secret");
  }

  @Test
  void aNewProfileIsAppendedAfterABlankLine() throws Exception {
    Path file = dir.resolve("credentials");
    CredentialsFile.write(file, profile("default", ALICE));

    CredentialsFile.write(file, profile("bob", BOB));

    assertThat(Files.readString(file)).contains("endpoint = 10.0.0.5:7070\n\n[bob]\n");
    assertThat(CredentialsFile.readAll(file).keySet()).containsExactly("default", "bob");
  }

  @Test
  void aFileOthersMayReadIsRefused() throws Exception {
    Path file = dir.resolve("credentials");
    CredentialsFile.write(file, profile("default", ALICE));
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));

    assertThatThrownBy(() -> CredentialsFile.read(file, "default"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("has mode rw-r-----")
        .hasMessageContaining("chmod 600");
    assertThatThrownBy(() -> CredentialsFile.read(dir.resolve("missing"), "default"))
        .isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void malformedFilesAreRefusedNamingTheLineButNeverTheSecret() throws Exception {
    assertMalformed("access_key_id = x\n", "line 1: a key = value line must follow a [profile]");
    assertMalformed("[a]\nnonsense\n", "line 2: expected key = value");
    assertMalformed("[a]\naccess_key_id = LTAIa\n[a]\n", "line 3: profile [a] appears twice");
    assertMalformed("[a b]\n", "line 1: profile name \"a b\"");
    assertMalformed("[a]\naccess_key_id = LTAIa\n", "line 1: profile [a] needs both");
    assertMalformed("[a]\naccess_key_id = bad id!\naccess_key_secret = s3cr3t-value\n",
        "invalid AccessKey id");
    assertMalformed("[a]\naccess_key_id = LTAIa\naccess_key_secret = s3cr3t-value\n"
        + "endpoint = nowhere\n", "has no port");
  }

  private void assertMalformed(String content, String message) throws IOException {
    Path file = Files.createTempFile(dir, "credentials", "",
        PosixFilePermissions.asFileAttribute(CredentialsFile.FILE_PERMISSIONS));
    Files.writeString(file, content);
    assertThatThrownBy(() -> CredentialsFile.readAll(file))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(message)
        .hasMessageNotContaining("s3cr3t-value");
  }
}
