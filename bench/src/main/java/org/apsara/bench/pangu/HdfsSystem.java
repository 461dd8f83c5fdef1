package org.apsara.bench.pangu;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * HDFS as Pangu's peer: a {@code MiniDFSCluster} (one NameNode, three DataNodes) in this JVM, on
 * loopback, its storage under a directory of the benchmark's.
 *
 * <p>Settings chosen to match Pangu: replication 3, 64 MiB blocks (Pangu's chunk size), and
 * {@code dfs.datanode.synconclose} so that a DataNode forces a block to disk when the block is
 * closed: HDFS does not by default, while Pangu acknowledges only synced bytes, and comparing a
 * system that forces its data with one that leaves it in the page cache would measure the cache.
 * For the same reason the NameNode forces its edit log as a deployed one does: a {@code
 * MiniDFSCluster} skips those forces unless told otherwise, while Pangu's master forces its Raft
 * log before it answers, so the small-file steps would otherwise compare a forced log with one in
 * the page cache.
 */
final class HdfsSystem implements FileSystemUnderTest {
  static final String NAME = "HDFS";
  static final int DATA_NODES = 3;
  static final long BLOCK_BYTES = 64L << 20;

  private final MiniDFSCluster cluster;
  private final FileSystem fileSystem;

  private HdfsSystem(MiniDFSCluster cluster, FileSystem fileSystem) {
    this.cluster = cluster;
    this.fileSystem = fileSystem;
  }

  /** Starts the cluster in {@code directory} (created if missing) and waits until it serves. */
  static HdfsSystem start(java.nio.file.Path directory) throws IOException {
    Files.createDirectories(directory);
    Configuration conf = new Configuration();
    conf.setInt("dfs.replication", DATA_NODES);
    conf.setLong("dfs.blocksize", BLOCK_BYTES);
    conf.setBoolean("dfs.datanode.synconclose", true);
    // No web servers: nothing here reads them, and they cost start-up time.
    conf.setBoolean("dfs.webhdfs.enabled", false);
    MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf, directory.toFile())
        .numDataNodes(DATA_NODES)
        .skipFsyncForTesting(false)
        .build();
    try {
      cluster.waitActive();
      return new HdfsSystem(cluster, cluster.getFileSystem());
    } catch (IOException | RuntimeException e) {
      cluster.shutdown();
      throw e;
    }
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String description() {
    return "HDFS " + org.apache.hadoop.util.VersionInfo.getVersion()
        + " MiniDFSCluster in the benchmark's JVM: 1 NameNode, " + DATA_NODES
        + " DataNodes, replication " + DATA_NODES
        + ", 64 MiB blocks, dfs.datanode.synconclose=true, edit log forced";
  }

  @Override
  public void writeFile(String path, BlockPattern data) throws IOException {
    try (FSDataOutputStream out = fileSystem.create(new Path(path), false)) {
      data.writeTo(out);
    }
  }

  @Override
  public long readFile(String path, BlockPattern data) throws IOException {
    try (FSDataInputStream in = fileSystem.open(new Path(path))) {
      return data.readFrom(path, in);
    }
  }

  @Override
  public void mkdirs(String path) throws IOException {
    if (!fileSystem.mkdirs(new Path(path))) {
      throw new IOException("HDFS could not create directory " + path);
    }
  }

  @Override
  public void createEmpty(String path) throws IOException {
    fileSystem.create(new Path(path), false).close();
  }

  @Override
  public void stat(String path) throws IOException {
    fileSystem.getFileStatus(new Path(path));
  }

  @Override
  public void delete(String path) throws IOException {
    if (!fileSystem.delete(new Path(path), false)) {
      throw new FileNotFoundException("HDFS: nothing to delete at " + path);
    }
  }

  /** Nothing: the NameNode and the DataNodes run inside the benchmark's JVM. */
  @Override
  public Optional<Duration> processesCpuTime() {
    return Optional.of(Duration.ZERO);
  }

  @Override
  public Optional<Duration> processesCompilerCpuTime() {
    return Optional.of(Duration.ZERO);
  }

  @Override
  public void close() throws IOException {
    try {
      fileSystem.close();
    } finally {
      cluster.shutdown();
    }
  }
}
