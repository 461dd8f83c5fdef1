package org.apsara.pangu.chunkserver.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apsara.pangu.chunkserver.store.VolumeConfig;
import org.apsara.security.token.TokenKey;
import org.apsara.security.token.TokenKeyFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChunkServerConfigTest {
  @TempDir Path directory;

  private Properties properties(String... keyValues) {
    Properties properties = new Properties();
    for (int i = 0; i < keyValues.length; i += 2) {
      properties.setProperty(keyValues[i], keyValues[i + 1]);
    }
    return properties;
  }

  @Test
  void readsEverySettingFromProperties() {
    ChunkServerConfig config = ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/data/1", "volume.1.capacity", "500G", "volume.1.reserve", "2GiB",
        "volume.2.dir", "/data/2",
        "chunk.size", "32M", "host", "10.0.0.5", "port", "7200", "metrics.port", "7201",
        "token.key.file", "/etc/pangu/token.keys", "scrub.bytes.per.second", "4M",
        "scrub.interval", "PT30M", "handler.threads", "8", "server.id", "cs-7"));
    assertThat(config.storeConfig().volumes()).containsExactly(
        new VolumeConfig(Path.of("/data/1"), 500L << 30, 2L << 30),
        new VolumeConfig(Path.of("/data/2"), VolumeConfig.CAPACITY_WHOLE_FILE_SYSTEM,
            VolumeConfig.DEFAULT_RESERVED_BYTES));
    assertThat(config.storeConfig().chunkSizeBytes()).isEqualTo(32L << 20);
    assertThat(config.host()).isEqualTo("10.0.0.5");
    assertThat(config.port()).isEqualTo(7200);
    assertThat(config.metricsPort()).isEqualTo(7201);
    assertThat(config.tokenKeyFile()).isEqualTo(Path.of("/etc/pangu/token.keys"));
    assertThat(config.scrubBytesPerSecond()).isEqualTo(4L << 20);
    assertThat(config.scrubInterval()).isEqualTo(Duration.ofMinutes(30));
    assertThat(config.handlerThreads()).isEqualTo(8);
    assertThat(config.serverId()).isEqualTo("cs-7");
    assertThat(config.tls()).isEmpty();
  }

  @Test
  void badSettingsAreNamed() {
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "token.key.file", "/k")))
        .hasMessageContaining("at least one volume");
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "volume.3.dir", "/e", "token.key.file", "/k")))
        .hasMessageContaining("volume.2.dir is missing");
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "volume.1.capacity", "lots", "token.key.file", "/k")))
        .hasMessageContaining("volume.1.capacity = 'lots' is not a size");
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "prot", "1", "token.key.file", "/k")))
        .hasMessageContaining("unknown setting prot");
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d")))
        .hasMessageContaining("a token key file is required");
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k", "port", "70000")))
        .hasMessageContaining("70000");
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k", "tls.client.auth", "true")))
        .hasMessageContaining("client certificate authentication needs TLS");
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k", "tls.cert", "/c.pem")))
        .hasMessageContaining("without its key file");
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "volume.2.dir", "/d", "token.key.file", "/k")))
        .hasMessageContaining("volume listed twice");
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k", "chunk.size", "2T")))
        .hasMessageContaining("chunkSizeBytes");
  }

  @Test
  void tokenKeyFileRoundTripsAndMustBePrivate() throws IOException {
    TokenKey old = TokenKey.generate("k-2025", new SecureRandom());
    TokenKey current = TokenKey.generate("k-2026", new SecureRandom());
    Path file = directory.resolve("keys");
    TokenKeyFile.write(file, List.of(old, current));
    List<TokenKey> loaded = TokenKeyFile.load(file);
    assertThat(loaded).extracting(TokenKey::keyId).containsExactly("k-2025", "k-2026");
    assertThat(loaded.get(1).secret()).isEqualTo(current.secret());

    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    assertThatThrownBy(() -> TokenKeyFile.load(file)).isInstanceOf(IOException.class)
        .hasMessageContaining("chmod 600");

    Path garbled = directory.resolve("garbled");
    Files.createFile(garbled, PosixFilePermissions.asFileAttribute(
        TokenKeyFile.FILE_PERMISSIONS));
    Files.writeString(garbled, "# keys\nk1 c2hvcnQ=\n");
    assertThatThrownBy(() -> TokenKeyFile.load(garbled)).isInstanceOf(IOException.class)
        .hasMessageContaining("line 2").hasMessageContaining("has 5 bytes, not 32");
    assertThatThrownBy(() -> TokenKeyFile.load(directory.resolve("absent")))
        .isInstanceOf(IOException.class).hasMessageContaining("does not exist");
  }

  @Test
  void startFailsOnAnUnusableKeyFileAndReleasesEverything() throws Exception {
    ChunkServerConfig config = ChunkServerConfig.builder()
        .volume(new VolumeConfig(directory.resolve("v"), VolumeConfig.CAPACITY_WHOLE_FILE_SYSTEM,
            0))
        .port(0)
        .tokenKeyFile(directory.resolve("missing.keys"))
        .build();
    assertThatThrownBy(() -> ChunkServer.start(config)).isInstanceOf(IOException.class)
        .hasMessageContaining("missing.keys");
  }
}
