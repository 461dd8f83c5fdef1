package org.apsara.pangu.hadoop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.BlockLocation;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.StreamCapabilities;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apsara.pangu.chunkserver.server.ChunkServer;
import org.apsara.pangu.client.CreateOptions;
import org.apsara.pangu.client.PanguOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Writing and reading through {@code pangu://} on a real in-process cluster: chunks and their
 * locations, hflush visibility to a reader while the writer goes on, and a write that survives
 * a chunkserver killed in the middle of a chunk.
 */
class PanguEndToEndTest {
  private static final int MIB = 1 << 20;

  private static byte[] content(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  private static FileSystem fileSystem(PanguTestCluster cluster) throws IOException {
    // A new instance, not the cache's: the test closes it.
    return FileSystem.newInstance(cluster.uri(), new Configuration());
  }

  @Test
  void aFileWrittenAcrossChunksReadsBackWithItsLocations() throws Exception {
    PanguTestCluster cluster = PanguTestCluster.shared();
    byte[] data = content(3 * MIB + MIB / 2, 1);
    Path file = new Path("/e2e/chunks");
    try (FileSystem fs = fileSystem(cluster)) {
      try (FSDataOutputStream out = fs.create(file, FsPermission.getFileDefault(), true, 4096,
          (short) 3, MIB, null)) {
        out.write(data);
      }

      assertThat(fs.getFileStatus(file).getLen()).isEqualTo(data.length);
      assertThat(fs.getFileStatus(file).getBlockSize()).isEqualTo(MIB);
      byte[] read = new byte[data.length];
      try (FSDataInputStream in = fs.open(file)) {
        in.readFully(0, read);
      }
      assertThat(read).isEqualTo(data);
      // Locations are what the chunkservers reported; the last seals arrive with heartbeats.
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        BlockLocation[] blocks = fs.getFileBlockLocations(fs.getFileStatus(file), 0,
            data.length);
        assertThat(blocks).hasSize(4);
        for (BlockLocation block : blocks) {
          assertThat(block.getNames()).hasSize(3).doesNotHaveDuplicates();
        }
        assertThat(blocks[3].getOffset()).isEqualTo(3L * MIB);
        assertThat(blocks[3].getLength()).isEqualTo(MIB / 2);
      });
    }
  }

  @Test
  void hflushedBytesAreVisibleToAReaderWhileTheWriterGoesOn() throws Exception {
    PanguTestCluster cluster = PanguTestCluster.shared();
    byte[] data = content(600_000, 2);
    Path file = new Path("/e2e/tail");
    try (FileSystem fs = fileSystem(cluster);
        FSDataOutputStream out = fs.create(file, true)) {
      assertThat(out.hasCapability(StreamCapabilities.HSYNC)).isTrue();
      out.write(data, 0, 200_000);
      out.hflush();

      try (FSDataInputStream in = fs.open(file)) {
        byte[] first = new byte[200_000];
        in.readFully(first);
        assertThat(first).isEqualTo(Arrays.copyOf(data, 200_000));
        assertThat(in.read()).isEqualTo(-1);

        out.write(data, 200_000, 400_000);
        out.hsync();
        byte[] rest = new byte[400_000];
        in.readFully(rest);
        assertThat(rest).isEqualTo(Arrays.copyOfRange(data, 200_000, 600_000));
      }
    }
  }

  /**
   * With four chunkservers the next chunk finds three others; with three, it goes on with the two
   * left (the fewest a chunk is placed on by default) and is copied up later.
   */
  @ParameterizedTest(name = "{0} chunkservers")
  @ValueSource(ints = {3, 4})
  void aWriteSurvivesAChunkserverKilledInTheMiddleOfAChunk(int chunkServers) throws Exception {
    try (PanguTestCluster cluster = new PanguTestCluster(chunkServers)) {
      byte[] data = content(6 * MIB, 3);
      PanguOutputStream out = cluster.client().create("/e2e/nonstop",
          CreateOptions.DEFAULTS.withChunkSizeBytes(4L * MIB).withReplication(3));
      out.write(data, 0, 2 * MIB);
      out.hsync();

      // Kill a chunkserver holding a replica of the chunk being written.
      ChunkServer victim = cluster.chunkServers().stream()
          .filter(server -> !server.store().replicas().isEmpty()).findFirst().orElseThrow();
      victim.close();

      out.write(data, 2 * MIB, data.length - 2 * MIB);
      out.close();

      assertThat(out.recoveries()).isEqualTo(1);
      byte[] read;
      try (var in = cluster.client().open("/e2e/nonstop")) {
        read = in.readAllBytes();
      }
      assertThat(read).isEqualTo(data);
      assertThat(cluster.client().getStatus("/e2e/nonstop").getLength()).isEqualTo(data.length);
    }
  }
}
