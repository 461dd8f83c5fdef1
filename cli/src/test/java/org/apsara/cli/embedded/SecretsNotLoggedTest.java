package org.apsara.cli.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.apsara.common.logging.LogSettings;
import org.apsara.common.logging.Logging;
import org.apsara.tenant.api.CreatedAccessKey;
import org.apsara.tenant.api.CredentialsFile;
import org.apsara.tenant.api.IdentityClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.event.Level;

/**
 * A run that creates secrets of every kind (Nuwa's root password, AccessKey secrets, the master
 * key as stored) writes none of them to any log, Apsara's own loggers at DEBUG included.
 */
class SecretsNotLoggedTest {
  @TempDir Path temp;

  @AfterEach
  void restoreLogging() {
    Logging.configure(LogSettings.defaults());
  }

  @Test
  void noSecretReachesTheLogs() throws Exception {
    Path logs = temp.resolve("logs");
    Logging.configure(LogSettings.builder()
        .level(Level.INFO)
        .loggerLevel("org.apsara", Level.DEBUG)
        .consoleLevel(Level.ERROR)
        .file(logs, "apsara")
        .build());
    Path data = temp.resolve("data");
    Path credentials = temp.resolve("credentials");
    List<String> secrets = new ArrayList<>();
    try (EmbeddedCluster cluster = EmbeddedCluster.start(new EmbeddedCluster.Options(
        data, EmbeddedPorts.portWithTwoFreeNeighbours(), 1, Optional.of(EmbeddedPorts.portWithTwoFreeNeighbours()),
        credentials))) {
      secrets.add(cluster.nuwaRootPassword().orElseThrow());
      CredentialsFile.Profile root =
          CredentialsFile.read(credentials, CredentialsFile.DEFAULT_PROFILE).orElseThrow();
      secrets.add(root.credentials().accessKeySecret());
      try (IdentityClient client = IdentityClient.connect(root)) {
        client.createTenant("acme", "");
        client.createUser("acme", "alice", "");
        CreatedAccessKey created = client.createAccessKey("acme", "alice");
        secrets.add(created.credentials().accessKeySecret());
      }
    }
    Logging.stop();

    List<Path> logFiles;
    try (Stream<Path> files = Files.list(logs)) {
      logFiles = files.toList();
    }
    assertThat(logFiles).extracting(p -> p.getFileName().toString())
        .contains("apsara.log", "audit.log");
    // The audit log saw the AccessKey calls: the scan covers a log that talked about keys.
    assertThat(Files.readString(logs.resolve("audit.log"))).contains("ram:CreateAccessKey");
    secrets.add(Files.readString(data.resolve("identity/master.key")).strip());
    for (Path file : logFiles) {
      String text = Files.readString(file, StandardCharsets.UTF_8);
      for (String secret : secrets) {
        assertThat(text).as("%s holds a secret", file.getFileName()).doesNotContain(secret);
      }
    }
  }
}
