package org.apsara.bench.pangu;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Random;

/**
 * The bytes the benchmark writes: {@link #blocks()} blocks of {@link #blockBytes()} bytes, each
 * random filler stamped at its start with its own index, so that a reader checks each block it
 * reads cheaply (a block out of place or from another file fails the check). Immutable; the
 * buffers it hands out are per call.
 */
record BlockPattern(long blocks, int blockBytes, byte[] filler) {
  /** Every write and read moves whole blocks of this size. */
  static final int DEFAULT_BLOCK_BYTES = 1 << 20;

  BlockPattern {
    if (blocks < 0 || blockBytes < Long.BYTES || filler.length != blockBytes) {
      throw new IllegalArgumentException("blocks " + blocks + ", block bytes " + blockBytes);
    }
  }

  /** A pattern of {@code totalBytes} (rounded up to whole blocks) with seeded random filler. */
  static BlockPattern of(long totalBytes, long seed) {
    byte[] filler = new byte[DEFAULT_BLOCK_BYTES];
    new Random(seed).nextBytes(filler);
    return new BlockPattern(
        (totalBytes + DEFAULT_BLOCK_BYTES - 1) / DEFAULT_BLOCK_BYTES, DEFAULT_BLOCK_BYTES, filler);
  }

  long totalBytes() {
    return blocks * blockBytes;
  }

  /** A fresh buffer for one writer or reader. */
  byte[] newBuffer() {
    return filler.clone();
  }

  /** Stamps block {@code index} into {@code buffer} (a buffer from {@link #newBuffer}). */
  void stamp(byte[] buffer, long index) {
    ByteBuffer.wrap(buffer).putLong(0, index);
  }

  /** Checks that {@code buffer} holds block {@code index} as {@link #stamp} wrote it. */
  void check(String path, byte[] buffer, long index) throws IOException {
    long found = ByteBuffer.wrap(buffer).getLong(0);
    if (found != index || buffer[blockBytes - 1] != filler[blockBytes - 1]
        || buffer[blockBytes / 2] != filler[blockBytes / 2]) {
      throw new IOException(path + ": block " + index + " read back wrong (stamped " + found + ")");
    }
  }

  /** Writes every block, stamped, to {@code out}. */
  void writeTo(OutputStream out) throws IOException {
    byte[] buffer = newBuffer();
    for (long block = 0; block < blocks; block++) {
      stamp(buffer, block);
      out.write(buffer);
    }
  }

  /**
   * Reads every block from {@code in}, checking each, and that nothing follows; returns the
   * bytes read.
   */
  long readFrom(String path, InputStream in) throws IOException {
    byte[] buffer = newBuffer();
    for (long block = 0; block < blocks; block++) {
      if (in.readNBytes(buffer, 0, buffer.length) != buffer.length) {
        throw new IOException(path + " ends in block " + block + " of " + blocks);
      }
      check(path, buffer, block);
    }
    if (in.read() != -1) {
      throw new IOException(path + " is longer than the " + totalBytes() + " bytes written");
    }
    return totalBytes();
  }
}
