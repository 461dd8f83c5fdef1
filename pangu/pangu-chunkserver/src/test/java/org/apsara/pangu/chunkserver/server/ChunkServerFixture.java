package org.apsara.pangu.chunkserver.server;

import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.apsara.pangu.api.ChunkCapabilities;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.apsara.pangu.chunkserver.store.CorruptReplicaReport;
import org.apsara.pangu.chunkserver.store.VolumeConfig;
import org.apsara.security.token.CapabilityTokenIssuer;
import org.apsara.security.token.TokenKey;
import org.apsara.security.token.TokenKeyFile;

/**
 * Chunkservers on loopback over temporary directories, a token key file, an issuer playing the
 * master, and deterministic content. Closes everything it started.
 */
final class ChunkServerFixture implements AutoCloseable {
  /** Small enough that tests fill a chunk quickly. */
  static final long TEST_CHUNK_SIZE_BYTES = 4L << 20;
  static final String KEY_ID = "test-key";

  final Path directory;
  final Path keyFile;
  final TokenKey key;
  final CapabilityTokenIssuer issuer;
  final List<CorruptReplicaReport> corruptReports = new CopyOnWriteArrayList<>();
  private final List<AutoCloseable> started = new ArrayList<>();

  ChunkServerFixture(Path directory) throws IOException {
    this.directory = directory;
    this.key = TokenKey.generate(KEY_ID, new SecureRandom());
    this.keyFile = directory.resolve("token.keys");
    TokenKeyFile.write(keyFile, List.of(key));
    this.issuer = new CapabilityTokenIssuer(key, Clock.systemUTC());
  }

  ChunkServerConfig.Builder config(String name) {
    return ChunkServerConfig.builder()
        .volume(new VolumeConfig(directory.resolve(name).resolve("volume"),
            VolumeConfig.CAPACITY_WHOLE_FILE_SYSTEM, 0))
        .chunkSizeBytes(TEST_CHUNK_SIZE_BYTES)
        .host("127.0.0.1")
        .port(0)
        .metricsPort(0)
        .tokenKeyFile(keyFile)
        .serverId(name);
  }

  ChunkServer start(String name) throws IOException {
    return start(name, builder -> { });
  }

  ChunkServer start(String name, Consumer<ChunkServerConfig.Builder> tweak) throws IOException {
    ChunkServerConfig.Builder builder = config(name);
    tweak.accept(builder);
    ChunkServer server = ChunkServer.start(builder.build(), corruptReports::add);
    started.add(server);
    return server;
  }

  ChunkServerClient client(ChunkServer server) {
    ChunkServerClient client = ChunkServerClient.connect(server.address(), null);
    started.add(client);
    return client;
  }

  String token(long chunkId, String... operations) {
    return issuer.issue("acs:ram::system:user/pangu-master", ChunkCapabilities.resource(chunkId),
        Set.of(operations), Duration.ofMinutes(10));
  }

  String read(long chunkId) {
    return token(chunkId, ChunkCapabilities.READ);
  }

  String write(long chunkId) {
    return token(chunkId, ChunkCapabilities.WRITE);
  }

  String admin(long chunkId) {
    return token(chunkId, ChunkCapabilities.ADMIN);
  }

  /** The data file of a replica, per the store's layout. */
  static Path dataFile(ChunkServer server, long chunkId) {
    Path volume = server.config().storeConfig().volumes().get(0).directory();
    return volume.resolve("chunks").resolve(String.format("%02x", chunkId & 0xff))
        .resolve(String.format("%016x.data", chunkId));
  }

  /** The byte at {@code offset} of the stream named by {@code seed}: any range is reproducible. */
  static byte byteAt(long seed, long offset) {
    long x = seed * 0x9E3779B97F4A7C15L + offset;
    x ^= x >>> 33;
    x *= 0xff51afd7ed558ccdL;
    x ^= x >>> 33;
    return (byte) x;
  }

  static byte[] content(long seed, long offset, int length) {
    byte[] bytes = new byte[length];
    for (int i = 0; i < length; i++) {
      bytes[i] = byteAt(seed, offset + i);
    }
    return bytes;
  }

  @Override
  public void close() throws Exception {
    for (int i = started.size() - 1; i >= 0; i--) {
      started.get(i).close();
    }
  }
}
