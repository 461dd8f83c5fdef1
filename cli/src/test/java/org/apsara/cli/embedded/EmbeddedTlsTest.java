package org.apsara.cli.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apsara.cli.Apsara;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.NuwaException;
import org.apsara.security.tls.TlsMaterial;
import org.apsara.tenant.api.CredentialsFile;
import org.apsara.tenant.api.IdentityClient;
import org.apsara.tenant.api.IdentityNames;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code apsara up --tls} runs: every port over TLS with certificates of the cluster CA. */
class EmbeddedTlsTest {
  @TempDir Path temp;

  private static boolean etcdctlInstalled() {
    try {
      return new ProcessBuilder("etcdctl", "version").start().waitFor(10, TimeUnit.SECONDS);
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  @Test
  void everyPortSpeaksTlsAndTheCaIsCreatedOnceAndReused() throws Exception {
    Path data = temp.resolve("data");
    Path credentials = temp.resolve("home/.apsara/credentials");
    EmbeddedCluster.Options options = new EmbeddedCluster.Options(data,
        EmbeddedPorts.portWithTwoFreeNeighbours(), 1,
        Optional.of(EmbeddedPorts.portWithTwoFreeNeighbours()), credentials, true,
        Optional.of(EmbeddedPorts.panguMasterPort()),
        Optional.of(EmbeddedPorts.fuxiMasterPort()));

    byte[] caCertificate;
    try (EmbeddedCluster cluster = EmbeddedCluster.start(options)) {
      // What `apsara up` waits for before it says the cluster is up.
      assertThat(cluster.awaitServing(Duration.ofSeconds(60))).isEmpty();
      assertThat(cluster.panguMaster().orElseThrow().isLeader()).isTrue();
      assertThat(cluster.fuxiMaster().orElseThrow().isServing()).isTrue();
      TlsMaterial cli = cluster.cliTls().orElseThrow();
      Path caFile = data.resolve("tls/ca/ca.crt");
      assertThat(cli.trustedCaFile()).contains(caFile);
      caCertificate = Files.readAllBytes(caFile);
      assertThat(cluster.nuwaMembers().get(0).clientUrl()).startsWith("https://");

      // Nuwa: the command line's certificate and the root password work; nothing less does.
      try (NuwaClient nuwa = NuwaClient.builder().endpoints(cluster.nuwaEndpoints()).tls(cli)
          .user("root", cluster.nuwaRootPassword().orElseThrow()).build()) {
        nuwa.kv().put("tls", "on");
      }
      try (NuwaClient anonymous = NuwaClient.builder().endpoints(cluster.nuwaEndpoints())
          .tls(TlsMaterial.trusting(caFile)).user("root", cluster.nuwaRootPassword().get())
          .requestTimeout(Duration.ofSeconds(2)).build()) {
        assertThatThrownBy(() -> anonymous.kv().get("tls")).isInstanceOf(NuwaException.class);
      }
      try (NuwaClient plaintext = NuwaClient.builder().endpoints(cluster.nuwaEndpoints())
          .user("root", cluster.nuwaRootPassword().get())
          .requestTimeout(Duration.ofSeconds(2)).build()) {
        assertThatThrownBy(() -> plaintext.kv().get("tls")).isInstanceOf(NuwaException.class);
      }

      // The command lines, with exactly the flags `apsara up --tls` prints.
      List<String> flags = List.of(cluster.etcdctlTlsFlags().trim().split(" "));
      String rootUser = "root:" + cluster.nuwaRootPassword().get();
      List<String> put = new ArrayList<>(List.of("nuwa", "put", "cli-tls", "yes",
          "--endpoints", cluster.nuwaEndpoints(), "--user", rootUser));
      put.addAll(flags);
      assertThat(Apsara.commandLine().execute(put.toArray(String[]::new))).isZero();
      List<String> refused = new ArrayList<>(put.subList(0, put.size() - flags.size()));
      refused.addAll(List.of("--cacert", caFile.toString(), "--timeout", "2s"));
      assertThat(Apsara.commandLine().setErr(new PrintWriter(new StringWriter(), true))
          .execute(refused.toArray(String[]::new))).as("no client certificate").isEqualTo(1);
      if (etcdctlInstalled()) {
        List<String> etcdctl = new ArrayList<>(List.of("etcdctl",
            "--endpoints=" + cluster.nuwaMembers().get(0).clientUrl(), "--user", rootUser,
            "--command-timeout=15s"));
        etcdctl.addAll(flags);
        etcdctl.addAll(List.of("get", "cli-tls", "--print-value-only"));
        Process process = new ProcessBuilder(etcdctl).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(),
            StandardCharsets.UTF_8).strip();
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(output).isEqualTo("yes");
      }
      StringWriter whoami = new StringWriter();
      assertThat(Apsara.commandLine().setOut(new PrintWriter(whoami, true))
          .execute("whoami", "--credentials", credentials.toString())).as(whoami.toString())
          .isZero();

      // Pangu: the master, the chunkservers' heartbeats and the data path all speak TLS, and
      // apsara fs works with the same flags, signing with the system root's profile.
      Path local = temp.resolve("pangu-in.txt");
      Files.writeString(local, "over tls");
      List<String> fsFlags = new ArrayList<>(List.of("--masters",
          cluster.panguMaster().orElseThrow().clientAddress().toString(),
          "--credentials", credentials.toString()));
      fsFlags.addAll(flags);
      List<String> fsPut = new ArrayList<>(List.of("fs", "put", local.toString(), "/tls.txt"));
      fsPut.addAll(fsFlags);
      assertThat(Apsara.commandLine().execute(fsPut.toArray(String[]::new))).isZero();
      List<String> fsGet = new ArrayList<>(List.of("fs", "get", "/tls.txt",
          temp.resolve("pangu-out.txt").toString()));
      fsGet.addAll(fsFlags);
      assertThat(Apsara.commandLine().execute(fsGet.toArray(String[]::new))).isZero();
      assertThat(Files.readString(temp.resolve("pangu-out.txt"))).isEqualTo("over tls");
      List<String> fsPlain = new ArrayList<>(List.of("fs", "ls", "/", "--timeout", "2s",
          "--masters", cluster.panguMaster().get().clientAddress().toString()));
      assertThat(Apsara.commandLine().setErr(new PrintWriter(new StringWriter(), true))
          .execute(fsPlain.toArray(String[]::new))).as("plaintext to a TLS master").isEqualTo(1);

      // Fuxi: FuxiMaster, the Tubos' heartbeats, and an application whose AM and workers reach
      // them over TLS (each Tubo hands its workers the CA), with apsara fuxi's same flags.
      String fuxiMaster = cluster.fuxiMaster().orElseThrow().address().toString();
      List<String> submit = new ArrayList<>(List.of("fuxi", "submit", "--masters", fuxiMaster,
          "--am-cpu", "250", "--am-memory", "384", "--cpu", "100", "--memory", "64", "--wait",
          "--credentials", credentials.toString()));
      submit.addAll(flags);
      submit.addAll(List.of("--", "true"));
      StringWriter submitErrors = new StringWriter();
      assertThat(Apsara.commandLine().setErr(new PrintWriter(submitErrors, true))
          .execute(submit.toArray(String[]::new))).as(submitErrors.toString()).isZero();
      List<String> fuxiPlain = List.of("fuxi", "nodes", "--timeout", "2s", "--masters",
          fuxiMaster);
      assertThat(Apsara.commandLine().setErr(new PrintWriter(new StringWriter(), true))
          .execute(fuxiPlain.toArray(String[]::new))).as("plaintext to a TLS master")
          .isEqualTo(1);

      // The identity service keeps Nuwa's users in line over TLS too.
      var identity = cluster.identity().orElseThrow();
      await().atMost(Duration.ofSeconds(30)).until(() -> identity.nuwaAuthSync().orElseThrow()
          .syncedRevision() >= identity.view().revision());
      assertThat(identity.nuwaAuthSync().get().failuresInARow()).isZero();

      // The identity service: the profile the first start wrote calls it over TLS.
      CredentialsFile.Profile profile =
          CredentialsFile.read(credentials, CredentialsFile.DEFAULT_PROFILE).orElseThrow();
      assertThat(profile.tls()).contains(cli);
      try (IdentityClient client = IdentityClient.connect(profile)) {
        assertThat(client.getCallerIdentity().getTenant()).isEqualTo(IdentityNames.SYSTEM_TENANT);
      }
      CredentialsFile.Profile plaintextProfile = new CredentialsFile.Profile("plain",
          profile.credentials(), profile.endpoint());
      try (IdentityClient client = IdentityClient.connect(plaintextProfile)) {
        assertThatThrownBy(client::getCallerIdentity)
            .hasMessageContaining("UNAVAILABLE");
      }
    }

    try (EmbeddedCluster cluster = EmbeddedCluster.start(options)) {
      assertThat(Files.readAllBytes(data.resolve("tls/ca/ca.crt"))).isEqualTo(caCertificate);
      try (NuwaClient nuwa = NuwaClient.builder().endpoints(cluster.nuwaEndpoints())
          .tls(cluster.cliTls().orElseThrow())
          .user("root", cluster.nuwaRootPassword().orElseThrow()).build()) {
        assertThat(nuwa.kv().get("tls").kvs().get(0).valueUtf8()).isEqualTo("on");
      }
    }

    // Without --tls the same data directory runs in plaintext, and the profile follows.
    try (EmbeddedCluster cluster = EmbeddedCluster.start(new EmbeddedCluster.Options(data,
        options.nuwaBasePort(), 1, options.identityPort(), credentials))) {
      CredentialsFile.Profile profile =
          CredentialsFile.read(credentials, CredentialsFile.DEFAULT_PROFILE).orElseThrow();
      assertThat(profile.tls()).isEmpty();
      try (IdentityClient client = IdentityClient.connect(profile)) {
        assertThat(client.getCallerIdentity().getTenant()).isEqualTo(IdentityNames.SYSTEM_TENANT);
      }
    }
  }
}
