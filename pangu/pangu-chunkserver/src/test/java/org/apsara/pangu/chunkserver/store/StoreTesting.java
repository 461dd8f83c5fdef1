package org.apsara.pangu.chunkserver.store;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Helpers shared by the store tests: deterministic content, file paths, a recording listener. */
final class StoreTesting {
  static final int BLOCK = ChunkStore.BLOCK_SIZE_BYTES;
  /** Small enough that tests fill a chunk quickly, large enough for hundreds of blocks. */
  static final long TEST_CHUNK_SIZE_BYTES = 4L << 20;

  private StoreTesting() {}

  /** A store config over these volumes, no capacity limit, no reserve. */
  static ChunkStoreConfig config(long chunkSizeBytes, Path... volumes) {
    ChunkStoreConfig.Builder builder = ChunkStoreConfig.builder().chunkSizeBytes(chunkSizeBytes);
    for (Path volume : volumes) {
      builder.volume(new VolumeConfig(volume, VolumeConfig.CAPACITY_WHOLE_FILE_SYSTEM, 0));
    }
    return builder.build();
  }

  static ChunkStoreConfig config(Path... volumes) {
    return config(TEST_CHUNK_SIZE_BYTES, volumes);
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

  /** Appends {@code length} bytes of the stream {@code seed} at the replica's end. */
  static long appendContent(ChunkStore store, long chunkId, long generation, long seed,
      long offset, int length) throws IOException {
    ByteBuffer bytes = ByteBuffer.wrap(content(seed, offset, length));
    return store.append(chunkId, generation, offset, bytes);
  }

  static byte[] read(ChunkStore store, long chunkId, long generation, long offset, int length)
      throws IOException {
    ByteBuffer target = ByteBuffer.allocate(length);
    store.read(chunkId, generation, offset, target);
    return target.array();
  }

  static Path dataFile(Path volume, long chunkId) {
    return new Volume(new VolumeConfig(volume, 1, 0)).dataPath(chunkId);
  }

  static Path metaFile(Path volume, long chunkId) {
    return new Volume(new VolumeConfig(volume, 1, 0)).metaPath(chunkId);
  }

  /** Inverts every bit of the byte at {@code position}, as bit rot would (silently). */
  static void flipByte(Path file, long position) throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.seek(position);
      int value = raf.read();
      raf.seek(position);
      raf.write(~value & 0xff);
    }
  }

  static void truncate(Path file, long size) throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.setLength(size);
    }
  }

  static void appendRaw(Path file, byte[] bytes) throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.seek(raf.length());
      raf.write(bytes);
    }
  }

  /** Records every report; thread-safe. */
  static final class RecordingListener implements CorruptReplicaListener {
    final List<CorruptReplicaReport> reports = new CopyOnWriteArrayList<>();

    @Override
    public void onCorruptReplica(CorruptReplicaReport report) {
      reports.add(report);
    }
  }
}
