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
import org.apsara.common.net.HostPort;
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
  void theBulkReadPortDefaultsToAFreeOneAndStaysClosedWithTls() {
    ChunkServerConfig plain = ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k"));
    assertThat(plain.dataPort()).isEqualTo(ChunkServerConfig.DEFAULT_DATA_PORT).isZero();
    assertThat(plain.bulkReadEnabled()).isTrue();
    ChunkServerConfig fixed = ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k", "data.port", "7101"));
    assertThat(fixed.dataPort()).isEqualTo(7101);
    ChunkServerConfig off = ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k", "data.port", "-1"));
    assertThat(off.bulkReadEnabled()).isFalse();
    ChunkServerConfig tls = ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k", "data.port", "7101",
        "tls.cert", "/c.pem", "tls.key", "/k.pem"));
    assertThat(tls.bulkReadEnabled()).isFalse();
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k", "data.port", "-2")))
        .hasMessageContaining("data.port -2 is out of range");
  }

  @Test
  void readsTheMasterSettings() {
    ChunkServerConfig config = ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k", "host", "0.0.0.0",
        "master.addresses", "m1:7200, [::1]:7200,m3:7200", "advertise.host", "cs7.example",
        "rack", "/dc1/rack7"));
    assertThat(config.masterAddresses()).extracting(HostPort::format)
        .containsExactly("m1:7200", "[::1]:7200", "m3:7200");
    assertThat(config.advertiseHost()).isEqualTo("cs7.example");
    assertThat(config.rack()).isEqualTo("/dc1/rack7");

    ChunkServerConfig alone = ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k", "host", "10.0.0.5"));
    assertThat(alone.masterAddresses()).isEmpty();
    assertThat(alone.advertiseHost()).isEqualTo("10.0.0.5");
    assertThat(alone.rack()).isEmpty();
  }

  @Test
  void badMasterSettingsAreNamed() {
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k", "master.addresses", "m1:7200,,m2:7200")))
        .hasMessageContaining("master.addresses").hasMessageContaining("empty element");
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k", "master.addresses", "m1")))
        .hasMessageContaining("master.addresses");
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k", "master.addresses", "m1:1,m1:1")))
        .hasMessageContaining("lists a member twice");
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k", "master.addresses",
        "a:1,b:1,c:1,d:1,e:1,f:1,g:1,h:1,i:1,j:1")))
        .hasMessageContaining("at most " + ChunkServerConfig.MASTER_ADDRESSES_MAX);
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k", "host", "0.0.0.0",
        "master.addresses", "m1:7200")))
        .hasMessageContaining("advertise.host is required");
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k", "advertise.host", "0.0.0.0")))
        .hasMessageContaining("wildcard");
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k", "advertise.host", "bad host")))
        .hasMessageContaining("advertise.host");
    assertThatThrownBy(() -> ChunkServerConfig.fromProperties(properties(
        "volume.1.dir", "/d", "token.key.file", "/k", "rack", "rack 7")))
        .hasMessageContaining("rack = 'rack 7'");
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
