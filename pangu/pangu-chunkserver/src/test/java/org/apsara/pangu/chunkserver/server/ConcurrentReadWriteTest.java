package org.apsara.pangu.chunkserver.server;

import static org.apsara.pangu.chunkserver.server.ChunkServerFixture.content;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.apsara.pangu.client.chunkserver.ReplicaWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Readers read the visible prefix of a replica while it is being written, and see it exactly. */
class ConcurrentReadWriteTest {
  private static final long CHUNK = 99;
  private static final long GENERATION = 1;
  private static final long SEED = 17;
  private static final int READERS = 3;
  private static final int PACKET = 64 << 10;
  private static final int PACKETS = 48; // 3 MiB

  @TempDir Path directory;

  @Test
  void readersSeeExactlyWhatWasWrittenWhileTheWriterAppends() throws Exception {
    try (ChunkServerFixture fixture = new ChunkServerFixture(directory)) {
      ChunkServer server = fixture.start("cs1");
      ChunkServerClient client = fixture.client(server);
      ExecutorService readers = Executors.newFixedThreadPool(READERS);
      AtomicBoolean writing = new AtomicBoolean(true);
      try (ReplicaWriter writer = client.openWriter(CHUNK, GENERATION, fixture.write(CHUNK),
          true, 0)) {
        writer.write(ByteBuffer.wrap(content(SEED, 0, PACKET)), true);
        writer.awaitSynced(PACKET, Duration.ofSeconds(30));
        List<Future<Integer>> results = new ArrayList<>();
        for (int r = 0; r < READERS; r++) {
          long readerSeed = r;
          results.add(readers.submit(() -> {
            Random random = new Random(readerSeed);
            String token = fixture.read(CHUNK);
            int reads = 0;
            // At least a few reads each, and on until the writer is done.
            while (writing.get() || reads < 5) {
              long visible = client.getReplica(CHUNK, token).getLength();
              long at = (long) (random.nextDouble() * visible);
              int size = (int) Math.min(visible - at, 1 + random.nextInt(256 << 10));
              ByteBuffer target = ByteBuffer.allocate(size);
              client.read(CHUNK, GENERATION, at, target, token);
              assertThat(target.array()).as("read of %d bytes at %d", size, at)
                  .isEqualTo(content(SEED, at, size));
              reads++;
            }
            return reads;
          }));
        }
        for (int i = 1; i < PACKETS; i++) {
          long offset = (long) i * PACKET;
          writer.write(ByteBuffer.wrap(content(SEED, offset, PACKET)), i % 8 == 7);
        }
        assertThat(writer.finish(Duration.ofSeconds(30))).isEqualTo((long) PACKETS * PACKET);
        writing.set(false);
        int total = 0;
        for (Future<Integer> result : results) {
          total += result.get(60, TimeUnit.SECONDS);
        }
        assertThat(total).isGreaterThanOrEqualTo(READERS * 5);
      } finally {
        writing.set(false);
        readers.shutdownNow();
        readers.awaitTermination(10, TimeUnit.SECONDS);
      }
    }
  }
}
