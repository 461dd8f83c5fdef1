package org.apsara.pangu.chunkserver.store;

import static org.apsara.pangu.chunkserver.store.StoreTesting.BLOCK;
import static org.apsara.pangu.chunkserver.store.StoreTesting.config;
import static org.apsara.pangu.chunkserver.store.StoreTesting.content;
import static org.apsara.pangu.chunkserver.store.StoreTesting.read;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChunkStoreRoundTripTest {
  private static final long CHUNK = 7;
  private static final long GENERATION = 3;

  @TempDir Path volume;

  @Test
  void randomAppendsAndRandomReadsRoundTripBeforeAndAfterSealAndReopen() throws Exception {
    long seed = new Random().nextLong();
    String context = "seed " + seed;
    Random random = new Random(seed);
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    StoreTesting.RecordingListener listener = new StoreTesting.RecordingListener();
    byte[] sealed;
    try (ChunkStore store = ChunkStore.open(config(volume), listener)) {
      store.create(CHUNK, GENERATION);
      for (int i = 0; i < 300; i++) {
        int size = nextAppendSize(random);
        byte[] bytes = new byte[size];
        random.nextBytes(bytes);
        // Half the appends come from direct buffers, as a network layer would pass them, and
        // some arrive in pieces (as a packet spread over network buffers), split anywhere.
        List<ByteBuffer> sources = pieces(bytes, random);
        long newLength = sources.size() == 1 && random.nextBoolean()
            ? store.append(CHUNK, GENERATION, expected.size(), sources.get(0))
            : store.append(CHUNK, GENERATION, expected.size(), sources);
        expected.write(bytes);
        assertThat(newLength).as(context).isEqualTo(expected.size());
        assertThat(sources).as(context).noneMatch(ByteBuffer::hasRemaining);
        if (random.nextInt(4) == 0) {
          assertThat(store.sync(CHUNK, GENERATION)).as(context).isEqualTo(expected.size());
        }
        checkRandomReads(store, expected.toByteArray(), random, 3, context);
      }
      byte[] all = expected.toByteArray();
      assertThat(read(store, CHUNK, GENERATION, 0, all.length)).as(context).isEqualTo(all);

      long sealAt = random.nextInt(all.length + 1);
      store.seal(CHUNK, GENERATION, sealAt);
      sealed = Arrays.copyOf(all, (int) sealAt);
      assertThat(store.replica(CHUNK).orElseThrow().length()).as(context).isEqualTo(sealAt);
      checkRandomReads(store, sealed, random, 200, context);
    }
    assertThat(Files.size(StoreTesting.dataFile(volume, CHUNK))).as(context)
        .isEqualTo(sealed.length);
    try (ChunkStore reopened = ChunkStore.open(config(volume), listener)) {
      ReplicaInfo info = reopened.replica(CHUNK).orElseThrow();
      assertThat(info.state()).as(context).isEqualTo(ReplicaState.SEALED);
      assertThat(info.length()).as(context).isEqualTo(sealed.length);
      assertThat(info.corrupt()).as(context).isFalse();
      checkRandomReads(reopened, sealed, random, 200, context);
      assertThat(read(reopened, CHUNK, GENERATION, 0, sealed.length)).isEqualTo(sealed);
    }
    assertThat(listener.reports).as(context).isEmpty();
  }

  @Test
  void syncedOpenReplicaReadsBackAfterReopenAndAcceptsFurtherAppends() throws Exception {
    long seed = 11;
    int first = 3 * BLOCK + 100;
    try (ChunkStore store = ChunkStore.open(config(volume), CorruptReplicaListener.IGNORE)) {
      store.create(CHUNK, GENERATION);
      StoreTesting.appendContent(store, CHUNK, GENERATION, seed, 0, first);
      store.sync(CHUNK, GENERATION);
    }
    try (ChunkStore store = ChunkStore.open(config(volume), CorruptReplicaListener.IGNORE)) {
      ReplicaInfo info = store.replica(CHUNK).orElseThrow();
      assertThat(info.state()).isEqualTo(ReplicaState.OPEN);
      assertThat(info.length()).isEqualTo(first);
      assertThat(info.syncedLength()).isEqualTo(first);
      // The next append extends the partial block whose bytes the store re-read on open.
      StoreTesting.appendContent(store, CHUNK, GENERATION, seed, first, 2 * BLOCK);
      store.sync(CHUNK, GENERATION);
      int total = first + 2 * BLOCK;
      assertThat(read(store, CHUNK, GENERATION, 0, total)).isEqualTo(content(seed, 0, total));
    }
  }

  @Test
  void zeroLengthReadAndAppendAreNoOps() throws Exception {
    try (ChunkStore store = ChunkStore.open(config(volume), CorruptReplicaListener.IGNORE)) {
      store.create(CHUNK, GENERATION);
      assertThat(store.append(CHUNK, GENERATION, 0, ByteBuffer.allocate(0))).isZero();
      ByteBuffer empty = ByteBuffer.allocate(0);
      store.read(CHUNK, GENERATION, 0, empty);
      assertThat(store.replica(CHUNK).orElseThrow().length()).isZero();
    }
  }

  /** Mostly small appends, some exactly one block, some spanning many blocks. */
  private static int nextAppendSize(Random random) {
    return switch (random.nextInt(5)) {
      case 0 -> BLOCK;
      case 1 -> 1 + random.nextInt(5 * BLOCK);
      default -> 1 + random.nextInt(700);
    };
  }

  /** {@code bytes} in one to five pieces, each heap or direct at random, in order. */
  private static List<ByteBuffer> pieces(byte[] bytes, Random random) {
    int count = 1 + random.nextInt(5);
    int[] cuts = new int[count + 1];
    cuts[count] = bytes.length;
    for (int i = 1; i < count; i++) {
      cuts[i] = random.nextInt(bytes.length + 1);
    }
    Arrays.sort(cuts, 1, count);
    List<ByteBuffer> pieces = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      byte[] piece = Arrays.copyOfRange(bytes, cuts[i], cuts[i + 1]);
      pieces.add(random.nextBoolean() ? ByteBuffer.wrap(piece) : direct(piece));
    }
    return pieces;
  }

  private static ByteBuffer direct(byte[] bytes) {
    ByteBuffer buffer = ByteBuffer.allocateDirect(bytes.length);
    buffer.put(bytes).flip();
    return buffer;
  }

  private static void checkRandomReads(ChunkStore store, byte[] expected, Random random,
      int reads, String context) throws Exception {
    for (int i = 0; i < reads && expected.length > 0; i++) {
      int offset = random.nextInt(expected.length);
      // Mostly short reads; some long enough to span several batches read straight into a
      // direct target.
      int longest = random.nextInt(32) == 0 ? 600 * BLOCK : 3 * BLOCK;
      int length = random.nextInt(Math.min(expected.length - offset, longest) + 1);
      // The target may start anywhere in its buffer.
      int skip = random.nextInt(3) == 0 ? random.nextInt(100) : 0;
      ByteBuffer target = random.nextBoolean()
          ? ByteBuffer.allocate(skip + length) : ByteBuffer.allocateDirect(skip + length);
      target.position(skip);
      store.read(CHUNK, GENERATION, offset, target);
      assertThat(target.hasRemaining()).isFalse();
      byte[] actual = new byte[length];
      target.position(skip).get(actual);
      assertThat(actual).as("%s: read %d bytes at %d", context, length, offset)
          .isEqualTo(Arrays.copyOfRange(expected, offset, offset + length));
    }
  }
}
