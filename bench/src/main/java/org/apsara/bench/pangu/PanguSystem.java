package org.apsara.bench.pangu;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apsara.bench.cluster.PanguProcessCluster;
import org.apsara.pangu.client.CreateOptions;
import org.apsara.pangu.client.PanguClient;
import org.apsara.pangu.client.PanguClientConfig;
import org.apsara.pangu.client.PanguInputStream;
import org.apsara.pangu.client.PanguOutputStream;

/**
 * Pangu as the benchmark runs it: one master and three chunkservers as separate OS processes
 * ({@link PanguProcessCluster}), driven through {@link PanguClient}: replication 3 and 64 MiB
 * chunks, the defaults, and every byte synced on every replica before a file's close returns.
 */
final class PanguSystem implements FileSystemUnderTest {
  static final String NAME = "Pangu";
  static final int CHUNKSERVERS = 3;
  static final Duration STARTUP_TIMEOUT = Duration.ofMinutes(2);

  private final PanguProcessCluster cluster;
  private final PanguClient client;

  private PanguSystem(PanguProcessCluster cluster, PanguClient client) {
    this.cluster = cluster;
    this.client = client;
  }

  static PanguSystem start(Path directory) {
    PanguProcessCluster cluster =
        PanguProcessCluster.start(CHUNKSERVERS, directory, STARTUP_TIMEOUT);
    try {
      return new PanguSystem(cluster,
          PanguClient.connect(PanguClientConfig.builder(List.of(cluster.master())).build()));
    } catch (RuntimeException e) {
      cluster.close();
      throw e;
    }
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String description() {
    return "Pangu: 1 master and " + CHUNKSERVERS + " chunkservers, each its own JVM"
        + " (apsara run pangu-master / pangu-chunkserver), replication 3, 64 MiB chunks";
  }

  @Override
  public void writeFile(String path, BlockPattern data) throws IOException {
    byte[] buffer = data.newBuffer();
    try (PanguOutputStream out = client.create(path, CreateOptions.DEFAULTS)) {
      for (long block = 0; block < data.blocks(); block++) {
        data.stamp(buffer, block);
        out.write(buffer);
      }
    }
  }

  @Override
  public long readFile(String path, BlockPattern data) throws IOException {
    byte[] buffer = data.newBuffer();
    try (PanguInputStream in = client.open(path)) {
      for (long block = 0; block < data.blocks(); block++) {
        int read = 0;
        while (read < buffer.length) {
          int n = in.read(buffer, read, buffer.length - read);
          if (n < 0) {
            throw new IOException(path + " ends at block " + block + " of " + data.blocks());
          }
          read += n;
        }
        data.check(path, buffer, block);
      }
      if (in.read() != -1) {
        throw new IOException(path + " is longer than the " + data.totalBytes() + " bytes written");
      }
    }
    return data.totalBytes();
  }

  @Override
  public void mkdirs(String path) throws IOException {
    client.mkdirs(path);
  }

  @Override
  public void createEmpty(String path) throws IOException {
    client.create(path, CreateOptions.DEFAULTS).close();
  }

  @Override
  public void stat(String path) throws IOException {
    client.getStatus(path);
  }

  @Override
  public void delete(String path) throws IOException {
    if (!client.delete(path, false)) {
      throw new IOException("Pangu: nothing to delete at " + path);
    }
  }

  @Override
  public void close() {
    try {
      client.close();
    } finally {
      cluster.close();
    }
  }
}
