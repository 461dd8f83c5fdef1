package org.apsara.bench.pangu;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
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
    try (PanguOutputStream out = client.create(path, CreateOptions.DEFAULTS)) {
      data.writeTo(out);
    }
  }

  @Override
  public long readFile(String path, BlockPattern data) throws IOException {
    try (PanguInputStream in = client.open(path)) {
      return data.readFrom(path, in);
    }
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
  public Optional<Duration> processesCpuTime() {
    return cluster.membersCpuTime();
  }

  @Override
  public Optional<Duration> processesCompilerCpuTime() {
    return cluster.membersCompilerCpuTime();
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
