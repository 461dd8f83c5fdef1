package org.apsara.bench.nuwa;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The keys and the value of one benchmark run: {@code count} keys named {@code
 * /apsara-bench/k0000000...}, all written with the same value of {@code valueSizeBytes} random
 * bytes. Immutable and thread-safe.
 */
final class KeySpace {
  /** Parent of every benchmark key; a ZooKeeper znode, a plain key prefix for the etcd API. */
  static final String PARENT = "/apsara-bench";

  private final int count;
  private final byte[] value;

  KeySpace(int count, int valueSizeBytes, long seed) {
    if (count < 1) {
      throw new IllegalArgumentException("key count " + count + " < 1");
    }
    if (valueSizeBytes < 1) {
      throw new IllegalArgumentException("value size " + valueSizeBytes + " < 1");
    }
    this.count = count;
    this.value = new byte[valueSizeBytes];
    // Random bytes so that no layer can compress the value away.
    new SplittableRandom(seed).nextBytes(value);
  }

  int count() {
    return count;
  }

  int valueSizeBytes() {
    return value.length;
  }

  /** A copy of the value every key is written with. */
  byte[] value() {
    return value.clone();
  }

  /** The full name of key {@code index}: {@code /apsara-bench/k0000042}. */
  String name(int index) {
    if (index < 0 || index >= count) {
      throw new IndexOutOfBoundsException("key " + index + " not in [0, " + count + ")");
    }
    return String.format("%s/k%07d", PARENT, index);
  }

  /** Whether {@code read} is the value this run writes. */
  boolean isValue(byte[] read) {
    return Arrays.equals(read, value);
  }
}
