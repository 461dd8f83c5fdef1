package org.apsara.cli.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.server.NuwaServer;
import org.apsara.tenant.api.CredentialsFile;
import org.apsara.tenant.api.IdentityClient;
import org.apsara.tenant.api.IdentityNames;
import org.apsara.tenant.api.v1.GetCallerIdentityResponse;
import org.apsara.testkit.RaftLogFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code apsara up} runs: Nuwa and the identity service, secure by default. */
class EmbeddedClusterTest {
  @TempDir Path temp;

  @Test
  void firstStartWritesRootCredentialsThatStillWorkAfterARestart() throws Exception {
    Path data = temp.resolve("data");
    Path credentials = temp.resolve("home/.apsara/credentials");
    EmbeddedCluster.Options options = new EmbeddedCluster.Options(
        data, EmbeddedPorts.portWithTwoFreeNeighbours(), 1, Optional.of(EmbeddedPorts.portWithTwoFreeNeighbours()), credentials);

    String accessKeyId;
    try (EmbeddedCluster cluster = EmbeddedCluster.start(options)) {
      assertThat(cluster.identity()).isPresent();
      assertThat(cluster.identity().get().bootstrapCredentials()).isPresent();
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(credentials)))
          .isEqualTo("rw-------");
      CredentialsFile.Profile profile =
          CredentialsFile.read(credentials, CredentialsFile.DEFAULT_PROFILE).orElseThrow();
      accessKeyId = profile.credentials().accessKeyId();
      try (IdentityClient client = IdentityClient.connect(profile)) {
        GetCallerIdentityResponse caller = client.getCallerIdentity();
        assertThat(caller.getTenant()).isEqualTo(IdentityNames.SYSTEM_TENANT);
        assertThat(caller.getUserName()).isEqualTo(IdentityNames.ROOT_USER);
        assertThat(caller.getAccessKeyId()).isEqualTo(accessKeyId);
      }
      // Nuwa asks for credentials too: its root user's password is in the data directory.
      String rootPassword = cluster.nuwaRootPassword().orElseThrow();
      assertThat(Files.readString(data.resolve(EmbeddedCluster.NUWA_ROOT_PASSWORD_FILE)).strip())
          .isEqualTo(rootPassword);
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(
          data.resolve(EmbeddedCluster.NUWA_ROOT_PASSWORD_FILE)))).isEqualTo("rw-------");
      try (NuwaClient anonymous =
          NuwaClient.builder().endpoints(cluster.nuwaEndpoints()).build()) {
        assertThatThrownBy(() -> anonymous.kv().put("foo", "bar"))
            .hasMessageContaining("user name is empty");
      }
      try (NuwaClient nuwa = NuwaClient.builder().endpoints(cluster.nuwaEndpoints())
          .user("root", rootPassword).build()) {
        nuwa.kv().put("foo", "bar");
      }
    }

    try (EmbeddedCluster cluster = EmbeddedCluster.start(options)) {
      // The system root exists already: no new key, the profile is left alone and still works.
      assertThat(cluster.identity().get().bootstrapCredentials()).isEmpty();
      CredentialsFile.Profile profile =
          CredentialsFile.read(credentials, CredentialsFile.DEFAULT_PROFILE).orElseThrow();
      assertThat(profile.credentials().accessKeyId()).isEqualTo(accessKeyId);
      try (IdentityClient client = IdentityClient.connect(profile)) {
        assertThat(client.getCallerIdentity().getAccessKeyId()).isEqualTo(accessKeyId);
      }
      try (NuwaClient nuwa = NuwaClient.builder().endpoints(cluster.nuwaEndpoints())
          .user("root", cluster.nuwaRootPassword().orElseThrow()).build()) {
        assertThat(nuwa.kv().get("foo").kvs())
            .singleElement()
            .satisfies(kv -> assertThat(kv.value().toStringUtf8()).isEqualTo("bar"));
      }
    }
  }

  @Test
  void noAuthRunsWithoutTheIdentityServiceAndWritesNoCredentials() throws Exception {
    Path credentials = temp.resolve("credentials");
    EmbeddedCluster.Options options = new EmbeddedCluster.Options(
        temp.resolve("data"), EmbeddedPorts.portWithTwoFreeNeighbours(), 1, Optional.empty(), credentials);
    try (EmbeddedCluster cluster = EmbeddedCluster.start(options)) {
      assertThat(cluster.identity()).isEmpty();
      assertThat(cluster.nuwaRootPassword()).isEmpty();
      assertThat(credentials).doesNotExist();
      try (NuwaClient nuwa = NuwaClient.builder().endpoints(cluster.nuwaEndpoints()).build()) {
        nuwa.kv().put("open", "to anyone");
      }
    }
  }

  @Test
  void aMemberThatStopsByItselfIsReportedForUpToStop() throws Exception {
    EmbeddedCluster.Options options = new EmbeddedCluster.Options(temp.resolve("data"),
        EmbeddedPorts.portWithTwoFreeNeighbours(), 1, Optional.empty(), temp.resolve("creds"));
    try (EmbeddedCluster cluster = EmbeddedCluster.start(options)) {
      NuwaServer member = cluster.nuwaMembers().get(0);
      RaftLogFiles.closeAsAFailedWriteDoes(member.raft().division().getRaftLog());

      assertThat(cluster.stoppedByItself().get(30, TimeUnit.SECONDS))
          .startsWith("Nuwa member " + member.clientEndpoint() + " stopped: the Raft log failed");
    }
  }
}
